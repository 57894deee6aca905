"""The built-in demo clip: a real portrait animated like a webcam, no camera needed.

The portrait is scikit-image's `astronaut` (NASA, public domain), which ships inside the
scikit-image wheel. Each frame applies gentle head/camera motion (a slow affine sway and zoom),
a lighting drift (gain and offset), and sensor noise (drawn from a small bank of precomputed
noise planes so noise costs one saturating add). Deterministic for a given seed.

Pixel layout: BGR uint8, the graph's layout. `pts_ns` = seq × frame period for offline use;
with `live=True` the source paces itself to real time on the graph clock and stamps capture time.
"""
from __future__ import annotations

import math
from fractions import Fraction

import cv2
import numpy as np

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.stage import Source

NOISE_BANK_SIZE = 6
NOISE_SIGMA_LEVELS = 3.0


def load_portrait_bgr() -> np.ndarray:
    """The astronaut portrait (512×512) in BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def cover_resize(
    image: np.ndarray, width: int, height: int, interpolation=cv2.INTER_AREA, anchor_y: float = 0.5
) -> np.ndarray:
    """Scale `image` to cover width×height, then crop to exactly that size.

    The crop is centred horizontally; `anchor_y` places it vertically (0 = top, 0.5 = centre).
    """
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    x0, y0 = (new_w - width) // 2, round((new_h - height) * anchor_y)
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])


class SyntheticSource(Source):
    """`frames` frames (None: endless) of width×height at `fps`."""

    name = "synthetic"

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: float | Fraction = 30,
        frames: int | None = 150,
        *,
        live: bool = False,
        seed: int = 0,
        clock=SYSTEM_CLOCK,
    ):
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise UserError(f"synthetic size {width}x{height}: width and height must be even and >= 16")
        if not 0 < float(fps) <= 240:
            raise UserError(f"synthetic fps {fps}: must be in (0, 240]")
        self.width, self.height = width, height
        self.fps = Fraction(fps).limit_denominator(1001)
        self.frames = frames
        self.live = live
        self.seed = seed
        self.clock = clock
        self.period_ns = round(1e9 / self.fps)

    def open(self) -> Caps:
        # The motion is rendered at half size (the 512-px portrait has no more detail than that
        # at 720p) on a canvas ~12% larger than the frame so the sway never shows an edge.
        margin = 1.12
        self._render_w, self._render_h = max(8, self.width // 2), max(8, self.height // 2)
        self._canvas = cover_resize(
            load_portrait_bgr(), round(self._render_w * margin), round(self._render_h * margin), cv2.INTER_AREA,
            anchor_y=0.05,  # head and shoulders, as a webcam frames them
        )
        rng = np.random.default_rng(self.seed)
        shape = (self.height, self.width, 3)
        self._noise = [
            np.clip(np.abs(rng.normal(0, NOISE_SIGMA_LEVELS, shape)), 0, 255).astype(np.uint8)
            for _ in range(NOISE_BANK_SIZE)
        ]
        self._seq = 0
        self._start_ns = self.clock.now_ns()
        return Caps(self.width, self.height, self.fps, live=self.live, frame_count=self.frames)

    def render(self, seq: int) -> np.ndarray:
        """The pixels of frame `seq` (pure function of seq and seed)."""
        t = seq / float(self.fps)
        ch, cw = self._canvas.shape[:2]
        angle_deg = 1.5 * math.sin(2 * math.pi * 0.13 * t)
        zoom = 1.0 + 0.025 * math.sin(2 * math.pi * 0.07 * t + 1.0)
        dx = 0.03 * self._render_w * math.sin(2 * math.pi * 0.21 * t)
        dy = 0.02 * self._render_h * math.sin(2 * math.pi * 0.17 * t + 0.5)
        m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle_deg, zoom)
        # map the canvas centre (plus sway) onto the frame centre
        m[0, 2] += self._render_w / 2 - cw / 2 + dx
        m[1, 2] += self._render_h / 2 - ch / 2 + dy
        small = cv2.warpAffine(self._canvas, m, (self._render_w, self._render_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        gain = 1.0 + 0.08 * math.sin(2 * math.pi * 0.05 * t)
        offset = 6.0 * math.sin(2 * math.pi * 0.09 * t + 2.0)
        small = cv2.convertScaleAbs(small, alpha=gain, beta=offset)
        frame = cv2.resize(small, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        cv2.add(frame, self._noise[seq % NOISE_BANK_SIZE], dst=frame)
        cv2.subtract(frame, self._noise[(seq * 7 + 3) % NOISE_BANK_SIZE], dst=frame)
        return frame

    def read(self) -> Frame | None:
        if self.frames is not None and self._seq >= self.frames:
            return None
        seq = self._seq
        self._seq += 1
        if self.live:
            self.clock.sleep_until_ns(self._start_ns + seq * self.period_ns)
        pixels = self.render(seq)
        now = self.clock.now_ns()
        pts_ns = self._start_ns + seq * self.period_ns if self.live else seq * self.period_ns
        return Frame(pixels, pts_ns=pts_ns, seq=seq, capture_ns=now)
