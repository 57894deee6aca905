"""The light stage: brighten an under-exposed picture, steadily, before segmentation sees it.

A webcam in a dim room sends a dark, flat picture; the person is hard to see and the selfie model
finds their edges less surely. With `light = "auto"` this stage lifts it with one tone curve per
frame, the same for the three channels (hues are kept):

    f(x) = log(1 + k·min(1, a·x)) / log(1 + k)        x, f(x) in [0, 1]

* `a` ≥ 1, the **gain**, brings the picture's brightest 1 % (its 99th luma percentile) up to
  `WHITE` (a dim picture whose highlights are already bright gets none), at most `MAX_GAIN`;
* `k` ≥ 0, the **lift**, raises the mid-tones and shadows more than the highlights until the mean
  luma of the frame's centre (where the person usually is: the middle half of the width, the top
  nine-tenths of the height) reaches `TARGET_MEAN` (from `DARK_MEAN` down; a picture between the
  two is brought part of the way); at most `MAX_LIFT`. The curve's slope at black
  is k / log(1 + k) (6.4 at k = 30): finite, unlike a gamma curve's, so sensor noise in the
  blacks is not blown up. A picture already bright enough gets k = 0 and a = 1: f is the identity
  and the stage leaves it untouched.

Both are measured on every 8th pixel of every 8th row, once `MEASURE_EVERY_S` of media time has
passed since the last measurement (and at once on `discont`), and followed smoothly in time (an
exponential average with `TIME_CONSTANT_S` of media time, in the log domain, updated on every frame;
restarted on `discont`), so the picture does not pump when the person moves or a light blinks. The
measurement, the curve's table and its steps are Numba kernels, and the curve is applied through a
table of byte pairs (all in `kernels.tone`); on a picture bright enough the stage only measures
(cost per 1280×720 frame: `python -m tools.eval_light`, docs/people-and-light.md).
Frames: uint8 BGR or BGRA (alpha untouched); the output is an array of the stage's pool.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from kernels.tone import apply_pair_table, curve_table, levels_apart, measure_curve, pair_table
from pipeline.caps import Caps
from pipeline.errors import GraphError
from pipeline.frame import Frame
from pipeline.params import Param, one_of
from pipeline.pool import ArrayPool
from pipeline.stage import Stage

LIGHT_CHOICES = ("off", "auto")
LIGHT = Param(
    "light",
    one_of(LIGHT_CHOICES),
    "off",
    "Low-light correction: auto brightens an under-exposed picture (steadily, before segmentation); "
    "off leaves it as it is. A run started with off has no light stage (restart to add it).",
    live=True,
    flag="--light",
    choices=LIGHT_CHOICES,
)

TARGET_MEAN = 0.5
"""Mean luma (0..1) of the frame's centre that a dark picture is brought to."""
DARK_MEAN = 0.3
"""Centre mean luma at or below which the picture is brought all the way to `TARGET_MEAN`; between the
two, part of the way (continuously: a picture at `TARGET_MEAN` or above is left as it is)."""
WHITE = 0.94
"""Where the gain puts the 99th luma percentile (0..1)."""
MAX_GAIN = 3.0
MAX_LIFT = 40.0
TIME_CONSTANT_S = 0.7
"""Time constant of the curve's smoothing, seconds of media time."""
TABLE_STEP_LEVELS = 2
"""The curve in use changes once the smoothed one differs from it by this many levels somewhere (a
1-level drift is invisible; rebuilding the byte-pair table costs ~0.2 ms); a curve within one level of
the identity everywhere is the identity: no pass over the frame."""
SAMPLE_STEP = 8
"""Luma statistics from every SAMPLE_STEP-th pixel of every SAMPLE_STEP-th row."""
MEASURE_EVERY_S = 0.09
"""A frame's own (gain, lift) is measured when this much media time has passed since the last
measurement (every 3rd frame at 24 to 30 fps): the smoothing's time constant is eight times longer,
so measuring every frame would change nothing seen."""
LIFT_STEPS = 16
_IDENTITY = np.arange(256, dtype=np.uint8)


def curve_for(luma_samples: np.ndarray) -> tuple[float, float]:
    """(gain, lift) that bring one frame's uint8 luma samples (rows × columns of the frame, subsampled)
    to `WHITE` and `TARGET_MEAN` (`kernels.tone.measure_curve`)."""
    return measure_curve(luma_samples, WHITE, TARGET_MEAN, DARK_MEAN, MAX_GAIN, MAX_LIFT, LIFT_STEPS)


