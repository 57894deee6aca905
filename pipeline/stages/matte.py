"""Matte refinement: the model's low-resolution mask -> a full-resolution alpha that follows the frame.

Runs between `segment` and `background`. Takes BGR frames carrying `frame.mask` (float32 model
resolution). With `refine` it gives the same frames with `frame.alpha` set: uint8 (H, W), the alpha
the compositor blends with **and** the alpha `litecam matte` writes (both read this very array, so
they are identical by construction). With `temporal` only (the cheap live setting), it replaces
`frame.mask` by the smoothed mask (same resolution) and sets no alpha: the compositor and `litecam
matte` then both upsample that mask with `alpha_from_mask`, bit-identically, as without this stage.

Per frame, at a reduced *guide* resolution (the frame halved with INTER_AREA while its longer side
stays at least the mask's longer side: 320x180 for a 720p frame and a 256-wide mask):

1. the mask is resized to the guide size (bilinear);
2. temporal (`temporal=True`): a motion-adaptive EMA — strong where the guide's luma did not change
   (weight `still_weight` for the new mask), none where it moved by `motion_levels` or more (a 3x3
   max of |Δluma|, so an edge that moves is never left behind) — then hysteresis around 0.5
   (`band`), so edge pixels do not toggle (`kernels.temporal`). Reset on `frame.discont`, on a scene
   cut (mean |Δluma| over `SCENE_CUT_LEVELS`) and when the size changes; without `refine` the EMA
   runs at the mask's own resolution and the hysteresis pushes a soft value inside the band to the
   side of its state (`smoothed_mask`); without `temporal` the mask is thresholded at 0.5;
3. refine (`refine=True`): a fast guided filter (`kernels.guided`) fits `q = a·luma + b` to that
   binary matte in (2·radius+1)² windows on the guide and applies the coefficients at full
   resolution, so the edge snaps to the frame's own edges (hair, shoulders); alpha =
   smoothstep(edge_lo, edge_hi, q).

A frame without `frame.mask` raises, naming the fix (put a segment stage first).
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels.blur import halve, shrink_factor
from kernels.guided import GuidedBuffers, apply_guided, guided_coefficients
from kernels.mask import alpha_from_mask, edge_lut
from kernels.temporal import temporal_update
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.params import Param, check_bool
from pipeline.pool import ArrayPool
from pipeline.stage import Stage
from pipeline.stages.background import EDGE_HIGH, EDGE_LOW

DEFAULT_RADIUS = 2
"""Guided-filter window radius in guide pixels (4 full-resolution pixels per guide pixel at 720p)."""
DEFAULT_EPS = 1e-4
"""Guided-filter regulariser (luma in [0, 1]): smaller follows weaker edges."""
DEFAULT_STILL_WEIGHT = 0.3
"""EMA weight of the new mask where the frame is still (1 = no smoothing)."""
DEFAULT_MOTION_LEVELS = 6.0
"""Luma change (levels, 3x3 max) at and above which a pixel counts as moving (EMA weight 1)."""
DEFAULT_BAND = 0.15
"""Hysteresis half-width around probability 0.5."""
SCENE_CUT_LEVELS = 40.0
"""Mean |Δluma| of the guide above which the temporal state is reset (a cut, a camera switch)."""


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """A new float32 copy of a probability mask clamped to [0, 1], NaN as 0."""
    return np.clip(np.nan_to_num(np.asarray(mask, np.float32)), 0, 1)


def guide_factor(width: int, height: int, mask_w: int, mask_h: int) -> int:
    """The power of two the frame is shrunk by for the guide: halve while the longer side of the
    halved frame is still at least the mask's longer side."""
    return shrink_factor(width, height, max(mask_w, mask_h))


REFINE = Param(
    "refine", check_bool, True, "Snap the mask's edge to the frame's edges with a fast guided filter.", live=True
)
TEMPORAL = Param(
    "temporal",
    check_bool,
    True,
    "Motion-adaptive smoothing and hysteresis of the mask (no flicker, no ghosting).",
    live=True,
)


