"""`--batch [VIDEO ...]`: `litecam batch` throughput with 1 and 2 pool workers (and on Ray).

`litecam batch` (transcode preset, --split into `--chunk-seconds` chunks) on the videos (default:
every clip in ../shared/data/video) with each of `--batch-workers` local pool workers, and with
`--batch-ray` on a local Ray cluster, against the baseline of the same files transcoded one after
another in this process: wall seconds and frames per second of wall time per run, and each run's
fps ratio to the baseline.
"""

from __future__ import annotations

import time
from pathlib import Path

from tools.bench.common import SHARED_VIDEO, emit, packet_counts


def batch_bench(videos: list[Path], workers: list[int], with_ray: bool, chunk_seconds: float) -> dict:
    """Wall-clock fps of `litecam batch` per worker count (and on Ray), and of sequential in-process
    transcodes of the same files (the baseline), each into a fresh temporary folder."""
    import io
    import tempfile

    from pipeline.batch.runner import BatchOptions, run_batch
    from pipeline.cli import main as litecam
    from pipeline.presets import load_preset

    frames = sum(packet_counts(video)[0] for video in videos)
    settings = load_preset("transcode")
    runs = {}

    def timed(name: str, job) -> None:
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            status = job(Path(folder))
            wall = time.perf_counter() - t0
        if status != 0:
            raise SystemExit(f"bench: {name} exited with {status}")
        runs[name] = {"wall_s": round(wall, 2), "fps": round(frames / wall, 2)}
        print(f"{name:28s} {wall:7.1f} s  {frames / wall:6.1f} fps", flush=True)

    def sequential(folder: Path) -> int:
        for video in videos:
            status = litecam(["transcode", str(video), str(folder / f"{video.stem}.mp4")])
            if status:
                return status
        return 0

    def batch(cluster: str, n: int | None):
        def job(folder: Path) -> int:
            options = BatchOptions(str(folder), split=True, chunk_seconds=chunk_seconds, cluster=cluster, workers=n)
            return run_batch([str(v) for v in videos], settings, options, out=io.StringIO(), err=io.StringIO())

        return job

    timed("transcode, one after another", sequential)
    for n in workers:
        timed(f"batch, local pool x{n}", batch("local", n))
    if with_ray:
        import ray

        ray.init(num_cpus=max(workers), include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            timed(f"batch, Ray {max(workers)} CPUs", batch("ray", None))
        finally:
            ray.shutdown()
    base = runs["transcode, one after another"]["fps"]
    return {
        "videos": [str(v) for v in videos],
        "frames": frames,
        "chunk_seconds": chunk_seconds,
        "runs": runs,
        "fps_ratio_vs_sequential": {k: round(r["fps"] / base, 3) for k, r in runs.items()},
    }


def run(args) -> int:
    """`--batch`: print the fps ratios, write `args.json`."""
    videos = args.batch or sorted(SHARED_VIDEO.iterdir())
    report = batch_bench(videos, [int(n) for n in args.batch_workers.split(",")], args.batch_ray, args.chunk_seconds)
    return emit(report, args.json, summary=lambda r: r["fps_ratio_vs_sequential"])
