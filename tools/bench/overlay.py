"""The overlay sink: its per-frame encoding, and the overlay page in a real headless Chromium.

`overlay_encode_bench` (the effect mode's `--overlay`): thread-CPU ms per frame to encode overlay
messages of the synthetic portrait cut out (BGRA), their size (KiB), the same for opaque BGR frames,
and the alpha PNG encoders compared (ms).

`--overlay-page` (`run`): a preset's live chain (default `stream-overlay`, `--width`×`--height` at
`--fps`, synthetic camera) into the overlay sink with headless Chromium showing the page, over
`--seconds` of steady state: the frame rate the page draws (fps), capture-to-page latency (the page's
acknowledgement, on the graph clock, ms p50 / p95) and its parts (graph latency, send to
acknowledgement, the page's decode and draw, ms p95), the sink's encoding CPU-ms per frame (median)
and the process's CPU-ms per frame drawn. Needs Debian's `chromium` and `chromium-driver`, and selenium.
"""

from __future__ import annotations

import functools
import time

import cv2
import numpy as np

from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.sinks.null import NullSink
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stages.segment import Segment
from tools.bench.common import emit, percentile


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
    Graph(source, [Segment("general", roi=False), Background("transparent")], [_Keep()]).run()
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
    half = [
        cv2.resize(np.ascontiguousarray(f.pixels[:, :, 3]), (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        for f in kept
    ]
    fast_png = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    encoders = {
        "palette_png_ours": encode_alpha_png,
        "opencv_grey_png_rle_level1": lambda a: cv2.imencode(".png", a, fast_png),
        "opencv_grey_png_default": lambda a: cv2.imencode(".png", a),
    }
    png_ms = {
        name: float(np.median([_thread_ms(functools.partial(encode, a)) for a in half * 4]))
        for name, encode in encoders.items()
    }
    return {
        "width": width,
        "height": height,
        "frames": frames,
        "encode_cpu_ms_median": cut[len(cut) // 2],
        "encode_cpu_ms_p95": cut[min(len(cut) - 1, int(0.95 * len(cut)))],
        "message_kib": size / 1024,
        "opaque_encode_cpu_ms_median": opaque[len(opaque) // 2],
        "alpha_png_ms": png_ms,
    }


def _thread_ms(fn) -> float:
    """Thread-CPU ms of one call of `fn`."""
    c0 = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - c0) / 1e6


def overlay_page_bench(preset: str, width: int, height: int, fps: float, seconds: float) -> dict:
    """The overlay page in headless Chromium fed by `preset`'s chain, measured over `seconds` of
    steady state (after 10 frames drawn and 3 s of settling)."""
    import dataclasses
    import threading

    from pipeline.chain import make_effects
    from pipeline.presets import load_preset
    from pipeline.sinks.overlay import OverlaySink
    from tools.browser import headless_chromium, missing, page_state

    if missing():
        raise SystemExit(f"bench --overlay-page: {missing()}")
    settings = dataclasses.replace(load_preset(preset), size=(width, height))
    sink = OverlaySink("127.0.0.1", 0)
    graph = Graph(
        SyntheticSource(width, height, fps, frames=None, live=True),
        make_effects(settings)[0],
        [sink],
        max_in_flight=settings.max_in_flight,
    )
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
        "preset": preset,
        "width": width,
        "height": height,
        "fps_target": fps,
        "seconds": seconds,
        "page_fps": round((f1 - f0) / (t1 - t0), 2),
        "latency_ms_p50": round(percentile(latency, 50), 1),
        "latency_ms_p95": round(percentile(latency, 95), 1),
        "graph_latency_ms_p95": round(percentile(list(graph.latency_ms[sink.name])[-recent:], 95), 1),
        "send_to_ack_ms_p95": round(percentile(sink.round_trip_ms()[-recent:], 95), 1),
        "page_decode_draw_ms_p95": round(percentile(page_ms, 95), 1),
        "encode_cpu_ms_median": round(percentile(list(sink.encode_ms)[-recent:], 50), 2),
        "pipeline_process_cpu_ms_per_frame": round(1000 * (time.process_time() - cpu0) / max(f1 - f0, 1), 1),
    }


def run(args) -> int:
    """`--overlay-page`: print the summary, write `args.json`."""
    return emit(overlay_page_bench(args.page_preset, args.width, args.height, args.fps, args.seconds), args.json)
