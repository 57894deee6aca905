"""The engine protocol every inference engine of the upscaler implements, and the tensor engines' base.

`Engine` is the contract the stage relies on (ONNX Runtime, OpenVINO f32 and bf16, the Numba LiteSR
kernel all implement it); `TensorEngine` is the shared machinery of the engines that run the ONNX
model on a float tensor (preallocated input/output buffers bound once per frame size).
"""

from __future__ import annotations

import abc
from pathlib import Path

import cv2
import numpy as np

from kernels.sr import bgr_to_tensor, tensor_to_bgr
from pipeline.stages.upscale.detail import keep_detail


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none), at most 200 characters."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def engine_failure(exc: BaseException) -> str:
    """One short line for an engine that could not load or compile a model."""
    return "not installed: pip install openvino" if isinstance(exc, ImportError) else first_line(exc)


class Engine(abc.ABC):
    """One super-resolution network loaded on one inference engine.

    Construction: `cls(path, scale, threads, pad_multiple=1, halo=None)` loads the model file `path`
    for ×`scale` on `threads` threads (an engine may ignore it), with inputs padded to multiples of
    `pad_multiple` and, where the engine cuts frames into row bands, `halo` input rows of overlap
    (None: the tier's receptive field is unbounded, whole frames only). It raises `ImportError` when
    the engine's package is not installed and another exception (missing file, wrong contract, wrong
    scale, a CPU without the instructions it needs) when it cannot run this file; the first line of
    the message says why.

    `upscale_into(pixels, out)`: `pixels` uint8 (h, w, C≥3) BGR(A), any strides; `out` a preallocated
    uint8 (h·s, w·s, C'≥3) array (s = `scale`). Channels 0..2 of `out` receive the network's BGR
    enlargement of channels 0..2 of `pixels`; nothing is allocated per frame beyond the engine's own
    cached buffers, and channel 3 of `out`, if any, is the caller's to write (the alpha goes through
    bicubic, the networks are trained on RGB). One frame at a time: an engine reuses its buffers, so
    it is not called from two threads at once. The same input gives the same output.

    Class attributes: `engine`, the engine's name in `catalogue.ENGINES`; `bands`, the row bands a
    frame is run in at once (1: whole frames). `runs(tier)` and `suits_this_cpu()` are asked of the
    class before loading (by `auto` and by the benchmarks).
    """

    engine = ""
    bands = 1
    """Row bands a frame is cut into and run in parallel (1: whole frames)."""
    path: Path
    scale: int

    @abc.abstractmethod
    def __init__(self, path: Path, scale: int, threads: int, pad_multiple: int = 1, halo: int | None = None):
        """Load the model file `path` (see the class docstring)."""

    @staticmethod
    def runs(tier: str) -> bool:
        """Whether this engine runs `tier`'s model (the ONNX engines run every tier)."""
        return True

    @staticmethod
    def suits_this_cpu() -> bool:
        """Whether `auto` should try this engine here (all but bf16 run on any x86-64 CPU)."""
        return True

    @abc.abstractmethod
    def upscale_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        """uint8 (h, w, C≥3) BGR(A) → channels 0..2 of the preallocated uint8 `out` (h·s, w·s, C'≥3)."""

    def upscale_blended(self, pixels: np.ndarray, out: np.ndarray, weight: float) -> None:
        """As `upscale_into`, keeping `weight` (0..1) of the network's detail over bicubic (the detail
        check's blend, `detail.keep_detail`); an engine that can scale its detail directly does so."""
        self.upscale_into(pixels, out)
        keep_detail(pixels, out, weight)


