"""How much of a network's added detail to keep on a picture: a cross-scale self-check.

The networks add detail of the strength their training mix taught them. On footage with less real
detail than that (a soft original, heavy compression) part of what they add is wrong, and the result
can score below plain bicubic. The picture itself says how far to trust them: shrink it ÷s (area
average, as a camera scales), enlarge that ×s with the network (n) and with bicubic (b), and fit the
network's detail r = n − b to the detail the picture really has, e = picture − b, by least squares:

    a = ⟨r, e⟩ / ⟨r, r⟩          (all pixels and channels but a `BORDER_PX` rim)

The stage then outputs bicubic + w·(network − bicubic) with w = clamp(a, 0, 1)². The shrunk copy is
cleaner than the input (the area average removes most of the codec's noise), so `a` over-trusts the
network on the input itself; squaring was the best of {a, a², a with coring} on the tuning recordings
(docs/super-resolution.md). The check costs one network run on 1/s² of the picture.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from kernels.sr import blend_over_bicubic_x2, detail_fit_x2

BORDER_PX = 4
"""Pixels at each edge of the check's images left out of the fit (the networks pad there)."""
MIN_SIDE_PX = 16
"""A picture whose shrunk copy has a side shorter than this is not checked: weight 1."""
FULL_WEIGHT = 0.999
"""Weights at or above this keep the network's output as it is (no blend)."""
STREAM_REFRESH_FRAMES = 30
"""In a graph (a video or a camera) the weight is measured again every this many frames of a tier,
and at once after a discontinuity; outside one (single images) on every picture."""

Enlarge = Callable[[np.ndarray, np.ndarray], None]
"""(uint8 (h, w, 3) BGR, preallocated uint8 (h·s, w·s, ≥3) out) → the network's enlargement in out."""


def detail_weight(enlarge: Enlarge, pixels: np.ndarray, scale: int) -> float:
    """w in [0, 1] for `pixels` (uint8 (H, W, ≥3), channels 0..2 used) enlarged ×`scale` by `enlarge`
    (see the module docstring); 1.0 when the picture is too small to check or the network adds no
    detail to its shrunk copy."""
    h, w = pixels.shape[0] // scale, pixels.shape[1] // scale
    if min(h, w) < MIN_SIDE_PX:
        return 1.0
    picture = np.ascontiguousarray(pixels[: h * scale, : w * scale, :3])
    small = cv2.resize(picture, (w, h), interpolation=cv2.INTER_AREA)
    network = np.empty_like(picture)
    enlarge(small, network)
    if scale == 2:  # the bicubic made inside the fit (float, not rounded to uint8 levels)
        energy, cross = detail_fit_x2(
            small.reshape(h, -1), network.reshape(2 * h, -1), picture.reshape(2 * h, -1), BORDER_PX
        )
    else:
        rim = np.s_[BORDER_PX:-BORDER_PX, BORDER_PX:-BORDER_PX]
        bicubic = cv2.resize(small, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)[rim].astype(np.float32)
        added = (network[rim].astype(np.float32) - bicubic).ravel()
        real = (picture[rim].astype(np.float32) - bicubic).ravel()
        energy, cross = float(np.dot(added, added)), float(np.dot(added, real))
    if energy == 0.0:
        return 1.0
    fit = cross / energy
    return min(1.0, max(0.0, fit)) ** 2


def keep_detail(pixels: np.ndarray, enlarged: np.ndarray, weight: float, bicubic: np.ndarray | None = None) -> None:
    """Channels 0..2 of `enlarged` (the network's ×s enlargement of `pixels`) ← bicubic + `weight` ×
    (network − bicubic), rounded; unchanged when `weight` ≥ `FULL_WEIGHT`. `bicubic`: OpenCV's bicubic
    enlargement of `pixels` where the caller has it already (uint8, `enlarged`'s height and width,
    ≥ 3 channels; a view is fine), else it is computed here: for ×2 into a C-contiguous BGR array
    inside the blend itself (`kernels.sr.blend_over_bicubic_x2`, within 1 level of OpenCV's)."""
    if weight >= FULL_WEIGHT:
        return
    h, w = enlarged.shape[:2]
    doubled = (h, w) == (2 * pixels.shape[0], 2 * pixels.shape[1])
    if bicubic is None and doubled and enlarged.shape[2] == 3 and enlarged.flags.c_contiguous:
        # ×2 into a plain BGR array: the bicubic computed inside the blend (within 1 level of OpenCV's)
        picture = np.ascontiguousarray(pixels[..., :3])
        blend_over_bicubic_x2(picture.reshape(picture.shape[0], -1), enlarged.reshape(h, -1), weight)
        return
    if bicubic is None:
        bicubic = cv2.resize(np.ascontiguousarray(pixels[..., :3]), (w, h), interpolation=cv2.INTER_CUBIC)
    elif bicubic.shape[2] != 3:
        bicubic = np.ascontiguousarray(bicubic[..., :3])
    if enlarged.shape[2] == 3 and enlarged.flags.c_contiguous:
        cv2.addWeighted(enlarged, weight, bicubic, 1.0 - weight, 0.0, dst=enlarged)
    else:
        enlarged[..., :3] = cv2.addWeighted(np.ascontiguousarray(enlarged[..., :3]), weight, bicubic, 1.0 - weight, 0.0)


class DetailCheck:
    """The weight per tier, measured again after `refresh_frames` uses (1: on every picture) and after
    `reset()`."""

    def __init__(self, refresh_frames: int = 1):
        self.refresh_frames = refresh_frames
        self._weights: dict[str, tuple[float, int]] = {}
        """tier → (weight, uses since it was measured)."""

    def reset(self) -> None:
        """Measure again on the next picture of every tier (a cut: the content changed)."""
        self._weights.clear()

    def weight(self, tier: str, enlarge: Enlarge, pixels: np.ndarray, scale: int) -> float:
        """`tier`'s weight for `pixels`: the last one measured, or a new measurement when due."""
        weight, uses = self._weights.get(tier, (1.0, self.refresh_frames))
        if uses >= self.refresh_frames:
            weight, uses = detail_weight(enlarge, pixels, scale), 0
        self._weights[tier] = (weight, uses + 1)
        return weight

    @property
    def weights(self) -> dict[str, float]:
        """The weight each tier used last."""
        return {tier: weight for tier, (weight, _) in self._weights.items()}
