"""`--upscale [VIDEO]`: `litecam upscale` ×2 (XLSR) of a 640×360 video, whole runs as a user runs them.

Each run is a fresh process, timed from imports to the last packet, on each of `--upscale-engines`
with each `--upscale-detail` (`--sr-detail`), against bicubic (decoding and encoding alone) in the
same run, `--repeat` turns taken in turns (every other one in reverse order); with
`--upscale-earlier DIR`, the same xlsr runs of an earlier litecam checked out in DIR (its own code
and models, without `--sr-detail`) join the turns as the previous behaviour. Reported per run: wall
seconds, fps over the whole run and once running (the command's own figure), the engine it ran on,
CPU seconds; the median run of each, and its wall-time ratio to bicubic. Every output is checked to
keep every frame and the audio. Without VIDEO: ../shared/data's Big Buck Bunny scaled to 640×360 and
looped `--upscale-loops` times, made once in out/.

`--upscale-interleaved ROUNDS` (with `--upscale-earlier`) times the upscale stage alone instead, both
checkouts' at once in two processes, in short batches taken in turns (`interleaved`): on a machine
whose load drifts, whole runs a minute apart differ by ±15 %, batches seconds apart far less.
"""

from __future__ import annotations

import functools
import resource
import sys
import time
from pathlib import Path

from tools.bench.common import REPO, SHARED_VIDEO, Worker, emit, in_turns, looped_640x360, packet_counts


