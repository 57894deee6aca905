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
`--repeat N` runs each litecam chain N times and reports the median run (this 2-core VM's runs
of the same code differ by up to ~2 CPU-ms, so a single run settles little).

    .venv/bin/python tools/bench.py --json bench.json

`--live` instead measures the deadline scheduler on a paced camera (synthetic, or a file looped and
delivered at its real rate): camera size → segmentation → blur → optional ×2/×3 upscale, with an
optional CPU load (a process spinning on one core) for a time window; it writes a JSON report and
a PNG plot of fps, latency and tiers over time.

`--control` runs the control page's server on the live 720p chain: the time from a settings request
to the first frame showing it, and the CPU that a page's polling costs.

    .venv/bin/python tools/bench.py --control --json out/control.json

`--soak MINUTES` runs the live 720p graph that long and reports resident-memory growth, thread
count, latency p95 of the first and last minute, and ring fill against capacity.

    .venv/bin/python tools/bench.py --live --size 640x360 --scale 2 --seconds 40 \
        --load-at 15 --load-seconds 10 --json out/live.json --plot out/live.png

`--overlay-page` runs a preset's live chain (default `stream-overlay`, 1280×720 at 30 fps, synthetic
camera) into the overlay sink with a real headless Chromium showing the page, and reports the
frame rate the page draws, capture-to-page latency (the page's acknowledgement, on the graph clock)
and its parts, and the sink's encoding CPU-ms per frame.

    .venv/bin/python tools/bench.py --overlay-page --seconds 10 --json out/overlay-page.json

`--upscale [VIDEO]` times `litecam upscale` ×2 (XLSR) of a 640×360 video as a user runs it — a fresh
process, imports to last packet — on each of `--upscale-engines`, against bicubic (decode and encode
alone) in the same run, `--repeat` turns; it checks each output kept every frame and the audio.
Without VIDEO it makes a 33-s clip from ../shared/data's Big Buck Bunny (640×360, looped 6 times).

    .venv/bin/python tools/bench.py --upscale --upscale-engines auto,openvino-bf16,openvino --repeat 3

`--batch [VIDEO ...]` measures `litecam batch` (transcode preset, --split) on the videos (default:
every clip in ../shared/data/video) with 1 and 2 pool workers, and optionally on a local Ray
cluster, against the baseline of the same files transcoded one after another in this process:
frames per second of wall time, and the ratios.

    .venv/bin/python tools/bench.py --batch --batch-ray --json out/batch.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernels.warmup import prepare_kernels  # noqa: E402
from pipeline.cpu import cpu_model_and_flags  # noqa: E402
from pipeline.frame import Frame  # noqa: E402
from pipeline.graph import Graph  # noqa: E402
from pipeline.sinks.null import NullSink  # noqa: E402
from pipeline.sources.synthetic import SyntheticSource  # noqa: E402
from pipeline.stage import Stage  # noqa: E402
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


ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
"""The CPU features that decide which kernels and engines are fast; named beside every figure."""


def machine() -> dict:
    """The machine a figure was taken on: CPU model, the ISA features above it has, cores, Python."""
    model, flags = cpu_model_and_flags()
    return {"cpu": model, "isa": [f for f in ISA_FLAGS if f in flags], "cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity") else os.cpu_count(), "python": platform.python_version()}


