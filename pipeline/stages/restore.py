"""The restore stage: remove compression blocking and ringing at the frame's own size (×1 restoration).

A camera's MJPEG or H.264 stream and a compressed recording arrive with 8×8 blocking, ringing around
edges and smeared detail. This stage runs a small network trained at ×1 on decoded H.264 (CRF 16–34)
and JPEG (quality 50–95) frames against their originals (`tools.sr_degrade --scale 1`): a LiteSR
(`kernels.litesr`) whose output is a luma correction added to the frame, on the project's fused
Numba kernel. It comes first in the chain, so segmentation, the effects and the encoder all see the
restored picture.

Two networks (`restore_model`): `fast` (6 channels, the live one: ~46 CPU-ms per 720p frame on a
2-core EPYC) and `quality` (the same design at 32 channels: ~3× the gain on H.264, ~24× the cost,
for offline transcodes).

A run has the stage when it starts with `restore = true` (`--restore`, or a preset); the setting is
live, so the control page can then switch it off and on. Off, frames pass through untouched and cost
nothing. Frames: uint8 BGR or BGRA (the
alpha is left as it is); the output is a new array of the stage's pool.

**Missing or corrupt model file**: with `strict=False` (live) the stage posts one warning and passes
frames through; with `strict=True` (the user asked for it offline) `open()` raises `UserError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.params import Param, check_bool, one_of
from pipeline.pool import ArrayPool
from pipeline.stage import Stage

if TYPE_CHECKING:
    from kernels.litesr import LiteSRKernel

MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
MODEL_FILES = {"fast": "restore_x1.npz", "quality": "restore_x1_quality.npz"}
"""restore_model -> the network's layers (w0, b0, w1, …), written by `tools.export_onnx` beside its ONNX
file."""

RESTORE = Param(
    "restore",
    check_bool,
    False,
    "Remove compression blocking and ringing of the input (a camera's MJPEG/H.264, a compressed recording) "
    "at its own size, before the effects.",
    live=True,
    flag="--restore",
    flag_type=bool,
)


RESTORE_MODEL = Param(
    "restore_model",
    one_of(tuple(MODEL_FILES)),
    "fast",
    "The restore network: fast (live) | quality (offline: ~3x the gain on H.264, ~24x the CPU, about a "
    "second per 720p frame).",
    flag="--restore-model",
    choices=tuple(MODEL_FILES),
)


class Restore(Stage):
    """×1 compression-artefact removal (see the module docstring). `enabled`: restore from the first
    frame (else pass through until a live change turns it on). `model`: which shipped network,
    `fast` or `quality` (`MODEL_FILES`); `model_path`: another `.npz` of layers instead."""

    name = "restore"
    params = (RESTORE, RESTORE_MODEL)
    absent_hint = "not offered by this run, which was started without it (restart with --restore)"
    updatable = frozenset({"enabled"})

    def __init__(
        self,
        enabled: bool = True,
        *,
        model: str = RESTORE_MODEL.default,
        strict: bool = False,
        model_path: str | Path | None = None,
    ):
        if model not in MODEL_FILES:
            raise UserError(f"restore model {model!r}: expected one of {', '.join(MODEL_FILES)}")
        self.enabled = bool(enabled)
        self.strict = strict
        self.model_path = Path(model_path) if model_path is not None else MODEL_DIR / MODEL_FILES[model]
        self._kernel: LiteSRKernel | None = None
        self._pool = ArrayPool()

    def settings_change(self, new, changed: set[str]):
        if new.restore and self._kernel is None:
            raise UserError(f"restore is not available in this run: its model {self.model_path} could not be loaded")
        return lambda: self.update(enabled=new.restore)

    def load(self) -> None:
        """Load the network now (`open()` does; for use outside a graph)."""
        from kernels.litesr import LiteSRKernel

        try:
            self._kernel = LiteSRKernel.from_npz(self.model_path, 1)
        except (OSError, ValueError, KeyError) as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            if self.strict:
                raise UserError(
                    f"restore model {self.model_path} could not be loaded ({reason}); reinstall litecam"
                ) from None
            self.post("warning", f"restore model {self.model_path} could not be loaded ({reason}); restore is off")
            self.enabled = False

    def open(self, caps: Caps) -> Caps:
        if caps.channels not in (3, 4):
            raise GraphError(f"the restore stage takes BGR or BGRA frames, got {caps.channels} channels")
        self.load()
        return caps

    def restore(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3|4) → the restored frame, same shape (an array of the stage's pool)."""
        if self._kernel is None:
            self.load()
        if self._kernel is None:
            return pixels
        out = self._pool.get(pixels.shape)
        np.copyto(out, pixels)
        self._kernel.add_detail(pixels, out)
        return out

    def process(self, frame: Frame) -> Frame:
        self.apply_updates()
        if self.enabled and self._kernel is not None:
            frame.pixels = self.restore(frame.pixels)
        frame.tiers[self.name] = "on" if self.enabled else "off"
        return frame
