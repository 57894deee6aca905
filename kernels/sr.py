"""Kernels around the super-resolution networks: frame ↔ model tensor, and the ROI blend.

* `bgr_to_tensor(frame, out)` — uint8 (H, W, C≥3) **BGR(A)** frame → float32 (1, 3, H, W) **RGB**
  tensor in [0, 1], in one pass (u8 → float32 / 255, BGR → RGB, HWC → CHW). A 4th channel (alpha)
  is ignored. Each value is `float32(v) / float32(255)` (IEEE division, so bit-identical to the
  NumPy reference).
* `tensor_to_bgr(t, out)` — float32 (1, 3, H, W) RGB tensor → uint8 (H, W, C≥3) BGR frame in one
  pass: clip to [0, 1] (NaN → 0), `× 255`, round half up (`+ 0.5`, truncate; float32 arithmetic),
  CHW → HWC, RGB → BGR. Writes channels 0..2 only: with a BGRA `out` the alpha is left alone.
* `shuffled_to_bgr(t, scale, first_row, out)` — the same for a network's output *before* its pixel
  shuffle (from row `first_row`, as many rows as `out` needs): float32 (1, C ≥ 3·s², H, W) where channel
  `c·s² + i·s + j` is colour c (RGB) of output pixel
  (y·s + i, x·s + j) (PyTorch's `PixelShuffle`, ONNX `DepthToSpace` CRD, OpenVINO `depth_first`)
  → uint8 (H·s, W·s, C'≥3) BGR, with the clip and rounding of `tensor_to_bgr`; channels past 3·s²
  are ignored. The shuffle, the clip and the conversion in one pass instead of three.
* `blend_over_bicubic_x2(lr_rows, out_rows, weight)` — in place: a network's ×2 enlargement
  blended with the bicubic one (`weight` of the network's), the bicubic computed on the fly (OpenCV's
  INTER_CUBIC in float32) instead of made as a picture first; one pass per output row.
* `detail_fit_x2(lr_rows, network_rows, picture_rows, border)` — the detail check's two sums (how
  much detail a network adds over bicubic, and how much of it the picture really has) with the
  bicubic computed on the fly as in the blend; one pass per output row.
* `blend_roi(dst, roi, x0, y0, feather_px)` — in place: `roi` (h, w, C) is written into `dst`
  (H, W, C) at (x0, y0), its border feathered into what `dst` already holds (the bicubic frame)
  over `feather_px` pixels, so no seam shows. Integer fixed point (8 bits), one pass over the ROI.

Pure array functions; no imports from `pipeline/`. NumPy references: `kernels.reference`
(`bgr_to_tensor_reference`, `tensor_to_bgr_reference`, `shuffled_to_bgr_reference`, `blend_roi_reference`,
`roi_weights_reference`).
"""

from __future__ import annotations

import numpy as np

from kernels._jit import inline, jit


@jit
def bgr_to_tensor(frame, out):
    """uint8 (H, W, C≥3) BGR → float32 (1, 3, H, W) RGB / 255, written into `out`; returns `out`."""
    h, w = frame.shape[0], frame.shape[1]
    inv = np.float32(255.0)
    for y in range(h):
        for x in range(w):
            out[0, 0, y, x] = np.float32(frame[y, x, 2]) / inv
            out[0, 1, y, x] = np.float32(frame[y, x, 1]) / inv
            out[0, 2, y, x] = np.float32(frame[y, x, 0]) / inv
    return out


@inline
def _level(v):
    """float32 `v` → uint8: clip to [0, 1] (NaN → 0), ×255, round half up. Branch-free selects, so the
    loops that use it vectorise whatever the values."""
    v = np.float32(1.0) if v > np.float32(1.0) else v
    v = v if v >= np.float32(0.0) else np.float32(0.0)  # negative or NaN -> 0
    return np.uint8(np.int32(v * np.float32(255.0) + np.float32(0.5)))


@jit
def _quantize_row(src, dst):
    """float32 row `src` → uint8 `dst` (same length), each value as `_level`."""
    for x in range(dst.shape[0]):
        dst[x] = _level(src[x])


