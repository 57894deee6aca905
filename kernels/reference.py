"""Plain NumPy/OpenCV reference implementations of the kernels: the readable spec.

Each function computes, with whole-array NumPy operations and full-resolution intermediates, exactly
what the corresponding Numba kernel computes in one fused pass; the tests require equality (bit for
bit) and the benchmark times the kernels against these. `*_cv2` variants are the "obvious" OpenCV
formulations (float mask resize, float blend): within 1 level of the exact ones.
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels.mask import MASK_ONE, WEIGHT_BITS


def axis_plan_reference(src_n: int, dst_n: int, bits: int = WEIGHT_BITS):
    """Half-pixel-centre bilinear taps for one axis: (i0, i1, w1) with weights out of 2**bits."""
    sx = (np.arange(dst_n) + 0.5) * (src_n / dst_n) - 0.5
    sx = np.clip(sx, 0, src_n - 1)  # clamp at both ends (no extrapolation)
    i0 = np.floor(sx).astype(np.int64)
    i0 = np.minimum(i0, src_n - 1)
    frac = sx - i0
    i1 = np.minimum(i0 + 1, src_n - 1)
    w1 = np.floor(frac * (1 << bits) + 0.5).astype(np.int64)
    return i0, i1, w1


def synthetic_mask(h: int, w: int, edge_px: float = 4.0) -> np.ndarray:
    """A head-and-shoulders-like float32 (h, w) mask whose soft edge is about `edge_px` mask pixels
    wide, like a segmentation model's output (for tests and the benchmark)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    size = max(h, w)
    r = np.hypot((xx - w / 2) / max(w, 1), (yy - h * 0.7) / max(h, 1) * 1.2) * size
    return np.clip((0.25 * size - r) / edge_px + 0.5, 0, 1).astype(np.float32)


def quantize_mask_reference(mask: np.ndarray) -> np.ndarray:
    """round(clip(mask, 0, 1) * 65535) in float32 arithmetic, NaN -> 0, as int64."""
    m = np.nan_to_num(np.asarray(mask, np.float32), nan=0.0)
    m = np.clip(m, np.float32(0), np.float32(1))
    return (m * np.float32(MASK_ONE) + np.float32(0.5)).astype(np.int64)