def upscale_bench(video: Path, runs: list[tuple[str, str, str, Path | None]], repeat: int) -> dict:
    """`litecam upscale` ×2 of `video`, as a user runs it (a fresh process each time, everything from
    imports to the last packet timed), for each (model, engine, sr_detail, checkout) in `runs`
    (checkout: the folder of another litecam to run instead of this one, its `sr_detail` ignored;
    None: this one), `repeat` times, in turns;
    the first run is the baseline the others are compared with (bicubic: decoding and encoding
    alone). Checks every output keeps every frame and the audio."""
    import re
    import subprocess
    import tempfile

    frames, audio_packets = packet_counts(video)
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for turn in range(repeat):
            # every other turn in reverse order: a machine getting busier or quieter during a turn
            # does not favour the runs that come first
            for model, engine, detail, checkout in runs if turn % 2 == 0 else runs[::-1]:
                key = f"{model}@{engine}" + ("" if detail == "checked" else f"+{detail}")
                if checkout is not None:
                    key = f"earlier:{model}@{engine}"
                out = Path(folder) / f"{key.replace(':', '-')}.mp4"
                usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pipeline",
                        "upscale",
                        str(video.resolve()),
                        str(out),
                        "--model",
                        model,
                        "--engine",
                        engine,
                        *(["--sr-detail", detail] if model != "bicubic" and checkout is None else []),
                    ],
                    cwd=checkout,
                    capture_output=True,
                    text=True,
                )
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if done.returncode != 0:
                    raise SystemExit(
                        f"bench: litecam upscale --model {model} --engine {engine} exited "
                        f"{done.returncode}: {done.stderr.strip()[-500:]}"
                    )
                line = done.stdout.strip().splitlines()[-1]
                running = re.search(r"x\d [\w-]+(?: on ([\w-]+))?: ([\d.]+) fps over", line)
                out_frames, out_audio = packet_counts(out)
                out.unlink()
                run = {
                    "wall_s": round(wall, 2),
                    "fps": round(frames / wall, 2),
                    "fps_once_running": float(running.group(2)) if running else None,
                    "engine": running.group(1) if running else None,
                    "cpu_s": round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 2),
                    "frames_out": out_frames,
                    "audio_packets_out": out_audio,
                }
                if out_frames != frames or (audio_packets and not out_audio):
                    raise SystemExit(f"bench: {key} wrote {out_frames}/{frames} frames, {out_audio} audio packets")
                results.setdefault(key, []).append(run)
                print(
                    f"{key:24s} {wall:6.1f} s  {run['fps']:5.1f} fps  (once running {run['fps_once_running']} fps "
                    f"on {run['engine']})  CPU {run['cpu_s']:.1f} s",
                    flush=True,
                )
    median = {key: sorted(rs, key=lambda r: r["wall_s"])[(len(rs) - 1) // 2] for key, rs in results.items()}
    base = median[f"{runs[0][0]}@{runs[0][1]}"]  # (bicubic: checked or not, the same)
    return {
        "video": str(video),
        "frames": frames,
        "audio_packets": audio_packets,
        "runs": results,
        "median": median,
        "wall_ratio_vs_baseline": {k: round(r["wall_s"] / base["wall_s"], 3) for k, r in median.items()},
    }


INTERLEAVED_FRAMES = 90
"""Frames of the video each `--upscale-interleaved` worker decodes and cycles through."""


def interleaved(video: Path, earlier: Path, engine: str, rounds: int, batch: int = 30) -> dict:
    """The upscale stage alone (xlsr ×2 on `engine`), this checkout's against `earlier`'s, each in a
    worker process of its own (`upscale_stage_worker.py`) on the same decoded frames, in batches of
    `batch` frames taken in turns (every other round the earlier first), after a warm-up batch each.
    Slow changes in the machine's load fall on both alike, which whole runs a minute apart cannot
    promise. Per side: process CPU-ms and wall-ms per frame (median and mean over the rounds); and
    the per-round ratio of CPU now / earlier (median, and in how many rounds it was below 1)."""
    import statistics

    script = Path(__file__).with_name("upscale_stage_worker.py")
    sides = {"now": REPO, "earlier": earlier.resolve()}
    workers = {
        name: Worker(
            [sys.executable, str(script), str(checkout), str(video.resolve()), str(INTERLEAVED_FRAMES), engine],
            f"{name} upscale stage",
        )
        for name, checkout in sides.items()
    }

    def take(name: str) -> tuple[float, float]:
        reply = workers[name].ask(str(batch)).split()
        if len(reply) != 2:
            workers[name].stopped()
        return float(reply[0]), float(reply[1])

    try:
        for name, worker in workers.items():
            worker.wait_ready()
            take(name)  # warm-up: first frames, kernels and caches
        taken = in_turns({name: functools.partial(take, name) for name in workers}, rounds)
    finally:
        for worker in workers.values():
            worker.close()
    report: dict = {"video": str(video), "engine": engine, "rounds": rounds, "frames_per_round": batch}
    for name, batches in taken.items():
        cpu = [1000 * c / batch for c, _ in batches]
        wall = [1000 * w / batch for _, w in batches]
        report[name] = {
            "cpu_ms_per_frame_median": round(statistics.median(cpu), 2),
            "cpu_ms_per_frame_mean": round(statistics.mean(cpu), 2),
            "wall_ms_per_frame_median": round(statistics.median(wall), 2),
        }
    ratios = [now[0] / before[0] for now, before in zip(taken["now"], taken["earlier"])]
    report["cpu_ratio_now_vs_earlier_median"] = round(statistics.median(ratios), 3)
    report["rounds_now_cheaper"] = sum(ratio < 1 for ratio in ratios)
    return report


def run(args) -> int:
    """`--upscale`: print the medians and ratios, write `args.json`."""
    video = (
        args.upscale
        if args.upscale != Path()
        else looped_640x360(
            SHARED_VIDEO / "bigbuckbunny_1280x720.mp4",
            args.upscale_loops,
            Path("out") / f"bbb_640x360_x{args.upscale_loops}.mp4",
        )
    )
    engines = args.upscale_engines.split(",")
    if args.upscale_earlier is not None and not (args.upscale_earlier / "pipeline" / "__main__.py").is_file():
        raise SystemExit(f"bench: {args.upscale_earlier} holds no litecam checkout (no pipeline/__main__.py)")
    if args.upscale_interleaved:
        if args.upscale_earlier is None:
            raise SystemExit("bench: --upscale-interleaved compares with --upscale-earlier DIR: give both")
        return emit(interleaved(video, args.upscale_earlier, engines[0], args.upscale_interleaved), args.json)
    runs: list[tuple[str, str, str, Path | None]] = [("bicubic", "auto", "checked", None)]
    runs += [("xlsr", engine, detail, None) for engine in engines for detail in args.upscale_detail.split(",")]
    if args.upscale_earlier is not None:
        runs += [("xlsr", engine, "checked", args.upscale_earlier.resolve()) for engine in engines]
    report = upscale_bench(video, runs, args.repeat)
    return emit(
        report,
        args.json,
        summary=lambda r: {"median": r["median"], "wall_ratio_vs_baseline": r["wall_ratio_vs_baseline"]},
    )
