"""The LiteSR network (`tools.sr_models.LiteSR`) as fused Numba kernels over row bands.

LiteSR adds luma detail to the bicubic enlargement: ``out = clip(bicubic(frame) + d)`` with the same
``d`` on B, G and R, where ``d`` comes from a plain stack of 3×3 convolutions (ReLU between them) on
the frame's full-range luma ``(0.299 R + 0.587 G + 0.114 B) / 255``, its last layer's s² channels
rearranged depth-to-space (channel ``dy·s + dx`` is output pixel ``(s·y + dy, s·x + dx)``).

Why not ONNX Runtime or OpenVINO for it: with 8 channels every layer of an engine streams a whole
frame of activations through memory and back, and that traffic, not the multiply-adds, is the cost.
Here the frame is cut into bands of `BAND_ROWS` input rows; each band goes through every layer while
its activations (a few hundred kB) stay in the CPU's caches, with a halo of one row per layer
recomputed at band edges. Each layer is one loop over the band's flattened rows per (input, output)
channel pair, nine taps per step, which LLVM vectorises. Measured on a 640×360 frame, one thread,
Intel Xeon @ 2.00 GHz (AVX-512): ~20 ms for 8 channels / 1 block, against 35 ms in OpenVINO and
58 ms in ONNX Runtime for the same network (`python -m tools.bench.engines` measures it).

Layout: activations are float32 (channels, rows, width + 2) with columns 0 and width + 1 kept at
zero, and rows above or below the image set to zero, which is exactly the networks' zero padding.

* `LiteSRKernel(weights, biases, scale)` — holds the layers and per-width scratch;
  `.add_detail(frame, out, gain=1.0)` adds `gain` × the network's detail to `out`, which must already
  hold the bicubic enlargement of `frame` (`cv2.resize(..., INTER_CUBIC)`, the same bicubic as
  PyTorch's): uint8 (H, W, C≥3) BGR(A) in, uint8 (sH, sW, C'≥3) in place (channels 0..2; alpha
  untouched). A gain below 1 is the upscaler's detail check keeping part of the detail.

Pure array functions; no imports from `pipeline/`.
"""

from __future__ import annotations

import numpy as np

from kernels._jit import jit

BAND_ROWS = 24
"""Input rows per band: 8 channels × (24 + halo) rows × 640 px ≈ 0.6 MB, in L2; smaller bands
recompute more halo, larger ones leave the cache (16–32 measured alike at 640 px)."""


@jit
def luma_band(frame, y_start, dst):
    """float32 luma / 255 of `frame` rows y_start.. into dst (1, R, W + 2), zero outside the image."""
    h, w = frame.shape[0], frame.shape[1]
    rows = dst.shape[1]
    kr, kg, kb = np.float32(0.299 / 255.0), np.float32(0.587 / 255.0), np.float32(0.114 / 255.0)
    for r in range(rows):
        y = y_start + r
        out = dst[0, r]
        out[0] = 0.0
        out[w + 1] = 0.0
        if y < 0 or y >= h:
            for x in range(w):
                out[x + 1] = 0.0
            continue
        for x in range(w):
            px = frame[y, x]
            out[x + 1] = kr * np.float32(px[2]) + kg * np.float32(px[1]) + kb * np.float32(px[0])