def overlay_encode_bench(width: int = 1280, height: int = 720, frames: int = 30) -> dict:
    """Thread-CPU ms per frame to encode overlay messages of the synthetic portrait cut out (BGRA).

    Returns {'width', 'height', 'frames', 'encode_cpu_ms_median', 'encode_cpu_ms_p95', 'message_kib',
    'opaque_encode_cpu_ms_median' (BGR frames), 'alpha_png_ms': {our palette PNG, OpenCV's greyscale
    PNG at the same zlib settings, OpenCV's default}}. The mattes come from the real segmentation +
    transparent background stages.
    """
    from pipeline.sinks.overlay import FrameEncoder, encode_alpha_png
    from pipeline.stages.background import Background

    kept: list[Frame] = []

    class _Keep(NullSink):
        def process(self, frame: Frame) -> None:
            kept.append(Frame(frame.pixels.copy(), frame.pts_ns, frame.seq, frame.capture_ns))

    source = SyntheticSource(width, height, 30, frames=min(frames, 8))
    Graph(source, [Segment("general"), Background("transparent")], [_Keep()]).run()
    encoder = FrameEncoder()
    encoder.encode(kept[0])  # warm-up

    def timed(frame_list: list[Frame]) -> tuple[list[float], int]:
        times, size = [], 0
        for i in range(frames):
            c0 = time.thread_time_ns()
            size = len(encoder.encode(frame_list[i % len(frame_list)]))
            times.append((time.thread_time_ns() - c0) / 1e6)
        return times, size

    cut, size = timed(kept)
    opaque, _ = timed([Frame(np.ascontiguousarray(f.pixels[:, :, :3]), f.pts_ns, f.seq) for f in kept])
    cut.sort()
    opaque.sort()
    half = [cv2.resize(np.ascontiguousarray(f.pixels[:, :, 3]), (width // 2, height // 2),
                       interpolation=cv2.INTER_AREA) for f in kept]
    fast_png = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    png_ms = {name: float(np.median([_thread_ms(lambda a=a: encode(a)) for a in half * 4])) for name, encode in {
        "palette_png_ours": encode_alpha_png,
        "opencv_grey_png_rle_level1": lambda a: cv2.imencode(".png", a, fast_png),
        "opencv_grey_png_default": lambda a: cv2.imencode(".png", a),
    }.items()}
    return {
        "width": width, "height": height, "frames": frames,
        "encode_cpu_ms_median": cut[len(cut) // 2],
        "encode_cpu_ms_p95": cut[min(len(cut) - 1, int(0.95 * len(cut)))],
        "message_kib": size / 1024,
        "opaque_encode_cpu_ms_median": opaque[len(opaque) // 2],
        "alpha_png_ms": png_ms,
    }


def _thread_ms(fn) -> float:
    c0 = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - c0) / 1e6


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def effect_chains(args) -> dict:
    """name -> a function making that chain's stages: litecam as the preset configures it, the
    same without the matte refinement, and the naive baseline."""
    import dataclasses

    from pipeline.chain import make_effects
    from pipeline.presets import load_preset

    settings = dataclasses.replace(load_preset(args.preset), segmenter=args.segmenter,
                                   background=f"blur:{args.blur:g}")
    plain = dataclasses.replace(settings, refine=False, temporal=False, no_bleed=False)
    return {
        "litecam": lambda: make_effects(settings)[0],
        "litecam-no-refine": lambda: make_effects(plain)[0],
        "baseline": lambda: [Segment(args.segmenter), NaiveBlurBackground(args.blur)],
    }


def run_once(stages, args, *, paced: bool) -> dict:
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


SPIN_SCRIPT = "import sys, time\ntime.sleep(float(sys.argv[1]))\nend = time.monotonic() + float(sys.argv[2])\nwhile time.monotonic() < end:\n    pass\n"


def spin_one_core(after_s: float, for_s: float):
    """Start a process that waits `after_s`, then keeps one core busy for `for_s` (the CPU load)."""
    import subprocess

    return subprocess.Popen([sys.executable, "-c", SPIN_SCRIPT, str(after_s), str(for_s)])


def live_bench(args) -> dict:
    """Run the live graph with the DeadlineScheduler; returns the report (see module docstring)."""
    from pipeline.options import parse_size
    from pipeline.scheduler import DeadlineScheduler, SchedulerConfig
    from pipeline.sources.paced import PacedSource
    from pipeline.stats import StatsSampler
    from pipeline.stages.upscale import Upscale

    width, height = parse_size(args.size)
    frames = int(args.seconds * args.fps)
    if args.input == "synthetic":
        source = SyntheticSource(width, height, args.fps, frames=frames, live=True)
    elif args.input == "walker":
        from pipeline.sources.synthetic import WalkingPersonSource

        source = PacedSource(WalkingPersonSource(width, height, args.fps, frames=frames))
    else:
        from pipeline.sources.file import FileSource

        source = PacedSource(FileSource(args.input, loop=True))
    stages = effect_chains(args)["litecam"]()
    if args.autoframe:
        from pipeline.stages.autoframe import AutoFrame

        stages.append(AutoFrame())
    if args.scale > 1 or args.autoframe:
        stages.append(Upscale(args.scale, args.sr_model, threads=args.sr_threads, engine=args.sr_engine,
                              person_only=not args.sr_whole_frame))
    period_ns = round(1e9 / args.fps)
    config = SchedulerConfig(latency_budget_ns=args.budget_frames * period_ns, period_ns=period_ns)
    scheduler = DeadlineScheduler(stages, config)
    sink = NullSink()
    graph = Graph(source, stages, [sink], max_in_flight=3, scheduler=scheduler, bus=scheduler.bus)
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
    start_tiers = {s.name: s.tier for s in stages if len(getattr(s, "tiers", ())) > 1}
    loader = spin_one_core(args.load_at, args.load_seconds) if args.load_seconds > 0 else None
    try:
        with StatsSampler(graph, interval_s=0.5) as sampler:
            stats = graph.run()
    finally:
        if loader is not None:
            loader.kill()
            loader.wait()
    t0 = per_frame[0][0] if per_frame else 0

    def window(lo_s, hi_s):
        sel = [(c, d) for c, d in per_frame if lo_s <= (c - t0) / 1e9 < hi_s]
        lat = [(d - c) / 1e6 for c, d in sel]
        span = max(hi_s - lo_s, 1e-9)
        return {"fps": len(sel) / span, "latency_ms_p50": percentile(lat, 50),
                "latency_ms_p95": percentile(lat, 95), "frames": len(sel)}

    # skip the first 2 s: model warm-up and the scheduler's first measurements. The run's clock
    # starts at the first delivered frame; the source's started earlier, while the stages opened
    # (frames captured then are dropped at the head), so the run may end before `args.seconds`.
    warm = 2.0
    run_end_s = (per_frame[-1][0] - t0) / 1e9 + 1 / args.fps if per_frame else args.seconds
    report = {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "plot")},
        "whole_run": window(warm, min(args.seconds, run_end_s)),
        "dropped_at_head": stats["nodes"][source.name]["dropped"],
        "tier_counts": tier_counts,
        "tier_changes": [vars(c) | {"at_s": round((c.at_ns - t0) / 1e9, 3)} for c in scheduler.changes],
        "timeline": sampler.snapshots,
        "ring_high_water": {r["name"]: r["high_water"] for r in stats["rings"]},
        "ring_capacity": {r["name"]: r["capacity"] for r in stats["rings"]},
    }
    report["stage_cpu_ms_per_frame"] = {s.name: round(stats["nodes"][s.name]["cpu_ms_per_frame"], 2) for s in stages}
    if args.scale > 1 or args.autoframe:
        ups = tier_counts.get("upscale", {})
        total = max(sum(ups.values()), 1)
        report["network_tier_fraction"] = sum(n for t, n in ups.items() if t != "bicubic") / total
        report["upscale_tier_share"] = {t: n / total for t, n in ups.items()}
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
            after = [((c - t0) / 1e9 - load_end, tier) for (c, _), tier in zip(per_frame, upscale_tiers)
                     if (c - t0) / 1e9 >= load_end]
            report["network_back_s_after_load"] = next(
                (max(t, 0.0) for t, tier in after if tier not in ("bicubic", "")), None)
            during = [tier for (c, _), tier in zip(per_frame, upscale_tiers)
                      if args.load_at <= (c - t0) / 1e9 < load_end]
            report["under_load"]["network_tier_fraction"] = (
                sum(t not in ("bicubic", "") for t in during) / max(len(during), 1))
    return report


