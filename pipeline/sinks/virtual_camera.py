"""Virtual webcam output through pyvirtualcam.

Linux uses a v4l2loopback device, Windows and macOS the OBS Virtual Camera. Frames go out in BGR
(the graph's layout, no conversion). The ring keeps only the newest frame: a video call wants the
freshest image, never a queue.
"""

from __future__ import annotations

import sys
from typing import Any

from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.ring import Overflow
from pipeline.stage import Sink

V4L2LOOPBACK_LOAD = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=litecam"


def virtual_camera_help(detail: str) -> str:
    """One actionable line for a missing virtual camera backend, for this platform."""
    if sys.platform.startswith("linux"):
        return (
            "no virtual camera device: install v4l2loopback (Debian/Ubuntu: sudo apt install "
            f"v4l2loopback-dkms) and load it with '{V4L2LOOPBACK_LOAD}'; exclusive_caps=1 is "
            "needed for Chrome/Chromium-based apps (Google Meet, Teams and Zoom in the browser, "
            "Discord, Slack) to list the camera; Firefox, OBS and Zoom's desktop app work "
            f"without it (pyvirtualcam said: {detail})"
        )
    return (
        "no virtual camera backend: install OBS Studio 26.1 or newer and start its Virtual Camera "
        f"once, then try again (pyvirtualcam said: {detail})"
    )


class VirtualCameraSink(Sink):
    """Sends every frame it receives to a virtual camera; `device` picks one (e.g. /dev/video10)."""

    name = "virtualcam"
    ring_policy = Overflow.DROP_OLDEST
    ring_capacity = 1

    def __init__(self, device: str | None = None, backend: str | None = None):
        self.device = device
        self.backend = backend
        self._camera: Any = None
        """The `pyvirtualcam.Camera` from `open()` on (imported there: only this sink needs it)."""

    def open(self, caps: Caps) -> Caps:
        if caps.channels != 3:
            raise UserError(
                "the virtual camera carries no alpha channel: use --background chroma or "
                "color:#RRGGBB (key it out in OBS), or the overlay/file sinks for transparency"
            )
        import pyvirtualcam

        try:
            self._camera = pyvirtualcam.Camera(
                width=caps.width,
                height=caps.height,
                fps=float(caps.fps),
                fmt=pyvirtualcam.PixelFormat.BGR,
                device=self.device,
                backend=self.backend,
            )
        except (RuntimeError, ValueError) as exc:
            raise UserError(virtual_camera_help(str(exc).strip().replace("\n", " "))) from None
        self.post(
            "info",
            f"virtual camera {self._camera.device} ({self._camera.backend}) "
            f"{caps.width}x{caps.height}@{float(caps.fps):g}",
        )
        return caps

    def process(self, frame: Frame) -> None:
        self._camera.send(frame.pixels)

    def close(self, reason: str = "eos") -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


def find_loopback_devices() -> list[str]:
    """v4l2loopback device nodes with their card labels (Linux; empty elsewhere)."""
    from pipeline.media.v4l2 import is_loopback_node, list_video_nodes, node_name

    return [f"{node} ({node_name(node)})" for node in list_video_nodes() if is_loopback_node(node)]
