"""From the model's low-resolution person probability to the full-resolution uint8 alpha.

    alpha = round(255 * smoothstep(edge_lo, edge_hi, bilinear_upsample(mask)))

**Bilinear upsampling** uses half-pixel centres, the convention of `cv2.resize(..., INTER_LINEAR)`:
output pixel `x` samples the source at `sx = (x + 0.5) * src_n / dst_n - 0.5`, clamped to the first
and last source pixel (no extrapolation). It is computed in integer fixed point so that every kernel
that evaluates it gets bit-identical results whatever the compiler does:

* the mask is quantised once per frame to `q = round(clip(mask, 0, 1) * 65535)` (NaN counts as 0);
* the interpolation weights are quantised to `WEIGHT_BITS` = 11 bits (`round(frac * 2048)`, like
  OpenCV's uint8 resize), precomputed once per (source size, output size) by `axis_plan`;
* `v = (q00*(S-wy) + q10*wy) * (S-wx) + (q01*(S-wy) + q11*wy) * wx`, `S = 2048`, exact in int64,
  and the interpolated mask value is `m16 = (v + 2**21) >> 22` in 0..65535 (= mask * 65535).

**Soft edge**: `alpha = floor(255 * s(t) + 0.5)` with `t = clip((m16/65535 - edge_lo) / (edge_hi -
edge_lo), 0, 1)` and `s(t) = t*t*(3 - 2t)`; `edge_lo == edge_hi` is a hard threshold
(`m16/65535 >= edge_lo` gives 255). Tabulated once per (edge_lo, edge_hi) as a 65536-entry uint8
lookup table by `edge_lut`.

The per-pixel steps are the inlined helpers `mask_row` (vertical pass into a row buffer) and
`alpha_px` (horizontal pass + lookup). Rows are processed span by span (`row_runs`): where both
ends of a source interval give alpha 0 (or both 255), every pixel between does (monotone
interpolation, monotone table), so `alpha_px` only runs on the soft edge and the rest is a fill or
a copy. The compositing kernels in `composite.py` call the very same
helpers, so the alpha they blend with is exactly `alpha_from_mask` (which is what `litecam matte`
writes). Against `cv2.resize(mask, (W, H), INTER_LINEAR)` followed by a float smoothstep the result is
within 1 level of uint8 (the fixed-point weights and the 16-bit mask quantisation).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kernels._jit import inline, jit

WEIGHT_BITS = 11
WEIGHT_ONE = 1 << WEIGHT_BITS
MASK_ONE = 65535
_V_SHIFT = 2 * WEIGHT_BITS
_V_HALF = 1 << (_V_SHIFT - 1)


# -- plans (Python, cached) -------------------------------------------------------------------------
@lru_cache(maxsize=64)
def axis_plan(src_n: int, dst_n: int, bits: int = WEIGHT_BITS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights for resampling one axis from `src_n` to `dst_n` samples.

    Returns read-only int32 arrays `(i0, i1, w1)` of length `dst_n`: output sample `x` is
    `(src[i0[x]] * (S - w1[x]) + src[i1[x]] * w1[x]) / S`, `S = 2**bits` (half-pixel centres,
    clamped at both ends).
    """
    if src_n < 1 or dst_n < 1:
        raise ValueError(f"axis sizes must be >= 1, got {src_n} -> {dst_n}")
    sx = (np.arange(dst_n, dtype=np.float64) + 0.5) * (src_n / dst_n) - 0.5
    i0 = np.floor(sx)
    frac = sx - i0
    i0 = i0.astype(np.int64)
    low = i0 < 0
    i0[low], frac[low] = 0, 0.0
    high = i0 >= src_n - 1
    i0[high], frac[high] = src_n - 1, 0.0
    i1 = np.minimum(i0 + 1, src_n - 1)
    w1 = np.floor(frac * (1 << bits) + 0.5)
    plan = (i0.astype(np.int32), i1.astype(np.int32), w1.astype(np.int32))
    for a in plan:
        a.setflags(write=False)
    return plan