def resident_mb() -> float:
    """This process's resident memory now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * __import__("os").sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak(minutes: float, width: int = 1280, height: int = 720, fps: float = 30, warmup_s: float = 20,
         sample_s: float = 5, preset: str = "video-call-720p") -> dict:
    """A long live run on the paced synthetic camera through `preset`'s effect chain: memory,
    threads, latency and rings over time.

    Resident memory and thread count are sampled every `sample_s` after `warmup_s`; the report
    gives their growth, the latency p95 of the first and the last minute (or fifth of the run), and
    every ring's high-water mark against its capacity.
    """
    import threading

    from pipeline.chain import make_effects
    from pipeline.presets import load_preset
    from pipeline.scheduler import DeadlineScheduler, live_config

    total_s = minutes * 60
    source = SyntheticSource(width, height, fps, frames=int(total_s * fps), live=True)
    stages = make_effects(load_preset(preset))[0]
    sink = NullSink()
    graph = Graph(source, stages, [sink], max_in_flight=2)
    graph.scheduler = DeadlineScheduler(graph.stages, live_config(fps, 2), graph.bus)
    samples: list[dict] = []
    window_s = min(60.0, total_s / 5)
    first: list[float] = []  # latencies (ms) of the first window after warm-up, and of the last window:
    last: list[float] = []   # only those are kept, so that the harness itself does not grow
    first_capture_ns: list[int] = []

    def on_frame_done(frame) -> None:
        if not first_capture_ns:
            first_capture_ns.append(frame.capture_ns)
        at_s = (frame.capture_ns - first_capture_ns[0]) / 1e9
        ms = (graph.clock.now_ns() - frame.capture_ns) / 1e6
        if warmup_s <= at_s < warmup_s + window_s:
            first.append(ms)
        elif at_s >= total_s - window_s:
            last.append(ms)

    graph.on_frame_done = on_frame_done
    stop = threading.Event()
    start = time.monotonic()

    def sampler():
        while not stop.wait(sample_s):
            samples.append({"t_s": round(time.monotonic() - start, 1), "rss_mb": resident_mb(),
                            "threads": threading.active_count(), "delivered": sink.frames,
                            "dropped_at_head": graph.counters[source.name].dropped})

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    stats = graph.run()
    stop.set()
    thread.join()
    steady = [s for s in samples if s["t_s"] >= warmup_s] or samples
    rings = stats["rings"]
    return {
        "minutes": minutes, "size": f"{width}x{height}", "fps_target": fps, "preset": preset,
        "frames_delivered": sink.frames, "dropped_at_head": stats["nodes"][source.name]["dropped"],
        "rss_mb_after_warmup": steady[0]["rss_mb"] if steady else None,
        "rss_mb_end": steady[-1]["rss_mb"] if steady else None,
        "rss_growth_mb": (steady[-1]["rss_mb"] - steady[0]["rss_mb"]) if steady else None,
        "threads_after_warmup": steady[0]["threads"] if steady else None,
        "threads_end": steady[-1]["threads"] if steady else None,
        "latency_ms_p95_first_window": percentile(first, 95),
        "latency_ms_p95_last_window": percentile(last, 95),
        "rings_within_capacity": all(r["high_water"] <= r["capacity"] for r in rings),
        "ring_high_water": {r["name"]: f"{r['high_water']}/{r['capacity']}" for r in rings},
        "tier_changes": len(graph.scheduler.changes),
        "samples": samples,
    }


def control_bench(preset: str, width: int, height: int, fps: float, changes: int = 20) -> dict:
    """The control page's server on `preset`'s live chain (synthetic camera, paced): `changes`
    POSTs alternating the background between a colour and blur, each timed from sending the request
    to the first frame at the sink that shows it; then the litecam process's CPU-ms per second over
    10 s with a page's polling (state + thumbnail, twice a second, as control.js does) and 10 s without."""
    import dataclasses
    import http.client
    import threading

    from pipeline.chain import make_effects
    from pipeline.control import ControlServer, ThumbnailSink
    from pipeline.presets import load_preset
    from pipeline.settings_service import SettingsService
    from pipeline.stage import Sink

    settings = dataclasses.replace(load_preset(preset), size=(width, height), background="blur")
    corner: list[tuple[float, tuple]] = []

    class CornerSink(Sink):
        name = "corner"

        def process(self, frame: Frame) -> None:
            corner.append((time.monotonic(), tuple(int(v) for v in frame.pixels[4, 4, :3])))

    thumbnail = ThumbnailSink()
    source = SyntheticSource(width, height, fps, frames=None, live=True)
    graph = Graph(source, make_effects(settings)[0], [CornerSink(), thumbnail], max_in_flight=settings.max_in_flight)
    service = SettingsService(settings, graph.stages, graph.bus)
    control = ControlServer(service, thumbnail, "127.0.0.1", 0)
    control.start()
    runner = threading.Thread(target=graph.run, daemon=True)
    runner.start()

    def call(method: str, path: str, body: bytes | None = None) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", control.server.port, timeout=30)
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        connection.getresponse().read()
        connection.close()

    def cpu_ms_per_s(seconds: float, poll: bool) -> float:
        wall0, cpu0 = time.monotonic(), time.process_time()
        while time.monotonic() - wall0 < seconds:
            if poll:
                call("GET", "/state")
                call("GET", "/thumbnail.jpg")
            time.sleep(0.5)
        return 1000 * (time.process_time() - cpu0) / (time.monotonic() - wall0)

    latencies = []
    try:
        time.sleep(5)  # models warm, scheduler settled
        for i in range(changes):
            green = i % 2 == 0
            sent = time.monotonic()
            call("POST", "/settings", json.dumps({"background": "color:#00FF00" if green else "blur"}).encode())
            while True:
                shown = [t for t, c in corner if t >= sent and (c == (0, 255, 0)) == green]
                if shown:
                    latencies.append(1000 * (shown[0] - sent))
                    break
                time.sleep(0.002)
            time.sleep(0.3)
        polled, idle = cpu_ms_per_s(10, True), cpu_ms_per_s(10, False)
    finally:
        graph.stop()
        runner.join(30)
        control.stop()
    return {"preset": preset, "size": f"{width}x{height}", "fps": fps, "changes": changes,
            "request_to_frame_ms_median": percentile(latencies, 50), "request_to_frame_ms_p95": percentile(latencies, 95),
            "request_to_frame_ms": latencies, "cpu_ms_per_s_page_polling": polled, "cpu_ms_per_s_no_page": idle,
            "page_cost_cpu_ms_per_frame": (polled - idle) / fps}