class Matte(Stage):
    """Temporal smoothing + guided refinement of `frame.mask` into `frame.alpha` (module docstring)."""

    name = "refine"
    updatable = frozenset({"edge_lo", "edge_hi", "refine", "temporal"})
    params = (REFINE, TEMPORAL)
    reads = frozenset({EDGE_LOW.key, EDGE_HIGH.key})
    absent_hint = (
        "refine/temporal were both off at start, so there is no matte stage to turn on (restart with one of them on)"
    )

    def __init__(
        self,
        edge_lo: float = EDGE_LOW.default,
        edge_hi: float = EDGE_HIGH.default,
        *,
        refine: bool = REFINE.default,
        temporal: bool = TEMPORAL.default,
        radius: int = DEFAULT_RADIUS,
        eps: float = DEFAULT_EPS,
        still_weight: float = DEFAULT_STILL_WEIGHT,
        motion_levels: float = DEFAULT_MOTION_LEVELS,
        band: float = DEFAULT_BAND,
    ):
        try:
            edge_lut(edge_lo, edge_hi)
        except ValueError as exc:
            raise UserError(f"matte edge: {exc}") from None
        if not (isinstance(radius, int) and radius >= 1) or not eps > 0:
            raise UserError(f"matte: need radius >= 1 and eps > 0, got radius={radius!r}, eps={eps!r}")
        if not 0 < still_weight <= 1 or not motion_levels > 0 or not 0 <= band < 0.5:
            raise UserError("matte: need 0 < still_weight <= 1, motion_levels > 0, 0 <= band < 0.5")
        self.edge_lo, self.edge_hi = float(edge_lo), float(edge_hi)
        self.refine, self.temporal = bool(refine), bool(temporal)
        self.radius, self.eps = radius, float(eps)
        self.still_weight, self.motion_levels, self.band = float(still_weight), float(motion_levels), float(band)
        self._pool = ArrayPool()
        self.reset()

    def settings_change(self, new, changed: set[str]):
        return lambda: self.update(
            edge_lo=new.edge_low, edge_hi=new.edge_high, refine=new.refine, temporal=new.temporal
        )

    def reset(self) -> None:
        """Forget the temporal state (the next frame starts afresh)."""
        self._ema: np.ndarray | None = None
        self._state: np.ndarray | None = None
        self._prev_luma: np.ndarray | None = None
        self._buffers: GuidedBuffers | None = None
        self.resets = 0

    def open(self, caps: Caps) -> Caps:
        if caps.channels != 3:
            raise GraphError(f"the matte stage takes BGR frames (3 channels), got {caps.channels}")
        self.reset()
        return caps

    # -- one frame --------------------------------------------------------------------------------
    def _target(self, p: np.ndarray, luma: np.ndarray, discont: bool, soft: bool = False) -> np.ndarray:
        """The matte the guided filter refines: float32 0/1 at the guide size (with `soft`, and
        temporal on: the smoothed soft mask, hysteresis-pushed; see `kernels.temporal`)."""
        target = np.empty_like(p)
        if not self.temporal:
            np.greater_equal(p, 0.5, out=target, casting="unsafe")
            return target
        prev = self._prev_luma
        diff: np.ndarray
        fresh = discont or self._ema is None or prev is None or self._ema.shape != p.shape
        if not fresh:
            assert prev is not None, "kept with the EMA"
            diff = cv2.absdiff(luma, prev)
            fresh = float(cv2.mean(diff)[0]) > SCENE_CUT_LEVELS
        if fresh:
            self._ema = clean_mask(p)
            self._state = (self._ema >= 0.5).astype(np.uint8)
            self.resets += 1
            diff = np.full(p.shape, 255, np.uint8)  # all "moving": the new mask as it is
        else:
            diff = cv2.dilate(diff, np.ones((3, 3), np.uint8))
        self._prev_luma = luma
        temporal_update(p, diff, self._ema, self._state, self.still_weight, self.motion_levels, self.band, target, soft)
        return target

    def smoothed_mask(
        self, pixels: np.ndarray, mask: np.ndarray, discont: bool = False, levels: dict[int, np.ndarray] | None = None
    ) -> np.ndarray:
        """Without `refine`: the model mask after the motion-adaptive EMA and the soft hysteresis,
        float32 at the mask's own resolution (motion from the guide's luma resized to it); the mask
        as it is without `temporal`. Updates the temporal state; `discont` restarts it. `levels`: the
        frame's cache of reductions (`Frame.reductions`)."""
        if not self.temporal:
            return clean_mask(mask)
        mask = np.asarray(mask, np.float32)  # (the temporal kernel clamps it as it reads it)
        h, w = pixels.shape[:2]
        mh, mw = mask.shape
        guide = halve(np.ascontiguousarray(pixels[:, :, :3]), guide_factor(w, h, mw, mh), levels)
        luma = cv2.cvtColor(guide, cv2.COLOR_BGR2GRAY)
        if luma.shape != (mh, mw):  # (the ROI-tracked mask already has the guide's size)
            luma = cv2.resize(luma, (mw, mh), interpolation=cv2.INTER_AREA)
        # hysteresis on the soft mask: inside the band a pixel is pushed to the side of its state,
        # so it only changes sides when the state flips (outside the band the EMA is kept as is)
        return self._target(mask, luma, discont, soft=True)

    def alpha(
        self,
        pixels: np.ndarray,
        mask: np.ndarray,
        discont: bool = False,
        out: np.ndarray | None = None,
        levels: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The uint8 (H, W) alpha of one BGR frame and its model mask: refined (`refine`), else
        `alpha_from_mask` of `smoothed_mask` — what the compositor blends with either way. Updates
        the temporal state; `discont` restarts it."""
        pixels = np.ascontiguousarray(pixels[:, :, :3])
        h, w = pixels.shape[:2]
        if not self.refine:
            return alpha_from_mask(
                self.smoothed_mask(pixels, mask, discont, levels), h, w, self.edge_lo, self.edge_hi, out=out
            )
        mask = np.asarray(mask, np.float32)
        factor = guide_factor(w, h, mask.shape[1], mask.shape[0])
        guide = halve(pixels, factor, levels)
        gh, gw = guide.shape[:2]
        luma = cv2.cvtColor(guide, cv2.COLOR_BGR2GRAY)
        p = cv2.resize(clean_mask(mask), (gw, gh), interpolation=cv2.INTER_LINEAR)
        target = self._target(p, luma, discont)
        if self._buffers is None or self._buffers.shape != (gh, gw):
            self._buffers = GuidedBuffers(gh, gw)
        coef = guided_coefficients(luma, target, self.radius, self.eps, self._buffers)
        return apply_guided(pixels, coef, self.edge_lo, self.edge_hi, out=out, buffers=self._buffers)

    def process(self, frame: Frame) -> Frame:
        modes = (self.refine, self.temporal)
        self.apply_updates()
        if (self.refine, self.temporal) != modes:  # turning either on or off restarts the temporal state
            self.reset()
        if frame.mask is None:
            raise RuntimeError("frame has no mask (frame.mask is None): put a segment stage before the matte stage")
        if not self.refine:  # the smoothed mask replaces the model's; the compositor upsamples it
            frame.mask = self.smoothed_mask(frame.pixels, frame.mask, frame.discont, frame.reductions())
            return frame
        out = self._pool.get((frame.height, frame.width))
        frame.alpha = self.alpha(frame.pixels, frame.mask, frame.discont, out=out, levels=frame.reductions())
        return frame


def matte_for(settings) -> Matte | None:
    """The matte stage a run's `Settings` ask for (temporal smoothing and/or guided refinement), or
    None when both are off (then the compositor upsamples the model mask itself)."""
    if not (settings.refine or settings.temporal):
        return None
    return Matte(settings.edge_low, settings.edge_high, refine=settings.refine, temporal=settings.temporal)
