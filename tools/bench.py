"""litecam benchmark: per-stage ms, CPU-ms per frame, fps, latency, peak memory — as JSON.

Runs the real graph (synthetic 720p webcam → MediaPipe segmentation → background replacement →
null sink) and, in the same process on the same frames, a baseline that does the job the way
popular Python virtual-background tools do (full-resolution mask resize, full-resolution Gaussian
blur, float blend in NumPy). Numbers are reported as ratios against that baseline.

Two runs per pipeline:
- throughput: the source is unpaced (offline), so fps is the most the graph can deliver;
- paced: the source delivers at the target fps in real time (live, flow limiter active), so the
  latency figures (capture → sink) are what a user sees.
CPU-ms per frame is process CPU time (all threads, including MediaPipe's) divided by frames, minus
the synthetic source's own rendering (a camera's decode cost is not part of the effect).

    .venv/bin/python tools/bench.py --json bench.json
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.frame import Frame  # noqa: E402
from pipeline.graph import Graph  # noqa: E402
from pipeline.sinks.null import NullSink  # noqa: E402
from pipeline.sources.synthetic import SyntheticSource  # noqa: E402
from pipeline.stage import Stage  # noqa: E402
from pipeline.stages.background import Background  # noqa: E402
from pipeline.stages.segment import Segment  # noqa: E402


class NaiveBlurBackground(Stage):
    """The baseline: what a typical Python tool does per frame, all at full resolution."""

    name = "background"

    def __init__(self, sigma: float):
        self.sigma = sigma

    def process(self, frame: Frame) -> Frame:
        h, w = frame.height, frame.width
        mask = cv2.resize(frame.mask, (w, h), interpolation=cv2.INTER_LINEAR)[:, :, None]
        blurred = cv2.GaussianBlur(frame.pixels, (0, 0), self.sigma)
        out = frame.pixels * mask + blurred * (1.0 - mask)
        frame.pixels = out.astype(np.uint8)
        return frame


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def run_once(background_stage, args, *, paced: bool) -> dict:
    width, height = args.width, args.height
    frames = args.paced_frames if paced else args.frames
    source = SyntheticSource(width, height, args.fps, frames=frames, live=paced)
    graph = Graph(source, [Segment(args.segmenter), background_stage], [NullSink()], max_in_flight=2)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    stats = graph.run()
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    delivered = stats["nodes"]["null"]["processed"]
    source_cpu_ms = stats["nodes"][source.name]["cpu_ms_per_frame"]
    latencies = list(graph.latency_ms["null"])
    return {
        "frames_captured": stats["nodes"][source.name]["processed"],
        "frames_delivered": delivered,
        "dropped_at_head": stats["nodes"][source.name]["dropped"],
        "fps": delivered / wall_s,
        "cpu_ms_per_frame_process": 1000 * cpu_s / max(delivered, 1),
        "cpu_ms_per_frame_effect": 1000 * cpu_s / max(delivered, 1) - source_cpu_ms,
        "source_cpu_ms_per_frame": source_cpu_ms,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "stages": {name: node for name, node in stats["nodes"].items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--frames", type=int, default=300, help="frames per throughput run")
    parser.add_argument("--paced-frames", type=int, default=300, help="frames per paced (live) run")
    parser.add_argument("--segmenter", default="landscape")
    parser.add_argument("--blur", type=float, default=12, help="blur strength (Gaussian sigma, px)")
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # stages run in parallel threads; OpenCV's own pool would only compete

    report = {
        "machine": {"cpus": __import__("os").cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "config": vars(args) | {"json": str(args.json) if args.json else None},
        "runs": {},
    }
    pipelines = {
        "litecam": lambda: Background(f"blur:{args.blur:g}"),
        "baseline": lambda: NaiveBlurBackground(args.blur),
    }
    for name, make_stage in pipelines.items():
        for paced in (False, True):
            key = f"{name}-{'paced' if paced else 'throughput'}"
            report["runs"][key] = run_once(make_stage(), args, paced=paced)
            r = report["runs"][key]
            print(f"{key:22s} {r['fps']:6.1f} fps  effect {r['cpu_ms_per_frame_effect']:6.2f} CPU-ms/frame  "
                  f"latency p50 {r['latency_ms_p50']:6.1f} p95 {r['latency_ms_p95']:6.1f} ms  "
                  f"dropped {r['dropped_at_head']}", flush=True)
    ours, base = report["runs"]["litecam-throughput"], report["runs"]["baseline-throughput"]
    report["ratios_vs_baseline"] = {
        "cpu_ms_per_frame": ours["cpu_ms_per_frame_effect"] / base["cpu_ms_per_frame_effect"],
        "fps": ours["fps"] / base["fps"],
        "background_stage_cpu_ms": ours["stages"]["background"]["cpu_ms_per_frame"]
        / base["stages"]["background"]["cpu_ms_per_frame"],
    }
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n| run | fps | effect CPU-ms/frame | segment ms | background ms | latency p50 / p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, r in report["runs"].items():
        print(f"| {key} | {r['fps']:.1f} | {r['cpu_ms_per_frame_effect']:.2f} | "
              f"{r['stages']['segment']['wall_ms_per_frame']:.2f} | "
              f"{r['stages']['background']['cpu_ms_per_frame']:.2f} | "
              f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} |")
    ratios = report["ratios_vs_baseline"]
    print(f"\nlitecam / baseline: CPU per frame x{ratios['cpu_ms_per_frame']:.2f}, fps x{ratios['fps']:.2f}, "
          f"background stage CPU x{ratios['background_stage_cpu_ms']:.2f}; peak RSS {report['peak_rss_mb']:.0f} MB")
    if not args.no_kernels:
        from kernels.bench import bench_kernels

        report["kernels"] = bench_kernels(args.width, args.height)
        print("\n| kernel | numba ms | reference ms | ratio |\n|---|---:|---:|---:|")
        for row in report["kernels"]:
            print(f"| {row['name']} | {row['ms_numba']:.2f} | {row['ms_reference']:.2f} | {row['ratio']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
