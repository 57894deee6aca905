"""Streaming overlay: a local web page that shows the stream with a real alpha channel.

`--sink overlay[:HOST:PORT]` (default 127.0.0.1:8765) serves one page (`overlay_page/index.html`,
for an OBS Browser Source or any browser tab) and one WebSocket (`/ws`) that carries the frames.
Nothing else is served: there are two fixed routes and no file paths are read from requests.

Wire format, one binary WebSocket message per frame (little-endian)::

    header (48 bytes): magic b"LCO1", u32 seq, i64 pts_ns, i64 capture_ns (the graph clock),
                       u16 width, u16 height (the frame), u16 x, y, box_width, box_height (the
                       person's bounding box in frame pixels), u16 alpha_width, alpha_height,
                       u32 colour_bytes, u32 alpha_bytes
    colour: a JPEG of the box's BGR pixels (quality `JPEG_QUALITY`, 4:2:0); none if the box is empty
    alpha:  a PNG of the box's alpha at half resolution, palette-coded: palette entry i is black
            with opacity i (tRNS), so the decoded image's *alpha channel* is the matte
    Everything outside the box is transparent; the page clears it.

Why this encoding (thread-CPU ms per 1280x720 frame of the synthetic portrait cut out, on the
2-core dev box while another process kept one core busy; `python -m tools.bench --overlay`): WebP with alpha
costs ~210 ms and a full-size RGBA PNG ~130 ms, far over the 6 ms budget. A JPEG of the whole
colour frame costs ~4.5 ms (libjpeg-turbo), and of the person's box ~3.6 ms (the box is ~75% of
this frame; less for a typical webcam framing, nothing when nobody is in the picture). The alpha —
a smooth matte upsampled from a model mask of ~256 px — loses nothing visible at half resolution,
where a hand-built PNG (filter 0, zlib level 1, Z_RLE) costs ~1 ms and stays lossless (a JPEG
alpha would ring around the edges). OpenCV's PNG writer is slower and cannot write the palette
with transparency the page composes with: measured 2026-12-01 on the Intel Xeon dev box
(`python -m tools.bench --overlay`, 640x360 alpha): ours 1.9 ms, `cv2.imencode` greyscale 2.8 ms at its
defaults and 8.5 ms at zlib level 1 with Z_RLE. In all ~5 ms. The palette
trick lets the page compose with two `drawImage` calls on a 2D canvas and no per-pixel
JavaScript: draw the colour into the box, then the alpha image scaled up to the box (bilinear)
with `destination-in`, which keeps the colour only as far as the alpha image is opaque.

Flow control (keep-newest, per viewer): `process()` runs on the graph's sink thread; it encodes
each frame once (and not at all when nobody watches) and hands the bytes to the server's event
loop with one `call_soon_threadsafe`. Every viewer has a one-frame slot that a newer frame
overwrites, and a credit window: the page acknowledges each frame after drawing it, and the server
sends a viewer at most `WINDOW` unacknowledged frames. A slow or paused viewer therefore gets fewer,
always fresh, frames; it never holds the pipeline, other viewers, or a queue of stale frames in
socket buffers. The acks carry the frame's `capture_ns` back, so the server measures
capture-to-page latency on the graph's own clock (`latency_ms()`).

Safety: binds to loopback by default. Binding anything else requires a token (`--overlay-token`),
which the page URL and the WebSocket URL must carry as `?token=...` (compared in constant time;
403 otherwise). When bound to loopback the server also refuses requests whose Host header is not a
loopback name (DNS rebinding), and the WebSocket refuses cross-site Origins (any web page could
otherwise open ws://127.0.0.1:8765/ws and watch the camera).

Threads: the aiohttp server runs on its own thread with its own event loop, started by `open()`
(which raises `UserError` naming the port when it is taken) and stopped by `close()`, which closes
every viewer's socket with 1001 "going away"; the page clears its canvas and reconnects by itself,
with back-off, so restarting the pipeline needs no reload.
"""

from __future__ import annotations

import asyncio
import collections
import json
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.ring import Overflow
from pipeline.stage import Sink
from pipeline.web import PAGE_HEADERS, LocalServer, check_exposure, inline_page, origin_ok, parse_address

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
JPEG_QUALITY = 80
ALPHA_SCALE = 2
"""The alpha plane is sent at 1/ALPHA_SCALE of the frame size (the page scales it back up)."""
WINDOW = 2
"""Frames a viewer may have unacknowledged before the server stops sending it (keeps the newest)."""
ACK_TIMEOUT_S = 1.0
"""A viewer that acknowledges nothing for this long gets its credits back (a lost ack never wedges it)."""
HEADER = struct.Struct("<4sIqq8HII")
MAGIC = b"LCO1"
PAGE_DIR = Path(__file__).resolve().parent / "overlay_page"


