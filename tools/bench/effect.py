"""The default mode: the effect chain per frame, litecam against a naive baseline, as JSON and tables.

Runs the real graph (synthetic webcam, `--width`×`--height` at `--fps` → segmentation → background
blur → null sink) and, in the same process on the same frames, a baseline that does the job the way
popular Python virtual-background tools do (full-resolution mask resize, full-resolution Gaussian
blur, float blend in NumPy). Three chains: litecam as `--preset` configures it, the same without the
matte refinement (`litecam-no-refine`), and the baseline; the ratios are litecam against the baseline.

Two runs per chain:
- throughput: the source is unpaced (offline), so fps is the most the graph can deliver;
- paced: the source delivers at the target fps in real time (live, flow limiter active), so the
  latency figures (capture → sink, ms p50 / p95) are what a user sees.
Effect CPU-ms per frame is process CPU time (all threads, including MediaPipe's) divided by frames
delivered, minus the synthetic source's own rendering (a camera's decode cost is not part of the
effect). `--repeat N` runs each litecam chain N times and reports the median run (runs of the same
code differ, so one run settles little); the baseline runs once. Also reported: each stage's CPU-ms
and wall-ms per frame, frames dropped at the head, peak RSS (MB), with `--overlay` the overlay sink's
encoding CPU-ms per frame (see `tools.bench.overlay`), and unless `--no-kernels` the per-kernel
table (Numba against the reference, ms).
"""

from __future__ import annotations

import json
import resource
import time

import cv2
import numpy as np

from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.sinks.null import NullSink
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stage import Stage
from pipeline.stages.segment import Segment
from tools.bench.common import machine, percentile
from tools.bench.overlay import overlay_encode_bench


class NaiveBlurBackground(Stage):
    """The baseline: what a typical Python tool does per frame, all at full resolution."""

    name = "background"

    def __init__(self, sigma: float):
        self.sigma = sigma

    def process(self, frame: Frame) -> Frame:
        h, w = frame.height, frame.width
        assert frame.mask is not None, "the segmenter runs first"
        mask = cv2.resize(frame.mask, (w, h), interpolation=cv2.INTER_LINEAR)[:, :, None]
        blurred = cv2.GaussianBlur(frame.pixels, (0, 0), self.sigma)
        out = frame.pixels * mask + blurred * (1.0 - mask)
        frame.pixels = out.astype(np.uint8)
        return frame


def effect_chains(args) -> dict:
    """name -> a function making that chain's stages: litecam as the preset configures it, the
    same without the matte refinement, and the naive baseline."""
    import dataclasses

    from pipeline.chain import make_effects
    from pipeline.presets import load_preset

    settings = dataclasses.replace(load_preset(args.preset), segmenter=args.segmenter, background=f"blur:{args.blur:g}")
    if getattr(args, "mask_reuse", "preset") != "preset":
        settings = dataclasses.replace(settings, mask_reuse=args.mask_reuse == "on")
    plain = dataclasses.replace(settings, refine=False, temporal=False, no_bleed=False)
    return {
        "litecam": lambda: make_effects(settings)[0],
        "litecam-no-refine": lambda: make_effects(plain)[0],
        "baseline": lambda: [Segment(args.segmenter, roi=False), NaiveBlurBackground(args.blur)],
    }


def run_once(stages, args, *, paced: bool) -> dict:
    """One run of `stages` on the synthetic source, unpaced (throughput) or `paced` (live): fps,
    CPU-ms per frame (process, and the effect alone), latency ms p50 / p95, and every node's stats."""
    width, height = args.width, args.height
    frames = args.paced_frames if paced else args.frames
    source = SyntheticSource(width, height, args.fps, frames=frames, live=paced)
    graph = Graph(source, stages, [NullSink()], max_in_flight=2)
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


def run(args) -> int:
    """The effect benchmark (see the module docstring): prints the runs and tables, writes `args.json`."""
    report = {
        "machine": machine(),
        "config": vars(args) | {"json": str(args.json) if args.json else None},
        "runs": {},
    }
    for name, make_stages in effect_chains(args).items():
        repeats = 1 if name == "baseline" else args.repeat
        for paced in (False, True):
            key = f"{name}-{'paced' if paced else 'throughput'}"
            runs = []
            for _ in range(repeats):
                r = run_once(make_stages(), args, paced=paced)
                runs.append(r)
                print(
                    f"{key:22s} {r['fps']:6.1f} fps  effect {r['cpu_ms_per_frame_effect']:6.2f} CPU-ms/frame  "
                    f"latency p50 {r['latency_ms_p50']:6.1f} p95 {r['latency_ms_p95']:6.1f} ms  "
                    f"dropped {r['dropped_at_head']}",
                    flush=True,
                )
            runs.sort(key=lambda run: run["cpu_ms_per_frame_effect"])
            report["runs"][key] = runs[(len(runs) - 1) // 2]  # the median run (the lower one of an even count)
            if repeats > 1:
                effects = [run["cpu_ms_per_frame_effect"] for run in runs]
                report.setdefault("repeats", {})[key] = effects
                median = report["runs"][key]["cpu_ms_per_frame_effect"]
                print(
                    f"{key:22s} median of {repeats}: {median:.2f} CPU-ms/frame "
                    f"(range {effects[0]:.2f}-{effects[-1]:.2f})",
                    flush=True,
                )
    ours, base = report["runs"]["litecam-throughput"], report["runs"]["baseline-throughput"]
    report["ratios_vs_baseline"] = {
        "cpu_ms_per_frame": ours["cpu_ms_per_frame_effect"] / base["cpu_ms_per_frame_effect"],
        "fps": ours["fps"] / base["fps"],
        "background_stage_cpu_ms": ours["stages"]["background"]["cpu_ms_per_frame"]
        / base["stages"]["background"]["cpu_ms_per_frame"],
    }
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "\n| run | fps | effect CPU-ms/frame | segment ms | refine CPU ms | background CPU ms | latency p50 / p95 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, r in report["runs"].items():
        refine = r["stages"].get("refine", {}).get("cpu_ms_per_frame")
        print(
            f"| {key} | {r['fps']:.1f} | {r['cpu_ms_per_frame_effect']:.2f} | "
            f"{r['stages']['segment']['wall_ms_per_frame']:.2f} | "
            f"{'-' if refine is None else f'{refine:.2f}'} | "
            f"{r['stages']['background']['cpu_ms_per_frame']:.2f} | "
            f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} |"
        )
    ratios = report["ratios_vs_baseline"]
    print(
        f"\nlitecam / baseline: CPU per frame x{ratios['cpu_ms_per_frame']:.2f}, fps x{ratios['fps']:.2f}, "
        f"background stage CPU x{ratios['background_stage_cpu_ms']:.2f}; peak RSS {report['peak_rss_mb']:.0f} MB"
    )
    if args.overlay:
        report["overlay_encode"] = row = overlay_encode_bench(args.width, args.height)
        print(
            f"\noverlay encode {row['width']}x{row['height']}: {row['encode_cpu_ms_median']:.2f} CPU-ms median, "
            f"p95 {row['encode_cpu_ms_p95']:.2f}, {row['message_kib']:.0f} KiB per frame "
            f"(opaque BGR frames {row['opaque_encode_cpu_ms_median']:.2f} ms)"
        )
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