@jit
def tensor_to_bgr(t, out):
    """float32 (1, 3, H, W) RGB → uint8 (H, W, C≥3) BGR (clip, ×255, round), into `out`; returns `out`.

    One pass over the tensor, a row at a time: each plane's row is clipped and rounded into a small
    uint8 scratch row (`_quantize_row`, branch-free and vectorised: 2.6 ms for a 1280×720 output,
    whatever the values, against 5–20 ms for a per-pixel loop whose clipping branches depend on the data),
    then the three scratch rows are interleaved into the output row in BGR order.
    """
    h, w = out.shape[0], out.shape[1]
    row_bgr = np.empty((3, w), np.uint8)
    for y in range(h):
        for c in range(3):
            _quantize_row(t[0, c, y], row_bgr[2 - c])
        row = out[y]
        for x in range(w):
            row[x, 0] = row_bgr[0, x]
            row[x, 1] = row_bgr[1, x]
            row[x, 2] = row_bgr[2, x]
    return out


@jit
def _quantize_phases(t, channel, row, scale, dst):
    """Rows `row` of the `scale` planes from `channel` on (the phases j = 0..s−1 of one colour and
    output row) → uint8 `dst` (W·s), phase j of input pixel x at dst[x·s + j], each value as
    `_level`. Scales 2 and 3 write each pixel's phases together, which LLVM vectorises."""
    w = dst.shape[0] // scale
    if scale == 2:
        p0, p1 = t[0, channel, row], t[0, channel + 1, row]
        for x in range(w):
            dst[2 * x] = _level(p0[x])
            dst[2 * x + 1] = _level(p1[x])
    elif scale == 3:
        p0, p1, p2 = t[0, channel, row], t[0, channel + 1, row], t[0, channel + 2, row]
        for x in range(w):
            dst[3 * x] = _level(p0[x])
            dst[3 * x + 1] = _level(p1[x])
            dst[3 * x + 2] = _level(p2[x])
    else:
        for j in range(scale):
            plane = t[0, channel + j, row]
            for x in range(w):
                dst[x * scale + j] = _level(plane[x])


@jit
def shuffled_to_bgr(t, scale, first_row, out):
    """float32 (1, C≥3·scale², H, W) pixel-shuffle channels, rows `first_row` to `first_row +
    out_height / scale` → uint8 (out_height, out_width ≤ W·scale, C'≥3) BGR (clip, ×255, round as
    `tensor_to_bgr`), into `out`; returns `out`. (A row offset, not a sliced view: the kernel
    vectorises only over a contiguous tensor.)

    A row of input becomes `scale` output rows: for each, the `scale` planes of each colour that
    feed it are clipped, rounded and interleaved into a uint8 scratch row of that colour
    (`_quantize_phases`), then the three colours are interleaved into the output row in BGR order.
    """
    h, w = out.shape[0] // scale, out.shape[1] // scale
    s2 = scale * scale
    rows = np.empty((3, w * scale), np.uint8)
    blue, green, red = rows[0], rows[1], rows[2]
    for y in range(h):
        for i in range(scale):
            for c in range(3):
                _quantize_phases(t, c * s2 + i * scale, first_row + y, scale, rows[2 - c])
            row = out[y * scale + i]
            for x in range(w * scale):
                row[x, 0] = blue[x]
                row[x, 1] = green[x]
                row[x, 2] = red[x]
    return out


BICUBIC_X2_TAPS = (-0.03515625, 0.26171875, 0.87890625, -0.10546875)
"""Keys' cubic (a = −0.75) at distances 1.75, 0.75, 0.25, 1.25: the weights of source pixels i−2..i+1
for output pixel 2i of a ×2 enlargement with half-pixel centres (OpenCV's INTER_CUBIC); output pixel
2i+1 takes pixels i−1..i+2 with the same weights reversed."""


