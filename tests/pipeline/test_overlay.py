"""The overlay sink: encoding, safety checks, keep-newest viewers, restarts (real server, real sockets).

The browser side (a real headless Chromium drawing the page) is tests/cli/test_overlay_browser.py.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from fractions import Fraction

import aiohttp
import cv2
import numpy as np
import pytest

from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.sinks.overlay import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    WINDOW,
    FrameEncoder,
    OverlaySink,
    decode_message,
    encode_alpha_png,
    paint,
    parse_overlay_address,
)
from pipeline.web import is_loopback, token_ok

W, H = 64, 48
CAPS = Caps(W, H, Fraction(30), channels=4, live=True)


def bgra_frame(seq: int, width: int = W, height: int = H) -> Frame:
    pixels = np.zeros((height, width, 4), np.uint8)
    pixels[:, :, 1] = 200
    pixels[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4, 3] = 255
    return Frame(pixels, pts_ns=seq * 33_333_333, seq=seq, capture_ns=time.monotonic_ns())


@pytest.fixture
def server():
    sinks = []

    def start(**kwargs) -> OverlaySink:
        caps = kwargs.pop("caps", CAPS)
        sink = OverlaySink(kwargs.pop("host", "127.0.0.1"), kwargs.pop("port", 0), **kwargs)
        sink.open(caps)
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.close("eos")


class Client:
    """A WebSocket viewer on its own thread: records frames, acknowledges them like the page does."""

    def __init__(self, url: str, *, ack: bool = True, reconnect: bool = False, headers=None):
        self.url = url.replace("http://", "ws://").replace("/?", "/ws?")
        if not self.url.split("?")[0].endswith("/ws"):
            self.url = self.url.rstrip("/") + "/ws"
        self.ack, self.reconnect, self.headers = ack, reconnect, headers
        self.frames: list[dict] = []
        self.closes: list[int | None] = []
        self.connections = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()

    async def _main(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                try:
                    async with session.ws_connect(self.url, headers=self.headers) as ws:
                        self.connections += 1
                        while not self._stop.is_set():
                            try:
                                msg = await ws.receive(timeout=0.1)
                            except asyncio.TimeoutError:
                                continue
                            if msg.type == aiohttp.WSMsgType.BINARY:
                                frame = decode_message(msg.data)
                                frame["received_s"] = time.monotonic()
                                self.frames.append(frame)
                                if self.ack:
                                    await ws.send_json({"seq": frame["seq"], "capture_ns": str(frame["capture_ns"])})
                            elif msg.type in (
                                aiohttp.WSMsgType.CLOSE,
                                aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING,
                            ):
                                break
                        self.closes.append(ws.close_code)
                except (aiohttp.ClientError, OSError) as exc:
                    if not self.reconnect:
                        self.error = exc
                        return
                if not self.reconnect:
                    return
                await asyncio.sleep(0.05)

    def wait_for(self, predicate, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if self.error is not None:
                raise self.error
            assert time.monotonic() < deadline, "timed out waiting for the viewer"
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def stalled_viewer(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake, then never reads nor acknowledges."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def http_get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8", "replace")


def wait_viewers(sink: OverlaySink, n: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sink.viewers < n:
        assert time.monotonic() < deadline, f"{sink.viewers} viewers, expected {n}"
        time.sleep(0.01)


# -- encoding -------------------------------------------------------------------------------------
def test_alpha_png_decodes_to_the_exact_alpha():
    rng = np.random.default_rng(1)
    alpha = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    decoded = cv2.imdecode(np.frombuffer(encode_alpha_png(alpha), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (37, 53, 4)
    np.testing.assert_array_equal(decoded[:, :, 3], alpha)
    assert not decoded[:, :, :3].any()  # palette colour is black: the alpha carries everything


def test_bgra_frame_sends_the_person_box_with_half_size_alpha():
    frame = bgra_frame(7)  # person: the centre rectangle x 16..48, y 12..36 of 64x48
    decoded = decode_message(FrameEncoder().encode(frame))
    assert (decoded["seq"], decoded["pts_ns"], decoded["capture_ns"]) == (7, frame.pts_ns, frame.capture_ns)
    assert (decoded["width"], decoded["height"]) == (W, H)
    assert decoded["box"] == (14, 10, 36, 28)  # the non-zero alpha, one half-size pixel wider all round
    assert decoded["alpha_size"] == (18, 14) and decoded["alpha"].shape == (14, 18)
    expected = frame.pixels[::2, ::2, 3][5:19, 7:25]  # point-sampled at half size
    np.testing.assert_array_equal(decoded["alpha"], expected)  # lossless
    assert (decoded["alpha"][0] == 0).all() and (decoded["alpha"][:, -1] == 0).all()  # a clear border
    assert np.abs(decoded["colour"].astype(int) - frame.pixels[10:38, 14:50, :3]).max() <= 8  # JPEG q80
    shown = paint(decoded)
    assert (shown[:, :, 3][frame.pixels[:, :, 3] == 0] <= 64).all()
    assert (shown[14:34, 18:46, 3] == 255).all() and shown[:8, :, 3].max() == 0


def test_frame_without_a_person_sends_no_picture():
    frame = bgra_frame(3)
    frame.pixels[:, :, 3] = 0
    message = FrameEncoder().encode(frame)
    decoded = decode_message(message)
    assert decoded["box"] == (0, 0, 0, 0) and decoded["colour"] is None and len(message) == 48
    assert not paint(decoded).any()


def test_bgr_frame_is_opaque_unless_it_carries_frame_alpha():
    pixels = np.full((H, W, 3), 90, np.uint8)
    opaque = decode_message(FrameEncoder().encode(Frame(pixels, 0, 0)))
    assert opaque["box"] == (0, 0, W, H) and (opaque["alpha"] == 255).all()
    alpha = np.zeros((H, W), np.uint8)
    alpha[:, W // 2 :] = 255
    cut = decode_message(FrameEncoder().encode(Frame(pixels, 0, 1, alpha=alpha)))
    assert cut["box"] == (W // 2 - 2, 0, W // 2 + 2, H)
    shown = paint(cut)  # a hard edge comes back as a ramp about two pixels wide (half-size alpha)
    assert (shown[:, W // 2 + 1 :, 3] == 255).all() and shown[:, : W // 2 - 2, 3].max() == 0


# -- addresses and tokens -------------------------------------------------------------------------
def test_loopback_is_the_default():
    assert parse_overlay_address("") == (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 8765)
    sink = OverlaySink()
    assert (sink.host, sink.port, sink.token) == ("127.0.0.1", 8765, None)
    from pipeline.commands import parse_sink

    assert parse_sink("overlay", {}).host == "127.0.0.1"
    assert parse_sink("overlay:9000", {}).port == 9000
    assert (parse_sink("overlay:[::1]:9001", {}).host, parse_sink("overlay:[::1]:9001", {}).port) == ("::1", 9001)


def test_address_forms_and_loopback_names():
    assert parse_overlay_address("localhost:9000") == ("localhost", 9000)
    for bad in ("host:", "1.2.3.4:http", "[::1]", ":80", "x:70000"):
        with pytest.raises(UserError, match="overlay"):
            parse_overlay_address(bad)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com", "localhost.evil.com"))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "my-pc.lan"])
def test_refuses_a_public_bind_without_token(host):
    with pytest.raises(UserError, match="--overlay-token"):
        OverlaySink(host, 8765)
    from pipeline.commands import parse_sink

    with pytest.raises(UserError, match="--overlay-token"):
        parse_sink(f"overlay:{host}:8765" if ":" not in host else f"overlay:[{host}]:8765", {})
    OverlaySink(host, 8765, token="s3cret")  # with a token it is allowed
    with pytest.raises(UserError, match="empty"):
        OverlaySink(host, 8765, token="")


def test_token_compare():
    assert token_ok(None, None) and token_ok(None, "anything")
    assert token_ok("abc", "abc")
    assert not token_ok("abc", None) and not token_ok("abc", "abd") and not token_ok("abc", "")
    assert token_ok("ünï", "ünï")


def test_token_is_required_by_page_and_websocket(server):
    sink = server(token="s3cret token")
    assert sink.url.endswith("/?token=s3cret%20token")
    assert http_get(sink.port, "/")[0] == 403
    assert http_get(sink.port, "/?token=wrong")[0] == 403
    status, body = http_get(sink.port, "/?token=s3cret%20token")
    assert status == 200 and "<canvas" in body and "new WebSocket" in body  # overlay.js is inlined
    for url in (f"http://127.0.0.1:{sink.port}/ws", f"http://127.0.0.1:{sink.port}/ws?token=nope"):
        refused = Client(url)
        refused.wait_for(lambda refused=refused: refused.error is not None or refused.connections)
        assert isinstance(refused.error, aiohttp.WSServerHandshakeError) and refused.error.status == 403
    viewer = Client(sink.url)
    wait_viewers(sink, 1)
    sink.process(bgra_frame(0))
    viewer.wait_for(lambda: viewer.frames)
    viewer.stop()


def test_serves_only_its_page_and_stream(server):
    sink = server()
    assert http_get(sink.port, "/")[0] == 200
    for path in (
        "/overlay.js",
        "/index.html",
        "/../pipeline/cli.py",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/static/../../README.md",
        "/etc/passwd",
    ):
        assert http_get(sink.port, path)[0] == 404, path


def test_loopback_server_refuses_foreign_host_and_cross_site_origin(server):
    sink = server()
    assert http_get(sink.port, "/", host="evil.example:8765")[0] == 403  # DNS rebinding
    assert http_get(sink.port, "/", host=f"localhost:{sink.port}")[0] == 200
    foreign = Client(f"http://127.0.0.1:{sink.port}/ws", headers={"Origin": "https://evil.example"})
    foreign.wait_for(lambda: foreign.error is not None or foreign.connections)
    assert isinstance(foreign.error, aiohttp.WSServerHandshakeError) and foreign.error.status == 403
    same = Client(f"http://127.0.0.1:{sink.port}/ws", headers={"Origin": f"http://127.0.0.1:{sink.port}"})
    wait_viewers(sink, 1)
    same.stop()


def test_port_in_use_is_a_user_error_naming_the_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sink = OverlaySink("127.0.0.1", port)
        with pytest.raises(UserError, match=f"port {port}.*in use"):
            sink.open(CAPS)
        sink.close()


# -- viewers --------------------------------------------------------------------------------------
def test_no_viewer_means_no_encoding(server):
    sink = server()
    for seq in range(5):
        sink.process(bgra_frame(seq))
    assert sink.frames_published == 0 and not sink.encode_ms


def test_stalled_viewer_never_slows_the_pipeline_or_a_fast_viewer(server):
    sink = server(caps=Caps(320, 240, Fraction(30), channels=4, live=True))
    stalled = stalled_viewer(sink.port)
    fast = Client(sink.url)
    wait_viewers(sink, 2)
    frames = 90
    process_s = []
    for seq in range(frames):
        t0 = time.perf_counter()
        sink.process(bgra_frame(seq, 320, 240))
        process_s.append(time.perf_counter() - t0)
        time.sleep(0.01)
        if seq == frames // 2:  # the fast viewer is current in the middle of the run too
            fast.wait_for(lambda: fast.frames and fast.frames[-1]["seq"] >= frames // 2 - 3)
    fast.wait_for(lambda: fast.frames and fast.frames[-1]["seq"] == frames - 1)
    assert max(process_s) < 0.1, "process() must never wait for a viewer"
    assert sink.frames_published == frames
    assert len(fast.frames) >= frames // 2  # the fast viewer keeps up (acks free its credits)
    seqs = [f["seq"] for f in fast.frames]
    assert seqs == sorted(seqs)  # always newer, never a stale frame after a fresh one
    stats = sorted(sink.viewer_stats(), key=lambda s: s["sent"])
    slow_stats = stats[0]
    # the stalled one got its credit window (+ one frame per ack timeout) and no more
    assert slow_stats["sent"] <= WINDOW + 2 and slow_stats["acked"] == 0
    assert slow_stats["replaced"] >= frames - WINDOW - 4  # its slot kept only the newest frame
    assert sink.latency_ms() and max(sink.latency_ms()) < 5000
    assert len(sink.round_trip_ms()) == len(sink.latency_ms())  # every ack matched its send
    fast.stop()
    stalled.close()


def test_several_viewers_each_get_the_stream(server):
    sink = server()
    viewers = [Client(sink.url) for _ in range(3)]
    wait_viewers(sink, 3)
    for seq in range(10):
        sink.process(bgra_frame(seq))
        time.sleep(0.02)
    for viewer in viewers:
        viewer.wait_for(lambda viewer=viewer: viewer.frames and viewer.frames[-1]["seq"] == 9)
        viewer.stop()


def test_pipeline_restart_closes_viewers_and_they_reconnect(server):
    first = server()
    port = first.port
    viewer = Client(first.url, reconnect=True)
    wait_viewers(first, 1)
    first.process(bgra_frame(100))
    viewer.wait_for(lambda: viewer.frames)
    first.close("interrupt")  # the pipeline stops: its viewers are told "going away"
    viewer.wait_for(lambda: viewer.closes)
    assert viewer.closes[0] == aiohttp.WSCloseCode.GOING_AWAY
    second = server(port=port)  # a new pipeline on the same port
    wait_viewers(second, 1)
    second.process(bgra_frame(0))
    viewer.wait_for(lambda: viewer.frames[-1]["seq"] == 0)
    assert viewer.connections == 2
    viewer.stop()


# -- chroma background, preset --------------------------------------------------------------------
def test_chroma_background_is_pure_green():
    from pipeline.stages.backdrops import parse_background
    from pipeline.stages.background import Background

    spec = parse_background("chroma")
    assert spec.mode == "chroma" and spec.bgr == (0, 255, 0) and str(spec) == "chroma" and spec.channels == 3
    with pytest.raises(UserError, match="chroma takes no value"):
        parse_background("chroma:blue")
    stage = Background("chroma")
    assert stage.open(Caps(32, 16, Fraction(30))).channels == 3
    mask = np.zeros((8, 16), np.float32)
    mask[:, 8:] = 1.0
    out = stage.process(Frame(np.full((16, 32, 3), 50, np.uint8), 0, 0, mask=mask))
    assert (out.pixels[:, :4] == (0, 255, 0)).all() and (out.pixels[:, -4:] == 50).all()


def test_stream_overlay_preset_uses_the_overlay_sink():
    from pipeline.presets import load_preset

    settings = load_preset("stream-overlay")
    assert settings.sinks == ["overlay"] and settings.background == "transparent"


def test_cli_refuses_a_public_overlay_without_token():
    import subprocess
    import sys

    from tests.conftest import REPO

    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--input", "synthetic", "--sink", "overlay:0.0.0.0:8765"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--overlay-token" in result.stderr.splitlines()[-1]
