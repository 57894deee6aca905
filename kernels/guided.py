"""Fast guided filter (He, Sun & Tang 2010; He & Sun 2015) for snapping the matte to the frame's edges.

The guided filter models the refined matte locally as a linear function of the guide's luma:
`q = a · I + b` in every (2r+1)² window, with `a` and `b` fitted by ridge regression of the input
matte `p` on the guide `I` (regulariser `eps`):

    a = cov(I, p) / (var(I) + eps),   b = mean(p) − a · mean(I)

and the coefficients averaged over the windows that cover each pixel. "Fast": the coefficients are
fitted on a reduced guide (the frame shrunk by a power of two, `pipeline.stages.matte.guide_factor`)
and only *applied* at full resolution — the coefficient planes bilinearly upsampled (half-pixel
centres, the weights of `mask.axis_plan`) and combined with the full-resolution pixel's luma — so
edges follow the full-resolution image while the fitting costs 1/factor² of it.

The colour variant (a 3x3 solve per pixel) scored boundary F ~0.007 better on the portrait set but
cost ~3x as much at 320x180 (13 moment planes instead of 4): luma it is.

Kernels (Numba, serial, `nogil`; NumPy references in `kernels.reference`, tests in
`tests/kernels/test_guided.py`):

* `box_mean(src, r)` — mean over the (2r+1)² window (mirrored borders), every channel of a float32
  (h, w, c) array: one `cv2.boxFilter` call (faster than the Numba running-sum kernel tried first).
* `guided_coefficients(guide_gray, p, r, eps)` — float32 (h, w, 2): the window-averaged `a, b`
  for a guide scaled to [0, 1]. One Numba pass builds the 4 moment planes (I, p, I², I·p), one box
  pass averages them, a Numba per-pixel solve gives a, b, a second box pass averages those.
* `apply_guided(frame_bgr, coef, edge_lo, edge_hi, out)` — the full-resolution uint8 alpha
  `lut[round(65535 · clip(q, 0, 1))]` with the soft-edge table of `mask.edge_lut` (smoothstep from
  edge_lo to edge_hi). Fused: per output row the two coefficient rows are interpolated vertically
  (low-resolution width), then per pixel horizontally (the 11-bit weights of `mask.axis_plan`),
  combined with the pixel's luma and looked up: no full-resolution float intermediate.
  Low-resolution cells whose four corners bound `q` entirely at or below the alpha-0 level (or at
  or above the alpha-255 level) for *any* luma are filled without per-pixel work (conservative
  bounds with a margin, so the result is unchanged); on a typical frame that is most of it.

Arithmetic is float32 (the references are float64): alphas agree within one level, exactly on all
but a handful of pixels.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from kernels._jit import jit
from kernels.mask import MASK_ONE, WEIGHT_ONE, axis_plan, axis_spans, edge_lut

COEF_CHANNELS = 2
LUMA_B, LUMA_G, LUMA_R = np.float32(0.114 / 255), np.float32(0.587 / 255), np.float32(0.299 / 255)
"""BT.601 luma of a BGR pixel, scaled to [0, 1] (`cv2.COLOR_BGR2GRAY`'s weights)."""
FLAT_MARGIN = 1e-3
"""How far inside the alpha-0 / alpha-255 levels a cell's bound must be for a fill (float safety)."""


def box_mean(src: np.ndarray, r: int, out: np.ndarray | None = None) -> np.ndarray:
    """Mean over the (2r+1)x(2r+1) window, per channel, mirrored at the borders (BORDER_REFLECT_101):
    `cv2.boxFilter` (one call does it; OpenCV's running sums beat a Numba loop here, 0.5 vs 1 ms for
    4 planes at 320x180). float32 (h, w, c)."""
    res = cv2.boxFilter(src, -1, (2 * r + 1, 2 * r + 1), dst=out, normalize=True, borderType=cv2.BORDER_REFLECT_101)
    return res.reshape(src.shape)


@jit
def _moments(gray, p, m):
    """4 planes into m (h, w, 4): I, p, I², I·p with I = gray / 255."""
    h, w = gray.shape
    s = np.float32(1.0 / 255.0)
    for y in range(h):
        g = gray[y]
        pr = p[y]
        mr = m[y]
        for x in range(w):
            i = np.float32(g[x]) * s
            v = pr[x]
            mr[x, 0] = i
            mr[x, 1] = v
            mr[x, 2] = i * i
            mr[x, 3] = i * v


@jit
def _solve(mean, eps, ab):
    """Per pixel into ab (h, w, 2): a = cov(I, p) / (var(I) + eps), b = mean_p − a·mean_I."""
    h, w, _ = mean.shape
    for y in range(h):
        mr = mean[y]
        o = ab[y]
        for x in range(w):
            mi = mr[x, 0]
            mp = mr[x, 1]
            a = (mr[x, 3] - mi * mp) / (mr[x, 2] - mi * mi + eps)
            o[x, 0] = a
            o[x, 1] = mp - a * mi


class GuidedBuffers:
    """Scratch arrays for one guide size, reused frame after frame: fresh multi-megabyte arrays every
    call cost page faults (measured ~1 ms per call at 320x180, doubling `guided_coefficients`)."""

    def __init__(self, h: int, w: int):
        self.shape = (h, w)
        self.moments = np.empty((h, w, 4), np.float32)
        self.mean = np.empty((h, w, 4), np.float32)
        self.ab = np.empty((h, w, 2), np.float32)
        self.coef = np.empty((h, w, 2), np.float32)
        self.cls = np.empty((h, w), np.int32)


def guided_coefficients(
    guide_gray: np.ndarray, p: np.ndarray, radius: int, eps: float, buffers: GuidedBuffers | None = None
) -> np.ndarray:
    """Window-averaged guided-filter coefficients, float32 (h, w, 2) = (a, b).

    guide_gray: uint8 (h, w), the (reduced) frame's luma; p: float32 (h, w), the matte to refine (in
    [0, 1]); radius: window radius in guide pixels (>= 1); eps: regulariser (guide scaled to [0, 1]).
    The refined matte at a guide pixel is `a · I/255 + b`. With `buffers` (of the guide's size) no
    array is allocated and the result is `buffers.coef`, overwritten by the next call.
    """
    if guide_gray.dtype != np.uint8 or guide_gray.ndim != 2:
        raise ValueError(f"guide must be uint8 (h, w), got {guide_gray.dtype} {guide_gray.shape}")
    p = np.ascontiguousarray(p, dtype=np.float32)
    if p.shape != guide_gray.shape:
        raise ValueError(f"p must be {guide_gray.shape} like the guide, got {p.shape}")
    if radius < 1 or not eps > 0:
        raise ValueError(f"need radius >= 1 and eps > 0, got radius={radius}, eps={eps}")
    h, w = p.shape
    if buffers is None or buffers.shape != (h, w):
        buffers = GuidedBuffers(h, w)
    _moments(np.ascontiguousarray(guide_gray), p, buffers.moments)
    box_mean(buffers.moments, int(radius), out=buffers.mean)
    _solve(buffers.mean, np.float32(eps), buffers.ab)
    return box_mean(buffers.ab, int(radius), out=buffers.coef)


@jit
def _cell_classes(coef, q0, q1, cls):
    """cls[y, x] = 0 if q <= q0 for every luma, 255 if q >= q1 for every luma, else -1."""
    h, w, _ = coef.shape
    for y in range(h):
        for x in range(w):
            a = coef[y, x, 0]
            lo = coef[y, x, 1]
            hi = lo
            if a < 0:
                lo += a
            else:
                hi += a
            cls[y, x] = 0 if hi <= q0 else (255 if lo >= q1 else -1)


@jit
def _apply_kernel(frame2, coef, cls, ys0, ys1, wy, starts, xs0, xs1, wx, lut, out):
    h, w = out.shape
    lh, lw, _ = coef.shape
    row_a = np.empty(lw, np.float32)
    row_b = np.empty(lw, np.float32)
    span = np.empty(lw, np.int32)
    inv_one = np.float32(1.0 / WEIGHT_ONE)
    qmax = np.float32(MASK_ONE)
    prev0 = -1
    prev1 = -1
    mixed = True
    for y in range(h):
        y0 = ys0[y]
        y1 = ys1[y]
        if y0 != prev0 or y1 != prev1:
            # a span (output pixels between low-res columns k and k+1) is flat when its corners agree
            for k in range(lw):
                k1 = min(k + 1, lw - 1)
                a = cls[y0, k]
                if cls[y0, k1] != a or cls[y1, k] != a or cls[y1, k1] != a:
                    a = -1
                span[k] = a
            prev0 = y0
            prev1 = y1
            mixed = False
            for k in range(lw):
                if span[k] < 0:
                    mixed = True
        if mixed:  # the coefficient rows are only needed where some span is not flat
            fy = np.float32(wy[y]) * inv_one
            gy = np.float32(1.0) - fy
            c0 = coef[y0]
            c1 = coef[y1]
            for k in range(lw):
                row_a[k] = c0[k, 0] * gy + c1[k, 0] * fy
                row_b[k] = c0[k, 1] * gy + c1[k, 1] * fy
        frow = frame2[y]
        orow = out[y]
        k = 0
        while k < lw:
            c = span[k]
            kk = k + 1
            while kk < lw and span[kk] == c:
                kk += 1
            s = starts[k]
            e = starts[kk]
            k = kk
            if c >= 0:
                ov = orow[s:e]
                for i in range(ov.shape[0]):
                    ov[i] = c
                continue
            ov = orow[s:e]  # sub-views looped from 0: no negative-index checks
            fv = frow[3 * s : 3 * e]
            x0v = xs0[s:e]
            x1v = xs1[s:e]
            wv = wx[s:e]
            for j in range(ov.shape[0]):
                i0 = x0v[j]
                i1 = x1v[j]
                fx = np.float32(wv[j]) * inv_one
                gx = np.float32(1.0) - fx
                luma = (
                    np.float32(fv[3 * j]) * LUMA_B
                    + np.float32(fv[3 * j + 1]) * LUMA_G
                    + np.float32(fv[3 * j + 2]) * LUMA_R
                )
                q = (row_a[i0] * gx + row_a[i1] * fx) * luma + (row_b[i0] * gx + row_b[i1] * fx)
                q = min(max(q, np.float32(0.0)), np.float32(1.0))
                ov[j] = lut[np.int32(q * qmax + np.float32(0.5))]


@lru_cache(maxsize=16)
def _writable_lut(edge_lo: float, edge_hi: float) -> np.ndarray:
    # Numba reads a writable array ~2x faster than the read-only cached table in this gather
    return np.array(edge_lut(edge_lo, edge_hi))


@lru_cache(maxsize=16)
def flat_levels(edge_lo: float, edge_hi: float) -> tuple[float, float]:
    """(q0, q1): refined-matte values at or below which alpha is 0 and at or above which it is 255,
    pulled inward by `FLAT_MARGIN` (used to skip cells; never changes a result)."""
    lut = edge_lut(edge_lo, edge_hi)
    zeros = int(np.count_nonzero(lut == 0))
    full = int(np.count_nonzero(lut == 255))
    q0 = (zeros - 0.5) / MASK_ONE - FLAT_MARGIN if zeros else -1.0
    q1 = (len(lut) - full - 0.5) / MASK_ONE + FLAT_MARGIN if full else 2.0
    return q0, q1


def apply_guided(
    frame_bgr: np.ndarray,
    coef: np.ndarray,
    edge_lo: float,
    edge_hi: float,
    out: np.ndarray | None = None,
    buffers: GuidedBuffers | None = None,
) -> np.ndarray:
    """Full-resolution uint8 alpha from the coefficients of `guided_coefficients` (any smaller size).

    frame_bgr: uint8 (H, W, 3) C-contiguous; coef: float32 (h, w, 2). alpha = `edge_lut(edge_lo,
    edge_hi)[round(65535 · clip(q, 0, 1))]`, q = a · luma/255 + b with (a, b) upsampled and luma the
    BT.601 luma of the pixel (`LUMA_*`). Written into
    `out` (uint8 (H, W), C-contiguous) when given.
    """
    if (
        frame_bgr.dtype != np.uint8
        or frame_bgr.ndim != 3
        or frame_bgr.shape[2] != 3
        or not frame_bgr.flags.c_contiguous
    ):
        raise ValueError(f"frame must be C-contiguous uint8 (H, W, 3), got {frame_bgr.dtype} {frame_bgr.shape}")
    coef = np.ascontiguousarray(coef, dtype=np.float32)
    if coef.ndim != 3 or coef.shape[2] != COEF_CHANNELS:
        raise ValueError(f"coef must be float32 (h, w, 2), got {coef.shape}")
    h, w = frame_bgr.shape[:2]
    if out is None:
        out = np.empty((h, w), np.uint8)
    elif out.shape != (h, w) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8 {(h, w)}, got {out.dtype} {out.shape}")
    lut = _writable_lut(float(edge_lo), float(edge_hi))
    q0, q1 = flat_levels(float(edge_lo), float(edge_hi))
    cls = buffers.cls if buffers is not None and buffers.shape == coef.shape[:2] else np.empty(coef.shape[:2], np.int32)
    _cell_classes(coef, np.float32(q0), np.float32(q1), cls)
    lh, lw = coef.shape[:2]
    ys0, ys1, wy = axis_plan(lh, h)
    xs0, xs1, wx = axis_plan(lw, w)
    _apply_kernel(frame_bgr.reshape(h, w * 3), coef, cls, ys0, ys1, wy, axis_spans(lw, w), xs0, xs1, wx, lut, out)
    return out
