"""The control page's server on a running graph: real HTTP requests on loopback change the effects
at a frame boundary; bad requests are refused and change nothing."""

from __future__ import annotations

import http.client
import json
import time

import cv2
import numpy as np
import pytest

from pipeline.chain import make_effects
from pipeline.control import MAX_UPLOAD_BYTES, ControlServer
from pipeline.errors import UserError
from pipeline.graph import Graph
from pipeline.power import PowerGovernor
from pipeline.settings import Settings
from pipeline.settings_service import SettingsService
from pipeline.sinks.thumbnail import ThumbnailSink
from pipeline.sources.synthetic import SyntheticSource
from tests.graphs.helpers import GraphThread
from tests.pipeline.test_settings_service import GREEN, AtFrame, Corners


class Running:
    """synthetic (offline, paced ~40 fps) → restore (with `restore`) → light (with `light`) → segment →
    matte → background → corners + thumbnail, with a control server on a free loopback port; `stop()`
    ends it and checks it ran cleanly."""

    def __init__(self, token: str | None = None, frames: int = 100_000, restore: bool = False, light: str = "off"):
        self.settings = Settings(
            size=(320, 180), refine=False, temporal=True, background="blur", restore=restore, light=light
        )
        self.corners, self.thumbnail = Corners(), ThumbnailSink()
        effects, _ = make_effects(self.settings)
        self.graph = Graph(
            SyntheticSource(320, 180, 30, frames=frames),
            [AtFrame({}, pace_s=0.025), *effects],
            [self.corners, self.thumbnail],
        )
        self.power = PowerGovernor(self.settings.power, self.graph.stages, 30, self.graph.bus)
        self.service = SettingsService(self.settings, self.graph.stages, self.graph.bus, power=self.power)
        self.control = ControlServer(self.service, self.thumbnail, "127.0.0.1", 0, token=token)
        self.control.start()
        self.running = GraphThread(self.graph)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.control.server.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post_json(self, values, path: str = "/settings", **headers):
        status, body = self.request(
            "POST", path, json.dumps(values).encode(), {"Content-Type": "application/json", **headers}
        )
        return status, json.loads(body)

    def stop(self) -> None:
        try:
            self.running.stop()
        finally:
            self.control.stop()
        seqs = [seq for seq, _ in self.corners.seen]
        assert seqs == list(range(len(seqs)))  # every frame reached the sink: no gap


@pytest.fixture
def running():
    run = Running()
    yield run
    run.stop()


def wait_for(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


def test_a_posted_change_shows_within_three_frames(running):
    """Also prints the time from sending the request to the first changed frame at the sink."""
    assert wait_for(lambda: len(running.corners.seen) > 5)
    sent = time.monotonic()
    status, answer = running.post_json({"background": "color:#00FF00"})
    assert (status, answer) == (200, {"changed": {"background": "color:#00FF00"}})
    answered_at = len(running.corners.seen)  # frames delivered when the answer came back
    assert wait_for(lambda: any(c == GREEN for _, c in running.corners.seen[answered_at:]))
    print(f"request -> first changed frame at the sink: {1000 * (time.monotonic() - sent):.0f} ms")
    first_green = next(i for i, (_, c) in enumerate(running.corners.seen) if c == GREEN)
    assert first_green - answered_at <= 3
    state = json.loads(running.request("GET", "/state")[1])
    assert state["settings"]["background"] == "color:#00FF00" and state["frame"]["fps"] > 0
    assert state["frame"]["cpu_ms_per_frame"] > 0 and state["frame"]["tiers"]["segment"] == "landscape"
    assert state["last"] == {"changed": {"background": "color:#00FF00"}}
    status, jpeg = running.request("GET", "/thumbnail.jpg")
    thumb = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert status == 200 and thumb.shape == (180, 320, 3)
    status, page = running.request("GET", "/")
    assert status == 200 and b"litecam control" in page and b"/settings" in page  # the script is inlined


def test_an_uploaded_image_becomes_the_background(running, tmp_path):
    picture = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)  # a ~6 MB PNG
    picture[:60, :60] = (255, 0, 0)  # blue where the corner pixel lands after fitting to 320x180
    ok, png = cv2.imencode(".png", picture)
    assert len(png) > 4 * 1024 * 1024  # far above aiohttp's default 1 MB body limit
    status, answer = running.request("POST", "/background", png.tobytes(), {"Content-Type": "image/png"})
    assert status == 200 and json.loads(answer)["changed"]["background"].startswith("image:")
    assert wait_for(lambda: running.corners.seen and running.corners.seen[-1][1] == (255, 0, 0))


def test_bad_requests_are_refused_and_change_nothing(running):
    before = running.service.settings
    cases = [
        (running.post_json({"edge_low": "half"}), 400, "edge_low"),
        (running.post_json({"light_wrap": 7}), 400, "light_wrap"),
        (running.post_json({"fps": 60}), 400, "fps cannot change"),
        (running.post_json({"restore": True}), 400, "restart with --restore"),
        (running.post_json(["background", "none"]), 400, "JSON object"),
        (running.post_json({"background": "none"}, Origin="http://evil.example"), 403, "another site"),
    ]
    status, body = running.request("POST", "/settings", b'{"background": "none"}', {"Content-Type": "text/plain"})
    cases.append(((status, json.loads(body)), 415, "application/json"))
    status, body = running.request("POST", "/background", b"GIF89a not really", {"Content-Type": "image/gif"})
    cases.append(((status, json.loads(body)), 415, "not an image"))
    status, body = running.request("POST", "/background", b"\x89PNG but broken" * 100, {"Content-Type": "image/png"})
    cases.append(((status, json.loads(body)), 400, "not an image litecam reads"))
    # a 200 MB upload: refused from its declared length, before any of it is read
    connection = http.client.HTTPConnection("127.0.0.1", running.control.server.port, timeout=30)
    connection.putrequest("POST", "/background")
    connection.putheader("Content-Type", "image/png")
    connection.putheader("Content-Length", str(200 * 1024 * 1024))
    connection.endheaders()
    connection.send(b"\x89PNG" + bytes(1024))
    response = connection.getresponse()
    cases.append(((response.status, json.loads(response.read())), 413, "larger than 20 MB"))
    connection.close()
    assert MAX_UPLOAD_BYTES == 20 * 1024 * 1024
    for (status, answer), expected_status, needle in cases:
        assert status == expected_status and needle in answer["error"], answer
    assert running.service.settings == before
    assert running.request("GET", "/state", headers={"Host": "evil.example:8766"})[0] == 403  # DNS rebinding


def test_a_token_is_required_off_loopback_and_checked_when_set():
    settings = Settings()
    service = SettingsService(settings, [])
    with pytest.raises(UserError, match="--control-token"):
        ControlServer(service, ThumbnailSink(), "0.0.0.0", 8766)
    run = Running(token="s3cret")
    try:
        assert run.request("GET", "/state")[0] == 403
        assert (
            run.request(
                "POST", "/settings?token=wrong", b'{"background": "none"}', {"Content-Type": "application/json"}
            )[0]
            == 403
        )
        assert run.post_json({"background": "none"}, path="/settings?token=s3cret")[0] == 200
        assert run.control.url.endswith("/?token=s3cret")
    finally:
        run.stop()
