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
from collections.abc import Callable
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
            load_portrait_bgr(),
            round(self._render_w * margin),
            round(self._render_h * margin),
            cv2.INTER_AREA,
            anchor_y=0.05,  # head and shoulders, as a webcam frames them
        )
        rng = np.random.default_rng(self.seed)
        shape = (self.height, self.width, 3)
        self._noise = [
            np.clip(np.abs(rng.normal(0, NOISE_SIGMA_LEVELS, shape)), 0, 255).astype(np.uint8)
            for _ in range(NOISE_BANK_SIZE)
        ]
        self._seq = 0
        self._start_ns: int | None = None
        """Clock time of frame 0: the first read (the graph opens its stages after the source; a live
        camera's frames start once it is read, not while the stages load their models)."""
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
        small = cv2.warpAffine(
            self._canvas, m, (self._render_w, self._render_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        gain = 1.0 + 0.08 * math.sin(2 * math.pi * 0.05 * t)
        offset = 6.0 * math.sin(2 * math.pi * 0.09 * t + 2.0)
        small = cv2.convertScaleAbs(small, alpha=gain, beta=offset)
        frame = cv2.resize(small, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        cv2.add(frame, self._noise[seq % NOISE_BANK_SIZE], dst=frame)
        cv2.subtract(frame, self._noise[(seq * 7 + 3) % NOISE_BANK_SIZE], dst=frame)
        return frame

    def _next_seq(self) -> int | None:
        """Count the next frame and (live) wait for its time; None at the end."""
        if self.frames is not None and self._seq >= self.frames:
            return None
        seq = self._seq
        self._seq += 1
        if self._start_ns is None:
            self._start_ns = self.clock.now_ns()
        if self.live:
            self.clock.sleep_until_ns(self._start_ns + seq * self.period_ns)
        return seq

    def skip(self) -> bool:
        """Let the next frame go by without drawing it, as a camera's grab goes by without decoding."""
        return self._next_seq() is not None

    def read(self) -> Frame | None:
        seq = self._next_seq()
        if seq is None:
            return None
        pixels = self.render(seq)
        now = self.clock.now_ns()
        assert self._start_ns is not None, "set by _next_seq"
        pts_ns = self._start_ns + seq * self.period_ns if self.live else seq * self.period_ns
        return Frame(pixels, pts_ns=pts_ns, seq=seq, capture_ns=now)


WALK_SCRIPT = (
    (0.0, 0.28, 1.0),
    (1.0, 0.28, 1.0),
    (4.0, 0.72, 1.0),
    (7.0, 0.38, 1.0),
    (9.0, 0.38, 1.0),
    (11.0, 0.46, 1.6),
    (12.5, 0.46, 1.6),
)
"""Keyframes (time s, the person's centre x / frame width, size) of `WalkingPersonSource`, linearly
interpolated: stands, walks right across the frame, walks back, stops, leans in (grows 1.6×)."""


class WalkingPersonSource(Source):
    """A person who moves around the frame (`WALK_SCRIPT`), for auto-framing tests and benchmarks.

    The person is the demo portrait's cut-out (its alpha from `person_probability`, a segmenter the
    caller passes, e.g. `pipeline.stages.segment.person_probability`, run once in `open()`), 0.5 of the
    frame high at size 1, the bottom of the bust at 0.92 of the frame height, over
    a plain synthetic room. `person_box(seq)` is the truth: (x, y, w, h) in frame pixels. Frames run to
    the end of the script unless `frames` says otherwise (the script repeats); BGR uint8, `pts_ns` =
    seq × period.
    """

    name = "walker"

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: float | Fraction = 30,
        frames: int | None = None,
        *,
        person_probability: Callable[[np.ndarray], np.ndarray],
        seed: int = 0,
    ):
        if width < 64 or height < 64 or width % 2 or height % 2:
            raise UserError(f"walker size {width}x{height}: width and height must be even and >= 64")
        self.width, self.height = width, height
        self.fps = Fraction(fps).limit_denominator(1001)
        self.frames = frames if frames is not None else int(WALK_SCRIPT[-1][0] * float(self.fps))
        self.seed = seed
        self.person_probability = person_probability
        """BGR uint8 image -> float32 person probability in [0, 1] at the image's size."""
        self.period_ns = round(1e9 / self.fps)

    def open(self) -> Caps:
        portrait = load_portrait_bgr()
        mask = self.person_probability(portrait)
        alpha = np.clip((mask - 0.3) / 0.4, 0, 1).astype(np.float32)
        x, y, w, h = cv2.boundingRect((alpha > 0.5).astype(np.uint8))
        self._person, self._alpha = portrait[y : y + h, x : x + w], alpha[y : y + h, x : x + w]
        yy, xx = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        room = np.stack([150 + 40 * yy / self.height, 160 + 30 * xx / self.width, 170 - 20 * yy / self.height], -1)
        room[int(0.78 * self.height) :] *= 0.75  # the floor
        room[:, int(0.08 * self.width) : int(0.14 * self.width)] *= 0.85  # a door frame
        self._room = room.astype(np.uint8)
        rng = np.random.default_rng(self.seed)
        shape = (self.height, self.width, 3)
        self._noise = [
            np.clip(np.abs(rng.normal(0, NOISE_SIGMA_LEVELS, shape)), 0, 255).astype(np.uint8)
            for _ in range(NOISE_BANK_SIZE)
        ]
        self._seq = 0
        return Caps(self.width, self.height, self.fps, frame_count=self.frames)

    def _pose(self, seq: int) -> tuple[float, float]:
        """(centre x / width, size) at frame `seq`."""
        t = (seq / float(self.fps)) % WALK_SCRIPT[-1][0]  # longer runs repeat the script
        times = [k[0] for k in WALK_SCRIPT]
        return (
            float(np.interp(t, times, [k[1] for k in WALK_SCRIPT])),
            float(np.interp(t, times, [k[2] for k in WALK_SCRIPT])),
        )

    def person_box(self, seq: int) -> tuple[int, int, int, int]:
        """Where the person is in frame `seq`: (x, y, w, h) in frame pixels (clipped to the frame)."""
        cx, size = self._pose(seq)
        ph, pw = self._person.shape[:2]
        h = round(0.5 * self.height * size)
        w = round(pw * h / ph)
        x0, y0 = round(cx * self.width - w / 2), round(0.92 * self.height) - h
        x1, y1 = min(self.width, x0 + w), min(self.height, y0 + h)
        x0, y0 = max(0, x0), max(0, y0)
        return x0, y0, x1 - x0, y1 - y0

    def render(self, seq: int) -> np.ndarray:
        cx, size = self._pose(seq)
        ph, pw = self._person.shape[:2]
        h = round(0.5 * self.height * size)
        w = round(pw * h / ph)
        person = cv2.resize(self._person, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        alpha = cv2.resize(self._alpha, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        x0, y0 = round(cx * self.width - w / 2), round(0.92 * self.height) - h
        frame = self._room.copy()
        fx0, fy0 = max(0, x0), max(0, y0)
        fx1, fy1 = min(self.width, x0 + w), min(self.height, y0 + h)
        part = frame[fy0:fy1, fx0:fx1]
        src = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        part[...] = (part * (1 - alpha[src]) + person[src] * alpha[src]).astype(np.uint8)
        cv2.add(frame, self._noise[seq % NOISE_BANK_SIZE], dst=frame)
        cv2.subtract(frame, self._noise[(seq * 7 + 3) % NOISE_BANK_SIZE], dst=frame)
        return frame

    def read(self) -> Frame | None:
        if self._seq >= self.frames:
            return None
        seq = self._seq
        self._seq += 1
        return Frame(self.render(seq), pts_ns=seq * self.period_ns, seq=seq)
