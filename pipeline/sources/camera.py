"""Live camera capture with OpenCV.

The order matters for UVC cameras: FOURCC (MJPG by default, so 720p30 fits USB 2 bandwidth) is set
before the size and the rate; the mode the camera really gave is then read back and reported,
because drivers silently substitute the nearest mode they support.

A camera lost mid-run (unplugged, taken by another app, read errors) does not end the stream: the
source keeps delivering, at the camera's rate, the last good frame dimmed with a "camera lost —
reconnecting" notice, so a virtual camera or preview stays alive, while it reopens the device with
exponential back-off (0.25 s doubling to 4 s). The first real frame afterwards is marked `discont`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Protocol

import cv2
import numpy as np

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.media.v4l2 import is_loopback_node, list_video_nodes, node_name
from pipeline.stage import Source


def camera_backend() -> int:
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def fourcc_name(code: float) -> str:
    value = int(code)
    return "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00") or "?"


RECONNECT_FIRST_S = 0.25
RECONNECT_MAX_S = 4.0
LOST_DIM = 0.4
"""Brightness of the last good frame shown while the camera is lost."""


class VideoDevice(Protocol):
    """What the camera source uses of OpenCV's `cv2.VideoCapture` (tests pass a scripted device)."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def grab(self) -> bool: ...

    def get(self, prop: int) -> float: ...

    def set(self, prop: int, value: float) -> bool: ...

    def release(self) -> None: ...


def open_opencv_camera(index: int) -> VideoDevice:
    """Camera `index` through OpenCV, its own log lines silenced while it opens (a camera that cannot
    open is reported by litecam in one line, not by OpenCV's [ WARN ] lines above it)."""
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)  # silent
    try:
        return cv2.VideoCapture(index, camera_backend())
    finally:
        cv2.setLogLevel(level)


