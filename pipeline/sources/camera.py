"""Live camera capture with OpenCV.

The order matters for UVC cameras: FOURCC (MJPG by default, so 720p30 fits USB 2 bandwidth) is set
before the size and the rate; the mode the camera really gave is then read back and reported,
because drivers silently substitute the nearest mode they support.
"""
from __future__ import annotations

import glob
import os
import sys
from fractions import Fraction

import cv2

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.stage import Source


def camera_backend() -> int:
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def list_camera_nodes() -> list[str]:
    """Video device nodes on Linux (v4l2 capture devices and loopback devices alike)."""
    return sorted(glob.glob("/dev/video*"))


def fourcc_name(code: float) -> str:
    value = int(code)
    return "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00") or "?"


class CameraSource(Source):
    """Camera `index` at the requested size and rate (the camera may give another mode: see `mode`)."""

    name = "camera"

    def __init__(self, index: int = 0, width: int = 1280, height: int = 720, fps: float = 30,
                 fourcc: str = "MJPG", *, clock=SYSTEM_CLOCK):
        if len(fourcc) != 4:
            raise UserError(f"camera FOURCC {fourcc!r} must be 4 characters, e.g. MJPG or YUYV")
        self.index, self.width, self.height, self.fps, self.fourcc = index, width, height, fps, fourcc
        self.clock = clock
        self.mode: dict | None = None

    def open(self) -> Caps:
        cap = cv2.VideoCapture(self.index, camera_backend())
        if not cap.isOpened():
            nodes = list_camera_nodes()
            found = ", ".join(nodes) if nodes else "no /dev/video* devices"
            raise UserError(
                f"camera {self.index} could not be opened ({found}); check it is plugged in and not "
                f"used by another app, or run 'litecam devices' to list cameras "
                f"(no camera? try --input synthetic)"
            )
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
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
        self.mode = {"fourcc": fourcc_name(cap.get(cv2.CAP_PROP_FOURCC)), "width": width,
                     "height": height, "fps": got_fps}
        self._cap = cap
        self._pending = first
        self._seq = 0
        even_w, even_h = width - width % 2, height - height % 2
        self._crop = (even_h, even_w)
        return Caps(even_w, even_h, Fraction(got_fps).limit_denominator(1001), live=True)

    def read(self) -> Frame | None:
        if self._pending is not None:
            pixels, self._pending = self._pending, None
        else:
            ok, pixels = self._cap.read()
            if not ok or pixels is None:
                raise UserError(f"camera {self.index} stopped delivering frames (unplugged or taken by another app?)")
        now = self.clock.now_ns()
        h, w = self._crop
        frame = Frame(pixels[:h, :w].copy() if pixels.shape[:2] != (h, w) else pixels,
                      pts_ns=now, seq=self._seq, capture_ns=now)
        self._seq += 1
        return frame

    def close(self) -> None:
        cap = getattr(self, "_cap", None)
        if cap is not None:
            cap.release()


def _sysfs_name(node: str) -> str:
    try:
        return open(f"/sys/class/video4linux/{node.rsplit('/', 1)[-1]}/name").read().strip()
    except OSError:
        return "?"


def is_loopback_node(node: str) -> bool:
    """True for v4l2loopback devices (outputs, not cameras)."""
    base = node.rsplit("/", 1)[-1]
    driver = os.path.realpath(f"/sys/class/video4linux/{base}/device/driver")
    return "v4l2loopback" in driver or "loopback" in _sysfs_name(node).lower() or "litecam" in _sysfs_name(node)


def probe_cameras() -> list[str]:
    """One line per camera that opens: node or index, name, and the mode it gives by default."""
    found = []
    if sys.platform.startswith("linux"):
        candidates = [(int(n.removeprefix("/dev/video")), n) for n in list_camera_nodes()
                      if n.removeprefix("/dev/video").isdigit() and not is_loopback_node(n)]
    else:
        candidates = [(i, f"camera {i}") for i in range(4)]
    for index, label in candidates:
        cap = cv2.VideoCapture(index, camera_backend())
        if cap.isOpened():
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cap.get(cv2.CAP_PROP_FPS)
            name = _sysfs_name(label) if label.startswith("/dev/") else ""
            found.append(f"{label} {name} ({width}x{height}@{fps:g}, {fourcc_name(cap.get(cv2.CAP_PROP_FOURCC))}) "
                         f"-> litecam run --camera {index}")
        cap.release()
    return found