class Light(Stage):
    """Low-light correction (see the module docstring). `enabled`: correct from the first frame
    (else pass through until a live change turns it on)."""

    name = "light"
    params = (LIGHT,)
    absent_hint = 'not offered by this run, which was started without it (restart with --light auto or light = "auto")'
    updatable = frozenset({"enabled"})

    def __init__(self, enabled: bool = True):
        self.enabled = bool(enabled)
        self._pool = ArrayPool()
        self._state: tuple[float, float] | None = None
        """(log gain, log(1 + lift)) now applied, smoothed; None: start from the next frame's own."""
        self._last_pts_ns: int | None = None
        self._measured: tuple[float, float] = (1.0, 0.0)
        self._measured_pts_ns: int | None = None
        """The last measured frame's own (gain, lift) and its pts (None: measure the next frame)."""
        self.gain, self.lift = 1.0, 0.0
        """The curve applied to the latest frame."""
        self._table: np.ndarray | None = None
        self._pairs = np.empty(0, np.uint16)
        """The table in use (None: the identity) and its byte-pair table (`_step_table`)."""
        self._smoothed_table = np.empty(256, np.uint8)
        """The smoothed curve's table, rebuilt on every frame (`_step_table`)."""

    def settings_change(self, new, changed: set[str]):
        return lambda: self.update(enabled=new.light == "auto")

    def open(self, caps: Caps) -> Caps:
        if caps.channels not in (3, 4):
            raise GraphError(f"the light stage takes BGR or BGRA frames, got {caps.channels} channels")
        return caps

    def _follow(self, gain: float, lift: float, pts_ns: int, discont: bool) -> tuple[float, float]:
        """The smoothed (gain, lift) after this frame's own values."""
        target = (math.log(gain), math.log1p(lift))
        if self._state is None or discont or self._last_pts_ns is None:
            state = target
        else:
            dt = max(0.0, (pts_ns - self._last_pts_ns) / 1e9)
            weight = 1.0 - math.exp(-dt / TIME_CONSTANT_S)
            state = tuple(old + weight * (new - old) for old, new in zip(self._state, target))  # type: ignore[assignment]
        self._state, self._last_pts_ns = state, pts_ns
        return math.exp(state[0]), math.expm1(state[1])

    def correct(self, pixels: np.ndarray, pts_ns: int = 0, discont: bool = True) -> np.ndarray:
        """The corrected frame (same shape, an array of the stage's pool; `pixels` itself while the
        table in use is the identity)."""
        last = self._measured_pts_ns
        if discont or last is None or not 0 <= pts_ns - last < MEASURE_EVERY_S * 1e9:
            half = SAMPLE_STEP // 2
            samples = np.ascontiguousarray(pixels[half::SAMPLE_STEP, half::SAMPLE_STEP, :3])
            self._measured = curve_for(cv2.cvtColor(samples, cv2.COLOR_BGR2GRAY))
            self._measured_pts_ns = pts_ns
        self.gain, self.lift = self._follow(*self._measured, pts_ns, discont)
        self._step_table(self.gain, self.lift)
        if self._table is None:
            return pixels
        out = self._pool.get(pixels.shape)
        if pixels.shape[2] == 4:  # the alpha channel through an identity table
            cv2.LUT(pixels, np.stack([self._table, self._table, self._table, _IDENTITY], axis=-1)[None], dst=out)
            return out
        apply_pair_table(pixels, self._pairs, out)
        return out

    def _step_table(self, gain: float, lift: float) -> None:
        """The table in use follows the smoothed curve (`gain`, `lift`) in steps: it is replaced once
        the two differ by `TABLE_STEP_LEVELS` somewhere, and by the identity (no pass over the frame)
        where the curve itself is within one step of it."""
        table = self._smoothed_table
        curve_table(gain, lift, table)
        in_use = _IDENTITY if self._table is None else self._table
        if levels_apart(table, in_use) < TABLE_STEP_LEVELS:
            return
        if levels_apart(table, _IDENTITY) < TABLE_STEP_LEVELS:
            self._table, self._pairs = None, np.empty(0, np.uint16)
        else:
            self._table, self._pairs = table.copy(), pair_table(table)

    @property
    def corrects(self) -> bool:
        """Whether the latest frame went through a tone table (not the identity)."""
        return self._table is not None

    def process(self, frame: Frame) -> Frame:
        self.apply_updates()
        if self.enabled:
            frame.pixels = self.correct(frame.pixels, frame.pts_ns, frame.discont)
            frame.tiers[self.name] = (
                f"auto: gain {self.gain:.2f} lift {self.lift:.1f}" if self.corrects else "auto: bright enough"
            )
        else:
            self._state = self._measured_pts_ns = None
            self._table = None
            frame.tiers[self.name] = "off"
        return frame