def overlay_page_bench(preset: str, width: int, height: int, fps: float, seconds: float) -> dict:
    """The overlay page in headless Chromium fed by `preset`'s chain, measured over `seconds` of
    steady state (after 10 frames drawn and 3 s of settling)."""
    import dataclasses
    import threading

    from browser import headless_chromium, missing, page_state

    from pipeline.chain import make_effects
    from pipeline.graph import Graph
    from pipeline.presets import load_preset
    from pipeline.sinks.overlay import OverlaySink
    from pipeline.sources.synthetic import SyntheticSource

    if missing():
        raise SystemExit(f"bench --overlay-page: {missing()}")
    settings = dataclasses.replace(load_preset(preset), size=(width, height))
    sink = OverlaySink("127.0.0.1", 0)
    graph = Graph(SyntheticSource(width, height, fps, frames=None, live=True), make_effects(settings)[0], [sink],
                  max_in_flight=settings.max_in_flight)
    runner = threading.Thread(target=graph.run, daemon=True)
    runner.start()
    try:
        with headless_chromium(width, height) as driver:
            driver.get(sink.url)
            deadline = time.monotonic() + 60
            while page_state(driver).get("drawn", 0) < 10:
                if time.monotonic() > deadline:
                    raise SystemExit("bench --overlay-page: the page drew nothing in 60 s")
                time.sleep(0.1)
            time.sleep(3.0)
            f0, t0, cpu0 = page_state(driver)["frames"], time.monotonic(), time.process_time()
            time.sleep(seconds)
            f1, t1 = page_state(driver)["frames"], time.monotonic()
            recent = int(seconds * fps)
            page_ms = page_state(driver)["pageMs"]
    finally:
        graph.stop()
        runner.join(30)
    latency = sink.latency_ms()[-recent:]
    return {
        "preset": preset, "width": width, "height": height, "fps_target": fps, "seconds": seconds,
        "page_fps": round((f1 - f0) / (t1 - t0), 2),
        "latency_ms_p50": round(percentile(latency, 50), 1), "latency_ms_p95": round(percentile(latency, 95), 1),
        "graph_latency_ms_p95": round(percentile(list(graph.latency_ms[sink.name])[-recent:], 95), 1),
        "send_to_ack_ms_p95": round(percentile(sink.round_trip_ms()[-recent:], 95), 1),
        "page_decode_draw_ms_p95": round(percentile(page_ms, 95), 1),
        "encode_cpu_ms_median": round(percentile(list(sink.encode_ms)[-recent:], 50), 2),
        "pipeline_process_cpu_ms_per_frame": round(1000 * (time.process_time() - cpu0) / max(f1 - f0, 1), 1),
    }


