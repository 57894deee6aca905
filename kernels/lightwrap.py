"""Light wrap: the new background's light spilling softly over the person's edges.

A cut-out pasted on a bright or colourful background looks pasted on because its edges keep the
light of the room it was filmed in. Compositors wrap some of the background around the edges:
inside the person, near the edge, the composite is pulled towards the blurred background, the more
the closer to the edge and the more background surrounds the pixel.

Everything is computed at a small size (the frame shrunk by a power of two, e.g. 160x90 at 720p:
the light is soft, and the weight and background are interpolated back bilinearly):

* `wrap_weight(person, sigma, strength)` — uint8 weight, 0..255: `strength · p · min(1, 2·spill)`,
  with p the person probability and spill = blur(1 − p) (Gaussian, `sigma` small-image pixels):
  zero on the background (which is already background) and deep inside the person, largest just
  inside the edge;
* `light_wrap(out, weight_small, bg_small)` — applied to the composited frame in place, at full
  resolution: `out += (bg − out) · w / 256`, with w and bg bilinearly upsampled on the fly (8-bit
  fixed point, half-pixel centres). Rows, and spans of a row, whose weight is zero are skipped
  without a pixel read: the cost follows the length of the person's outline, not the frame size.
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels._jit import jit
from kernels.mask import axis_plan, axis_spans

WRAP_BITS = 8
WRAP_ONE = 1 << WRAP_BITS


def wrap_weight(person: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    """uint8 (h, w) wrap weight from the float32 person probability `person` (h, w) in [0, 1].

    `sigma`: how far the light reaches in, in pixels of this small image (> 0). `strength`: 0..1,
    the most the composite is pulled towards the background (at the edge).
    """
    if not 0 <= strength <= 1 or not sigma > 0:
        raise ValueError(f"light wrap needs 0 <= strength <= 1 and sigma > 0, got {strength}, {sigma}")
    p = np.clip(np.asarray(person, np.float32), 0, 1)
    spill = cv2.GaussianBlur(1 - p, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    # cv2.min takes a scalar as src2 (per-element min with 0.5); the cv2 stubs list only arrays
    w = cv2.min(spill, 0.5)  # type: ignore[call-overload]
    w *= p
    return cv2.convertScaleAbs(w, alpha=2 * 255 * strength)  # rounds, saturates to uint8


@jit
def _wrap_kernel(out2, weight, bg2, ys0, ys1, wy, wx, x_start, live_rows):
    h = out2.shape[0]
    sw = weight.shape[1]
    vw = np.empty(sw, np.int32)  # this row's weight, interpolated vertically at each small column
    vb = np.empty(3 * sw, np.int32)  # the same for the background's channels
    for y in range(h):
        r0, r1 = ys0[y], ys1[y]
        if not (live_rows[r0] or live_rows[r1]):
            continue
        fy1 = np.int32(wy[y])
        fy0 = np.int32(WRAP_ONE) - fy1
        wrow0, wrow1 = weight[r0], weight[r1]
        brow0, brow1 = bg2[r0], bg2[r1]
        for c in range(sw):
            vw[c] = np.int32(wrow0[c]) * fy0 + np.int32(wrow1[c]) * fy1
        for i in range(3 * sw):
            vb[i] = np.int32(brow0[i]) * fy0 + np.int32(brow1[i]) * fy1
        orow = out2[y]
        for c in range(sw):  # the output columns that interpolate from small columns c and n
            n = min(c + 1, sw - 1)
            a0, a1 = vw[c], vw[n]
            if a0 == 0 and a1 == 0:
                continue
            b00, b01, b02 = vb[3 * c], vb[3 * c + 1], vb[3 * c + 2]
            b10, b11, b12 = vb[3 * n], vb[3 * n + 1], vb[3 * n + 2]
            for x in range(x_start[c], x_start[c + 1]):
                fx1 = np.int32(wx[x])
                fx0 = np.int32(WRAP_ONE) - fx1
                a = (a0 * fx0 + a1 * fx1 + 32768) >> 16  # 0..255
                o = np.int32(orow[3 * x])
                orow[3 * x] = np.uint8(o + ((((b00 * fx0 + b10 * fx1 + 32768) >> 16) - o) * a + 128 >> 8))
                o = np.int32(orow[3 * x + 1])
                orow[3 * x + 1] = np.uint8(o + ((((b01 * fx0 + b11 * fx1 + 32768) >> 16) - o) * a + 128 >> 8))
                o = np.int32(orow[3 * x + 2])
                orow[3 * x + 2] = np.uint8(o + ((((b02 * fx0 + b12 * fx1 + 32768) >> 16) - o) * a + 128 >> 8))


def light_wrap(out: np.ndarray, weight_small: np.ndarray, bg_small: np.ndarray) -> np.ndarray:
    """Pull `out` (uint8 BGR (H, W, 3), C-contiguous, modified in place) towards `bg_small`
    (uint8 BGR (h, w, 3), the blurred background) by `weight_small` (uint8 (h, w), 255 = all the
    way); both small images cover the whole frame. Returns `out`."""
    h, w = out.shape[:2]
    if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] != 3 or not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous uint8 (H, W, 3)")
    sh, sw = weight_small.shape
    if bg_small.shape != (sh, sw, 3) or weight_small.dtype != np.uint8 or bg_small.dtype != np.uint8:
        raise ValueError(
            f"weight_small (h, w) and bg_small (h, w, 3) must be uint8 of one size, got "
            f"{weight_small.shape} and {bg_small.shape}"
        )
    ys0, ys1, wy = axis_plan(sh, h, WRAP_BITS)
    xs0, _, wx = axis_plan(sw, w, WRAP_BITS)  # xs1 = min(xs0 + 1, sw - 1): the kernel knows it
    weight = np.ascontiguousarray(weight_small)
    live_rows = weight.any(axis=1)
    x_start = axis_spans(sw, w)  # first output x of each small column
    _wrap_kernel(
        out.reshape(h, w * 3),
        weight,
        np.ascontiguousarray(bg_small).reshape(sh, sw * 3),
        ys0,
        ys1,
        wy,
        wx,
        x_start,
        live_rows,
    )
    return out
