"""The LiteSR network on the project's own fused Numba kernel (`kernels.litesr`) as an upscaler engine.

OpenCV's bicubic enlargement into the output, then the network's luma detail added band by band in
the CPU's caches: the same picture as the `litesr` ONNX model (bicubic inside the graph) to within
rounding. Reads the weights file written beside the ONNX file (`<name>.npz`); runs no other network.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipeline.stages.upscale.detail import FULL_WEIGHT
from pipeline.stages.upscale.engines.base import Engine


class NumbaLiteEngine(Engine):
    """LiteSR on `kernels.litesr.LiteSRKernel`: single-threaded (`threads` is ignored), whole frames
    (`bands` 1), any H×W (`pad_multiple` and `halo` are ignored: the kernel pads itself). Loading
    raises ValueError when `<name>.npz` is not beside `path` (any tier but LiteSR); `runs` says so
    before loading. `upscale_into` overwrites every channel of `out` it shares with `pixels` (a BGRA
    pair gets a bicubic alpha, which the caller may overwrite)."""

    engine = "numba"

    def __init__(self, path: Path, scale: int, threads: int, pad_multiple: int = 1, halo: int | None = None):
        from kernels.litesr import LiteSRKernel

        weights = path.with_suffix(".npz")
        if not weights.is_file():
            raise ValueError(f"the numba engine runs LiteSR models only (needs {weights.name})")
        self._kernel = LiteSRKernel.from_npz(weights, scale)
        self.path, self.scale = path, scale

    @staticmethod
    def runs(tier: str) -> bool:
        return tier == "litesr"

    def upscale_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        self.upscale_blended(pixels, out, 1.0)

    def upscale_blended(self, pixels: np.ndarray, out: np.ndarray, weight: float) -> None:
        """LiteSR's output is bicubic plus its detail: `weight` scales the detail as it is added
        (no second pass; equal to the blend wherever bicubic + detail stays within 0..255)."""
        h, w = pixels.shape[:2]
        colour = pixels if pixels.shape[2] == out.shape[2] else np.ascontiguousarray(pixels[..., :3])
        cv2.resize(colour, (w * self.scale, h * self.scale), dst=out, interpolation=cv2.INTER_CUBIC)
        self._kernel.add_detail(pixels, out, 1.0 if weight >= FULL_WEIGHT else weight)