@inline
def _bicubic_x2_row(lr_rows, y, i, vertical, even, odd, gain, offset):
    """Output row 2y + i of the ×2 bicubic of `lr_rows` (see `blend_over_bicubic_x2`), clipped to
    0..255, as `gain`·value + `offset` (float32): output pixel 2x's colour c in `even[3x + c]`,
    pixel 2x + 1's in `odd[3x + c]`. `vertical`: float32 scratch of 3·w + 12."""
    h, n = lr_rows.shape[0], even.shape[0]
    k0, k1 = np.float32(BICUBIC_X2_TAPS[0]), np.float32(BICUBIC_X2_TAPS[1])
    k2, k3 = np.float32(BICUBIC_X2_TAPS[2]), np.float32(BICUBIC_X2_TAPS[3])
    zero, top = np.float32(0.0), np.float32(255.0)
    if i == 0:  # output row 2y: source rows y−2..y+1
        ra, rb, rc, rd = max(y - 2, 0), max(y - 1, 0), y, min(y + 1, h - 1)
        a0, a1, a2, a3 = k0, k1, k2, k3
    else:  # output row 2y+1: source rows y−1..y+2
        ra, rb, rc, rd = max(y - 1, 0), y, min(y + 1, h - 1), min(y + 2, h - 1)
        a0, a1, a2, a3 = k3, k2, k1, k0
    la, lb, lc, ld = lr_rows[ra], lr_rows[rb], lr_rows[rc], lr_rows[rd]
    body = vertical[6 : 6 + n]  # pixel x, colour c at 6 + 3x + c; 2 pixels replicated each side
    for j in range(n):
        body[j] = a0 * np.float32(la[j]) + a1 * np.float32(lb[j]) + a2 * np.float32(lc[j]) + a3 * np.float32(ld[j])
    for c in range(3):
        vertical[c] = vertical[3 + c] = vertical[6 + c]
        vertical[n + 6 + c] = vertical[n + 9 + c] = vertical[n + 3 + c]
    v0, v1, v2 = vertical[0:n], vertical[3 : 3 + n], vertical[6 : 6 + n]
    v3, v4 = vertical[9 : 9 + n], vertical[12 : 12 + n]
    for j in range(n):
        e = k0 * v0[j] + k1 * v1[j] + k2 * v2[j] + k3 * v3[j]
        o = k3 * v1[j] + k2 * v2[j] + k1 * v3[j] + k0 * v4[j]
        e = top if e > top else e
        o = top if o > top else o
        even[j] = gain * (e if e >= zero else zero) + offset
        odd[j] = gain * (o if o >= zero else zero) + offset


@jit
def blend_over_bicubic_x2(lr_rows, out_rows, weight):
    """In place: `out_rows` ← round(weight·out + (1 − weight)·bicubic) where bicubic is the ×2
    enlargement of the picture in `lr_rows` (Keys, a = −0.75, half-pixel centres, edges replicated:
    OpenCV's INTER_CUBIC, computed in float32 and clipped to 0..255, so within 1 level of its uint8
    result); returns `out_rows`.

    lr_rows: uint8 (h, 3·w), the rows of a C-contiguous BGR picture (`picture.reshape(h, -1)`);
    out_rows: uint8 (2h, 6·w), the rows of its C-contiguous ×2 enlargement by a network. One pass per
    output row: the four source rows filtered vertically into a padded float row, then both
    horizontal phases, the blend and the rounding, without making the bicubic picture.
    """
    h, w = lr_rows.shape[0], lr_rows.shape[1] // 3
    n = 3 * w
    keep = np.float32(weight)
    rest = np.float32(1.0) - keep
    vertical = np.empty(n + 12, np.float32)
    even = np.empty(n, np.float32)
    odd = np.empty(n, np.float32)
    for y in range(h):
        for i in range(2):
            _bicubic_x2_row(lr_rows, y, i, vertical, even, odd, rest, np.float32(0.5))
            row = out_rows[2 * y + i]
            for x in range(w):
                for c in range(3):
                    row[6 * x + c] = np.uint8(np.int32(keep * np.float32(row[6 * x + c]) + even[3 * x + c]))
                    row[6 * x + 3 + c] = np.uint8(np.int32(keep * np.float32(row[6 * x + 3 + c]) + odd[3 * x + c]))
    return out_rows