def lost_notice(pixels: np.ndarray) -> np.ndarray:
    """The last good frame, dimmed, with the reconnecting notice drawn in the middle."""
    image = cv2.convertScaleAbs(pixels, alpha=LOST_DIM)
    h, w = image.shape[:2]
    text = "camera lost - reconnecting"
    scale = max(w / 900, 0.4)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.putText(
        image, text, ((w - tw) // 2, (h + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA
    )
    return image


class CameraSource(Source):
    """Camera `index` at the requested size and rate (the camera may give another mode: see `mode`).

    `open_device(index)` returns an object with OpenCV's `VideoCapture` interface (default: the
    real `cv2.VideoCapture`); tests pass a scripted device.
    """

    name = "camera"
    bus = None

    def __init__(
        self,
        index: int = 0,
        width: int = 1280,
        height: int = 720,
        fps: float = 30,
        fourcc: str = "MJPG",
        *,
        clock=SYSTEM_CLOCK,
        open_device: Callable[[int], VideoDevice] = open_opencv_camera,
    ):
        if len(fourcc) != 4:
            raise UserError(f"camera FOURCC {fourcc!r} must be 4 characters, e.g. MJPG or YUYV")
        self.index, self.width, self.height, self.fps, self.fourcc = index, width, height, fps, fourcc
        self.clock = clock
        self.open_device = open_device
        self.mode: dict | None = None
        self.reconnects = 0
        self.reconnect_attempts_ns: list[int] = []
        """Clock times of every attempt to reopen a lost camera (for tests and logs)."""
        self._cap: VideoDevice | None = None
        self._pending: np.ndarray | None = None
        """The first image, read by `open()` to learn the mode, handed out by the first `read()`."""

    def _configure(self, cap) -> None:
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)

    def open(self) -> Caps:
        cap = self.open_device(self.index)
        if not cap.isOpened():
            nodes = list_video_nodes()
            found = ", ".join(nodes) if nodes else "no /dev/video* devices"
            raise UserError(
                f"camera {self.index} could not be opened ({found}); check it is plugged in and not "
                f"used by another app, or run 'litecam devices' to list cameras "
                f"(no camera? try --input synthetic)"
            )
        self._configure(cap)
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise UserError(
                f"camera {self.index} opened but gave no frame in mode {self.fourcc} "
                f"{self.width}x{self.height}@{self.fps}; it may be busy or refuse this mode: "
                f"try another --size/--fps, or --fourcc YUYV"
            )
        height, width = first.shape[:2]
        got_fps = cap.get(cv2.CAP_PROP_FPS) or self.fps
        self.mode = {
            "fourcc": fourcc_name(cap.get(cv2.CAP_PROP_FOURCC)),
            "width": width,
            "height": height,
            "fps": got_fps,
        }
        self._cap = cap
        self._pending = first
        self._seq = 0
        even_w, even_h = width - width % 2, height - height % 2
        self._crop = (even_h, even_w)
        self._period_ns = round(1e9 / got_fps)
        self._last_good: np.ndarray | None = None
        self._lost_image: np.ndarray | None = None
        self._lost_since_ns: int | None = None
        self._last_emit_ns = self.clock.now_ns()
        return Caps(even_w, even_h, Fraction(got_fps).limit_denominator(1001), live=True)

    def _post(self, kind: str, text: str) -> None:
        if self.bus is not None:
            from pipeline.bus import Message

            self.bus.post(Message(kind, self.name, text))

    def _usable(self, ok: bool, pixels) -> bool:
        """A successful read at least as large as the mode the stream started with."""
        h, w = self._crop
        return bool(ok) and pixels is not None and pixels.shape[0] >= h and pixels.shape[1] >= w

    def _grab(self) -> np.ndarray | None:
        """The next camera image, or None when the camera is lost (and not back yet)."""
        pixels: np.ndarray | None
        if self._pending is not None:
            pixels, self._pending = self._pending, None
            return pixels
        if self._cap is not None:
            ok, pixels = self._cap.read()
            if self._usable(ok, pixels):
                return pixels
            self._cap.release()
            self._cap = None
            self._lost_since_ns = self._next_try_ns = self.clock.now_ns()
            self._backoff_s = RECONNECT_FIRST_S
            self._post("warning", f"camera {self.index} lost (unplugged or taken by another app?) - reconnecting")
        now = self.clock.now_ns()
        if now >= self._next_try_ns:
            self.reconnect_attempts_ns.append(now)
            cap = self.open_device(self.index)
            if cap.isOpened():
                self._configure(cap)
                ok, pixels = cap.read()
                if self._usable(ok, pixels):
                    self._cap = cap
                    self.reconnects += 1
                    self._post(
                        "info", f"camera {self.index} back after {(now - (self._lost_since_ns or now)) / 1e9:.1f} s"
                    )
                    return pixels
            cap.release()
            self._next_try_ns = now + int(self._backoff_s * 1e9)
            self._backoff_s = min(self._backoff_s * 2, RECONNECT_MAX_S)
        return None

    def skip(self) -> bool:
        """Let the next image go by without decoding it (`grab` without `retrieve`); a camera that
        fails to give it is handled by `read` (the notice, reconnecting)."""
        if self._pending is None and self._cap is not None and self._cap.grab():
            self._seq += 1
            return True
        return self.read() is not None

    def read(self) -> Frame | None:
        was_lost = self._cap is None and self._seq > 0
        pixels = self._grab()
        h, w = self._crop
        if pixels is None:  # lost: keep the stream alive with the notice, at the camera's rate
            if self._lost_image is None:
                base = self._last_good if self._last_good is not None else np.zeros((h, w, 3), np.uint8)
                self._lost_image = lost_notice(base)
            self.clock.sleep_until_ns(self._last_emit_ns + self._period_ns)
            pixels, discont = self._lost_image, False
        else:
            pixels = pixels[:h, :w].copy() if pixels.shape[:2] != (h, w) else pixels
            self._last_good, self._lost_image = pixels, None
            discont = was_lost
        now = self.clock.now_ns()
        self._last_emit_ns = now
        frame = Frame(pixels, pts_ns=now, seq=self._seq, capture_ns=now, discont=discont)
        self._seq += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def probe_cameras() -> list[str]:
    """One line per camera that opens: node or index, name, and the mode it gives by default."""
    found = []
    if sys.platform.startswith("linux"):
        candidates = [
            (int(n.removeprefix("/dev/video")), n)
            for n in list_video_nodes()
            if n.removeprefix("/dev/video").isdigit() and not is_loopback_node(n)
        ]
    else:
        candidates = [(i, f"camera {i}") for i in range(4)]
    for index, label in candidates:
        cap = open_opencv_camera(index)
        if cap.isOpened():
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cap.get(cv2.CAP_PROP_FPS)
            name = node_name(label) if label.startswith("/dev/") else ""
            found.append(
                f"{label} {name} ({width}x{height}@{fps:g}, {fourcc_name(cap.get(cv2.CAP_PROP_FOURCC))}) "
                f"-> litecam run --camera {index}"
            )
        cap.release()
    return found