def packet_counts(path: Path) -> tuple[int, int]:
    """(video packets, audio packets) of a media file, empty (flush) packets left out: a file's frame
    count without decoding it, and whether its audio came through."""
    import av

    with av.open(str(path)) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        streams = [container.streams.video[0]] + ([audio] if audio else [])
        counts = {"video": 0, "audio": 0}
        for packet in container.demux(*streams):
            if packet.size:
                counts[packet.stream.type] += 1
    return counts["video"], counts["audio"]


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
    return {"videos": [str(v) for v in videos], "frames": frames, "chunk_seconds": chunk_seconds,
            "runs": runs, "fps_ratio_vs_sequential": {k: round(r["fps"] / base, 3) for k, r in runs.items()}}


def plot_live(report: dict, path: Path) -> None:
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


SHARED_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"


def looped_640x360(source: Path, loops: int, out: Path) -> Path:
    """`source` scaled to 640×360 (area) and played `loops` times over, audio kept (re-encoded AAC,
    the same samples each loop): a longer 640×360 clip, so set-up is a small part of a timing. Made
    once; an existing `out` is reused."""
    import av

    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.mp4")
    with av.open(str(source)) as src:
        video_in = src.streams.video[0]
        audio_in = src.streams.audio[0] if src.streams.audio else None
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), (640, 360), interpolation=cv2.INTER_AREA)
                  for f in src.decode(video_in)]
        rate = video_in.average_rate
        samples = []
        if audio_in is not None:
            src.seek(0)
            samples = [f.to_ndarray() for f in src.decode(audio_in)]
            layout, sample_rate, sample_format = audio_in.layout.name, audio_in.rate, audio_in.format.name
    with av.open(str(partial), "w") as dst:
        video = dst.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.codec_context.options = {"crf": "18", "preset": "veryfast"}
        audio = dst.add_stream("aac", rate=sample_rate, layout=layout) if samples else None
        for loop in range(loops):
            for image in frames:
                for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                    dst.mux(packet)
            for chunk in samples:
                frame = av.AudioFrame.from_ndarray(chunk, format=sample_format, layout=layout)
                frame.sample_rate = sample_rate
                for packet in audio.encode(frame):
                    dst.mux(packet)
        for stream in (video, audio) if audio else (video,):
            for packet in stream.encode():
                dst.mux(packet)
    partial.replace(out)
    return out


