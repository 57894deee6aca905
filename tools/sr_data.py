"""Super-resolution data helpers: MATLAB-compatible bicubic ``imresize``, BT.601 luma, PSNR-Y and SSIM.

Pure NumPy (plus OpenCV for the SSIM Gaussian filter); no torch, so tests and the evaluation tool can
import it.  The standard SR protocol (see ``../shared/data/README.md``):

1. crop HR to a multiple of the scale (:func:`modcrop`);
2. LR = MATLAB ``imresize(hr, 1/scale, 'bicubic')`` rounded to uint8 (:func:`imresize` + :func:`to_uint8`);
3. compare on BT.601 Y (:func:`rgb_to_y`), shaving ``scale`` pixels off every border
   (:func:`psnr_y`, :func:`ssim_y`).

Arrays are H×W×C (RGB) or H×W.  ``imresize`` works on any float or uint8 array and returns float64
unless ``out_uint8=True``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "imresize",
    "to_uint8",
    "modcrop",
    "rgb_to_y",
    "psnr",
    "psnr_y",
    "ssim",
    "ssim_y",
    "load_rgb",
    "degrade",
    "shared_data_dir",
    "list_images",
]


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=256)
def _weight_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """Dense (out_len, in_len) resampling matrix, exactly as MATLAB's ``contributions``.

    Output pixel x (1-based) maps to input coordinate u = x/scale + 0.5*(1 - 1/scale).  When
    downscaling with antialiasing the kernel is stretched by 1/scale (h(x) = scale*cubic(scale*x), width
    4/scale).  Out-of-range taps are mirrored symmetrically (MATLAB's ``[1:n, n:-1:1]`` rule).
    """
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width = kernel_width / scale
        kern = lambda t: scale * _cubic(scale * t)  # noqa: E731
    else:
        kern = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input indices
    w = kern(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx0 = aux[np.mod(idx.astype(np.int64) - 1, aux.size)]  # 0-based, mirrored
    mat = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(mat, (rows, idx0.ravel()), w.ravel())
    mat.setflags(write=False)
    return mat


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
    out_uint8: bool = False,
    round_intermediate: bool = False,
) -> np.ndarray:
    """MATLAB ``imresize(img, scale, 'bicubic')``.

    ``img``: H×W or H×W×C, uint8 or float.  Give ``scale`` (same for both axes) or ``output_shape``
    (out_h, out_w).  Like MATLAB, the dimension with the smaller scale is resized first (rows first on a
    tie).  uint8 inputs are processed in float64 throughout (the reference scores in
    ``../shared/data/README.md`` — Set5 bicubic 33.68 dB ×2, 30.40 dB ×3 — are reproduced this way);
    ``round_intermediate=True`` rounds the first pass to uint8 instead (about -0.01 dB).  The result
    is float64 (in the input's value range) unless ``out_uint8`` (rounded, clipped to [0, 255]).
    """
    h, w = img.shape[:2]
    if output_shape is None:
        if scale is None:
            raise ValueError("give scale or output_shape")
        sh = sw = float(scale)
        out_h, out_w = int(math.ceil(h * sh)), int(math.ceil(w * sw))
    else:
        out_h, out_w = output_shape
        sh, sw = out_h / h, out_w / w
    x = img.astype(np.float64)
    order = [0, 1] if sh <= sw else [1, 0]
    for n, dim in enumerate(order):
        if dim == 0:
            m = _weight_matrix(h, out_h, sh, antialias)
            x = np.tensordot(m, x, axes=([1], [0]))
        else:
            m = _weight_matrix(w, out_w, sw, antialias)
            x = np.moveaxis(np.tensordot(m, x, axes=([1], [1])), 0, 1)
        if n == 0 and round_intermediate:
            x = np.clip(np.round(x), 0, 255)
    if out_uint8:
        return to_uint8(x)
    return x


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (MATLAB's uint8 cast) and clip to [0, 255]."""
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop H and W down to multiples of ``scale`` (top-left anchored, as the benchmark code does)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] (float64) from RGB.  uint8 input is read as [0, 255]; float as [0, 1]."""
    x = img.astype(np.float64)
    if img.dtype == np.uint8:
        x = x / 255.0
    if x.ndim == 2:
        x = np.stack([x] * 3, axis=-1)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2])


def _shave(a: np.ndarray, border: int) -> np.ndarray:
    return a[border : a.shape[0] - border, border : a.shape[1] - border] if border else a


def psnr(a: np.ndarray, b: np.ndarray, border: int = 0, peak: float = 255.0) -> float:
    a = _shave(a.astype(np.float64), border)
    b = _shave(b.astype(np.float64), border)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def psnr_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """PSNR on BT.601 Y (0-255 range), ``scale`` pixels shaved.  Inputs are uint8 RGB (or grey) images."""
    return psnr(rgb_to_y(sr), rgb_to_y(hr), border=scale)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    g = np.exp(-((np.arange(size) - (size - 1) / 2.0) ** 2) / (2 * sigma * sigma))
    g = g / g.sum()
    return np.outer(g, g)


def _filter_valid(x: np.ndarray, win: np.ndarray) -> np.ndarray:
    """2-D correlation, 'valid' region (like MATLAB ``filter2(win, x, 'valid')``)."""
    import cv2

    k = win.shape[0]
    full = cv2.filter2D(x, cv2.CV_64F, win, borderType=cv2.BORDER_REFLECT)
    r = k // 2
    return full[r : x.shape[0] - r, r : x.shape[1] - r]


def ssim(a: np.ndarray, b: np.ndarray, border: int = 0, peak: float = 255.0) -> float:
    """Wang et al. (2004) SSIM: 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, valid region."""
    a = _shave(a.astype(np.float64), border)
    b = _shave(b.astype(np.float64), border)
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    win = _gaussian_window()
    mu_a = _filter_valid(a, win)
    mu_b = _filter_valid(b, win)
    s_aa = _filter_valid(a * a, win) - mu_a**2
    s_bb = _filter_valid(b * b, win) - mu_b**2
    s_ab = _filter_valid(a * b, win) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * s_ab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (s_aa + s_bb + c2))
    return float(m.mean())


def ssim_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    return ssim(rgb_to_y(sr), rgb_to_y(hr), border=scale)


# --------------------------------------------------------------------------- data files


def shared_data_dir(repo_root: Path | None = None) -> Path:
    """``../shared/data`` relative to the repository root."""
    root = repo_root or Path(__file__).resolve().parent.parent
    return (root / ".." / "shared" / "data").resolve()


def list_images(folder: Path) -> list[Path]:
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in exts)


def load_rgb(path: Path) -> np.ndarray:
    """uint8 H×W×3 RGB; greyscale images are replicated to 3 channels."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(path)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.dtype != np.uint8:
        img = (img / 257.0 + 0.5).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    return np.ascontiguousarray(img)


def degrade(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard protocol: (cropped HR uint8, LR uint8 = MATLAB bicubic 1/scale rounded)."""
    hr = modcrop(hr, scale)
    lr = imresize(hr, 1.0 / scale, out_uint8=True)
    return hr, lr