# -- encoding (pure functions; also used by the benchmark) ------------------------------------------
def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


_PNG_PALETTE = _png_chunk(b"PLTE", bytes(768)) + _png_chunk(b"tRNS", bytes(range(256)))


def encode_alpha_png(alpha: np.ndarray) -> bytes:
    """A palette PNG of the uint8 (h, w) `alpha` whose entry i is black at opacity i/255.

    Decoded by a browser, the image's alpha channel equals `alpha` exactly (lossless). Rows use
    PNG filter 0 and the data is deflated at level 1 with the RLE strategy: mattes are mostly runs
    of 0 and 255, and this costs ~1 ms for 640x360 where OpenCV's PNG writer costs ~3 ms.
    """
    h, w = alpha.shape
    rows = np.zeros((h, w + 1), np.uint8)  # each row starts with its filter type byte (0 = none)
    rows[:, 1:] = alpha
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(rows.tobytes()) + deflate.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + _PNG_PALETTE
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


class FrameEncoder:
    """Turns a frame into one overlay message (header + colour JPEG + alpha PNG).

    Only the person's bounding box is sent: the box of non-zero alpha at half resolution, one
    half-resolution pixel wider on each side (the alpha is 0 all round its border, so the page's
    bilinear upscaling never bleeds, and the box covers every full-resolution pixel with alpha > 0).
    Outside it the page stays transparent. A frame with no person sends an empty box (no JPEG at all).
    BGRA frames give their own alpha; BGR frames use `frame.alpha` when a stage set it, else they are
    opaque (the whole frame, with a constant alpha PNG encoded once per size).
    """

    def __init__(self, jpeg_quality: int = JPEG_QUALITY, alpha_scale: int = ALPHA_SCALE):
        self.jpeg_params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        self.alpha_scale = alpha_scale
        self._opaque: dict[tuple[int, int], bytes] = {}

    def alpha_size(self, width: int, height: int) -> tuple[int, int]:
        return max(1, width // self.alpha_scale), max(1, height // self.alpha_scale)

    def encode(self, frame: Frame) -> bytes:
        pixels = frame.pixels
        h, w = pixels.shape[:2]
        aw, ah = self.alpha_size(w, h)
        s = self.alpha_scale
        # Point-sampled: the matte is smooth (a bilinear upsampling of a ~256 px model mask), and
        # reading every other row costs half the memory traffic of an area average (0.3 vs 0.55 ms).
        if pixels.shape[2] == 4:
            small = np.ascontiguousarray(pixels[: s * ah : s, : s * aw : s, 3])
        elif frame.alpha is not None:
            small = np.ascontiguousarray(frame.alpha[: s * ah : s, : s * aw : s])
        else:
            small = None
        if small is None:  # opaque: the whole frame
            box, colour = (0, 0, aw, ah), pixels
            png = self._opaque.get((aw, ah))
            if png is None:
                png = self._opaque[(aw, ah)] = encode_alpha_png(np.full((ah, aw), 255, np.uint8))
        else:
            bx, by, bw, bh = cv2.boundingRect(small)  # of the non-zero pixels
            if bw == 0:
                box, colour, png = (0, 0, 0, 0), None, b""
            else:
                x0, y0 = max(bx - 1, 0), max(by - 1, 0)
                x1, y1 = min(bx + bw + 1, aw), min(by + bh + 1, ah)
                box = (x0, y0, x1 - x0, y1 - y0)
                png = encode_alpha_png(small[y0:y1, x0:x1])
                # a BGRA view goes to the JPEG encoder as it is (it drops the 4th channel row by
                # row): 0.4 ms cheaper than a cvtColor copy first
                colour = pixels[s * y0 : s * y1, s * x0 : s * x1]
        jpeg: bytes | memoryview = b""
        if colour is not None:
            ok, encoded = cv2.imencode(".jpg", colour, self.jpeg_params)
            if not ok:  # pragma: no cover - OpenCV only fails on invalid input
                raise RuntimeError("JPEG encoding failed")
            jpeg = encoded.data
        bx, by, bw, bh = box
        header = HEADER.pack(
            MAGIC,
            frame.seq & 0xFFFFFFFF,
            frame.pts_ns,
            frame.capture_ns,
            w,
            h,
            s * bx,
            s * by,
            s * bw,
            s * bh,
            bw,
            bh,
            len(jpeg),
            len(png),
        )
        return b"".join((header, jpeg, png))


def decode_message(message: bytes) -> dict:
    """Parse an overlay message (for tests and tools).

    Returns the header fields, 'box' (x, y, w, h of the person's box in frame pixels), 'colour'
    (BGR of the box, or None), 'alpha' (uint8, the box at 1/ALPHA_SCALE, or None), and 'bytes'.
    """
    (magic, seq, pts_ns, capture_ns, w, h, x, y, cw, ch, aw, ah, n_colour, n_alpha) = HEADER.unpack_from(message)
    if magic != MAGIC:
        raise ValueError(f"not an overlay message (magic {magic!r})")
    start = HEADER.size
    colour = alpha = None
    if n_colour:
        colour = cv2.imdecode(np.frombuffer(message, np.uint8, n_colour, start), cv2.IMREAD_COLOR)
    if n_alpha:
        rgba = cv2.imdecode(np.frombuffer(message, np.uint8, n_alpha, start + n_colour), cv2.IMREAD_UNCHANGED)
        alpha = rgba[:, :, 3] if rgba.ndim == 3 else rgba
    return {
        "seq": seq,
        "pts_ns": pts_ns,
        "capture_ns": capture_ns,
        "width": w,
        "height": h,
        "box": (x, y, cw, ch),
        "alpha_size": (aw, ah),
        "colour": colour,
        "alpha": alpha,
        "bytes": len(message),
    }


def paint(decoded: dict) -> np.ndarray:
    """What the page shows for a decoded message: BGRA of the full frame (box alpha upscaled)."""
    out = np.zeros((decoded["height"], decoded["width"], 4), np.uint8)
    x, y, cw, ch = decoded["box"]
    if decoded["colour"] is not None:
        out[y : y + ch, x : x + cw, :3] = decoded["colour"]
        out[y : y + ch, x : x + cw, 3] = cv2.resize(decoded["alpha"], (cw, ch), interpolation=cv2.INTER_LINEAR)
    return out


def parse_overlay_address(arg: str) -> tuple[str, int]:
    """'' → the default; 'HOST:PORT', 'PORT', '[::1]:PORT' → (host, port). Raises UserError."""
    return parse_address(arg, "--sink overlay", DEFAULT_HOST, DEFAULT_PORT)


# -- the server -----------------------------------------------------------------------------------
class _Viewer:
    """One connected page: a keep-newest slot and a credit window (run on the event loop only)."""

    def __init__(self, ws):
        self.ws = ws
        self.latest: bytes | None = None
        self.in_flight = 0
        self.last_sent_s = 0.0
        self.wake = asyncio.Event()
        self.sent = 0
        self.replaced = 0
        """Frames that a newer frame overwrote in the slot before they could be sent."""
        self.acked = 0
        self.sent_ns: dict[int, int] = {}
        """Graph-clock time each unacknowledged frame (by seq) was handed to the socket."""


class OverlaySink(Sink):
    """Serve the stream to browser pages (see the module docstring).

    host, port: where to listen (port 0 picks a free port; `port` holds the real one after
    `open()`). token: required in the page and WebSocket URLs as `?token=`; mandatory when `host`
    is not loopback. Properties after `open()`: `url` (the page, with the token), `viewers`.
    """

    name = "overlay"
    ring_policy = Overflow.DROP_OLDEST
    ring_capacity = 1

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        token: str | None = None,
        name: str = "overlay",
        jpeg_quality: int = JPEG_QUALITY,
    ):
        check_exposure(host, port, token, "--sink overlay (watching the camera)", "--overlay-token", DEFAULT_HOST)
        self.name = name
        self.server = LocalServer(name, host, port, token, "--sink overlay")
        self.encoder = FrameEncoder(jpeg_quality)
        self.encode_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self._latency_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self._round_trip_ms: collections.deque[float] = collections.deque(maxlen=10_000)
        self._viewers: set[_Viewer] = set()
        self._viewer_count = 0
        self.frames_published = 0
        self._stopping = False

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        """The port served (the real one after `open()` when 0 was asked for)."""
        return self.server.port

    @property
    def token(self) -> str | None:
        return self.server.token

    # -- Sink contract --------------------------------------------------------------------------
    def open(self, caps: Caps) -> Caps:
        self._caps = caps
        self._page = inline_page(PAGE_DIR, "index.html", "overlay.js")

        def routes(app) -> None:
            app.router.add_get("/", self._handle_page)
            app.router.add_get("/ws", self._handle_ws)

        self.server.start(routes, on_stop=self._close_viewers)
        return caps

    def process(self, frame: Frame) -> None:
        if self._viewer_count == 0:
            return  # nobody watches: no encoding at all
        c0 = time.thread_time_ns()
        message = self.encoder.encode(frame)
        self.encode_ms.append((time.thread_time_ns() - c0) / 1e6)
        self.server.call_soon(self._publish, message)

    def close(self, reason: str = "eos") -> None:
        self.server.stop()

    # -- observing ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def viewers(self) -> int:
        return self._viewer_count

    def viewer_stats(self) -> list[dict]:
        """Per viewer: frames sent, acknowledged, and replaced in the slot by newer ones."""
        return [
            {"sent": v.sent, "acked": v.acked, "replaced": v.replaced, "in_flight": v.in_flight}
            for v in list(self._viewers)
        ]

    def latency_ms(self) -> list[float]:
        """Capture-to-page latencies (graph clock at the ack minus the frame's capture_ns)."""
        return list(self._latency_ms)

    def round_trip_ms(self) -> list[float]:
        """Send-to-ack times: the network both ways plus the page's decode and draw."""
        return list(self._round_trip_ms)

    # -- server (event-loop thread) -------------------------------------------------------------
    async def _close_viewers(self) -> None:
        """Before the server stops: every page's socket closed with 1001 "going away"."""
        from aiohttp import WSCloseCode

        self._stopping = True
        for viewer in list(self._viewers):
            viewer.wake.set()
            try:
                await asyncio.wait_for(viewer.ws.close(code=WSCloseCode.GOING_AWAY, message=b"pipeline stopped"), 1.0)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                pass

    def _publish(self, message: bytes) -> None:
        self.frames_published += 1
        for viewer in self._viewers:
            if viewer.latest is not None:
                viewer.replaced += 1
            viewer.latest = message
            viewer.wake.set()

    async def _handle_page(self, request):
        from aiohttp import web

        return web.Response(body=self._page, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)

    async def _handle_ws(self, request):
        from aiohttp import WSMsgType, web

        if not origin_ok(request):
            return web.Response(status=403, text="forbidden: cross-site WebSocket\n")
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=4096)
        await ws.prepare(request)
        viewer = _Viewer(ws)
        self._viewers.add(viewer)
        self._viewer_count = len(self._viewers)
        await ws.send_str(
            json.dumps(
                {
                    "hello": "litecam-overlay",
                    "width": self._caps.width,
                    "height": self._caps.height,
                    "fps": float(self._caps.fps),
                }
            )
        )
        sender = asyncio.ensure_future(self._send_loop(viewer))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    ack = json.loads(msg.data)
                    capture_ns = int(ack.get("capture_ns", 0))
                    seq = int(ack.get("seq", -1))
                except (ValueError, TypeError, AttributeError):
                    continue
                now_ns = self.clock.now_ns()
                viewer.in_flight = max(0, viewer.in_flight - 1)
                viewer.acked += 1
                if capture_ns > 0:
                    self._latency_ms.append((now_ns - capture_ns) / 1e6)
                sent_ns = viewer.sent_ns.pop(seq, None)
                if sent_ns is not None:
                    self._round_trip_ms.append((now_ns - sent_ns) / 1e6)
                viewer.wake.set()
        finally:
            self._viewers.discard(viewer)
            self._viewer_count = len(self._viewers)
            sender.cancel()
            try:
                await sender
            except (asyncio.CancelledError, Exception):
                pass
        return ws

    async def _send_loop(self, viewer: _Viewer) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping and not viewer.ws.closed:
            if viewer.in_flight >= WINDOW:
                remaining_s = ACK_TIMEOUT_S - (loop.time() - viewer.last_sent_s)
                if remaining_s > 0:
                    viewer.wake.clear()
                    try:
                        await asyncio.wait_for(viewer.wake.wait(), remaining_s)
                    except asyncio.TimeoutError:
                        pass
                    continue
                viewer.in_flight = 0  # acks lost: give the credits back rather than stall forever
            if viewer.latest is None:
                viewer.wake.clear()
                await viewer.wake.wait()
                continue
            message, viewer.latest = viewer.latest, None
            viewer.in_flight += 1
            viewer.last_sent_s = loop.time()
            if len(viewer.sent_ns) > 4 * WINDOW:  # acks that never came
                viewer.sent_ns.clear()
            viewer.sent_ns[struct.unpack_from("<I", message, 4)[0]] = self.clock.now_ns()
            try:
                await viewer.ws.send_bytes(message)
            except (ConnectionError, RuntimeError):
                return
            viewer.sent += 1