@lru_cache(maxsize=64)
def axis_spans(src_n: int, dst_n: int) -> np.ndarray:
    """Where each source interval starts in the output: int32 `starts` of length src_n + 1.

    Output samples `starts[k] <= x < starts[k + 1]` all interpolate between source samples `k` and
    `min(k + 1, src_n - 1)` (their `i0` is k); spans can be empty when downsampling.
    """
    i0 = axis_plan(src_n, dst_n)[0]
    starts = np.searchsorted(i0, np.arange(src_n + 1), side="left").astype(np.int32)
    starts[src_n] = dst_n
    starts.setflags(write=False)
    return starts


@lru_cache(maxsize=16)
def _edge_lut_cached(edge_lo: float, edge_hi: float) -> np.ndarray:
    m = np.arange(MASK_ONE + 1, dtype=np.float64) / MASK_ONE
    if edge_hi > edge_lo:
        t = np.clip((m - edge_lo) / (edge_hi - edge_lo), 0.0, 1.0)
        s = t * t * (3.0 - 2.0 * t)
    else:
        s = (m >= edge_lo).astype(np.float64)
    lut = np.floor(255.0 * s + 0.5).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def edge_lut(edge_lo: float, edge_hi: float) -> np.ndarray:
    """The soft-edge lookup table: uint8[65536], indexed by the interpolated mask `m16`."""
    edge_lo, edge_hi = float(edge_lo), float(edge_hi)
    if not (0.0 <= edge_lo <= edge_hi <= 1.0):
        raise ValueError(f"need 0 <= edge_lo <= edge_hi <= 1, got edge_lo={edge_lo}, edge_hi={edge_hi}")
    return _edge_lut_cached(edge_lo, edge_hi)


@lru_cache(maxsize=16)
def _edge_plan_cached(edge_lo: float, edge_hi: float) -> tuple[np.ndarray, int, int]:
    lut = _edge_lut_cached(edge_lo, edge_hi)
    zeros = int(np.count_nonzero(lut == 0))  # a prefix: the table is non-decreasing
    full = int(np.count_nonzero(lut == 255))  # a suffix
    # a mask_row value r gives alpha lut[(r + 1024) >> 11] at a source column
    r_lo = zeros * WEIGHT_ONE - (WEIGHT_ONE >> 1) - 1  # r <= r_lo  <=>  index < zeros
    r_hi = (len(lut) - full) * WEIGHT_ONE - (WEIGHT_ONE >> 1)  # r >= r_hi  <=>  index >= 65536 - full
    return lut, r_lo, r_hi


def edge_plan(edge_lo: float, edge_hi: float) -> tuple[np.ndarray, int, int]:
    """(lut, r_lo, r_hi): the lookup table and the `mask_row` values at or below which alpha is 0
    and at or above which it is 255 (used by `row_runs`)."""
    edge_lut(edge_lo, edge_hi)
    return _edge_plan_cached(float(edge_lo), float(edge_hi))


