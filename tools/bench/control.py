"""`--control`: the control page's server on a live chain, what a change and a watching page cost.

`--preset`'s chain (blur background) on the paced synthetic camera at `--width`×`--height`, `--fps`,
with the control server on a free local port: 20 POSTs alternating the background between a colour
and blur, each timed from sending the request to the first frame at the sink that shows it
(ms, median / p95 and every one); then the process's CPU-ms per second over 10 s with a page's
polling (state + thumbnail, twice a second, as control.js does) and 10 s without, and the difference
as CPU-ms per frame.
"""

from __future__ import annotations

import json
import time

from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.sources.synthetic import SyntheticSource
from tools.bench.common import emit, percentile


def control_bench(preset: str, width: int, height: int, fps: float, changes: int = 20) -> dict:
    """The control page's server on `preset`'s live chain (synthetic camera, paced): `changes`
    POSTs alternating the background between a colour and blur, each timed from sending the request
    to the first frame at the sink that shows it; then the litecam process's CPU-ms per second over
    10 s with a page's polling (state + thumbnail, twice a second, as control.js does) and 10 s without."""
    import dataclasses
    import http.client
    import threading

    from pipeline.chain import make_effects
    from pipeline.control import ControlServer
    from pipeline.presets import load_preset
    from pipeline.settings_service import SettingsService
    from pipeline.sinks.thumbnail import ThumbnailSink
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
    return {
        "preset": preset,
        "size": f"{width}x{height}",
        "fps": fps,
        "changes": changes,
        "request_to_frame_ms_median": percentile(latencies, 50),
        "request_to_frame_ms_p95": percentile(latencies, 95),
        "request_to_frame_ms": latencies,
        "cpu_ms_per_s_page_polling": polled,
        "cpu_ms_per_s_no_page": idle,
        "page_cost_cpu_ms_per_frame": (polled - idle) / fps,
    }


def run(args) -> int:
    """`--control`: print the summary, write `args.json`."""
    report = control_bench(args.preset, args.width, args.height, args.fps)
    return emit(report, args.json, summary=lambda r: {k: v for k, v in r.items() if k != "request_to_frame_ms"})