@jit(fastmath=True)
def conv3x3_band(src, y_start, weight, bias, dst, relu, height):
    """One 3×3 convolution (+ ReLU) of a band: src (Cin, R + 2, W + 2) → dst (Cout, R, W + 2).

    dst row r is image row y_start + r (src row r + 1 the same row); rows outside [0, height) and the
    two border columns are left at zero. weight (Cout, Cin, 3, 3), bias (Cout,), float32, C-contiguous.
    """
    cout, rows, w2 = dst.shape
    cin = src.shape[0]
    n = rows * w2 - 2  # flattened positions 1 .. rows·w2 − 2 (the first/last are border columns)
    zero = np.float32(0.0)
    for co in range(cout):
        out = dst[co].reshape(rows * w2)[1 : 1 + n]
        b = bias[co]
        for i in range(n):
            out[i] = b
        for ci in range(cin):
            s = src[ci].reshape((rows + 2) * w2)
            # out[i] is flattened dst position i + 1; its tap (ky, kx) is src position i + ky·w2 + kx
            t0, t1, t2 = s[0:n], s[1 : n + 1], s[2 : n + 2]
            m0, m1, m2 = s[w2 : w2 + n], s[w2 + 1 : w2 + n + 1], s[w2 + 2 : w2 + n + 2]
            u0, u1, u2 = s[2 * w2 : 2 * w2 + n], s[2 * w2 + 1 : 2 * w2 + n + 1], s[2 * w2 + 2 : 2 * w2 + n + 2]
            k = weight[co, ci]
            a0, a1, a2 = k[0, 0], k[0, 1], k[0, 2]
            c0, c1, c2 = k[1, 0], k[1, 1], k[1, 2]
            e0, e1, e2 = k[2, 0], k[2, 1], k[2, 2]
            for i in range(n):
                out[i] += (
                    a0 * t0[i]
                    + a1 * t1[i]
                    + a2 * t2[i]
                    + c0 * m0[i]
                    + c1 * m1[i]
                    + c2 * m2[i]
                    + e0 * u0[i]
                    + e1 * u1[i]
                    + e2 * u2[i]
                )
        if relu:
            for i in range(n):
                v = out[i]
                out[i] = v if v > zero else zero
        for r in range(rows):
            y = y_start + r
            row = dst[co, r]
            if y < 0 or y >= height:
                for x in range(w2):
                    row[x] = zero
            else:
                row[0] = zero
                row[w2 - 1] = zero


@jit
def _spread(row_detail, channels, per_byte):
    """per_byte[xo·channels + c] = row_detail[xo] for c < 3, 0 for an alpha channel."""
    n = row_detail.shape[0]
    if channels == 3:
        for xo in range(n):
            v = row_detail[xo]
            per_byte[3 * xo] = v
            per_byte[3 * xo + 1] = v
            per_byte[3 * xo + 2] = v
    else:
        for xo in range(n):
            v = row_detail[xo]
            for c in range(channels):
                per_byte[channels * xo + c] = v if c < 3 else np.float32(0.0)


@jit
def add_detail_band(detail, y_start, scale, out, row_detail, per_byte, gain):
    """out[s·y + dy, s·x + dx, 0..2] += 255 · gain · detail[dy·s + dx, r, x + 1] for band rows r
    (y = y_start + r), clipped to 0..255 and rounded half up. detail (s², R, W + 2) float32; out
    uint8 (sH, sW, C≥3), C-contiguous. Scratch: row_detail float32 (sW,), per_byte float32 (sW·C,):
    one output row's detail, spread over its bytes first so the add is one branch-free loop LLVM
    vectorises."""
    rows, w = detail.shape[1], detail.shape[2] - 2
    channels = out.shape[2]
    n = w * scale * channels
    k = np.float32(255.0) * np.float32(gain)
    half = np.float32(0.5)
    top = np.float32(255.0)
    zero = np.float32(0.0)
    for r in range(rows):
        y = y_start + r
        for dy in range(scale):
            for dx in range(scale):
                d = detail[dy * scale + dx, r]
                for x in range(w):
                    row_detail[x * scale + dx] = d[x + 1] * k
            _spread(row_detail, channels, per_byte)
            row = out[y * scale + dy].reshape(n)
            for j in range(n):
                v = np.float32(row[j]) + per_byte[j]
                v = top if v > top else v
                v = v if v > zero else zero
                row[j] = np.uint8(np.int32(v + half))