@jit(fastmath=True)
def detail_fit_x2(lr_rows, network_rows, picture_rows, border):
    """(Σ r², Σ r·e) over every pixel and colour of a ×2 enlargement but a `border`-pixel rim, where
    r = network − bicubic and e = picture − bicubic, bicubic the ×2 enlargement of `lr_rows` as in
    `blend_over_bicubic_x2` (float32, clipped, not rounded). Sums in float64 across rows (float32
    within a row, reordered for speed: `fastmath`).

    lr_rows: uint8 (h, 3·w) rows of a C-contiguous BGR picture; network_rows, picture_rows: uint8
    (2h, 6·w) rows of its ×2 enlargement by a network and of the picture it was shrunk from.
    """
    h, w = lr_rows.shape[0], lr_rows.shape[1] // 3
    n = 3 * w
    vertical = np.empty(n + 12, np.float32)
    even = np.empty(n, np.float32)
    odd = np.empty(n, np.float32)
    bicubic = np.empty(2 * n, np.float32)
    first, last = 3 * border, 2 * n - 3 * border  # the row's bytes inside the rim
    bic = bicubic[first:last]
    energy, cross = 0.0, 0.0
    for oy in range(border, 2 * h - border):
        _bicubic_x2_row(lr_rows, oy // 2, oy % 2, vertical, even, odd, np.float32(1.0), np.float32(0.0))
        for x in range(w):
            for c in range(3):
                bicubic[6 * x + c] = even[3 * x + c]
                bicubic[6 * x + 3 + c] = odd[3 * x + c]
        net, pic = network_rows[oy, first:last], picture_rows[oy, first:last]
        row_energy, row_cross = np.float32(0.0), np.float32(0.0)
        # over slices from 0: written as range(first, last), LLVM left this reduction scalar (~10× slower)
        for j in range(bic.shape[0]):
            added = np.float32(net[j]) - bic[j]
            row_energy += added * added
            row_cross += added * (np.float32(pic[j]) - bic[j])
        energy += np.float64(row_energy)
        cross += np.float64(row_cross)
    return energy, cross


@inline
def _ramp(d, feather):
    """Weight (0..256) of the ROI at distance `d` (0 = the ROI's first pixel) from a feathered edge."""
    wgt = ((2 * d + 1) * 256) // (2 * feather)
    return 256 if wgt > 256 else wgt


@jit
def blend_roi(dst, roi, x0, y0, feather_px):
    """Blend `roi` into `dst` at (x0, y0) in place, feathering the ROI's inner edges; returns `dst`.

    Weight of the ROI pixel at distance d (pixels) from a feathered edge: `min(256, (2d+1)·128 //
    feather_px)` / 256 (the pixel centre's distance over the feather width); the product of the row
    and column weights. An edge that lies on `dst`'s own border is not feathered (no neighbour to
    blend with). `feather_px <= 0`: a hard paste. out = (roi·w + dst·(256−w) + 128) >> 8.
    """
    h, w = roi.shape[0], roi.shape[1]
    hh, ww = dst.shape[0], dst.shape[1]
    c = min(dst.shape[2], roi.shape[2])  # a BGR roi into a BGRA dst: dst keeps its alpha
    feather = feather_px
    left = x0 > 0
    right = x0 + w < ww
    top = y0 > 0
    bottom = y0 + h < hh
    wx = np.empty(w, np.int32)
    for x in range(w):
        wgt = 256
        if feather > 0:
            if left:
                wgt = min(wgt, _ramp(x, feather))
            if right:
                wgt = min(wgt, _ramp(w - 1 - x, feather))
        wx[x] = wgt
    for y in range(h):
        wy = 256
        if feather > 0:
            if top:
                wy = min(wy, _ramp(y, feather))
            if bottom:
                wy = min(wy, _ramp(h - 1 - y, feather))
        drow = dst[y0 + y]
        srow = roi[y]
        for x in range(w):
            wgt = (wy * wx[x] + 128) >> 8 if wy < 256 else wx[x]
            if wgt >= 256:
                for k in range(c):
                    drow[x0 + x, k] = srow[x, k]
            elif wgt > 0:
                inv = 256 - wgt
                for k in range(c):
                    drow[x0 + x, k] = np.uint8(
                        (np.int32(srow[x, k]) * wgt + np.int32(drow[x0 + x, k]) * inv + 128) >> 8
                    )
    return dst