def check_mask(mask: np.ndarray) -> np.ndarray:
    """The mask as a C-contiguous float32 (h, w) array (a copy only when it is not one already)."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2 or mask.shape[0] < 1 or mask.shape[1] < 1:
        raise ValueError(f"mask must be a non-empty 2-D array, got shape {mask.shape}")
    return np.ascontiguousarray(mask, dtype=np.float32)


# -- per-pixel helpers shared with composite.py ---------------------------------------------------
@jit
def quantize_mask(mask):
    """float32 (h, w) probabilities -> int32 (h, w) in 0..65535 (NaN and negatives -> 0)."""
    h, w = mask.shape
    q = np.empty((h, w), np.int32)
    for y in range(h):
        for x in range(w):
            m = mask[y, x]
            if m >= 1.0:
                q[y, x] = MASK_ONE
            elif m > 0.0:
                q[y, x] = np.int32(m * np.float32(MASK_ONE) + np.float32(0.5))
            else:
                q[y, x] = 0
    return q


@inline
def mask_row(mq, y0, y1, wy1, row):
    """Vertical pass for one output row: row[x] = mq[y0, x] * (S - wy1) + mq[y1, x] * wy1."""
    wy0 = WEIGHT_ONE - wy1
    for x in range(mq.shape[1]):
        row[x] = mq[y0, x] * wy0 + mq[y1, x] * wy1


@inline
def alpha_px(row, x0, x1, wx1, lut):
    """Horizontal pass + soft edge for one pixel, from a `mask_row` buffer: uint8 alpha."""
    v = np.int64(row[x0]) * (WEIGHT_ONE - wx1) + np.int64(row[x1]) * wx1
    return lut[(v + _V_HALF) >> _V_SHIFT]


SPAN_MIXED = -1
"""Class of a span whose pixels have different alphas (or one alpha other than 0 and 255)."""


@inline
def _append_run(runs, count, s, e, c):
    """Add s <= x < e of class c after the `count` runs so far (merged into the last run when it
    has the same class and ends at s; nothing when empty); returns the new count."""
    if e <= s:
        return count
    if count > 0 and runs[count - 1, 2] == c and runs[count - 1, 1] == s:
        runs[count - 1, 1] = e
        return count
    runs[count, 0] = s
    runs[count, 1] = e
    runs[count, 2] = c
    return count + 1


@inline
def _level(r, r_lo, r_hi):
    """The level of a source column from its `mask_row` value: 0 (alpha 0), 2 (alpha 255) or 1."""
    return np.int32(r > r_lo) + np.int32(r >= r_hi)


@inline
def _span_class(level, next_level):
    """A span whose two ends share level 0 or 2 has that alpha at every pixel (the interpolation
    and the lookup table are monotone): class 0 or 255; any other span is SPAN_MIXED."""
    if level == next_level and level != 1:
        return level * 255 // 2
    return SPAN_MIXED


@jit
def _pair_runs(q0, q1, r_lo, r_hi, levels, pair):
    """The span runs `pair[i] = (first span, end span, class)` that hold for *every* output row
    interpolated between the quantised mask rows q0 and q1; returns their number.

    A column's `mask_row` value lies between q0·S and q1·S whatever the row's weight, so it has
    level 0 in every such row when both are at or below `r_lo`, level 2 when both are at or above
    `r_hi`; otherwise it gets level 1 here (the row decides: `row_runs`). Levels in one
    vectorised pass, then the row is walked stretch by stretch of equal level.
    """
    n = q0.shape[0]
    for k in range(n):
        a = np.int32(q0[k] * WEIGHT_ONE)
        b = np.int32(q1[k] * WEIGHT_ONE)
        levels[k] = np.int32(max(a, b) > r_lo) + np.int32(min(a, b) >= r_hi)
    count = 0
    k = 0
    while k < n:
        level = levels[k]
        b = k + 1
        while b < n and levels[b] == level:
            b += 1
        if level == 1:  # spans k .. b-1 start at an undecided column
            count = _append_run(pair, count, k, b, SPAN_MIXED)
        elif b < n:  # spans k .. b-2 are uniform; span b-1 ends at another level
            count = _append_run(pair, count, k, b - 1, level * 255 // 2)
            count = _append_run(pair, count, b - 1, b, SPAN_MIXED)
        else:  # uniform to the row's end (the last span is the last column's)
            count = _append_run(pair, count, k, n, level * 255 // 2)
        k = b
    return count


@jit
def row_scratch(n):
    """Scratch for `row_runs` over mask rows of n columns: (mrow, levels, pair, pair_key, runs)."""
    pair_key = np.full(3, -1, np.int64)  # (y0, y1, number of pair runs) of `pair`
    return (
        np.empty(n, np.int32),
        np.empty(n, np.int32),
        np.empty((n + 1, 3), np.int64),
        pair_key,
        np.empty((n + 1, 3), np.int64),
    )


@jit
def row_runs(mq, y0, y1, wy1, starts, r_lo, r_hi, scratch):
    """Split the output row interpolated between mask rows y0 and y1 (weight wy1) into runs of
    pixels `runs[i] = (s, e, class)`, s <= x < e, class 0 or 255 (every pixel has that alpha) or
    SPAN_MIXED (per-pixel alpha); returns the number of runs (`runs` = scratch[4]). When any run
    is mixed, scratch[0] holds the row's `mask_row` values (what `alpha_px` reads).

    Span k is the output pixels between source columns k and k + 1 (`axis_spans`; the last span,
    those from the last column on). The spans every row between y0 and y1 shares are found once
    per pair of mask rows (`_pair_runs`, kept in the scratch while consecutive rows share the
    pair); only the undecided spans are classified again for each row, from its own values.
    """
    mrow, levels, pair, pair_key, runs = scratch
    n = mq.shape[1]
    if pair_key[0] != y0 or pair_key[1] != y1:
        pair_key[0], pair_key[1] = y0, y1
        pair_key[2] = _pair_runs(mq[y0], mq[y1], r_lo, r_hi, levels, pair)
    npair = pair_key[2]
    if npair == 1 and pair[0, 2] != SPAN_MIXED:
        runs[0, 0], runs[0, 1], runs[0, 2] = 0, starts[n], pair[0, 2]
        return 1
    mask_row(mq, y0, y1, wy1, mrow)
    count = 0
    for p in range(npair):
        ks, ke, c = pair[p, 0], pair[p, 1], pair[p, 2]
        if c != SPAN_MIXED:
            count = _append_run(runs, count, starts[ks], starts[ke], c)
            continue
        level = _level(mrow[ks], r_lo, r_hi)
        for k in range(ks, ke):
            next_level = _level(mrow[k + 1], r_lo, r_hi) if k + 1 < n else level
            count = _append_run(runs, count, starts[k], starts[k + 1], _span_class(level, next_level))
            level = next_level
    return count


@inline
def alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e):
    """`alpha_px` for the output pixels s <= x < e of a row, into arow."""
    av = arow[s:e]  # sub-views looped from 0: no negative-index checks
    x0v = xs0[s:e]
    x1v = xs1[s:e]
    wv = wx[s:e]
    for j in range(av.shape[0]):
        av[j] = alpha_px(mrow, x0v[j], x1v[j], wv[j], lut)


@inline
def fill_range(arow, s, e, value):
    # a sub-view looped with range(len) lets Numba drop negative-index checks and vectorise
    view = arow[s:e]
    for i in range(view.shape[0]):
        view[i] = value


@jit
def _alpha_kernel(mq, ys0, ys1, wy, starts, xs0, xs1, wx, lut, r_lo, r_hi, out):
    rows = row_scratch(mq.shape[1])
    mrow, runs = rows[0], rows[4]
    for y in range(out.shape[0]):
        arow = out[y]
        for r in range(row_runs(mq, ys0[y], ys1[y], wy[y], starts, r_lo, r_hi, rows)):
            s, e, c = runs[r, 0], runs[r, 1], runs[r, 2]
            if c == SPAN_MIXED:
                alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e)
            else:
                fill_range(arow, s, e, c)


# -- public -----------------------------------------------------------------------------------------
def alpha_from_mask(
    mask_lowres: np.ndarray,
    out_h: int,
    out_w: int,
    edge_lo: float,
    edge_hi: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Full-resolution alpha from the low-resolution mask.

    mask_lowres: float32 (h, w), person probability in [0, 1] (values outside are clamped).
    Returns uint8 (out_h, out_w), written into `out` when given (C-contiguous uint8 of that shape).
    """
    mask = check_mask(mask_lowres)
    h, w = mask.shape
    if out is None:
        out = np.empty((out_h, out_w), np.uint8)
    elif out.shape != (out_h, out_w) or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8 {(out_h, out_w)}, got {out.dtype} {out.shape}")
    ys0, ys1, wy = axis_plan(h, out_h)
    xs0, xs1, wx = axis_plan(w, out_w)
    lut, r_lo, r_hi = edge_plan(edge_lo, edge_hi)
    _alpha_kernel(quantize_mask(mask), ys0, ys1, wy, axis_spans(w, out_w), xs0, xs1, wx, lut, r_lo, r_hi, out)
    return out
