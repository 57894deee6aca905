"""A Gaussian background blur computed at reduced resolution.

`strength` is the standard deviation, in **full-resolution pixels**, of the Gaussian blur the result
imitates: `downscaled_blur(frame, 12)` bilinearly upsampled to the frame size looks like
`cv2.GaussianBlur(frame, (0, 0), 12)` (PSNR > 38 dB on a natural 720p image, see the tests), for a
fraction of the cost. The result is *small*; the compositor samples it at full resolution only where
the background shows (`composite.composite_over_small`), so no full-size blurred image is ever made.

How: the frame is halved `log2(factor)` times with a 2x2 box average (`cv2.resize(INTER_AREA)`'s
result, from a Numba kernel for even-sized BGR; together an exact `factor` x `factor` box filter,
variance factor²/12), blurred there with `cv2.GaussianBlur`, and later upsampled bilinearly (a tent
filter, variance factor²/6). The small Gaussian's sigma is chosen so the three variances add up to
strength²: `sigma_small = sqrt(strength² / factor² - 1/4)`. The factor is the power of two that keeps
`sigma_small` near `TARGET_SMALL_SIGMA` small pixels (at most `max_factor`): enough to hide the box
and tent shapes, small enough that the blur on the reduced image is cheap; so the cost barely
grows with the strength. Measured PSNR against the full-resolution Gaussian on the astronaut photo
at 1280x720: 52.5 dB (strength 4), 50.7 dB (8), 47.3 dB (12), 42.8 dB (20), 42.6 dB (30);
a sigma 20 % off scores about 34 dB.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from kernels._jit import jit

TARGET_SMALL_SIGMA = 1.25
"""Sigma (in small-image pixels) the reduction factor aims for; smaller is cheaper but blockier."""


def blur_factor(strength: float, max_factor: int = 16) -> int:
    """The reduction factor (a power of two) `downscaled_blur` uses for a sigma of `strength`."""
    factor = 1
    while factor * 2 <= min(max_factor, strength / TARGET_SMALL_SIGMA):
        factor *= 2
    return factor


def shrink_factor(width: int, height: int, min_side: int) -> int:
    """The largest power of two a width×height image can be halved by while its longer side stays
    at least `min_side` (1 when it is already smaller): the size the matte, ROI and light-wrap
    work at (min_side 256, the models' longer side: 320×180 for 720p)."""
    factor = 1
    while max(width, height) // (2 * factor) >= min_side:
        factor *= 2
    return factor


def small_size(width: int, height: int, factor: int) -> tuple[int, int]:
    """(w, h) of the reduced image: each halving rounds up, and the image stays at least 1x1."""
    while factor > 1:
        width, height, factor = (width + 1) // 2, (height + 1) // 2, factor // 2
    return width, height


@jit
def _halve_bgr(src: np.ndarray, dst: np.ndarray) -> None:
    """dst = the 2x2 box average of src, rounded half up: what `cv2.resize(INTER_AREA)` gives for an
    exact 2:1 reduction. src: C-contiguous uint8 (2h, 2w, 3); dst: (h, w, 3). The channel count is a
    constant here: with a variable one the loop stays scalar (8x slower than OpenCV; this is ~2x faster)."""
    h, w = dst.shape[:2]
    src2 = src.reshape(2 * h, 6 * w)
    dst2 = dst.reshape(h, 3 * w)
    for y in range(h):
        top, bottom, out = src2[2 * y], src2[2 * y + 1], dst2[y]
        for x in range(w):
            for c in range(3):
                i = 6 * x + c
                total = np.uint16(top[i]) + np.uint16(top[i + 3]) + np.uint16(bottom[i]) + np.uint16(bottom[i + 3])
                out[3 * x + c] = (total + 2) >> 2


def _halve_once(image: np.ndarray) -> np.ndarray:
    """`image` reduced 2:1 with INTER_AREA, each side rounded up: the Numba kernel for an even-sized,
    C-contiguous BGR image (bit-identical), OpenCV otherwise."""
    h, w = image.shape[:2]
    bgr = image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous
    if bgr and h % 2 == 0 and w % 2 == 0:
        out = np.empty((h // 2, w // 2, 3), np.uint8)
        _halve_bgr(image, out)
        return out
    return cv2.resize(image, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)


def halve(image: np.ndarray, factor: int, levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """`image` halved log2(`factor`) times with INTER_AREA's 2x2 averages (`_halve_once`); each halving
    rounds the size up, so the result is `small_size(W, H, factor)`. factor: a power of two.

    levels: optional cache of this image's reductions, by factor (2, 4, ...), shared by callers
    that halve the same image (the matte's guide and the blur background both halve the frame):
    the work starts from the largest cached level up to `factor`, and the levels made here are
    added. Cached levels are returned as they are: callers must not write into them.
    """
    small, done = image, 1
    if levels:
        done = max((f for f in levels if f <= factor), default=1)
        small = levels.get(done, image)
    while done < factor:
        small = _halve_once(small)
        done *= 2
        if levels is not None:
            levels[done] = small
    return small


def small_sigma(strength: float, width: int, height: int, small_w: int, small_h: int) -> float:
    """The Gaussian sigma to use on the reduced image so that, upsampled bilinearly, it looks like
    sigma `strength` at full resolution: the box (1/12) and tent (1/6) variances the downscale and
    the upsample add are removed."""
    if (small_w, small_h) == (width, height):
        return strength
    return math.sqrt(max(strength * strength / ((width / small_w) * (height / small_h)) - 0.25, 0.0))


def downscaled_blur(
    frame_bgr: np.ndarray,
    strength: float,
    *,
    factor: int | None = None,
    out: np.ndarray | None = None,
    levels: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """The frame blurred with a Gaussian of sigma `strength` (full-resolution pixels), kept small.

    frame_bgr: uint8 (H, W, C) (any channel count OpenCV takes). strength: > 0. factor: override the reduction (default
    `blur_factor(strength)`). out: optional destination of the small size, uint8 (h, w, C).
    levels: the frame's cache of reductions (`halve`).
    Returns uint8 (h, w, C) with (w, h) = `small_size(W, H, factor)`; sample it with half-pixel-centre
    bilinear interpolation (as the compositing kernels do) to get the full-resolution blur.
    """
    if not strength > 0:
        raise ValueError(f"blur strength must be > 0 (sigma in full-resolution pixels), got {strength}")
    height, width = frame_bgr.shape[:2]
    f = blur_factor(strength) if factor is None else int(factor)
    if f < 1 or f & (f - 1):
        raise ValueError(f"factor must be a power of two, got {factor}")
    small = halve(frame_bgr, f, levels)
    sh, sw = small.shape[:2]
    sigma_small = small_sigma(strength, width, height, sw, sh)
    if out is not None:
        dst = out
    else:  # blur in place only into an array of our own (not the frame, not a cached level)
        dst = small if small is not frame_bgr and levels is None else np.empty_like(small)
    if sigma_small >= 0.3:
        cv2.GaussianBlur(small, (0, 0), sigma_small, dst=dst, borderType=cv2.BORDER_REFLECT_101)
    elif dst is not small:
        np.copyto(dst, small)
    return dst


BACKGROUND_WEIGHT_FLOOR = 1e-3
"""Added to the background weight of `renormalised_blur`, so that where the person covers the
whole blur window the result is the plain blur rather than 0/0."""


@jit
def _weighted_planes(small, person, planes):
    """planes[..., :3] = small · w and planes[..., 3] = w, w = 1 - clip(person, 0, 1) + floor
    (NaN counts as 0)."""
    h, w = person.shape
    for y in range(h):
        for x in range(w):
            p = person[y, x]
            p = np.float32(0.0) if not p > 0 else min(p, np.float32(1.0))
            weight = np.float32(1.0 + BACKGROUND_WEIGHT_FLOOR) - p
            for c in range(3):
                planes[y, x, c] = np.float32(small[y, x, c]) * weight
            planes[y, x, 3] = weight


@jit
def _renormalise(planes, out):
    """out = round(planes[..., :3] / planes[..., 3]), clipped to 0..255."""
    h, w = out.shape[:2]
    for y in range(h):
        for x in range(w):
            inv = np.float32(1.0) / planes[y, x, 3]
            for c in range(3):
                v = planes[y, x, c] * inv + np.float32(0.5)
                out[y, x, c] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


def renormalised_blur(small: np.ndarray, person: np.ndarray, sigma: float) -> np.ndarray:
    """The Gaussian blur (`sigma`, in `small`'s pixels) of the background of `small` alone:
    `blur(small · w) / blur(w)` with w = 1 - person (+ `BACKGROUND_WEIGHT_FLOOR`), so the person's
    colours do not spread into their surroundings. small: uint8 (h, w, 3); person: float32 (h, w),
    the person's coverage in [0, 1]. The weighted colours and the weight blur together as one
    4-channel image; a sigma below 0.3 blurs nothing. Returns uint8 (h, w, 3)."""
    h, w = person.shape
    if small.shape != (h, w, 3) or small.dtype != np.uint8 or person.dtype != np.float32:
        raise ValueError(
            f"need uint8 (h, w, 3) and float32 (h, w) of one size, got {small.dtype} {small.shape}"
            f" and {person.dtype} {person.shape}"
        )
    planes = np.empty((h, w, 4), np.float32)
    _weighted_planes(small, person, planes)
    if sigma >= 0.3:
        cv2.GaussianBlur(planes, (0, 0), sigma, dst=planes, borderType=cv2.BORDER_REFLECT_101)
    out = np.empty((h, w, 3), np.uint8)
    _renormalise(planes, out)
    return out
