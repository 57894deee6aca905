"""Live preview window (OpenCV highgui) with a heads-up display.

HUD: frames per second, per-stage milliseconds, the tier each stage ran, drops at the head.
Keys: q (or Esc, or closing the window) quits, b cycles the background, p pauses, f turns
auto-framing on and off, m toggles the mask view, s saves the current output (without the HUD) as a
PNG. With auto-framing the HUD also shows the crop (its size and where it is in the camera picture).
The window is created, drawn and destroyed on the sink's own thread (highgui windows belong to the
thread that made them). The ring keeps only the newest frame: a slow display never holds the pipeline
back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.ring import Overflow
from pipeline.stage import Sink
from pipeline.stats import RecentRate

CHECKER_PX = 16


def checkerboard(height: int, width: int) -> np.ndarray:
    """Grey checkerboard (BGR) shown behind transparent pixels."""
    yy, xx = np.mgrid[0:height, 0:width]
    light = ((yy // CHECKER_PX + xx // CHECKER_PX) % 2).astype(np.uint8)
    grey = 150 + 60 * light
    return np.repeat(grey[:, :, None], 3, axis=2)


class PreviewSink(Sink):
    name = "preview"
    ring_policy = Overflow.DROP_OLDEST
    ring_capacity = 1

    def __init__(
        self,
        title: str = "litecam",
        *,
        on_quit: Callable[[], None] | None = None,
        on_next_background: Callable[[], str] | None = None,
        on_pause: Callable[[], bool] | None = None,
        on_autoframe: Callable[[], bool] | None = None,
        head_drops: Callable[[], int] | None = None,
        snapshot_dir: str | Path = ".",
    ):
        self.title = title
        self.on_quit = on_quit
        self.on_next_background = on_next_background
        self.on_pause = on_pause
        self.on_autoframe = on_autoframe
        self.head_drops = head_drops
        self.snapshot_dir = Path(snapshot_dir)
        self.show_mask = False
        self.snapshots: list[Path] = []
        self._arrivals = RecentRate(30)
        self._window_open = False
        self._backdrop: np.ndarray | None = None

    def open(self, caps: Caps) -> Caps:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise UserError(
                "no display for the preview window (DISPLAY is not set): run it in a desktop "
                "session, or drop --sink preview (use --sink file:PATH or virtualcam instead)"
            )
        if not self.snapshot_dir.is_dir():
            raise UserError(f"snapshot folder {self.snapshot_dir} does not exist")
        self._caps = caps
        return caps

    def hud_lines(self, frame: Frame) -> list[str]:
        lines = [f"{self._arrivals.per_second():5.1f} fps  frame {frame.seq}"]
        if self.head_drops is not None:
            lines[0] += f"  dropped {self.head_drops()}"
        for stage, ms in frame.stage_ms.items():
            tier = frame.tiers.get(stage)
            lines.append(f"{stage:<11}{ms:6.1f} ms" + (f"  [{tier}]" if tier else ""))
        for what, tier in frame.tiers.items():  # what a stage reports beside its own tier (people: main)
            if what not in frame.stage_ms:
                lines.append(f"{what:<11}{tier}")
        if frame.crop is not None:
            x, y, w, h = frame.crop
            lines.append(f"autoframe  showing {w}x{h} of the camera at ({x}, {y})")
        change = self.last_settings_change()
        if change:
            lines.append(change[:90])
        lines.append("q quit  b background  p pause  f framing  m mask  s snapshot")
        return lines

    def last_settings_change(self) -> str | None:
        """The latest live settings change or refusal posted on the bus (`pipeline.settings_service`)."""
        if self.bus is None:
            return None
        changes = [m for m in self.bus.messages() if m.origin == "settings"]
        return changes[-1].text if changes else None

    def render(self, frame: Frame) -> np.ndarray:
        """The image shown: output (alpha over a checkerboard) or the mask, plus the HUD."""
        if self.show_mask and frame.mask is not None:
            mask = cv2.resize(frame.mask, (frame.width, frame.height), interpolation=cv2.INTER_LINEAR)
            image = cv2.cvtColor((mask * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        elif frame.has_alpha:
            if self._backdrop is None or self._backdrop.shape[:2] != frame.pixels.shape[:2]:
                self._backdrop = checkerboard(frame.height, frame.width)
            alpha = frame.pixels[:, :, 3:4].astype(np.uint16)
            image = ((frame.pixels[:, :, :3] * alpha + self._backdrop * (255 - alpha)) // 255).astype(np.uint8)
        else:
            image = frame.pixels.copy()
        scale = max(frame.height / 720, 0.5)
        for i, text in enumerate(self.hud_lines(frame)):
            y = int((24 + 22 * i) * scale)
            cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, (255, 255, 255), 1, cv2.LINE_AA)
        return image

    def process(self, frame: Frame) -> None:
        self._arrivals.add(self.clock.now_ns())
        if not self._window_open:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
            cv2.resizeWindow(self.title, frame.width, frame.height)
            self._window_open = True
        cv2.imshow(self.title, self.render(frame))
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27) or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            if self.on_quit is not None:
                self.on_quit()
        elif key == ord("b") and self.on_next_background is not None:
            try:
                self.on_next_background()  # posts the change itself
            except UserError as exc:  # e.g. a background file removed since the start
                self.post("warning", str(exc))
        elif key == ord("p") and self.on_pause is not None:
            self.on_pause()  # posts the change itself
        elif key == ord("f") and self.on_autoframe is not None:
            try:
                self.on_autoframe()  # posts the change itself
            except UserError as exc:  # started without auto-framing
                self.post("warning", str(exc))
        elif key == ord("m"):
            self.show_mask = not self.show_mask
        elif key == ord("s"):
            path = self.snapshot_dir / f"litecam-snapshot-{frame.seq:06d}.png"
            cv2.imwrite(str(path), frame.pixels)
            self.snapshots.append(path)
            self.post("info", f"snapshot saved: {path}")

    def close(self, reason: str = "eos") -> None:
        if self._window_open:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
            self._window_open = False