def upscale_bench(video: Path, runs: list[tuple[str, str]], repeat: int) -> dict:
    """`litecam upscale` ×2 of `video`, as a user runs it (a fresh process each time, everything from
    imports to the last packet timed), for each (model, engine) in `runs`, `repeat` times, in turns;
    the first run is the baseline the others are compared with (bicubic: decoding and encoding
    alone). Checks every output keeps every frame and the audio."""
    import re
    import subprocess
    import tempfile

    frames, audio_packets = packet_counts(video)
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for turn in range(repeat):
            for model, engine in runs:
                key = f"{model}@{engine}"
                out = Path(folder) / f"{key}.mp4"
                usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "pipeline", "upscale", str(video), str(out),
                                       "--model", model, "--engine", engine], capture_output=True, text=True)
                wall = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if done.returncode != 0:
                    raise SystemExit(f"bench: litecam upscale --model {model} --engine {engine} exited "
                                     f"{done.returncode}: {done.stderr.strip()[-500:]}")
                line = done.stdout.strip().splitlines()[-1]
                running = re.search(r"x\d [\w-]+(?: on ([\w-]+))?: ([\d.]+) fps over", line)
                out_frames, out_audio = packet_counts(out)
                out.unlink()
                run = {"wall_s": round(wall, 2), "fps": round(frames / wall, 2),
                       "fps_once_running": float(running.group(2)) if running else None,
                       "engine": running.group(1) if running else None,
                       "cpu_s": round(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime, 2),
                       "frames_out": out_frames, "audio_packets_out": out_audio}
                if out_frames != frames or (audio_packets and not out_audio):
                    raise SystemExit(f"bench: {key} wrote {out_frames}/{frames} frames, {out_audio} audio packets")
                results.setdefault(key, []).append(run)
                print(f"{key:24s} {wall:6.1f} s  {run['fps']:5.1f} fps  (once running {run['fps_once_running']} fps "
                      f"on {run['engine']})  CPU {run['cpu_s']:.1f} s", flush=True)
    median = {key: sorted(rs, key=lambda r: r["wall_s"])[(len(rs) - 1) // 2] for key, rs in results.items()}
    base = median[f"{runs[0][0]}@{runs[0][1]}"]
    return {"video": str(video), "frames": frames, "audio_packets": audio_packets, "runs": results,
            "median": median, "wall_ratio_vs_baseline": {k: round(r["wall_s"] / base["wall_s"], 3)
                                                         for k, r in median.items()}}


def emit(report: dict, json_path: Path | None, summary=lambda report: report) -> int:
    """Name the machine in `report`, print `summary(report)` as JSON, write the whole report to
    `json_path` (when given); the exit status."""
    report["machine"] = machine()
    print(json.dumps(summary(report), indent=2))
    if json_path:
        json_path.write_text(json.dumps(report, indent=2))
        print(f"wrote {json_path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--frames", type=int, default=300, help="frames per throughput run")
    parser.add_argument("--paced-frames", type=int, default=300, help="frames per paced (live) run")
    parser.add_argument("--preset", default="video-call-720p", help="the litecam chain's settings")
    parser.add_argument("--segmenter", default="landscape")
    parser.add_argument("--blur", type=float, default=12, help="blur strength (Gaussian sigma, px)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each litecam chain (the baseline runs once); the table shows the median")
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    parser.add_argument("--overlay", action="store_true", help="also time the overlay sink's per-frame encoding")
    parser.add_argument("--json", type=Path, help="write the report here")
    live = parser.add_argument_group("--live: the deadline scheduler on a paced camera")
    live.add_argument("--live", action="store_true")
    live.add_argument("--input", default="synthetic",
                      help="synthetic (a close-up), walker (a person walking about), or a video file looped at its rate")
    live.add_argument("--autoframe", action="store_true",
                      help="auto-framing after the background; the crop is enlarged by the upscaler (at --scale 1 too)")
    live.add_argument("--size", default="640x360", help="camera size (before upscaling)")
    live.add_argument("--scale", type=int, default=2, help="upscale factor (1: none)")
    live.add_argument("--sr-threads", type=int, default=1, help="ONNX Runtime threads of the upscaler")
    live.add_argument("--sr-model", default="xlsr", help="the upscale tier to start on (the scheduler moves it)")
    live.add_argument("--sr-engine", default="auto", help="the upscaler's inference engine (auto: measured here)")
    live.add_argument("--sr-whole-frame", action="store_true",
                      help="upscale the whole frame with the network (default: the person's box, as live presets do)")
    live.add_argument("--seconds", type=float, default=30)
    live.add_argument("--budget-frames", type=float, default=2, help="latency budget in frame periods")
    live.add_argument("--load-at", type=float, default=10, help="start of the CPU load, s")
    live.add_argument("--load-seconds", type=float, default=0, help="length of the CPU load, s (0: none)")
    live.add_argument("--plot", type=Path, help="PNG of fps, latency and tiers over time")
    page = parser.add_argument_group("--overlay-page: the overlay page in headless Chromium")
    page.add_argument("--overlay-page", action="store_true")
    page.add_argument("--page-preset", default="stream-overlay", help="chain feeding the page (default: %(default)s)")
    batch = parser.add_argument_group("--batch: litecam batch throughput, 1 vs 2 workers")
    batch.add_argument("--batch", nargs="*", type=Path, metavar="VIDEO",
                       help="videos to batch (default: every clip in ../shared/data/video)")
    batch.add_argument("--batch-workers", default="1,2", help="pool sizes to compare (default: %(default)s)")
    batch.add_argument("--batch-ray", action="store_true", help="also run on a local Ray cluster")
    batch.add_argument("--chunk-seconds", type=float, default=20.0, help="--split chunk length (default: %(default)s)")
    upscale = parser.add_argument_group("--upscale: litecam upscale x2 of a 640x360 video, whole runs")
    upscale.add_argument("--upscale", nargs="?", type=Path, const=Path(), metavar="VIDEO",
                         help="the video (default: ../shared/data's Big Buck Bunny at 640x360, looped "
                              "--upscale-loops times, made once in out/)")
    upscale.add_argument("--upscale-loops", type=int, default=6, help="default: %(default)s (33 s, 792 frames)")
    upscale.add_argument("--upscale-engines", default="auto",
                         help="engines to run xlsr on, comma-separated (bicubic runs first as the baseline)")
    parser.add_argument("--control", action="store_true",
                        help="the control page's server: request-to-frame latency of a change, and the CPU "
                             "its polling costs (720p, --preset's chain)")
    parser.add_argument("--soak", type=float, metavar="MINUTES",
                        help="a long live run (720p synthetic camera, blur): memory, threads, latency drift")
    args = parser.parse_args(argv)
    prepare_kernels(report=sys.stderr)  # compilation is never part of a figure
    print(f"machine: {json.dumps(machine())}", file=sys.stderr)
    if args.overlay_page:
        return emit(overlay_page_bench(args.page_preset, args.width, args.height, args.fps, args.seconds), args.json)
    if args.batch is not None:
        videos = args.batch or sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "video").iterdir())
        report = batch_bench(videos, [int(n) for n in args.batch_workers.split(",")], args.batch_ray,
                             args.chunk_seconds)
        return emit(report, args.json, summary=lambda r: r["fps_ratio_vs_sequential"])
    if args.upscale is not None:
        video = args.upscale if args.upscale != Path() else looped_640x360(
            SHARED_VIDEO / "bigbuckbunny_1280x720.mp4", args.upscale_loops,
            Path("out") / f"bbb_640x360_x{args.upscale_loops}.mp4")
        runs = [("bicubic", "auto")] + [("xlsr", e) for e in args.upscale_engines.split(",")]
        report = upscale_bench(video, runs, args.repeat)
        return emit(report, args.json, summary=lambda r: {"median": r["median"],
                                                          "wall_ratio_vs_baseline": r["wall_ratio_vs_baseline"]})
    if args.control:
        report = control_bench(args.preset, args.width, args.height, args.fps)
        return emit(report, args.json, summary=lambda r: {k: v for k, v in r.items() if k != "request_to_frame_ms"})
    if args.soak:
        report = soak(args.soak, args.width, args.height, args.fps, preset=args.preset)
        return emit(report, args.json, summary=lambda r: {k: v for k, v in r.items() if k != "samples"})
    if args.live:
        report = live_bench(args)
        if args.plot:
            plot_live(report, args.plot)
            print(f"wrote {args.plot}")
        return emit(report, args.json,
                    summary=lambda r: {k: v for k, v in r.items() if k not in ("timeline", "config")})

    report = {
        "machine": machine(),
        "config": vars(args) | {"json": str(args.json) if args.json else None},
        "runs": {},
    }
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for name, make_stages in effect_chains(args).items():
        repeats = 1 if name == "baseline" else args.repeat
        for paced in (False, True):
            key = f"{name}-{'paced' if paced else 'throughput'}"
            runs = []
            for _ in range(repeats):
                r = run_once(make_stages(), args, paced=paced)
                runs.append(r)
                print(f"{key:22s} {r['fps']:6.1f} fps  effect {r['cpu_ms_per_frame_effect']:6.2f} CPU-ms/frame  "
                      f"latency p50 {r['latency_ms_p50']:6.1f} p95 {r['latency_ms_p95']:6.1f} ms  "
                      f"dropped {r['dropped_at_head']}", flush=True)
            runs.sort(key=lambda run: run["cpu_ms_per_frame_effect"])
            report["runs"][key] = runs[(len(runs) - 1) // 2]  # the median run (the lower one of an even count)
            if repeats > 1:
                effects = [run["cpu_ms_per_frame_effect"] for run in runs]
                report.setdefault("repeats", {})[key] = effects
                median = report["runs"][key]["cpu_ms_per_frame_effect"]
                print(f"{key:22s} median of {repeats}: {median:.2f} CPU-ms/frame "
                      f"(range {effects[0]:.2f}-{effects[-1]:.2f})", flush=True)
    ours, base = report["runs"]["litecam-throughput"], report["runs"]["baseline-throughput"]
    report["ratios_vs_baseline"] = {
        "cpu_ms_per_frame": ours["cpu_ms_per_frame_effect"] / base["cpu_ms_per_frame_effect"],
        "fps": ours["fps"] / base["fps"],
        "background_stage_cpu_ms": ours["stages"]["background"]["cpu_ms_per_frame"]
        / base["stages"]["background"]["cpu_ms_per_frame"],
    }
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n| run | fps | effect CPU-ms/frame | segment ms | refine CPU ms | background CPU ms | latency p50 / p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, r in report["runs"].items():
        refine = r["stages"].get("refine", {}).get("cpu_ms_per_frame")
        print(f"| {key} | {r['fps']:.1f} | {r['cpu_ms_per_frame_effect']:.2f} | "
              f"{r['stages']['segment']['wall_ms_per_frame']:.2f} | "
              f"{'-' if refine is None else f'{refine:.2f}'} | "
              f"{r['stages']['background']['cpu_ms_per_frame']:.2f} | "
              f"{r['latency_ms_p50']:.1f} / {r['latency_ms_p95']:.1f} |")
    ratios = report["ratios_vs_baseline"]
    print(f"\nlitecam / baseline: CPU per frame x{ratios['cpu_ms_per_frame']:.2f}, fps x{ratios['fps']:.2f}, "
          f"background stage CPU x{ratios['background_stage_cpu_ms']:.2f}; peak RSS {report['peak_rss_mb']:.0f} MB")
    if args.overlay:
        report["overlay_encode"] = row = overlay_encode_bench(args.width, args.height)
        print(f"\noverlay encode {row['width']}x{row['height']}: {row['encode_cpu_ms_median']:.2f} CPU-ms median, "
              f"p95 {row['encode_cpu_ms_p95']:.2f}, {row['message_kib']:.0f} KiB per frame "
              f"(opaque BGR frames {row['opaque_encode_cpu_ms_median']:.2f} ms)")
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