def upsample_mask_reference(mask: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The interpolated mask m16 in 0..65535 (int64, (out_h, out_w)), 11-bit fixed-point bilinear."""
    q = quantize_mask_reference(mask)
    y0, y1, wy = axis_plan_reference(q.shape[0], out_h)
    x0, x1, wx = axis_plan_reference(q.shape[1], out_w)
    one = 1 << WEIGHT_BITS
    rows = q[y0, :] * (one - wy)[:, None] + q[y1, :] * wy[:, None]  # vertical pass
    v = rows[:, x0] * (one - wx)[None, :] + rows[:, x1] * wx[None, :]  # horizontal pass
    shift = 2 * WEIGHT_BITS
    return (v + (1 << (shift - 1))) >> shift


def smoothstep_alpha(m: np.ndarray, edge_lo: float, edge_hi: float) -> np.ndarray:
    """uint8 alpha = floor(255 * smoothstep(edge_lo, edge_hi, m) + 0.5); m is a float64 in [0, 1]."""
    if edge_hi > edge_lo:
        t = np.clip((m - edge_lo) / (edge_hi - edge_lo), 0.0, 1.0)
        s = t * t * (3.0 - 2.0 * t)
    else:
        s = (m >= edge_lo).astype(np.float64)
    return np.floor(255.0 * s + 0.5).astype(np.uint8)


def alpha_reference(mask, out_h, out_w, edge_lo, edge_hi) -> np.ndarray:
    """Exactly `kernels.mask.alpha_from_mask`."""
    m16 = upsample_mask_reference(mask, out_h, out_w)
    return smoothstep_alpha(m16.astype(np.float64) / MASK_ONE, edge_lo, edge_hi)


def alpha_reference_cv2(mask, out_h, out_w, edge_lo, edge_hi) -> np.ndarray:
    """The obvious formulation: float `cv2.resize(INTER_LINEAR)` + float smoothstep (within 1 level)."""
    m = np.clip(np.nan_to_num(np.asarray(mask, np.float32)), 0, 1)
    up = cv2.resize(m, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return smoothstep_alpha(up.astype(np.float64), edge_lo, edge_hi)


def blend_reference(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(fg * a + bg * (255 - a) + 127) // 255 per channel, uint8."""
    a = alpha.astype(np.int32)[..., None]
    return ((fg.astype(np.int32) * a + bg.astype(np.int32) * (255 - a) + 127) // 255).astype(np.uint8)


def upsample_bg_reference(bg_small: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """How the compositor samples a small background at full resolution, as a full image.

    Horizontal pass: `cv2.resize` INTER_LINEAR to the output width (height unchanged). Vertical
    pass: 8-bit fixed-point bilinear, `(r0 * (256 - wy) + r1 * wy + 128) >> 8`, half-pixel centres.
    """
    rows = bg_small
    if bg_small.shape[1] != out_w:
        rows = cv2.resize(bg_small, (out_w, bg_small.shape[0]), interpolation=cv2.INTER_LINEAR)
    y0, y1, wy = axis_plan_reference(rows.shape[0], out_h, bits=8)
    r = rows.astype(np.int64)
    v = r[y0] * (256 - wy)[:, None, None] + r[y1] * wy[:, None, None]
    return ((v + 128) >> 8).astype(np.uint8)


def composite_over_small_reference(frame, mask, bg_small, edge_lo, edge_hi):
    """Exactly `composite_over_small`: returns (out, alpha)."""
    h, w = frame.shape[:2]
    alpha = alpha_reference(mask, h, w, edge_lo, edge_hi)
    return blend_reference(frame, upsample_bg_reference(bg_small, h, w), alpha), alpha


def composite_over_full_reference(frame, mask, bg_full, edge_lo, edge_hi):
    h, w = frame.shape[:2]
    alpha = alpha_reference(mask, h, w, edge_lo, edge_hi)
    return blend_reference(frame, bg_full, alpha), alpha


def composite_over_color_reference(frame, mask, bgr, edge_lo, edge_hi):
    h, w = frame.shape[:2]
    alpha = alpha_reference(mask, h, w, edge_lo, edge_hi)
    bg = np.empty_like(frame)
    bg[:] = np.asarray(bgr, np.uint8)
    return blend_reference(frame, bg, alpha), alpha


def composite_rgba_reference(frame, mask, edge_lo, edge_hi):
    h, w = frame.shape[:2]
    alpha = alpha_reference(mask, h, w, edge_lo, edge_hi)
    return np.dstack([frame, alpha]), alpha


def naive_blur_composite(frame, mask, strength, edge_lo, edge_hi):
    """What the fused path replaces: full-resolution `cv2.GaussianBlur`, `cv2.resize` of the mask,
    smoothstep and blend in float NumPy (the usual Python virtual-background code)."""
    h, w = frame.shape[:2]
    bg = cv2.GaussianBlur(frame, (0, 0), strength)
    m = cv2.resize(np.asarray(mask, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    t = np.clip((m - edge_lo) / max(edge_hi - edge_lo, 1e-6), 0.0, 1.0)
    a = (t * t * (3.0 - 2.0 * t))[..., None]
    return (frame * a + bg * (1.0 - a)).astype(np.uint8)


# =================================================================================================
# Super-resolution pre/post-processing and ROI blend (kernels/sr.py)
# =================================================================================================
def bgr_to_tensor_reference(frame: np.ndarray) -> np.ndarray:
    """Exactly `kernels.sr.bgr_to_tensor`: uint8 (H, W, C≥3) BGR → float32 (1, 3, H, W) RGB / 255."""
    rgb = frame[..., 2::-1].transpose(2, 0, 1).astype(np.float32)
    return (rgb / np.float32(255.0))[None]


def tensor_to_bgr_reference(t: np.ndarray) -> np.ndarray:
    """Exactly `kernels.sr.tensor_to_bgr`: float32 (1, 3, H, W) RGB → uint8 (H, W, 3) BGR."""
    v = np.clip(np.nan_to_num(t[0], nan=0.0), np.float32(0.0), np.float32(1.0)).astype(np.float32)
    v = (v * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    return np.ascontiguousarray(v[::-1].transpose(1, 2, 0))


def shuffled_to_bgr_reference(t: np.ndarray, scale: int) -> np.ndarray:
    """Exactly `kernels.sr.shuffled_to_bgr`: the first 3·s² channels pixel-shuffled (channel
    c·s² + i·s + j → colour c at (y·s + i, x·s + j)), then `tensor_to_bgr_reference`."""
    _, _, h, w = t.shape
    planes = t[0, : 3 * scale * scale].reshape(3, scale, scale, h, w)
    shuffled = planes.transpose(0, 3, 1, 4, 2).reshape(1, 3, h * scale, w * scale)
    return tensor_to_bgr_reference(shuffled)


def roi_weights_reference(h: int, w: int, x0: int, y0: int, dst_h: int, dst_w: int, feather_px: int) -> np.ndarray:
    """The (h, w) integer weights (0..256) `kernels.sr.blend_roi` gives the ROI's pixels."""

    def ramp(n: int, near: bool, far: bool) -> np.ndarray:
        wgt = np.full(n, 256, np.int64)
        if feather_px > 0:
            d = np.arange(n)
            if near:
                wgt = np.minimum(wgt, (2 * d + 1) * 256 // (2 * feather_px))
            if far:
                wgt = np.minimum(wgt, (2 * (n - 1 - d) + 1) * 256 // (2 * feather_px))
        return np.minimum(wgt, 256)

    wx = ramp(w, x0 > 0, x0 + w < dst_w)
    wy = ramp(h, y0 > 0, y0 + h < dst_h)
    return np.where(wy[:, None] < 256, (wy[:, None] * wx[None, :] + 128) >> 8, wx[None, :])


def blend_roi_reference(dst: np.ndarray, roi: np.ndarray, x0: int, y0: int, feather_px: int) -> np.ndarray:
    """Exactly `kernels.sr.blend_roi`, returning a new array (the kernel works in place)."""
    h, w = roi.shape[:2]
    out = dst.copy()
    wgt = roi_weights_reference(h, w, x0, y0, dst.shape[0], dst.shape[1], feather_px)[..., None]
    region = out[y0 : y0 + h, x0 : x0 + w].astype(np.int64)
    blended = (roi.astype(np.int64) * wgt + region * (256 - wgt) + 128) >> 8
    out[y0 : y0 + h, x0 : x0 + w] = blended.astype(np.uint8)
    return out


# -- guided filter (kernels/guided.py) --------------------------------------------------------------
def box_mean_reference(src: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)² window per channel, borders mirrored without repeating the edge pixel
    (OpenCV's BORDER_REFLECT_101), float64, by cumulative sums."""
    a = np.asarray(src, np.float64)
    if a.ndim == 2:
        a = a[..., None]
    padded = np.pad(a, ((r, r), (r, r), (0, 0)), mode="reflect")  # NumPy "reflect" == REFLECT_101
    c = np.cumsum(np.cumsum(padded, 0), 1)
    c = np.pad(c, ((1, 0), (1, 0), (0, 0)))
    k = 2 * r + 1
    h, w = a.shape[:2]
    s = c[k : k + h, k : k + w] - c[:h, k : k + w] - c[k : k + h, :w] + c[:h, :w]
    return s / (k * k)


def guided_coefficients_reference(guide_gray: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """The guided filter's window-averaged (a, b), float64 (h, w, 2); guide luma scaled to [0, 1]."""
    I = guide_gray.astype(np.float64) / 255.0  # noqa: E741
    p = np.asarray(p, np.float64)
    mean_I, mean_p = box_mean_reference(I, r)[..., 0], box_mean_reference(p, r)[..., 0]
    var_I = box_mean_reference(I * I, r)[..., 0] - mean_I * mean_I
    cov_Ip = box_mean_reference(I * p, r)[..., 0] - mean_I * mean_p
    a = cov_Ip / (var_I + eps)
    b = mean_p - a * mean_I
    return box_mean_reference(np.dstack([a, b]), r)


def apply_guided_reference(frame_bgr: np.ndarray, coef: np.ndarray, edge_lo: float, edge_hi: float) -> np.ndarray:
    """The refined alpha at full resolution: coefficients upsampled bilinearly (the 11-bit weights of
    `axis_plan`, vertical pass first), q = a · luma/255 + b (BT.601 luma),
    alpha = edge_lut[round(65535 · clip(q, 0, 1))]."""
    from kernels.mask import edge_lut

    h, w = frame_bgr.shape[:2]
    c = np.asarray(coef, np.float64)
    y0, y1, wy = axis_plan_reference(c.shape[0], h)
    x0, x1, wx = axis_plan_reference(c.shape[1], w)
    one = float(1 << WEIGHT_BITS)
    fy = (wy / one)[:, None, None]
    rows = c[y0] * (1 - fy) + c[y1] * fy
    fx = (wx / one)[None, :, None]
    up = rows[:, x0] * (1 - fx) + rows[:, x1] * fx
    f = frame_bgr.astype(np.float64)
    luma = (0.114 * f[..., 0] + 0.587 * f[..., 1] + 0.299 * f[..., 2]) / 255.0
    q = up[..., 0] * luma + up[..., 1]
    m16 = np.floor(np.clip(q, 0.0, 1.0) * MASK_ONE + 0.5).astype(np.int64)
    return edge_lut(edge_lo, edge_hi)[m16]


def temporal_reference(p, diff, ema, state, still_weight, motion_levels, band):
    """What `kernels.temporal.temporal_update` computes, in float64: returns (new ema, new state, out)."""
    motion = np.minimum(diff.astype(np.float64) / motion_levels, 1.0)
    k = still_weight + (1.0 - still_weight) * motion
    e = ema.astype(np.float64) + k * (np.asarray(p, np.float64) - ema)
    s = np.where(e >= 0.5 + band, 1, np.where(e <= 0.5 - band, 0, state)).astype(np.uint8)
    return e, s, s.astype(np.float32)


def renormalised_blur_reference(small: np.ndarray, person: np.ndarray, sigma: float) -> np.ndarray:
    """What `kernels.blur.renormalised_blur` computes, in float64 with whole-array NumPy: the blur
    of `small` weighted by w = 1 - clip(person, 0, 1) (NaN as 0) + the floor, divided by the blur
    of w (within 1 level of the kernel: float32 there)."""
    from kernels.blur import BACKGROUND_WEIGHT_FLOOR

    w: np.ndarray = 1 + BACKGROUND_WEIGHT_FLOOR - np.clip(np.nan_to_num(person.astype(np.float64)), 0, 1)
    num = small.astype(np.float64) * w[..., None]
    if sigma >= 0.3:
        num = cv2.GaussianBlur(num, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
        w = cv2.GaussianBlur(w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(num / w[..., None] + 0.5, 0, 255).astype(np.uint8)


def litesr_detail_reference(frame: np.ndarray, weights, biases, scale: int) -> np.ndarray:
    """LiteSR's luma detail (float64 (sH, sW), in levels 0..255) for a BGR(A) uint8 frame: luma / 255,
    zero-padded 3×3 convolutions with ReLU between them, depth-to-space (`kernels.litesr`)."""
    x = (0.299 * frame[..., 2] + 0.587 * frame[..., 1] + 0.114 * frame[..., 0])[None] / 255.0
    for i, (w, b) in enumerate(zip(weights, biases)):
        h, wd = x.shape[1:]
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        y = np.zeros((w.shape[0], h, wd)) + b[:, None, None]
        for ky in range(3):
            for kx in range(3):
                y += np.einsum("oi,ihw->ohw", w[:, :, ky, kx], padded[:, ky : ky + h, kx : kx + wd])
        x = np.maximum(y, 0) if i < len(weights) - 1 else y
    s = scale
    h, wd = x.shape[1:]
    return 255.0 * x.reshape(s, s, h, wd).transpose(2, 0, 3, 1).reshape(h * s, wd * s)


def litesr_reference(frame: np.ndarray, weights, biases, scale: int) -> np.ndarray:
    """OpenCV's uint8 bicubic enlargement plus the detail on B, G and R, clipped and rounded."""
    h, w = frame.shape[:2]
    out = cv2.resize(np.ascontiguousarray(frame), (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
    detail = litesr_detail_reference(frame, weights, biases, scale)
    out[..., :3] = np.clip(np.floor(out[..., :3] + detail[..., None] + 0.5), 0, 255).astype(np.uint8)
    return out


def tone_table_reference(gain: float, lift: float) -> np.ndarray:
    """`tone.curve_table`: the curve on the 256 levels' centres, ×255, rounded half to even, uint8."""
    x = np.minimum(1.0, gain * (np.arange(256) + 0.5) / 256)
    curve = np.log1p(lift * x) / np.log1p(lift) if lift > 1e-6 else x
    return np.clip(np.rint(curve * 255), 0, 255).astype(np.uint8)


def measure_curve_reference(luma, white, target_mean, dark_mean, max_gain, max_lift, lift_steps):
    """`tone.measure_curve` with whole-array NumPy (percentile from the cumulative histogram, the
    centre's mean after each candidate lift as a dot product)."""
    levels = (np.arange(256) + 0.5) / 256
    h, w = luma.shape
    everything = np.bincount(luma.ravel(), minlength=256)
    top = int(np.searchsorted(np.cumsum(everything), 0.99 * everything.sum()))
    gain = float(np.clip(white / levels[top], 1.0, max_gain))
    histogram = np.bincount(luma[: h * 9 // 10, w // 4 : w - w // 4].ravel(), minlength=256).astype(np.float64)
    histogram /= max(1.0, histogram.sum())
    x = np.minimum(1.0, gain * levels)

    def mean_after(lift: float) -> float:
        return float(histogram @ (np.log1p(lift * x) / np.log1p(lift))) if lift > 0 else float(histogram @ x)

    now = float(histogram @ levels)
    wanted = now + (target_mean - now) * float(np.clip((target_mean - now) / (target_mean - dark_mean), 0, 1))
    if wanted - now < 0.005:
        return 1.0, 0.0
    bare = mean_after(0.0)
    if bare >= wanted:
        return float(np.clip(gain * wanted / bare, 1.0, gain)), 0.0
    if mean_after(max_lift) <= wanted:
        return gain, max_lift
    low, high = 0.0, max_lift
    for _ in range(lift_steps):
        middle = (low + high) / 2
        low, high = (middle, high) if mean_after(middle) < wanted else (low, middle)
    return gain, high


def cell_changes_reference(now, before, counted, columns: int, rows: int, min_share: float) -> np.ndarray:
    """`motion.CellGrid.changes` with OpenCV's area resize: the per-cell mean of |now − before|·counted
    over the per-cell mean of counted (float32 sums)."""
    total = cv2.resize(np.abs(now - before) * counted, (columns, rows), interpolation=cv2.INTER_AREA)
    share = cv2.resize(counted, (columns, rows), interpolation=cv2.INTER_AREA)
    return np.where(share >= min_share, total / np.maximum(share, min_share), 0.0)
