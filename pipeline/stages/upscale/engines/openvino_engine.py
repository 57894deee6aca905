"""OpenVINO's CPU runtime as an upscaler engine, in f32 (`openvino`) and bf16 (`openvino-bf16`).

Both read the same ONNX file as ONNX Runtime (dynamic H and W) and compile it after the graph
rewrites of `openvino_rewrites`: the model stops before its final pixel shuffle and clip where it
ends in them (`kernels.sr.shuffled_to_bgr` does that part in the conversion out), and the bf16
engine on an AMX CPU runs grouped convolutions dense. Given two or more threads and a tier with a
bounded receptive field (a `halo`, `catalogue.RECEPTIVE_RADIUS_PX`), a frame runs as overlapping row
bands at once, one thread each: the same output as the whole frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels.sr import bgr_to_tensor, shuffled_to_bgr
from pipeline.cpu import cpu_model_and_flags
from pipeline.stages.upscale.engines.base import TensorEngine
from pipeline.stages.upscale.openvino_rewrites import (
    cut_before_shuffle,
    densify_grouped_convolutions,
)

MIN_BAND_ROWS = 64
"""Input rows below which a frame is not cut into bands (the halos would cost more than they save)."""


def cpu_has_native_bf16() -> bool:
    """True on a CPU with bf16 arithmetic (AMX-BF16 or AVX512-BF16); False where flags are unknown."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_model_and_flags()[1])


class OpenVinoEngine(TensorEngine):
    """OpenVINO's CPU runtime, f32 inference, `threads` threads, no thread pinning (the graph's other
    stages share the cores); the buffers are wrapped as shared-memory tensors once per size.

    With a `halo` (the tier's receptive radius is bounded) and more than one thread, a frame is cut
    into `threads` row bands (`bands`), each with `halo` rows of real image above and below, run at
    once on as many one-thread streams: the same output as the whole frame on `threads` threads, but
    no thread waits for another at every layer, and each band's tensors stay nearer the cache. Frames
    of fewer than `bands`·`MIN_BAND_ROWS` rows, or a `pad_multiple` other than 1, run whole."""

    engine = "openvino"
    precision = "f32"

    def _load(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(path))
        inputs, outputs = model.inputs, model.outputs
        if (
            len(inputs) != 1
            or "lr" not in inputs[0].get_names()
            or len(outputs) != 1
            or "sr" not in outputs[0].get_names()
        ):
            raise ValueError(
                f"expected input 'lr' and output 'sr', found "
                f"{[sorted(i.get_names()) for i in inputs]} -> {[sorted(o.get_names()) for o in outputs]}"
            )
        self._ov = ov
        model = self._rewrite(model)
        self.bands = threads if self.halo is not None else 1
        self._compiled = core.compile_model(
            model,
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "NUM_STREAMS": self.bands,
                "PERFORMANCE_HINT": "LATENCY" if self.bands == 1 else "THROUGHPUT",
                "ENABLE_CPU_PINNING": False,
                "INFERENCE_PRECISION_HINT": self.precision,
            },
        )
        self._requests = [self._compiled.create_infer_request() for _ in range(self.bands)]
        self._request = self._requests[0]

    def _rewrite(self, model):
        """The model as this engine compiles it: stopped before its pixel shuffle where
        `output_before_shuffle` finds one (`_write` then shuffles)."""
        model, self._shuffle_channels = cut_before_shuffle(model, self.scale)
        """Channels of the output when the model stops before its pixel shuffle (0: it does not)."""
        return model

    def _plain_run(self, x: np.ndarray) -> np.ndarray:
        return np.array(self._request.infer({0: x})[0])

    def _output_shape(self, h: int, w: int) -> tuple[int, ...]:
        return (1, self._shuffle_channels, h, w) if self._shuffle_channels else super()._output_shape(h, w)

    def _write(self, result: np.ndarray, first_row: int, out: np.ndarray) -> None:
        if self._shuffle_channels:
            shuffled_to_bgr(result, self.scale, first_row, out)
        else:
            super()._write(result, first_row, out)

    def _bind_engine(self, inp: np.ndarray, out: np.ndarray):
        return self._ov.Tensor(inp, shared_memory=True), self._ov.Tensor(out, shared_memory=True)

    def _infer(self, tensors) -> None:
        self._request.set_input_tensor(tensors[0])
        self._request.set_output_tensor(tensors[1])
        self._request.infer()

    def upscale_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        h, w = pixels.shape[:2]
        if self.bands == 1 or self.pad_multiple != 1 or h < self.bands * MIN_BAND_ROWS:
            super().upscale_into(pixels, out)
            return
        s, halo = self.scale, self.halo
        assert halo is not None, "row bands only for tiers of bounded receptive field (a halo)"
        edges = [round(i * h / self.bands) for i in range(self.bands + 1)]
        running = []
        try:
            for band, (y0, y1) in enumerate(zip(edges, edges[1:])):
                top, bottom = max(0, y0 - halo), min(h, y1 + halo)
                inp, result, tensors = self._bind(bottom - top, w, band)
                bgr_to_tensor(pixels[top:bottom], inp)
                request = self._requests[band]
                request.set_input_tensor(tensors[0])
                request.set_output_tensor(tensors[1])
                request.start_async()
                running.append((request, result, y0 - top, out[y0 * s : y1 * s]))
            while running:  # the first band is converted while the others still run
                request, result, first_row, target = running[0]
                request.wait()
                running.pop(0)
                self._write(result, first_row, target)
        finally:  # a band that failed: let the others finish before their buffers are reused
            for request, *_ in running:
                request.wait()


class OpenVinoBf16Engine(OpenVinoEngine):
    """OpenVINO computing in bf16 (inputs, weights and activations rounded to 8 mantissa bits,
    accumulation in f32), only on a CPU with native bf16 (`cpu_has_native_bf16`; elsewhere loading
    raises ValueError); on one with AMX, grouped convolutions run dense
    (`densify_grouped_convolutions`). Within a few grey levels of f32 and a few thousandths of a dB
    PSNR-Y (measured with `python -m tools.eval_sr --engines openvino-bf16`); `auto` weighs it against the
    others by measured time."""

    engine = "openvino-bf16"
    precision = "bf16"

    @staticmethod
    def suits_this_cpu() -> bool:
        return cpu_has_native_bf16()

    def _load(self, path: Path, threads: int) -> None:
        if not cpu_has_native_bf16():
            raise ValueError("this CPU has no native bf16 (AMX-BF16 or AVX512-BF16)")
        super()._load(path, threads)

    def _rewrite(self, model):
        model = super()._rewrite(model)
        if "amx_bf16" in cpu_model_and_flags()[1]:
            densify_grouped_convolutions(model)
        return model