class TensorEngine(Engine):
    """An ONNX model on an engine that takes a float tensor, with input/output tensors preallocated
    per frame size.

    Subclasses load the file (`_load`), run a plain float input (`_plain_run`, used once to check the
    contract), bind a pair of buffers (`_bind_engine`) and run on them (`_infer`). The engine's output
    is the model's, float32 (1, 3, H·s, W·s) RGB in [0, 1], unless a subclass stops the model before
    its pixel shuffle (`_output_shape`, `_write`). A frame costs one fused conversion in
    (`kernels.sr.bgr_to_tensor`), the network, and one fused conversion out
    (`kernels.sr.tensor_to_bgr`); the buffers grow with the largest frame seen and up to 16 sizes
    stay bound (person_only boxes change size)."""

    def __init__(self, path: Path, scale: int, threads: int, pad_multiple: int = 1, halo: int | None = None):
        """Loads the model and runs it once on an 8×8 input: a file that loads but cannot run, or
        has another scale, fails here, not on the first frame."""
        self.path, self.scale, self.pad_multiple, self.halo = path, scale, pad_multiple, halo
        if not path.is_file():
            raise FileNotFoundError("file not found")
        self._load(path, threads)
        self._in_bufs = [np.empty(0, np.float32) for _ in range(self.bands)]
        self._out_bufs = [np.empty(0, np.float32) for _ in range(self.bands)]
        self._bindings: dict[tuple[int, int, int], tuple] = {}
        probe = self._plain_run(np.full((1, 3, 8, 8), 0.5, np.float32))
        if probe.shape != self._output_shape(8, 8):
            raise ValueError(f"an 8x8 input gave {probe.shape[2]}x{probe.shape[3]}, not ×{scale}")

    # -- what a subclass provides --------------------------------------------------------------------
    @abc.abstractmethod
    def _load(self, path: Path, threads: int) -> None:
        """Read and compile the model; raise naming what is wrong with the file."""

    @abc.abstractmethod
    def _plain_run(self, x: np.ndarray) -> np.ndarray:
        """float32 (1, 3, h, w) → the engine's output (`_output_shape`), in fresh memory."""

    @abc.abstractmethod
    def _bind_engine(self, inp: np.ndarray, out: np.ndarray):
        """The engine's handle on a pair of buffers (what `_infer` takes)."""

    @abc.abstractmethod
    def _infer(self, binding) -> None:
        """Run the model on a bound pair: reads the input buffer, fills the output buffer."""

    def _output_shape(self, h: int, w: int) -> tuple[int, ...]:
        """The engine's output shape for an h×w input."""
        return 1, 3, h * self.scale, w * self.scale

    def _write(self, result: np.ndarray, first_row: int, out: np.ndarray) -> None:
        """The engine's output `result`, from its input row `first_row` on, into uint8 BGR `out`
        (as many rows and columns as `out` has; channels 0..2)."""
        s = self.scale
        tensor_to_bgr(result[:, :, first_row * s : first_row * s + out.shape[0]], out)

    # -- shared --------------------------------------------------------------------------------------
    def _bind(self, h: int, w: int, band: int = 0):
        """(input, output, engine binding) for an h×w input; each band has buffers of its own."""
        key = (h, w, band)
        bound = self._bindings.get(key)
        if bound is None:
            out_shape = self._output_shape(h, w)
            n_in, n_out = 3 * h * w, int(np.prod(out_shape))
            if n_in > self._in_bufs[band].size or n_out > self._out_bufs[band].size:
                self._in_bufs[band] = np.empty(n_in, np.float32)  # grown: older bindings point at the old one
                self._out_bufs[band] = np.empty(n_out, np.float32)
                for stale in [k for k in self._bindings if k[2] == band]:
                    del self._bindings[stale]
            inp = self._in_bufs[band][:n_in].reshape(1, 3, h, w)
            out = self._out_bufs[band][:n_out].reshape(out_shape)
            if len(self._bindings) >= 16:  # person_only boxes change size: keep the recent ones
                self._bindings.pop(next(iter(self._bindings)))
            bound = self._bindings[key] = (inp, out, self._bind_engine(inp, out))
        return bound

    def upscale_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        """uint8 (h, w, C≥3) BGR(A) → channels 0..2 of uint8 `out` (h·s, w·s, C'≥3); alpha untouched."""
        self._write(self.run(pixels), 0, out)

    def run(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (h, w, C≥3) BGR(A), any strides → the engine's output for it (`_output_shape` of the
        input padded to `pad_multiple`; a reused buffer)."""
        h, w = pixels.shape[:2]
        m = self.pad_multiple
        ph, pw = -(-h // m) * m, -(-w // m) * m
        if (ph, pw) != (h, w):
            pixels = cv2.copyMakeBorder(np.ascontiguousarray(pixels), 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
        inp, out, binding = self._bind(ph, pw)
        bgr_to_tensor(pixels, inp)
        self._infer(binding)
        return out
