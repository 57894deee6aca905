"""The overlay page in a real headless Chromium: transparent background, opaque person, frame rate,
latency, and reconnection after the pipeline restarts.

Needs Debian's `chromium` and `chromium-driver` (installed by `tools/install_system_deps.sh`, which
`make test` runs as root) and the `selenium` package (the `test` extra); skips with the reason
otherwise. Run with `-s` to see the measured frame rate and latency.
"""

from __future__ import annotations

import base64
import time

import cv2
import numpy as np
import pytest

from tests.graphs.helpers import GraphThread
from tools.browser import headless_chromium, missing, page_state

WIDTH, HEIGHT, FPS = 640, 360, 30

pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing() is not None, reason=missing() or "")]


class Pipeline:
    """synthetic (live) → segment → background(transparent) → overlay, running on a thread."""

    def __init__(self, port: int = 0):
        from pipeline.graph import Graph
        from pipeline.sinks.overlay import OverlaySink
        from pipeline.sources.synthetic import SyntheticSource
        from pipeline.stages.background import Background
        from pipeline.stages.segment import Segment

        self.sink = OverlaySink("127.0.0.1", port)
        source = SyntheticSource(WIDTH, HEIGHT, FPS, frames=None, live=True)
        self.graph = Graph(source, [Segment("general", roi=False), Background("transparent")], [self.sink])
        self.running = GraphThread(self.graph)

    @property
    def error(self) -> BaseException | None:
        return self.running.error

    def stop(self) -> None:
        self.running.stop()


@pytest.fixture
def browser():
    try:
        context = headless_chromium(WIDTH, HEIGHT)
        driver = context.__enter__()
    except Exception as exc:  # a broken install: say so rather than fail obscurely
        pytest.skip(f"Chromium did not start under chromedriver: {exc}")
    yield driver
    context.__exit__(None, None, None)


def wait_page(driver, predicate, what: str, timeout_s: float = 60.0, pipeline: Pipeline | None = None) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = page_state(driver)
        if predicate(state):
            return state
        if pipeline is not None and pipeline.error is not None:
            raise pipeline.error
        assert time.monotonic() < deadline, f"page never {what}: {state}"
        time.sleep(0.1)


def canvas_alpha(driver, points: list[tuple[int, int]]) -> list[int]:
    return driver.execute_script(
        """
        const c = document.getElementById('overlay'), ctx = c.getContext('2d');
        return arguments[0].map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3]);""",
        points,
    )


def screenshot_bgra(driver) -> np.ndarray:
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    image = cv2.imdecode(np.frombuffer(base64.b64decode(shot["data"]), np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.ndim == 3 and image.shape[2] == 4, "screenshot has no alpha channel"
    return image


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def measurements(pipeline: Pipeline, driver, page_fps: float) -> dict:
    """Page fps; capture-to-page latency (the page's ack, on the graph clock), and its parts: the
    graph (capture to sink), send to ack (network + page), the page (arrival to drawn); encode CPU-ms."""
    recent = int(3 * FPS)
    latency = pipeline.sink.latency_ms()[-recent:]
    graph = list(pipeline.graph.latency_ms[pipeline.sink.name])[-recent:]
    page = page_state(driver)["pageMs"]
    encode = list(pipeline.sink.encode_ms)[-recent:]
    return {
        "page fps": page_fps,
        "latency p50 ms": _p(latency, 0.5),
        "latency p95 ms": _p(latency, 0.95),
        "graph p95 ms": _p(graph, 0.95),
        "send-to-ack p95 ms": _p(pipeline.sink.round_trip_ms()[-recent:], 0.95),
        "page decode+draw p95 ms": _p(page, 0.95),
        "encode median CPU-ms": _p(encode, 0.5),
    }


def test_page_shows_the_person_on_a_transparent_background_and_reconnects(browser):
    pipeline = Pipeline()
    port = pipeline.sink.port
    try:
        browser.get(pipeline.sink.url)
        wait_page(browser, lambda s: s.get("drawn", 0) >= 10, "drew 10 frames", pipeline=pipeline)

        # frame rate received by the page, over 3 s of steady state
        f0, t0 = page_state(browser)["frames"], time.monotonic()
        time.sleep(3.0)
        f1, t1 = page_state(browser)["frames"], time.monotonic()
        page_fps = (f1 - f0) / (t1 - t0)
        report = measurements(pipeline, browser, page_fps)
        print(f"\noverlay {WIDTH}x{HEIGHT}@{FPS}: " + ", ".join(f"{k} {v:.1f}" for k, v in report.items()))
        assert page_fps >= 5, f"the page received only {page_fps:.1f} fps"

        # what the page shows: transparent corners, opaque face (screenshot with a transparent default
        # background, and the canvas pixels themselves)
        # background: three corners (the astronaut's suit fills the bottom-left one) and the right edge
        corners = [(4, 4), (WIDTH - 5, 4), (WIDTH - 5, HEIGHT - 5), (WIDTH - 5, HEIGHT // 2)]
        face = (int(0.42 * WIDTH), int(0.37 * HEIGHT))
        shot = screenshot_bgra(browser)
        assert shot.shape[:2] == (HEIGHT, WIDTH)
        corner_alpha = [int(shot[y, x, 3]) for x, y in corners]
        assert max(corner_alpha) <= 8, f"background not transparent in the screenshot: {corner_alpha}"
        assert shot[face[1], face[0], 3] >= 245, "the person is not opaque in the screenshot"
        face_region = shot[face[1] - 5 : face[1] + 5, face[0] - 5 : face[0] + 5]
        assert face_region[:, :, 3].min() >= 240 and face_region[:, :, :3].mean() > 40  # a real face, not black
        canvas = canvas_alpha(browser, corners + [face])
        assert max(canvas[:4]) <= 8 and canvas[4] >= 245, canvas

        # the pipeline stops: the page clears at once and waits; a new pipeline: it reconnects by itself
        pipeline.stop()
        wait_page(browser, lambda s: not s["connected"], "noticed the disconnect", timeout_s=10)
        assert max(canvas_alpha(browser, corners + [face])) == 0, "a stale frame stayed on the page"
        drawn_before = page_state(browser)["drawn"]
        pipeline = Pipeline(port=port)
        state = wait_page(
            browser,
            lambda s: s["connections"] >= 2 and s["drawn"] >= drawn_before + 5,
            "reconnected and drew new frames",
            pipeline=pipeline,
        )
        assert state["connected"]
        assert canvas_alpha(browser, [face])[0] >= 245
    finally:
        pipeline.stop()
