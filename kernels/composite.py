"""Fused compositing kernels: mask upsampling, soft edge, background sampling and blend in one pass.

Each kernel reads the frame once and writes the output once; no full-resolution alpha, upsampled
mask or upsampled background is made (`alpha_out` is written only when asked). Per output row:

* the mask row is interpolated vertically (`mask.mask_row`, a few hundred values) and the row is
  split into runs (`mask.row_runs`): runs where every pixel has alpha 255 are a plain copy of the
  frame, runs with alpha 0 a plain copy (or interpolation) of the background, and only the soft
  edge is evaluated pixel by pixel with `mask.alpha_px` — the very helper `alpha_from_mask` uses, so
  `alpha_out` (and the alpha blended with) is bit-identical to
  `alpha_from_mask(mask, H, W, edge_lo, edge_hi)`;
* blend: `out = (fg * a + bg * (255 - a) + 127) // 255` per channel, the exact blend rounded to
  nearest (no tie can occur: the numerator is an integer and 255 is odd).

Background sampling (`composite_over_small`): the small background's rows are first resampled to
the frame width with `cv2.resize(INTER_LINEAR)` (`widen_rows`: hs x W, 1/factor of a frame; OpenCV's
SIMD path is faster than a gather loop here); the kernel interpolates vertically between two such
rows, 8-bit fixed point, half-pixel centres: `bg = (r0 * (256 - wy) + r1 * wy + 128) >> 8`, in uint16
arithmetic (16 lanes per AVX2 register, `kernels._jit.u16_*`), and only for pixels that show
background. Within 1 level of `cv2.resize(bg_small, (W, H), INTER_LINEAR)`.

`*_with_alpha` variants take a full-resolution uint8 alpha (the matte stage's refined alpha, issue
4) instead of the mask: the same run bodies (`_over_row`, `_vlerp`, `blend255`), with the runs found
by scanning the alpha row (runs of 0 / 255 / other values, `_alpha_run`) instead of `row_runs`.

Frames are BGR uint8 (H, W, 3), C-contiguous; `composite_rgba` writes straight (not premultiplied)
BGRA. Kernels are serial and release the GIL (see `_jit.py` for why not `parallel=True`). Inner loops
run over sub-views with `range(len)`: with a loop from a non-zero start Numba keeps its
negative-index checks and LLVM does not vectorise (measured 30x slower for a copy).
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels._jit import inline, jit, u16_add, u16_mul, u16_shr8
from kernels.mask import (
    SPAN_MIXED,
    alpha_range,
    axis_plan,
    axis_spans,
    check_mask,
    edge_plan,
    fill_range,
    quantize_mask,
    row_runs,
    row_scratch,
)

BG_WEIGHT_BITS = 8
BG_WEIGHT_ONE = 1 << BG_WEIGHT_BITS


@inline
def _vlerp(b0, b1, w0, w1):
    """(b0 * w0 + b1 * w1 + 128) >> 8 for uint8 b and uint16 weights summing to 256, in 16-bit lanes
    (the sum is at most 255 * 256 + 128 < 2**16)."""
    t = u16_add(u16_add(u16_mul(np.uint16(b0), w0), u16_mul(np.uint16(b1), w1)), np.uint16(128))
    return u16_shr8(t)


@inline
def blend255(f, b, a):
    """(f * a + b * (255 - a) + 127) // 255 for 0 <= f, b, a <= 255, without a division, in 16-bit
    lanes: x = f·a + b·(255 − a) + 127 <= 255² + 127 and x + 1 + (x >> 8) < 2**16."""
    a16 = np.uint16(a)
    x = u16_add(u16_add(u16_mul(np.uint16(f), a16), u16_mul(np.uint16(b), np.uint16(255 - a))), np.uint16(127))
    return u16_shr8(u16_add(u16_add(x, np.uint16(1)), u16_shr8(x)))


@jit
def _over_small_kernel(
    frame2,
    mq,
    ys0,
    ys1,
    wy,
    starts,
    xs0,
    xs1,
    wx,
    lut,
    r_lo,
    r_hi,
    rows2,
    bys0,
    bys1,
    bwy,
    out2,
    alpha_out,
    write_alpha,
):
    h, w3 = out2.shape
    n = mq.shape[1]
    rows = row_scratch(n)
    mrow, runs = rows[0], rows[4]
    scratch = np.empty(w3 // 3, np.uint8)
    for y in range(h):
        arow = alpha_out[y] if write_alpha else scratch
        nruns = row_runs(mq, ys0[y], ys1[y], wy[y], starts, r_lo, r_hi, rows)
        frow = frame2[y]
        orow = out2[y]
        r0 = rows2[bys0[y]]
        r1 = rows2[bys1[y]]
        # 16-bit weights for `_vlerp` (every sum it makes is below 2**16)
        vw1 = np.uint16(bwy[y])
        vw0 = np.uint16(BG_WEIGHT_ONE - bwy[y])
        for r in range(nruns):
            s, e, c = runs[r, 0], runs[r, 1], runs[r, 2]
            if c == SPAN_MIXED:
                alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e)
            elif write_alpha:
                fill_range(arow, s, e, c)
            if c == SPAN_MIXED:
                av = arow[s:e]
                ov = orow[3 * s : 3 * e]
                fv = frow[3 * s : 3 * e]
                b0 = r0[3 * s : 3 * e]
                b1 = r1[3 * s : 3 * e]
                for x in range(av.shape[0]):
                    a = av[x]
                    for ch in range(3):
                        i = 3 * x + ch
                        ov[i] = blend255(fv[i], _vlerp(b0[i], b1[i], vw0, vw1), a)
                continue
            ov = orow[3 * s : 3 * e]
            fv = frow[3 * s : 3 * e]
            if c == 255:
                for i in range(ov.shape[0]):
                    ov[i] = fv[i]
                continue
            b0 = r0[3 * s : 3 * e]
            b1 = r1[3 * s : 3 * e]
            for i in range(ov.shape[0]):
                ov[i] = _vlerp(b0[i], b1[i], vw0, vw1)


@inline
def _over_row(frow, brow, orow, arow, s, e, c):
    """Composite output pixels s <= x < e of a row whose run class is c, over a full background row."""
    ov = orow[3 * s : 3 * e]
    fv = frow[3 * s : 3 * e]
    bv = brow[3 * s : 3 * e]
    if c == 255:
        for i in range(ov.shape[0]):
            ov[i] = fv[i]
    elif c == 0:
        for i in range(ov.shape[0]):
            ov[i] = bv[i]
    else:
        av = arow[s:e]
        for x in range(av.shape[0]):
            a = np.int32(av[x])
            for ch in range(3):
                ov[3 * x + ch] = blend255(fv[3 * x + ch], bv[3 * x + ch], a)


@jit
def _over_full_kernel(
    frame2, mq, ys0, ys1, wy, starts, xs0, xs1, wx, lut, r_lo, r_hi, bg2, out2, alpha_out, write_alpha
):
    h = out2.shape[0]
    n = mq.shape[1]
    rows = row_scratch(n)
    mrow, runs = rows[0], rows[4]
    scratch = np.empty(out2.shape[1] // 3, np.uint8)
    for y in range(h):
        arow = alpha_out[y] if write_alpha else scratch
        nruns = row_runs(mq, ys0[y], ys1[y], wy[y], starts, r_lo, r_hi, rows)
        for r in range(nruns):
            s, e, c = runs[r, 0], runs[r, 1], runs[r, 2]
            if c == SPAN_MIXED:
                alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e)
            elif write_alpha:
                fill_range(arow, s, e, c)
            _over_row(frame2[y], bg2[y], out2[y], arow, s, e, c)


@jit
def _over_color_kernel(
    frame2, mq, ys0, ys1, wy, starts, xs0, xs1, wx, lut, r_lo, r_hi, color, out2, alpha_out, write_alpha
):
    h, w3 = out2.shape
    n = mq.shape[1]
    rows = row_scratch(n)
    mrow, runs = rows[0], rows[4]
    scratch = np.empty(w3 // 3, np.uint8)
    brow = np.empty(w3, np.uint8)
    for i in range(w3):
        brow[i] = color[i % 3]
    for y in range(h):
        arow = alpha_out[y] if write_alpha else scratch
        nruns = row_runs(mq, ys0[y], ys1[y], wy[y], starts, r_lo, r_hi, rows)
        for r in range(nruns):
            s, e, c = runs[r, 0], runs[r, 1], runs[r, 2]
            if c == SPAN_MIXED:
                alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e)
            elif write_alpha:
                fill_range(arow, s, e, c)
            _over_row(frame2[y], brow, out2[y], arow, s, e, c)


@jit
def _rgba_kernel(frame2, mq, ys0, ys1, wy, starts, xs0, xs1, wx, lut, r_lo, r_hi, out2, alpha_out, write_alpha):
    h, w4 = out2.shape
    n = mq.shape[1]
    rows = row_scratch(n)
    mrow, runs = rows[0], rows[4]
    scratch = np.empty(w4 // 4, np.uint8)
    for y in range(h):
        arow = alpha_out[y] if write_alpha else scratch
        nruns = row_runs(mq, ys0[y], ys1[y], wy[y], starts, r_lo, r_hi, rows)
        for r in range(nruns):
            s, e, c = runs[r, 0], runs[r, 1], runs[r, 2]
            if c == SPAN_MIXED:
                alpha_range(mrow, xs0, xs1, wx, lut, arow, s, e)
            else:
                fill_range(arow, s, e, c)
        frow = frame2[y]
        orow = out2[y]
        for x in range(arow.shape[0]):
            orow[4 * x] = frow[3 * x]
            orow[4 * x + 1] = frow[3 * x + 1]
            orow[4 * x + 2] = frow[3 * x + 2]
            orow[4 * x + 3] = arow[x]


# -- public wrappers ------------------------------------------------------------------------------
_NO_ALPHA = np.zeros((1, 1), np.uint8)


def _check_image(name: str, a: np.ndarray, channels: int, shape: tuple[int, int] | None = None) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != channels:
        got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name} must be uint8 (H, W, {channels}), got {got}")
    if shape is not None and a.shape[:2] != shape:
        raise ValueError(f"{name} must be {shape[0]}x{shape[1]} (HxW) like the frame, got {a.shape[:2]}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def widen_rows(bg_small: np.ndarray, width: int) -> np.ndarray:
    """The small background's rows resampled to the frame width: uint8 (hs, width, 3).

    `cv2.resize(INTER_LINEAR)` with the height unchanged, i.e. horizontal-only bilinear interpolation
    with half-pixel centres (OpenCV's SIMD path; 1/factor of a frame, the only intermediate made).
    """
    if bg_small.shape[1] == width:
        return bg_small
    return cv2.resize(bg_small, (width, bg_small.shape[0]), interpolation=cv2.INTER_LINEAR)


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], a.shape[1] * a.shape[2])


def _prepare(frame, mask_lowres, edge_lo, edge_hi, out, out_channels, alpha_out):
    _check_image("frame", frame, 3)
    hw = frame.shape[:2]
    _check_image("out", out, out_channels, hw)
    if alpha_out is None:
        alpha, write = _NO_ALPHA, False
    else:
        if alpha_out.dtype != np.uint8 or alpha_out.shape != hw or not alpha_out.flags.c_contiguous:
            raise ValueError(f"alpha_out must be C-contiguous uint8 {hw}, got {alpha_out.dtype} {alpha_out.shape}")
        alpha, write = alpha_out, True
    mask = check_mask(mask_lowres)
    ys0, ys1, wy = axis_plan(mask.shape[0], hw[0])
    xs0, xs1, wx = axis_plan(mask.shape[1], hw[1])
    starts = axis_spans(mask.shape[1], hw[1])
    lut, r_lo, r_hi = edge_plan(edge_lo, edge_hi)
    frame2 = frame.reshape(hw[0], hw[1] * 3)
    args = (frame2, quantize_mask(mask), ys0, ys1, wy, starts, xs0, xs1, wx, lut, r_lo, r_hi)
    return args, alpha, write


def composite_over_small(frame, mask_lowres, bg_small, edge_lo, edge_hi, out, alpha_out=None):
    """Person over a small background sampled bilinearly at full resolution (the `blur` mode).

    frame: uint8 (H, W, 3) BGR. mask_lowres: float32 (h, w) in [0, 1]. bg_small: uint8 (hs, ws, 3), any
    size (typically `kernels.blur.downscaled_blur(frame, strength)`). out: uint8 (H, W, 3), written.
    alpha_out: None, or uint8 (H, W) that receives the alpha (= `alpha_from_mask`). Returns `out`.
    """
    args, alpha, write = _prepare(frame, mask_lowres, edge_lo, edge_hi, out, 3, alpha_out)
    _check_image("bg_small", bg_small, 3)
    rows = widen_rows(bg_small, frame.shape[1])
    bys0, bys1, bwy = axis_plan(bg_small.shape[0], frame.shape[0], BG_WEIGHT_BITS)
    _over_small_kernel(*args, _flat(rows), bys0, bys1, bwy, _flat(out), alpha, write)
    return out


def composite_over_full(frame, mask_lowres, bg_full, edge_lo, edge_hi, out, alpha_out=None):
    """Person over a full-size background (the `image` and `video` modes); bg_full: uint8 (H, W, 3)."""
    args, alpha, write = _prepare(frame, mask_lowres, edge_lo, edge_hi, out, 3, alpha_out)
    _check_image("bg_full", bg_full, 3, frame.shape[:2])
    _over_full_kernel(*args, _flat(bg_full), _flat(out), alpha, write)
    return out


def composite_over_color(frame, mask_lowres, bgr, edge_lo, edge_hi, out, alpha_out=None):
    """Person over a plain colour; bgr: a (B, G, R) triple of 0..255 integers."""
    color = np.asarray(bgr, dtype=np.int64).reshape(-1)
    if color.shape != (3,) or (color < 0).any() or (color > 255).any():
        raise ValueError(f"bgr must be three integers in 0..255, got {bgr!r}")
    args, alpha, write = _prepare(frame, mask_lowres, edge_lo, edge_hi, out, 3, alpha_out)
    _over_color_kernel(*args, color.astype(np.uint8), _flat(out), alpha, write)
    return out


def composite_rgba(frame, mask_lowres, edge_lo, edge_hi, out, alpha_out=None):
    """The frame as straight BGRA with the alpha as 4th channel (the `transparent` mode).

    out: uint8 (H, W, 4), written.
    """
    args, alpha, write = _prepare(frame, mask_lowres, edge_lo, edge_hi, out, 4, alpha_out)
    _rgba_kernel(*args, _flat(out), alpha, write)
    return out


# -- the same composites from a full-resolution alpha (the matte stage's refined alpha) ---------------
@inline
def _alpha_run(arow, s, w):
    """(end, class) of the run starting at s: class 0 / 255 for a run of that alpha, SPAN_MIXED for a
    run of other values (0 / 255 runs are checked 16 bytes at a time)."""
    a = arow[s]
    e = s + 1
    if a == 0 or a == 255:
        full = np.int32(a) * 16
        while e + 16 <= w:  # 16 bytes at a time: a sum without branches (vectorised)
            t = np.int32(0)
            for j in range(16):
                t += np.int32(arow[e + j])
            if t != full:
                break
            e += 16
        while e < w and arow[e] == a:
            e += 1
        return e, np.int64(a)
    while e < w and arow[e] != 0 and arow[e] != 255:
        e += 1
    return e, np.int64(SPAN_MIXED)


@jit
def _alpha_over_small_kernel(frame2, alpha, rows2, bys0, bys1, bwy, out2):
    h, w = alpha.shape
    for y in range(h):
        arow = alpha[y]
        frow = frame2[y]
        orow = out2[y]
        r0 = rows2[bys0[y]]
        r1 = rows2[bys1[y]]
        vw1 = np.uint16(bwy[y])
        vw0 = np.uint16(BG_WEIGHT_ONE - bwy[y])
        s = 0
        while s < w:
            e, c = _alpha_run(arow, s, w)
            ov = orow[3 * s : 3 * e]
            fv = frow[3 * s : 3 * e]
            if c == 255:
                for i in range(ov.shape[0]):
                    ov[i] = fv[i]
            else:
                b0 = r0[3 * s : 3 * e]
                b1 = r1[3 * s : 3 * e]
                if c == 0:
                    for i in range(ov.shape[0]):
                        ov[i] = _vlerp(b0[i], b1[i], vw0, vw1)
                else:
                    av = arow[s:e]
                    for x in range(av.shape[0]):
                        a = np.int32(av[x])
                        for ch in range(3):
                            i = 3 * x + ch
                            ov[i] = blend255(fv[i], _vlerp(b0[i], b1[i], vw0, vw1), a)
            s = e


@jit
def _alpha_over_rows_kernel(frame2, alpha, bg2, bg_step, out2):
    """Over a full-size background (bg_step 1) or one background row used for every row (bg_step 0)."""
    h, w = alpha.shape
    for y in range(h):
        arow = alpha[y]
        s = 0
        while s < w:
            e, c = _alpha_run(arow, s, w)
            _over_row(frame2[y], bg2[y * bg_step], out2[y], arow, s, e, c)
            s = e


def _check_alpha(frame, alpha, out, channels):
    _check_image("frame", frame, 3)
    hw = frame.shape[:2]
    _check_image("out", out, channels, hw)
    if (
        not isinstance(alpha, np.ndarray)
        or alpha.dtype != np.uint8
        or alpha.shape != hw
        or not alpha.flags.c_contiguous
    ):
        got = f"{alpha.dtype} {alpha.shape}" if isinstance(alpha, np.ndarray) else type(alpha).__name__
        raise ValueError(f"alpha must be C-contiguous uint8 {hw}, got {got}")


def composite_small_with_alpha(frame, alpha, bg_small, out):
    """`composite_over_small` with a given full-resolution uint8 alpha (H, W) instead of the mask."""
    _check_alpha(frame, alpha, out, 3)
    _check_image("bg_small", bg_small, 3)
    rows = widen_rows(bg_small, frame.shape[1])
    bys0, bys1, bwy = axis_plan(bg_small.shape[0], frame.shape[0], BG_WEIGHT_BITS)
    _alpha_over_small_kernel(_flat(frame), alpha, _flat(rows), bys0, bys1, bwy, _flat(out))
    return out


def composite_full_with_alpha(frame, alpha, bg_full, out):
    """`composite_over_full` with a given full-resolution uint8 alpha."""
    _check_alpha(frame, alpha, out, 3)
    _check_image("bg_full", bg_full, 3, frame.shape[:2])
    _alpha_over_rows_kernel(_flat(frame), alpha, _flat(bg_full), 1, _flat(out))
    return out


def composite_color_with_alpha(frame, alpha, bgr, out):
    """`composite_over_color` with a given full-resolution uint8 alpha."""
    color = np.asarray(bgr, dtype=np.int64).reshape(-1)
    if color.shape != (3,) or (color < 0).any() or (color > 255).any():
        raise ValueError(f"bgr must be three integers in 0..255, got {bgr!r}")
    _check_alpha(frame, alpha, out, 3)
    row = np.tile(color.astype(np.uint8), frame.shape[1]).reshape(1, -1)
    _alpha_over_rows_kernel(_flat(frame), alpha, row, 0, _flat(out))
    return out


def composite_rgba_with_alpha(frame, alpha, out):
    """`composite_rgba` with a given full-resolution uint8 alpha: straight BGRA."""
    _check_alpha(frame, alpha, out, 4)
    cv2.merge([frame, alpha], dst=out)
    return out