class LiteSRKernel:
    """A trained LiteSR (its conv weights and biases, first layer first) run on uint8 frames.

    weights[i]: float32 (Cout, Cin, 3, 3); the first takes 1 channel (luma), the last gives scale²
    channels; ReLU after every layer but the last. Not thread-safe (one scratch per instance).
    """

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], scale: int):
        if len(weights) != len(biases) or len(weights) < 2:
            raise ValueError("LiteSR needs at least two conv layers, each with a bias")
        if weights[0].shape[1] != 1 or weights[-1].shape[0] != scale * scale:
            raise ValueError(
                f"LiteSR's first layer must take 1 channel and its last give {scale * scale} "
                f"at ×{scale}; got {weights[0].shape[1]} and {weights[-1].shape[0]}"
            )
        for prev, nxt in zip(weights, weights[1:]):
            if nxt.shape[1] != prev.shape[0] or nxt.shape[2:] != (3, 3):
                raise ValueError("LiteSR layers must be 3×3 convolutions that chain channel counts")
        self.weights = [np.ascontiguousarray(w, np.float32) for w in weights]
        self.biases = [np.ascontiguousarray(b, np.float32) for b in biases]
        self.scale = scale
        self.halo = len(weights)
        """Rows of context a band needs above and below (one per 3×3 layer)."""
        self._scratch: dict[int, list[np.ndarray]] = {}
        self._row_detail = np.zeros(0, np.float32)
        self._per_byte = np.zeros(0, np.float32)

    @classmethod
    def from_npz(cls, path, scale: int) -> LiteSRKernel:
        """The layers saved by `python -m tools.export_onnx` beside the ONNX file (w0, b0, w1, b1, …)."""
        with np.load(path) as z:
            n = len(z.files) // 2
            return cls([z[f"w{i}"] for i in range(n)], [z[f"b{i}"] for i in range(n)], scale)

    def _buffers(self, width: int) -> list[np.ndarray]:
        """Flat float32 buffers per layer input (luma first), sized for a full band at `width`."""
        bufs = self._scratch.get(width)
        if bufs is None:
            n = self.halo
            channels = [1] + [w.shape[0] for w in self.weights]
            bufs = [np.zeros(c * (BAND_ROWS + 2 * (n - i)) * (width + 2), np.float32) for i, c in enumerate(channels)]
            self._scratch = {width: bufs}  # one width at a time (person boxes change size)
        return bufs

    def add_detail(self, frame: np.ndarray, out: np.ndarray, gain: float = 1.0) -> np.ndarray:
        """Add `gain` × the network's detail to `out` (the bicubic enlargement of `frame`, see module doc)."""
        h, w = frame.shape[:2]
        s = self.scale
        if out.shape[0] != h * s or out.shape[1] != w * s or out.shape[2] < 3 or frame.shape[2] < 3:
            raise ValueError(f"out must be ({h * s}, {w * s}, ≥3) for a ({h}, {w}, ≥3) frame; got {out.shape}")
        bufs = self._buffers(w)
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous")
        if self._row_detail.size != w * s or self._per_byte.size != w * s * out.shape[2]:
            self._row_detail = np.zeros(w * s, np.float32)
            self._per_byte = np.zeros(w * s * out.shape[2], np.float32)
        n = self.halo
        for y0 in range(0, h, BAND_ROWS):
            rows = min(BAND_ROWS, h - y0)
            src = bufs[0][: (rows + 2 * n) * (w + 2)].reshape(1, rows + 2 * n, w + 2)
            luma_band(frame, y0 - n, src)
            for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
                r_out = rows + 2 * (n - 1 - i)
                dst = bufs[i + 1][: weight.shape[0] * r_out * (w + 2)].reshape(weight.shape[0], r_out, w + 2)
                conv3x3_band(src, y0 - (n - 1 - i), weight, bias, dst, i < n - 1, h)
                src = dst
            add_detail_band(src, y0, s, out, self._row_detail, self._per_byte, gain)
        return out
