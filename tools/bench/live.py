"""`--live`: the deadline scheduler on a paced camera, with an optional CPU load.

The camera (synthetic close-up, a walking person, or a video file looped, scaled to `--size` and
delivered at its real rate) at `--size` and `--fps` → optional restore (`--restore`) → segmentation
(the model on every frame, or only when the picture changed: `--mask-reuse`) → blur (`--preset`'s
chain; `--power saver` leaves frames out at the head and runs the model less often) → optional
auto-framing → optional ×`--scale` upscale, scheduled by the DeadlineScheduler with a latency budget
of `--budget-frames` frame periods; `--load-seconds` > 0 starts a process spinning on one core at
`--load-at` s. Reported: delivered fps and capture-to-sink latency (ms p50 / p95) over the run after
2 s of warm-up, and under and outside the load; frames dropped at the head (and left out by the power
saver); CPU-ms per second of the process and of the effect stages; every stage's tier counts and tier
changes (time in s); each stage's CPU-ms per frame; ring high-water marks against capacity; the
upscaler's tier shares, the share of frames the network really ran on (the detail check enlarges
a picture it would hardly help with bicubic alone) and engines; after the load, the seconds until
the starting tiers and the network tier are back; the sampler's timeline. `--plot` draws fps,
latency and tiers over time as a PNG.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import cv2

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.sinks.null import NullSink
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stage import Source
from pipeline.stages.segment import Segment
from tools.bench.common import emit, percentile
from tools.bench.effect import effect_chains

SPIN_SCRIPT = (
    "import sys, time\ntime.sleep(float(sys.argv[1]))\nend = time.monotonic() + float(sys.argv[2])\n"
    "while time.monotonic() < end:\n    pass\n"
)


def spin_one_core(after_s: float, for_s: float):
    """Start a process that waits `after_s`, then keeps one core busy for `for_s` (the CPU load)."""
    import subprocess

    return subprocess.Popen([sys.executable, "-c", SPIN_SCRIPT, str(after_s), str(for_s)])


class ScaledSource(Source):
    """Another source's frames resized to `width` × `height` (bilinear): a recording standing in for a
    camera of that size."""

    def __init__(self, inner: Source, width: int, height: int):
        self.inner, self.width, self.height = inner, width, height
        self.name = inner.name

    def open(self) -> Caps:
        return dataclasses.replace(self.inner.open(), width=self.width, height=self.height)

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None and frame.pixels.shape[:2] != (self.height, self.width):
            frame.pixels = cv2.resize(frame.pixels, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return frame

    def skip(self) -> bool:
        return self.inner.skip()

    def close(self) -> None:
        self.inner.close()


def live_bench(args) -> dict:
    """Run the live graph with the DeadlineScheduler; returns the report (see the module docstring)."""
    from pipeline.options import parse_size
    from pipeline.power import PowerGovernor
    from pipeline.presets import load_preset
    from pipeline.scheduler import DeadlineScheduler, SchedulerConfig
    from pipeline.sources.paced import PacedSource
    from pipeline.stages.upscale.stage import Upscale
    from pipeline.stats import StatsSampler

    width, height = parse_size(args.size)
    frames = int(args.seconds * args.fps)
    source: Source
    if args.input == "synthetic":
        source = SyntheticSource(width, height, args.fps, frames=frames, live=True)
    elif args.input == "walker":
        from pipeline.sources.synthetic import WalkingPersonSource
        from pipeline.stages.segment import person_probability

        source = PacedSource(
            WalkingPersonSource(width, height, args.fps, frames=frames, person_probability=person_probability)
        )
    else:
        from pipeline.sources.file import FileSource

        # looped, scaled to --size as a camera of that size would deliver it; ends by time
        source = PacedSource(ScaledSource(FileSource(args.input, loop=True), width, height), seconds=args.seconds)
    stages = effect_chains(args)["litecam"]()
    if args.restore:
        from pipeline.stages.restore import Restore

        stages.insert(0, Restore())
    if args.autoframe:
        from pipeline.stages.autoframe import AutoFrame

        stages.append(AutoFrame())
    if args.scale > 1 or args.autoframe:
        stages.append(
            Upscale(
                args.scale,
                args.sr_model,
                threads=args.sr_threads,
                engine=args.sr_engine,
                person_only=not args.sr_whole_frame,
            )
        )
    period_ns = round(1e9 / args.fps)
    config = SchedulerConfig(latency_budget_ns=args.budget_frames * period_ns, period_ns=period_ns)
    scheduler = DeadlineScheduler(stages, config)
    sink = NullSink()
    graph = Graph(source, stages, [sink], max_in_flight=3, scheduler=scheduler, bus=scheduler.bus)
    mode = load_preset(args.preset).power if args.power == "preset" else args.power
    power = PowerGovernor(mode, stages, graph.caps[0].fps, graph.bus)
    graph.head_filter = power
    tier_counts: dict[str, dict[str, int]] = {}
    per_frame: list[tuple[float, float]] = []
    upscale_tiers: list[str] = []
    """The upscale tier of each delivered frame (same order as per_frame)."""

    def on_done(frame):
        for stage, tier in frame.tiers.items():
            counts = tier_counts.setdefault(stage, {})
            counts[tier] = counts.get(tier, 0) + 1
        per_frame.append((frame.capture_ns, graph.clock.now_ns()))
        upscale_tiers.append(frame.tiers.get("upscale", ""))

    graph.on_frame_done = on_done
    start_tiers = {s.name: s.tier for s in stages if len(s.tiers) > 1}
    loader = spin_one_core(args.load_at, args.load_seconds) if args.load_seconds > 0 else None
    try:
        cpu_before_s, wall_before_s = time.process_time(), time.perf_counter()
        with StatsSampler(graph, interval_s=0.5) as sampler:
            stats = graph.run()
        cpu_s, wall_s = time.process_time() - cpu_before_s, time.perf_counter() - wall_before_s
    finally:
        if loader is not None:
            loader.kill()
            loader.wait()
    t0 = per_frame[0][0] if per_frame else 0

    def window(lo_s, hi_s):
        sel = [(c, d) for c, d in per_frame if lo_s <= (c - t0) / 1e9 < hi_s]
        lat = [(d - c) / 1e6 for c, d in sel]
        span = max(hi_s - lo_s, 1e-9)
        return {
            "fps": len(sel) / span,
            "latency_ms_p50": percentile(lat, 50),
            "latency_ms_p95": percentile(lat, 95),
            "frames": len(sel),
        }

    # skip the first 2 s: model warm-up and the scheduler's first measurements. The run's clock
    # starts at the first delivered frame; the source's started earlier, while the stages opened
    # (frames captured then are dropped at the head), so the run may end before `args.seconds`.
    warm = 2.0
    run_end_s = (per_frame[-1][0] - t0) / 1e9 + 1 / args.fps if per_frame else args.seconds
    report = {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "plot")},
        "whole_run": window(warm, min(args.seconds, run_end_s)),
        "dropped_at_head": stats["nodes"][source.name]["dropped"],
        "power": power.label,
        "skipped_at_head": stats["nodes"][source.name]["skipped"],
        "tier_counts": tier_counts,
        "tier_changes": [vars(c) | {"at_s": round((c.at_ns - t0) / 1e9, 3)} for c in scheduler.changes],
        "timeline": sampler.snapshots,
        "ring_high_water": {r["name"]: r["high_water"] for r in stats["rings"]},
        "ring_capacity": {r["name"]: r["capacity"] for r in stats["rings"]},
    }
    report["stage_cpu_ms_per_frame"] = {s.name: round(stats["nodes"][s.name]["cpu_ms_per_frame"], 2) for s in stages}
    report["process_cpu_ms_per_frame"] = round(1000 * cpu_s / max(len(per_frame), 1), 2)  # every thread
    report["process_cpu_ms_per_second"] = round(1000 * cpu_s / max(wall_s, 1e-9), 1)
    report["effect_cpu_ms_per_second"] = round(
        sum(stats["nodes"][s.name]["cpu_ms_per_frame"] * stats["nodes"][s.name]["processed"] for s in stages)
        / max(wall_s, 1e-9),
        1,
    )
    segments = [s for s in stages if isinstance(s, Segment)]
    if segments:
        report["model_runs_per_second"] = round(segments[0].model_runs / max(wall_s, 1e-9), 2)
    if args.scale > 1 or args.autoframe:
        ups = tier_counts.get("upscale", {})
        total = max(sum(ups.values()), 1)
        report["network_tier_fraction"] = sum(n for t, n in ups.items() if t != "bicubic") / total
        report["upscale_tier_share"] = {t: n / total for t, n in ups.items()}
        # the detail check may enlarge a frame with bicubic alone at a network tier (see Upscale)
        alone = sum(n for d, n in tier_counts.get("detail", {}).items() if d.endswith("(bicubic alone)"))
        report["network_ran_fraction"] = report["network_tier_fraction"] - alone / total
        report["upscale_engines"] = dict(stages[-1].engines)
    if args.load_seconds > 0:
        load_end = args.load_at + args.load_seconds
        report["under_load"] = window(args.load_at, load_end)
        report["outside_load"] = window(warm, args.load_at) | {"note": "before the load"}
        back = [(c.at_ns - t0) / 1e9 - load_end for c in scheduler.changes if (c.at_ns - t0) / 1e9 >= load_end]
        recovered = None  # None: not back on the starting tiers by the end of the run
        if all(s.tier == start_tiers[s.name] for s in stages if s.name in start_tiers):
            recovered = max(back, default=0.0)
        report["recovery_s_after_load"] = recovered
        if args.scale > 1:
            # from the end of the load to the first frame captured after it that the network upscaled
            # (0: the network tier was never left); None: not back on a network tier by the end
            after = [
                ((c - t0) / 1e9 - load_end, tier)
                for (c, _), tier in zip(per_frame, upscale_tiers)
                if (c - t0) / 1e9 >= load_end
            ]
            report["network_back_s_after_load"] = next(
                (max(t, 0.0) for t, tier in after if tier not in ("bicubic", "")), None
            )
            during = [
                tier for (c, _), tier in zip(per_frame, upscale_tiers) if args.load_at <= (c - t0) / 1e9 < load_end
            ]
            report["under_load"]["network_tier_fraction"] = sum(t not in ("bicubic", "") for t in during) / max(
                len(during), 1
            )
    return report


def plot_live(report: dict, path: Path) -> None:
    """A PNG at `path`: delivered fps, latency p50 / p95 (ms) and each stage's tier over time, the
    load's window shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = report["timeline"]
    t = [s["t_s"] for s in timeline]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    axes[0].plot(t, [s["fps"] for s in timeline])
    axes[0].set_ylabel("fps delivered")
    axes[1].plot(t, [s["latency_ms_p95"] or float("nan") for s in timeline], label="p95")
    axes[1].plot(t, [s["latency_ms_p50"] or float("nan") for s in timeline], label="p50")
    axes[1].set_ylabel("latency ms")
    axes[1].legend()
    for stage in sorted({k for s in timeline for k in s["tiers"]}):
        names = [s["tiers"].get(stage) for s in timeline]
        order = list(dict.fromkeys(n for n in names if n))
        axes[2].step(t, [order.index(n) if n else float("nan") for n in names], where="post", label=stage)
    axes[2].set_ylabel("tier (0 = as started)")
    axes[2].legend()
    cfg = report["config"]
    if cfg.get("load_seconds"):
        for ax in axes:
            ax.axvspan(cfg["load_at"], cfg["load_at"] + cfg["load_seconds"], color="red", alpha=0.1)
    axes[2].set_xlabel("seconds")
    fig.suptitle("litecam live: fps, latency and tiers (red: one core loaded)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def run(args) -> int:
    """`--live`: print the summary, write `args.json` and `args.plot`."""
    report = live_bench(args)
    if args.plot:
        plot_live(report, args.plot)
        print(f"wrote {args.plot}")
    return emit(report, args.json, summary=lambda r: {k: v for k, v in r.items() if k not in ("timeline", "config")})
