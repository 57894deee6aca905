"""`--soak MINUTES`: a long live run, checked for leaks of memory, threads and latency.

The paced synthetic camera (`--width`×`--height` at `--fps`) through `--preset`'s effect chain under
the deadline scheduler, for MINUTES. Reported: resident memory (MiB) after the warm-up and at the
end and its growth, the thread count then and at the end, the latency p95 (ms) of the first and the
last minute (or fifth of the run), every ring's high-water mark against its capacity, the number of
tier changes, frames delivered and dropped at the head, and the samples.
"""

from __future__ import annotations

import time

from pipeline.graph import Graph
from pipeline.sinks.null import NullSink
from pipeline.sources.synthetic import SyntheticSource
from tools.bench.common import emit, percentile, resident_mb


def soak(
    minutes: float,
    width: int = 1280,
    height: int = 720,
    fps: float = 30,
    warmup_s: float = 20,
    sample_s: float = 5,
    preset: str = "video-call-720p",
) -> dict:
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
    last: list[float] = []  # only those are kept, so that the harness itself does not grow
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
            samples.append(
                {
                    "t_s": round(time.monotonic() - start, 1),
                    "rss_mb": resident_mb(),
                    "threads": threading.active_count(),
                    "delivered": sink.frames,
                    "dropped_at_head": graph.counters[source.name].dropped,
                }
            )

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    stats = graph.run()
    stop.set()
    thread.join()
    steady = [s for s in samples if s["t_s"] >= warmup_s] or samples
    rings = stats["rings"]
    return {
        "minutes": minutes,
        "size": f"{width}x{height}",
        "fps_target": fps,
        "preset": preset,
        "frames_delivered": sink.frames,
        "dropped_at_head": stats["nodes"][source.name]["dropped"],
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


def run(args) -> int:
    """`--soak`: print the summary, write `args.json`."""
    report = soak(args.soak, args.width, args.height, args.fps, preset=args.preset)
    return emit(report, args.json, summary=lambda r: {k: v for k, v in r.items() if k != "samples"})
