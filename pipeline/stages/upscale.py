"""Super-resolution: enlarge every frame ×2 or ×3 with a small network, or bicubic.

Takes BGR (3 channels) or BGRA (4) uint8 frames of any size; gives frames `scale` times wider and
higher with the same channels (`open()` returns caps with width/height × scale). BGRA: the colour
goes through the network, the alpha is enlarged with bicubic (the networks are trained on RGB).

**Tiers**, best first (only the scheduler chooses; the stage offers them):

| tier | model file (`pipeline/models/`) | scales |
|---|---|---|
| `esrt` | `esrt_x2.onnx` | ×2 |
| `xlsr` | `xlsr_x2.onnx`, `xlsr_x3.onnx` | ×2, ×3 |
| `xlsr-int8` | `xlsr_x2_int8.onnx` (INT8 QDQ) | ×2 |
| `litesr` | `litesr_x2.onnx` + `litesr_x2.npz` (its weights, for the Numba engine) | ×2 |
| `bicubic` | none: `cv2.resize(INTER_CUBIC)` | any |

(Ranked by measured quality, `SR_SCORES`; the table is not the order.) `litesr` is the live tier: luma
detail from five narrow 3×3 convolutions added to the bicubic picture, ~4/5 of XLSR's quality gain over
bicubic at ~1/7 of its cost, run by the fused Numba kernel `kernels.litesr` (engine `numba`).

Model contract (what `tools/export_onnx.py` writes): input `lr` float32 N×3×H×W RGB in [0, 1] with
dynamic H and W, output `sr` float32 N×3×(sH)×(sW) in [0, 1]. Each model gets one ONNX Runtime
session (CPU provider): `intra_op_num_threads=threads` (default 1: the graph already runs its
stages in parallel threads on few cores), `inter_op_num_threads=1`, `ORT_SEQUENTIAL`,
`ORT_ENABLE_ALL`, and no spin-waiting between ops (a spinning ORT thread would steal the core the
segmentation thread needs). I/O is preallocated: the input and output tensors are NumPy buffers
bound once per frame size through `io_binding()` (OrtValues over the same memory), so a frame costs
one fused conversion in (`kernels.sr.bgr_to_tensor`), the network, and one fused conversion out
(`kernels.sr.tensor_to_bgr`), with no per-frame allocation. OpenVINO (`_OpenVinoModel`) compiles the
graph without its final pixel shuffle and clip where it ends in them (`output_before_shuffle`;
`kernels.sr.shuffled_to_bgr` does that part in the conversion out) and, given two or more threads and a
tier with a bounded receptive field (`RECEPTIVE_RADIUS_PX`), runs each frame as overlapping row bands
at once, one thread each. The models are fully convolutional and
take any H×W (ESRT pads to its attention window inside the graph), so `PAD_MULTIPLE` is 1 for all;
a model that needed a multiple would get its input edge-replicated to it and its output cropped.

**Missing or corrupt model file**: with `strict=False` (live use) the stage posts a `warning` on the
bus naming the file and upscales with `bicubic` instead; with `strict=True` (offline transcoding:
the user asked for that model) `open()` raises `UserError`. The requested tier is loaded in
`open()`, and with `preload` (the default when not strict) every other tier too, so a switch never
stalls a frame; a tier whose model cannot be loaded is left out of `tiers` (one warning lists
them) and means bicubic if asked for. Without `preload` a tier is loaded when first used.

`set_tier(name)` may be called from any thread; the switch happens at the next frame, which
carries `frame.tiers["upscale"]` = the tier that really produced it (a `tier` message is posted
when that changes).

**person_only=True** (the background is synthetic anyway): the network runs only on the person's
bounding box — from `frame.alpha` (full resolution) if a stage set it, else from `frame.mask`
(the model-resolution probability; each mask cell maps to the frame rectangle it covers) — where
the probability exceeds `threshold`, expanded by `margin_px` input pixels, aligned outward to
multiples of 8, clamped to the frame. The network sees the box plus `CONTEXT_PX` pixels of real
image around it (so inside the box its output equals the full-frame output); everything else is
bicubic, and `kernels.sr.blend_roi` feathers the box's inner edges into the bicubic frame over
`feather_px` output pixels so no seam shows. No person in the mask: the frame is all bicubic;
no mask and no alpha at all (no segment stage): the network runs on the whole frame. The saving is
the share of the frame outside the box: on the built-in synthetic portrait at 640×360 (a close-up:
the MediaPipe mask's box is 472×360, 74 % of the frame) xlsr ×2 on 1 thread took 251 ms of
thread-CPU instead of 324 ms (−22 %); a person further from the camera saves more.
(Measured on the 2-core development machine while model training held one core, so noisy.)

Output pixels go to new arrays from a small pool, reused only once nothing else references them;
`frame.alpha`, if set, is enlarged too (bilinear) so it keeps matching the pixels.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from kernels.sr import bgr_to_tensor, blend_roi, shuffled_to_bgr, tensor_to_bgr
from pipeline.caps import Caps
from pipeline.cpu import cpu_model_and_flags
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.paths import check_writable_file, make_folder, refuse_overwriting_inputs
from pipeline.pool import ArrayPool
from pipeline.stage import Stage

MODEL_DIR = Path(__file__).resolve().parent.parent / "models"
SCALES = (2, 3)
MODEL_FILES: dict[str, dict[int, str]] = {
    "esrt": {2: "esrt_x2.onnx"},
    "xlsr": {2: "xlsr_x2.onnx", 3: "xlsr_x3.onnx"},
    "xlsr-int8": {2: "xlsr_x2_int8.onnx"},
    "litesr": {2: "litesr_x2.onnx"},
}
SR_SCORES: dict[tuple[str, int], tuple[float, float]] = {
    ("xlsr", 2): (36.95, 32.65), ("xlsr-int8", 2): (36.67, 32.52), ("esrt", 2): (37.31, 32.93),
    ("litesr", 2): (36.37, 32.27),
    ("bicubic", 2): (33.68, 30.33), ("xlsr", 3): (32.99, 29.44), ("bicubic", 3): (30.41, 27.63),
}
"""Measured quality of each tier: PSNR-Y dB on (Set5, Set14) by the standard protocol
(`python tools/eval_sr.py`; the model card and the README's Super-resolution table). The tiers are
ranked by these numbers, not by name: a retrained model ranks higher once its scores are entered."""
OFFLINE_ONLY = frozenset({"esrt"})
"""Tiers never offered to the live scheduler: ESRT costs ~40x XLSR per frame (seconds on a CPU), so
it can never hold a frame period; it is the offline tier (`--model esrt`)."""
INT8_MAX_LOSS_DB = 0.15
"""An INT8 tier joins the live ladder only on a CPU with 8-bit dot-product instructions (VNNI/AMX)
and when it loses at most this much PSNR-Y against its fp32 model on both sets; otherwise it is
slower than fp32 (measured) or visibly worse, and offered offline only."""
PAD_MULTIPLE = {"esrt": 1, "xlsr": 1, "xlsr-int8": 1, "litesr": 1}
"""Input H and W must be multiples of this (edge-replicated up to it; the output is cropped)."""
CONTEXT_PX = {"esrt": 16, "xlsr": 8, "xlsr-int8": 8, "litesr": 8}
"""person_only: input pixels of real image the network sees around the box, and the halo of a row band
(≥ `RECEPTIVE_RADIUS_PX`; ESRT's attention windows reach further, so its box interior is close to,
not identical with, the full-frame output)."""
RECEPTIVE_RADIUS_PX = {"xlsr": 5, "xlsr-int8": 5, "litesr": 5}
"""How far (input pixels, each way) an output pixel sees, for the tiers built of convolutions alone:
the five 3×3 layers on XLSR's longest path, LiteSR's five. Row bands that overlap by at least this
much give exactly the whole-frame output (bands get `CONTEXT_PX` rows); ESRT's attention has no such
bound, so it always runs on whole frames. `CONTEXT_PX` must be at least this."""
MIN_BAND_ROWS = 64
"""Input rows below which a frame is not cut into bands (the halos would cost more than they save)."""
CLOSE_RACE = 1.5
"""`auto`: engines whose first timed run is within this factor of the fastest one's are timed twice
more before one is chosen."""
ALIGN_PX = 8
NETWORK_MIN_ZOOM = 1.5
"""A crop (`frame.crop`, from auto-framing) goes through the network only when it is enlarged at
least this much; below it the network's gain over bicubic is small."""


def tiers_for(scale: int) -> tuple[str, ...]:
    """The tiers that exist at `scale`, best measured quality first (mean of the Set5 and Set14
    PSNR-Y in `SR_SCORES`); bicubic, the lowest, is last."""
    return tuple(sorted((t for t, s in SR_SCORES if s == scale), key=lambda t: -sum(SR_SCORES[t, scale])))


TIERS = tiers_for(2)
"""All tier names (×2 has them all), best first."""


def cpu_has_int8_dot() -> bool:
    """True on a CPU with VNNI or AMX-INT8 (False where the flags cannot be read)."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_model_and_flags()[1])


def live_tiers(scale: int) -> tuple[str, ...]:
    """The ladder the live scheduler may use at `scale`, best first: `tiers_for` without the
    offline-only tiers and without INT8 tiers that fail `INT8_MAX_LOSS_DB` or lack VNNI/AMX here."""
    def offered(tier: str) -> bool:
        if tier in OFFLINE_ONLY:
            return False
        if tier.endswith("-int8"):
            fp32 = SR_SCORES.get((tier.removesuffix("-int8"), scale))
            loss = max(a - b for a, b in zip(fp32, SR_SCORES[tier, scale])) if fp32 else float("inf")
            return loss <= INT8_MAX_LOSS_DB and cpu_has_int8_dot()
        return True

    return tuple(t for t in tiers_for(scale) if offered(t))


def check_upscale(scale: int, model: str) -> None:
    """`UserError` unless `model` exists at `scale` (one line naming what would work)."""
    if scale not in SCALES:
        raise UserError(f"--scale {scale}: the upscaler does ×2 or ×3 (use --scale 2 or --scale 3)")
    if model not in TIERS:
        raise UserError(f"--model {model!r}: choose one of {', '.join(TIERS)}")
    if model not in tiers_for(scale):
        raise UserError(f"--model {model} has no ×{scale} model; at ×{scale} use one of "
                        f"{', '.join(tiers_for(scale))}")


def check_engine(engine: str) -> None:
    """`UserError` unless `engine` is one of `ENGINES`."""
    if engine not in ENGINES:
        raise UserError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")


def _first_line(exc: Exception) -> str:
    """The first line of an exception's message (its type when it has none), at most 200 characters."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _engine_failure(exc: Exception) -> str:
    """One short line for an engine that could not load or compile a model."""
    return "not installed: pip install openvino" if isinstance(exc, ImportError) else _first_line(exc)


def model_path(tier: str, scale: int, model_dir: str | Path | None = None) -> Path:
    return Path(model_dir or MODEL_DIR) / MODEL_FILES[tier][scale]


class _Model:
    """One network on one inference engine, with input/output tensors preallocated per frame size.

    Subclasses load the file (`_load`), run a plain float input (`_plain_run`, used once to check the
    contract), bind a pair of buffers (`_bind_engine`) and run on them (`_infer`). The engine's output
    is the model's, float32 (1, 3, H·s, W·s) RGB, unless a subclass stops the model before its pixel
    shuffle (`_output_shape`, `_write`)."""

    engine = ""
    bands = 1
    """Row bands a frame is cut into and run in parallel (`_OpenVinoModel` with a halo; 1: whole frames)."""

    def __init__(self, path: Path, scale: int, threads: int, pad_multiple: int = 1, halo: int | None = None):
        self.path, self.scale, self.pad_multiple, self.halo = path, scale, pad_multiple, halo
        if not path.is_file():
            raise FileNotFoundError("file not found")
        self._load(path, threads)
        self._in_bufs = [np.empty(0, np.float32) for _ in range(self.bands)]
        self._out_bufs = [np.empty(0, np.float32) for _ in range(self.bands)]
        self._bindings: dict[tuple[int, int, int], tuple] = {}
        # one tiny frame through it: a model that loads but cannot run, or has another scale, fails here
        probe = self._plain_run(np.full((1, 3, 8, 8), 0.5, np.float32))
        if probe.shape != self._output_shape(8, 8):
            raise ValueError(f"an 8x8 input gave {probe.shape[2]}x{probe.shape[3]}, not ×{scale}")

    def _output_shape(self, h: int, w: int) -> tuple[int, ...]:
        """The engine's output shape for an h×w input."""
        return 1, 3, h * self.scale, w * self.scale

    def _write(self, result: np.ndarray, first_row: int, out: np.ndarray) -> None:
        """The engine's output `result`, from its input row `first_row` on, into uint8 BGR `out`
        (as many rows and columns as `out` has; channels 0..2)."""
        s = self.scale
        tensor_to_bgr(result[:, :, first_row * s:first_row * s + out.shape[0]], out)

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

    @staticmethod
    def runs(tier: str) -> bool:
        """Whether this engine runs `tier`'s model (the ONNX engines run every tier)."""
        return True

    @staticmethod
    def suits_this_cpu() -> bool:
        """Whether `auto` should try this engine here (all but bf16 run on any x86-64 CPU)."""
        return True

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


class _OnnxRuntimeModel(_Model):
    """ONNX Runtime, CPU provider; the buffers are bound once per size through `io_binding()`."""

    engine = "onnxruntime"

    def _load(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if [i.name for i in inputs] != ["lr"] or [o.name for o in outputs] != ["sr"]:
            raise ValueError(f"expected input 'lr' and output 'sr', found {[i.name for i in inputs]} "
                             f"-> {[o.name for o in outputs]}")
        self._ort = ort

    def _plain_run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"lr": x})[0]

    def _bind_engine(self, inp: np.ndarray, out: np.ndarray):
        binding = self.session.io_binding()
        binding.bind_ortvalue_input("lr", self._ort.OrtValue.ortvalue_from_numpy(inp))
        binding.bind_ortvalue_output("sr", self._ort.OrtValue.ortvalue_from_numpy(out))
        return binding

    def _infer(self, binding) -> None:
        self.session.run_with_iobinding(binding)


def _constant_values(output) -> np.ndarray | None:
    """The values of an OpenVINO node output that is a Constant, else None."""
    node = output.get_node()
    return np.asarray(node.get_data()) if node.get_type_name() == "Constant" else None


def output_before_shuffle(model, scale: int):
    """The tensor an OpenVINO `model`'s final pixel shuffle reads, or None.

    Matches a model that ends in DepthToSpace(depth_first, block `scale`) then a clip to [0, 1]
    (Maximum 0 and Minimum 1, either order, or Clamp(0, 1)) — what `tools/export_onnx.py` writes for
    XLSR — looking through a Slice of the first channels before it (XLSR's output convolution is
    padded to 16 channels). `kernels.sr.shuffled_to_bgr` does that tail's work on this tensor in one
    pass, instead of three passes over the ×s² larger output (measured on the Intel Xeon with AMX,
    XLSR ×2 640×360 bf16 on one thread: clip 6.4 ms, shuffle 5.9, slice 2.5 and two reorders 6.6, of
    93 ms)."""
    results = model.get_results()
    if len(results) != 1:
        return None
    node = results[0].input_value(0).get_node()
    bounds = set()
    while node.get_type_name() in ("Maximum", "Minimum", "Clamp"):
        kind = node.get_type_name()
        if kind == "Clamp":
            attrs = node.get_attributes()
            bounds |= {("Maximum", float(attrs["min"])), ("Minimum", float(attrs["max"]))}
            node = node.input_value(0).get_node()
            continue
        values = [_constant_values(node.input_value(i)) for i in range(2)]
        if (values[0] is None) == (values[1] is None):
            return None
        data = 0 if values[1] is not None else 1
        bound = values[1 - data]
        if bound.size != 1:
            return None
        bounds.add((kind, float(bound.reshape(-1)[0])))
        node = node.input_value(data).get_node()
    if bounds != {("Maximum", 0.0), ("Minimum", 1.0)} or node.get_type_name() != "DepthToSpace":
        return None
    attrs = node.get_attributes()
    if attrs.get("mode") != "depth_first" or int(attrs.get("block_size", 0)) != scale:
        return None
    source = node.input_value(0)
    producer = source.get_node()
    if producer.get_type_name() == "Slice" and producer.get_input_size() == 5:
        start, _, step, axes = (_constant_values(producer.input_value(i)) for i in range(1, 5))
        if all(v is not None for v in (start, step, axes)) and start.tolist() == [0] \
                and step.tolist() == [1] and axes.tolist() in ([1], [-3]):
            source = producer.input_value(0)
    channels = source.get_partial_shape()[1]
    if channels.is_dynamic or channels.get_length() < 3 * scale * scale:
        return None
    return source


class _OpenVinoModel(_Model):
    """OpenVINO's CPU runtime (reads the same ONNX file; dynamic H and W), f32 inference, `threads`
    threads, no thread pinning (the graph's other stages share the cores); the buffers are wrapped
    as shared-memory tensors once per size.

    With a `halo` (the tier's receptive radius is bounded, `RECEPTIVE_RADIUS_PX`) and more than one
    thread, a frame is cut into `threads` row bands, each with `halo` rows of real image above and
    below, run at once on as many one-thread streams: the same output as the whole frame on
    `threads` threads, but no thread waits for another at every layer, and each band's tensors
    stay nearer the cache. Measured on the Intel Xeon with AMX (2026-12-01), XLSR ×2 on 640×360,
    two threads, the network alone: bf16 37 ms against 46 for the whole frame, f32 78 against 91;
    the process's CPU time per frame fell from ~97 to ~74 ms, which is what counts inside `litecam
    upscale`, where the encoder's threads share the two cores."""

    engine = "openvino"
    precision = "f32"

    def _load(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(path))
        inputs, outputs = model.inputs, model.outputs
        if len(inputs) != 1 or "lr" not in inputs[0].get_names() or len(outputs) != 1 \
                or "sr" not in outputs[0].get_names():
            raise ValueError(f"expected input 'lr' and output 'sr', found "
                             f"{[sorted(i.get_names()) for i in inputs]} -> {[sorted(o.get_names()) for o in outputs]}")
        self._ov = ov
        model = self._rewrite(model)
        self.bands = threads if self.halo is not None else 1
        self._compiled = core.compile_model(model, "CPU", {
            "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": self.bands,
            "PERFORMANCE_HINT": "LATENCY" if self.bands == 1 else "THROUGHPUT",
            "ENABLE_CPU_PINNING": False, "INFERENCE_PRECISION_HINT": self.precision})
        self._requests = [self._compiled.create_infer_request() for _ in range(self.bands)]
        self._request = self._requests[0]

    def _rewrite(self, model):
        """The model as this engine compiles it: stopped before its pixel shuffle where
        `output_before_shuffle` finds one (`_write` then shuffles)."""
        before_shuffle = output_before_shuffle(model, self.scale)
        self._shuffle_channels = 0
        """Channels of the output when the model stops before its pixel shuffle (0: it does not)."""
        if before_shuffle is not None:
            model = self._ov.Model([before_shuffle], model.get_parameters(), model.get_friendly_name())
            self._shuffle_channels = before_shuffle.get_partial_shape()[1].get_length()
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
                running.append((request, result, y0 - top, out[y0 * s:y1 * s]))
            while running:  # the first band is converted while the others still run
                request, result, first_row, target = running[0]
                request.wait()
                running.pop(0)
                self._write(result, first_row, target)
        finally:  # a band that failed: let the others finish before their buffers are reused
            for request, *_ in running:
                request.wait()


def cpu_has_native_bf16() -> bool:
    """True on a CPU with bf16 arithmetic (AMX-BF16 or AVX512-BF16); False where flags are unknown."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_model_and_flags()[1])


def densify_grouped_convolutions(model) -> int:
    """Replace, in an OpenVINO `model`, each GroupConvolution whose weights fold to a constant by the
    equal dense Convolution (block-diagonal weights, zeros between the groups); returns how many.

    For AMX: its tiles multiply 32 bf16 input channels at once, so XLSR's 3×3 convolutions in four
    groups of 8 channels leave most of each tile idle; dense, with 4× the multiply-adds, they ran
    faster (Intel Xeon with AMX, 2026-12-01, XLSR ×2 before the shuffle on a 640×188 band, one
    thread, bf16, medians of 25 interleaved runs: 31 ms against 38). In f32 dense is slower (105
    against 89 ms), so only the bf16 engine on an AMX CPU does this."""
    import openvino.opset13 as opset
    from openvino import passes

    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    replaced = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "GroupConvolution":
            continue
        weights = _constant_values(op.input_value(1))
        if weights is None or weights.ndim != 5 or weights.dtype != np.float32:
            continue
        groups, out_per_group, in_per_group = weights.shape[:3]
        dense = np.zeros((groups * out_per_group, groups * in_per_group, *weights.shape[3:]), np.float32)
        for g in range(groups):
            dense[g * out_per_group:(g + 1) * out_per_group, g * in_per_group:(g + 1) * in_per_group] = weights[g]
        attrs = op.get_attributes()
        conv = opset.convolution(op.input_value(0), opset.constant(dense), attrs["strides"], attrs["pads_begin"],
                                 attrs["pads_end"], attrs["dilations"], attrs["auto_pad"])
        op.output(0).replace(conv.output(0))
        replaced += 1
    return replaced


class _OpenVinoBf16Model(_OpenVinoModel):
    """OpenVINO computing in bf16 (inputs, weights and activations rounded to 8 mantissa bits,
    accumulation in f32), only on a CPU with native bf16; on one with AMX, grouped convolutions
    run dense (`densify_grouped_convolutions`). Measured on the Intel Xeon with AMX (2026-12-01),
    XLSR ×2 on 640×360 through `Upscale` (`python -m pipeline.stages.upscale`): 43 ms on one thread,
    33 on two (f32: 169 / 84), for −0.015 / −0.007 dB PSNR-Y on Set5 / Set14 (36.930 / 32.643 against
    36.945 / 32.650, `tools/eval_sr.py --engines openvino-bf16`) and at most 6 grey levels from f32 on
    a frame; `auto` weighs it against the others by measured time."""

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


class _NumbaLiteModel:
    """A LiteSR model on the project's own fused kernel (`kernels.litesr`): OpenCV's bicubic into the
    output, then the network's luma detail added band by band. Reads the weights file written beside
    the ONNX file (`<name>.npz`); runs no other network. Single-threaded (`threads` is ignored)."""

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

    @staticmethod
    def suits_this_cpu() -> bool:
        return True

    def upscale_into(self, pixels: np.ndarray, out: np.ndarray) -> None:
        h, w = pixels.shape[:2]
        colour = pixels if pixels.shape[2] == out.shape[2] else np.ascontiguousarray(pixels[..., :3])
        cv2.resize(colour, (w * self.scale, h * self.scale), dst=out, interpolation=cv2.INTER_CUBIC)
        self._kernel.add_detail(pixels, out)


ENGINE_CLASSES = {"openvino": _OpenVinoModel, "openvino-bf16": _OpenVinoBf16Model,
                  "onnxruntime": _OnnxRuntimeModel, "numba": _NumbaLiteModel}
ENGINES = ("auto", *ENGINE_CLASSES)
"""`auto`: every installed engine that runs the tier (and suits this CPU: bf16 only where it is
native) loads the model and the one measured fastest on this machine, at this frame size, runs it
(`Upscale.engines` tells which). `numba` runs LiteSR only."""


def person_box(height: int, width: int, *, alpha: np.ndarray | None = None, mask: np.ndarray | None = None,
               threshold: float = 0.1, margin_px: int = 16, align: int = ALIGN_PX):
    """The person's box in frame pixels, (x0, y0, x1, y1) (end exclusive), or None if no person.

    From `alpha` (uint8 (height, width)) where alpha > threshold·255, else from `mask` (float
    (h, w) at any resolution, each cell covering a frame rectangle) where mask > threshold;
    expanded by `margin_px`, aligned outward to multiples of `align`, clamped to the frame.
    """
    if alpha is not None:
        hit = alpha > int(threshold * 255)
        sy, sx = 1.0, 1.0
    elif mask is not None:
        hit = mask > threshold
        sy, sx = height / mask.shape[0], width / mask.shape[1]
    else:
        return None
    rows = np.flatnonzero(hit.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(hit.any(axis=0))
    x0 = int(np.floor(cols[0] * sx)) - margin_px
    x1 = int(np.ceil((cols[-1] + 1) * sx)) + margin_px
    y0 = int(np.floor(rows[0] * sy)) - margin_px
    y1 = int(np.ceil((rows[-1] + 1) * sy)) + margin_px
    x0, y0 = max(0, x0 // align * align), max(0, y0 // align * align)
    x1, y1 = min(width, -(-x1 // align) * align), min(height, -(-y1 // align) * align)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


class Upscale(Stage):
    """Enlarge frames ×`scale` with the `model` tier (see the module docstring).

    scale: 2 or 3. model: a tier of `TIERS` that exists at `scale` (`tiers_for(scale)`).
    person_only: network on the person's box only, bicubic elsewhere, feathered over `feather_px`
    output pixels. threads: inference threads per model. engine: `auto` (every installed engine
    loads the model; the one measured fastest at this frame size runs it), `openvino` or
    `onnxruntime` (`ENGINES`). strict: a missing/corrupt model file, or an engine asked for that is
    not installed or cannot compile the model, raises `UserError` in `open()`; not strict (live),
    the first falls back to bicubic and the second to ONNX Runtime, each with one warning.
    Not strict, the tiers offered are the live ladder (`live_tiers`) plus the requested one.
    model_dir: where the ONNX files are (default `pipeline/models/`). threshold / margin_px: the
    person box (probability above which a pixel is person; input pixels added around it).
    preload: load every tier's model in `open()`, not only the requested one (default: when not
    strict, i.e. live use, where the scheduler may switch tiers).
    """

    name = "upscale"

    def __init__(
        self,
        scale: int = 2,
        model: str = "xlsr",
        *,
        person_only: bool = False,
        threads: int = 1,
        strict: bool = False,
        model_dir: str | Path | None = None,
        feather_px: int = 8,
        margin_px: int = 16,
        threshold: float = 0.1,
        preload: bool | None = None,
        engine: str = "auto",
    ):
        if scale == 1:   # reframing only (auto-framing without upscaling): the ×2 models enlarge crops
            check_upscale(2, model)
        else:
            check_upscale(scale, model)
        check_engine(engine)
        if not isinstance(threads, int) or threads < 1:
            raise UserError(f"upscale threads must be an integer >= 1, got {threads!r}")
        self.scale = scale
        """Output size / input size (1: frames keep their size; crops are enlarged to it)."""
        self.net_scale = 2 if scale == 1 else scale
        """The networks' scale."""
        self.cpu_runs_elsewhere = threads > 1  # ORT's worker threads: the graph counts wall time
        self.person_only = person_only
        self.threads = threads
        self.strict = strict
        self.preload = (not strict) if preload is None else preload
        self.model_dir = Path(model_dir) if model_dir is not None else MODEL_DIR
        self.feather_px = int(feather_px)
        self.margin_px = int(margin_px)
        self.threshold = float(threshold)
        self.engine = engine
        self.engines: dict[str, str] = {}
        """The engine that runs each loaded tier (`auto` chose it by measuring)."""
        self._probe_hw = (360, 640)
        """Frame size (h, w) the `auto` engine choice is measured at: the input's, from `open()`."""
        net = self.net_scale
        self._all_tiers = tiers_for(net) if strict else \
            tuple(t for t in tiers_for(net) if t in live_tiers(net) or t == model)
        self._requested = model
        self._used: str | None = None
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}
        self._failed: dict[str, str] = {}
        self._pool = ArrayPool()
        self._roi_pool = ArrayPool(max_arrays=2)
        self.last_box: tuple[int, int, int, int] | None = None
        """person_only: the box (input pixels) the network ran on for the last frame, or None."""

    # -- tiers (the scheduler's interface, see `pipeline.stage.Stage.tiers`) ------------------------
    @property
    def tier_quality(self) -> dict[str, float]:
        """Relative quality: 1.0 for the best tier at this scale, 0.5 for bicubic, in between in
        proportion to the measured PSNR-Y (`SR_SCORES`, mean of Set5 and Set14)."""
        mean = {t: sum(SR_SCORES[t, self.net_scale]) / 2 for t in tiers_for(self.net_scale)}
        best, low = max(mean.values()), mean["bicubic"]
        return {t: 0.5 + 0.5 * (m - low) / (best - low) for t, m in mean.items()}

    tier_cost_hint = {"esrt": 30.0, "xlsr": 1.0, "xlsr-int8": 1.4, "litesr": 0.15, "bicubic": 0.012}
    """Relative cost per frame. The scheduler estimates every tier but the one in use as the running
    cost of the one in use times the ratio of these hints, so a missing or wrong ratio makes it try a
    tier that cannot fit (or never try one that would). From 640×360 ×2, one thread, quiet, on the
    Intel Xeon with AMX (2026-12-01, `python -m pipeline.stages.upscale --repeat 7`): xlsr 142 ms
    (OpenVINO f32; 43 ms in bf16 once its tail and grouped convolutions were reworked, still more than a
    33 ms frame period beside segmentation, so the ratio is left as on CPUs without AMX), litesr
    20–24 ms (numba), bicubic 1.6 ms; on the AVX-512F Xeon without VNNI xlsr was 243 ms beside
    litesr's ~20 ms; ESRT (441K parameters) takes seconds. xlsr-int8: slower than fp32
    without VNNI (measured), and 1.9× on this AMX machine too."""

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tiers offered at this scale, best first, without those whose model failed to load."""
        return tuple(t for t in self._all_tiers if t not in self._failed)

    @property
    def tier(self) -> str:
        """The tier in use from the next frame on (bicubic once the requested model failed to load)."""
        with self._lock:
            return self._requested

    @property
    def tier_used(self) -> str | None:
        """The tier that produced the last frame (also in `frame.tiers["upscale"]`)."""
        return self._used

    def set_tier(self, name: str) -> None:
        """Use tier `name` from the next frame on (thread-safe).

        ValueError for a name that is not a tier at this scale; a tier whose model failed to load
        means bicubic."""
        if name not in self._all_tiers:
            raise ValueError(f"upscale tier {name!r} does not exist at ×{self.net_scale}; "
                             f"choose one of {self._all_tiers}")
        with self._lock:
            self._requested = "bicubic" if name in self._failed else name

    def tier_failed(self, tier: str, reason: str) -> str | None:
        """`tier` raised on a frame (called by a live graph): never use it again in this run; the
        next tier below it is used from the next frame on. Returns that tier; None when `tier`
        is bicubic (nothing below it)."""
        if tier == "bicubic":
            return None
        with self._lock:
            self._failed[tier] = reason
            self._models.pop(tier, None)
            below = self._all_tiers[self._all_tiers.index(tier) + 1:]
            self._requested = next(t for t in below if t not in self._failed)
            return self._requested

    def model_path(self, tier: str) -> Path:
        return model_path(tier, self.net_scale, self.model_dir)

    def _model(self, tier: str, quiet: bool = False) -> _Model | None:
        """The loaded session of `tier`, loading it now if needed; None for bicubic or a failed load
        (which posts a warning unless `quiet`)."""
        if tier == "bicubic" or tier in self._failed:
            return None
        model = self._models.get(tier)
        if model is None:
            path = self.model_path(tier)
            try:
                model = self._load(tier, path)
            except UserError:
                raise
            except Exception as exc:  # missing, truncated, not ONNX, wrong contract: fall back
                reason = _first_line(exc)
                if self.strict and not quiet:
                    raise UserError(f"upscale model {path} could not be loaded ({reason}); "
                                    f"reinstall litecam or use --model bicubic") from None
                with self._lock:
                    self._failed[tier] = reason
                    if self._requested == tier:
                        self._requested = "bicubic"
                if not quiet:
                    self.post("warning", f"model {path} could not be loaded ({reason}); "
                              f"upscaling with bicubic instead of {tier}", tier=tier, path=str(path))
                return None
            self._models[tier] = model
            self.engines[tier] = model.engine
        return model

    def _load(self, tier: str, path: Path) -> _Model:
        """`tier`'s model on the engine asked for, or with `auto` on each installed engine, keeping
        the one measured fastest. Raises what loading raised when no engine could load it."""
        halo = CONTEXT_PX[tier] if tier in RECEPTIVE_RADIUS_PX else None
        args = (path, self.net_scale, self.threads, PAD_MULTIPLE[tier], halo)
        if self.engine != "auto":
            try:
                return ENGINE_CLASSES[self.engine](*args)
            except Exception as exc:
                if not path.is_file() or self.engine == "onnxruntime":
                    raise  # the file's fault, not the engine's: handled by the caller
                reason = _engine_failure(exc)
                if self.strict:
                    raise UserError(f"--engine {self.engine} cannot run {path} ({reason}); "
                                    f"use --engine onnxruntime or auto") from None
                self.post("warning", f"engine {self.engine} cannot run {path.name} ({reason}); "
                          f"using onnxruntime", engine=self.engine)
                return _OnnxRuntimeModel(*args)
        loaded: dict[str, _Model] = {}
        failure: Exception | None = None
        for name, cls in ENGINE_CLASSES.items():
            if not cls.runs(tier) or not cls.suits_this_cpu():
                continue
            try:
                loaded[name] = cls(*args)
            except ImportError:
                continue  # not installed: auto uses what is
            except Exception as exc:
                failure = exc
                if name != "onnxruntime" and path.is_file():
                    self.post("warning", f"engine {name} cannot run {path.name} ({_engine_failure(exc)}); "
                              f"using the others", engine=name)
        if not loaded:
            raise failure or RuntimeError("no inference engine is installed (pip install onnxruntime)")
        if len(loaded) == 1:
            return next(iter(loaded.values()))
        return self._fastest(tier, loaded)

    def _fastest(self, tier: str, loaded: dict[str, _Model]) -> _Model:
        """The engine with the lowest wall time on a frame of the input's size: each runs once to
        warm up and once timed; those within `CLOSE_RACE` of the best run twice more and are judged
        by the median of their three (the clearly slower ones are not worth another second of
        start-up). Posts the figures as an `info` message."""
        h, w = self._probe_hw
        probe = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
        out = np.empty((h * self.net_scale, w * self.net_scale, 3), np.uint8)

        def timed(model: _Model) -> float:
            start = time.perf_counter()
            model.upscale_into(probe, out)
            return 1000 * (time.perf_counter() - start)

        runs: dict[str, list[float]] = {}
        for name, model in loaded.items():
            try:
                model.upscale_into(probe, out)
            except Exception:  # e.g. a fixed input shape: the frames will tell (graph fallback)
                continue
            runs[name] = [timed(model)]
        if runs:
            best = min(r[0] for r in runs.values())
            for name, measured in runs.items():
                if measured[0] <= CLOSE_RACE * best:
                    measured += [timed(loaded[name]), timed(loaded[name])]
        times = {name: float(np.median(r)) for name, r in runs.items()}
        if not times:
            return loaded.get("onnxruntime") or next(iter(loaded.values()))
        chosen = min(times, key=times.get)
        self.post("info", f"{tier} ×{self.net_scale} on {w}x{h}, {self.threads} thread(s): " + ", ".join(
            f"{name} {ms:.0f} ms" for name, ms in sorted(times.items(), key=lambda kv: kv[1])) + f" -> {chosen}",
                  tier=tier, engine=chosen, ms=times)
        return loaded[chosen]

    def load(self) -> None:
        """Load the current tier's model now (`open()` does; for use outside a graph)."""
        self._model(self.tier)

    # -- Stage contract ---------------------------------------------------------------------------
    def open(self, caps: Caps) -> Caps:
        if caps.channels not in (3, 4):
            raise GraphError(f"the upscale stage takes BGR or BGRA frames, got {caps.channels} channels")
        if caps.width and caps.height:
            self._probe_hw = (caps.height, caps.width)
        requested = self.tier
        self._model(requested)
        if self.preload:  # every tier now, so that a switch at run time never stalls a frame
            others = [t for t in self._all_tiers if t not in (requested, "bicubic")]
            for tier in others:
                self._model(tier, quiet=True)
            missing = [t for t in others if t in self._failed]
            if missing:
                self.post("warning", "tiers not offered, their models could not be loaded: " + "; ".join(
                    f"{t} ({self.model_path(t)}: {self._failed[t][:120]})" for t in missing), tiers=missing)
        return caps.with_(width=caps.width * self.scale, height=caps.height * self.scale)

    def process(self, frame: Frame) -> Frame:
        with self._lock:
            requested = self._requested
        model = self._model(requested)
        h, w = frame.pixels.shape[:2]
        crop = frame.crop if frame.crop is not None and tuple(frame.crop) != (0, 0, w, h) else None
        if crop is not None:
            out, used = self.reframe(frame, crop, model)
        elif self.scale == 1:   # reframing only, and this frame shows the whole picture
            out, used = frame.pixels, "bicubic"
        else:
            used = requested if model is not None else "bicubic"
            out = self.upscale(frame.pixels, model=model, mask=frame.mask, alpha=frame.alpha)
            if frame.alpha is not None:
                frame.alpha = cv2.resize(frame.alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
        if used != self._used:
            if self._used is not None:
                self.post("tier", f"{self._used} -> {used}", old=self._used, new=used)
            self._used = used
        frame.pixels = out
        frame.tiers[self.name] = used
        return frame

    def reframe(self, frame: Frame, crop: tuple[int, int, int, int], model: _Model | None) -> tuple[np.ndarray, str]:
        """Enlarge `frame`'s `crop` (x, y, w, h) to the output size: (pixels, tier used).

        With a network tier and an enlargement of at least `NETWORK_MIN_ZOOM`, the network enlarges
        the crop ×`net_scale` and OpenCV brings that to the output size (area-averaging down, bicubic
        up; nothing when it is already the size, e.g. a 2× zoom with no upscaling); otherwise bicubic
        (area-averaging for a crop larger than the output). The alpha, if any, is cropped and enlarged
        bilinearly; the mask is cropped to match (it stays at its own resolution).
        """
        x, y, cw, ch = crop
        h, w, c = frame.pixels.shape
        out_w, out_h = w * self.scale, h * self.scale
        region = frame.pixels[y:y + ch, x:x + cw]
        out = self._pool.get((out_h, out_w, c))
        enlargement = out_w / cw
        if model is not None and enlargement >= NETWORK_MIN_ZOOM:
            n = self.net_scale
            if (cw * n, ch * n) == (out_w, out_h):
                model.upscale_into(region, out)
            else:
                enlarged = self._roi_pool.get((ch * n, cw * n, 3))
                model.upscale_into(region, enlarged)
                shrink = cw * n > out_w
                resized = cv2.resize(enlarged, (out_w, out_h), dst=out if c == 3 else None,
                                     interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
                if c == 4:
                    out[..., :3] = resized
            if c == 4:
                out[..., 3] = cv2.resize(np.ascontiguousarray(region[..., 3]), (out_w, out_h),
                                         interpolation=cv2.INTER_CUBIC)
            used = self._tier_of(model)
        else:
            cv2.resize(region, (out_w, out_h), dst=out,
                       interpolation=cv2.INTER_CUBIC if enlargement >= 1 else cv2.INTER_AREA)
            used = "bicubic"
        if frame.alpha is not None:
            frame.alpha = cv2.resize(frame.alpha[y:y + ch, x:x + cw], (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        if frame.mask is not None:
            mh, mw = frame.mask.shape
            mx0, my0 = int(x * mw / w), int(y * mh / h)
            mx1, my1 = max(mx0 + 1, round((x + cw) * mw / w)), max(my0 + 1, round((y + ch) * mh / h))
            frame.mask = cv2.resize(frame.mask[my0:my1, mx0:mx1], (mw, mh), interpolation=cv2.INTER_LINEAR)
        return out, used

    def close(self) -> None:
        self._models.clear()

    # -- the work ---------------------------------------------------------------------------------
    def upscale(self, pixels: np.ndarray, *, model: _Model | None | str = "current",
                mask: np.ndarray | None = None, alpha: np.ndarray | None = None) -> np.ndarray:
        """uint8 (H, W, 3|4) → uint8 (sH, sW, 3|4) with `model` (default: the requested tier's).

        Any H and W (the graph's frames are even; single images need not be). `mask`/`alpha` are
        only read with `person_only`. Returns an array of the stage's pool.
        """
        if isinstance(model, str):
            model = self._model(self.tier)
        s = self.scale
        h, w, c = pixels.shape
        out = self._pool.get((h * s, w * s, c))
        box = (0, 0, w, h)
        if model is not None and self.person_only and (alpha is not None or mask is not None):
            # (no mask and no alpha: nobody said where the person is, so the whole frame)
            box = person_box(h, w, alpha=alpha, mask=mask, threshold=self.threshold, margin_px=self.margin_px)
            self.last_box = box
        if model is None or box != (0, 0, w, h):
            cv2.resize(pixels, (w * s, h * s), dst=out, interpolation=cv2.INTER_CUBIC)
            if model is None or box is None:
                return out
        else:  # the network on the whole frame
            self.last_box = box
            model.upscale_into(pixels, out)
            if c == 4:
                out[..., 3] = cv2.resize(np.ascontiguousarray(pixels[..., 3]), (w * s, h * s),
                                         interpolation=cv2.INTER_CUBIC)
            return out
        x0, y0, x1, y1 = box
        ctx = CONTEXT_PX.get(self._tier_of(model), 8)
        cx0, cy0 = max(0, x0 - ctx), max(0, y0 - ctx)
        cx1, cy1 = min(w, x1 + ctx), min(h, y1 + ctx)
        roi = self._roi_pool.get(((cy1 - cy0) * s, (cx1 - cx0) * s, 3))
        model.upscale_into(pixels[cy0:cy1, cx0:cx1], roi)
        inner = roi[(y0 - cy0) * s:(y1 - cy0) * s, (x0 - cx0) * s:(x1 - cx0) * s]
        blend_roi(out, inner, x0 * s, y0 * s, self.feather_px)
        return out

    def _tier_of(self, model: _Model) -> str:
        for tier, m in self._models.items():
            if m is model:
                return tier
        return "xlsr"


# -- files (`litecam upscale` on images) ------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    """An 8-bit BGR or BGRA image (greyscale becomes BGR); `UserError` naming the file otherwise."""
    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"image {path} could not be read (corrupt, or not an image)")
    if image.dtype != np.uint8:
        raise UserError(f"image {path} has {image.dtype.itemsize * 8} bits per channel; "
                        "8-bit images only (convert it to an 8-bit PNG or JPEG)")
    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def write_image(path: Path, image: np.ndarray) -> None:
    """Write under a temporary name, then rename (never a half-written image); JPEG drops alpha."""
    if path.suffix.lower() in (".jpg", ".jpeg") and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        ok = cv2.imwrite(str(partial), image)
    except cv2.error:
        ok = False
    if not ok:
        partial.unlink(missing_ok=True)
        raise UserError(f"could not write {path} (not writable, disk full, or an extension OpenCV cannot write)")
    os.replace(partial, path)


def upscale_files(stage: Upscale, source: Path, out: Path, suffixes) -> int:
    """Upscale one image (to `out`, format by its extension) or every image of a folder (to
    `out/STEM.png`, `out` created). Returns the number of images written. Any size and BGR(A)."""
    if source.is_dir():
        images = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not images:
            raise UserError(f"folder {source} holds no images ({', '.join(sorted(suffixes))})")
        stems = [p.stem for p in images]
        clash = sorted({s for s in stems if stems.count(s) > 1})
        if clash:
            raise UserError(f"folder {source}: images {clash} share a name but not an extension; "
                            "the outputs would overwrite each other (STEM.png)")
        if out.exists() and not out.is_dir():
            raise UserError(f"upscale output {out} exists and is not a folder (a folder input needs a folder output)")
        targets = [(p, out / f"{p.stem}.png") for p in images]
        refuse_overwriting_inputs([dst for _, dst in targets], images)
        make_folder(out, "output folder")
    else:
        if out.suffix.lower() not in suffixes:
            raise UserError(f"upscale output {out}: an image input needs an image output "
                            f"({', '.join(sorted(suffixes))})")
        refuse_overwriting_inputs([out], [source])
        check_writable_file(out, "upscale output")
        targets = [(source, out)]
    stage.load()
    for src, dst in targets:
        write_image(dst, stage.upscale(read_image(src)))
    return len(targets)


# -- measuring: python -m pipeline.stages.upscale [--model-dir DIR] [--repeat N] ---------------------
def _bench(argv=None) -> None:
    """Print median wall and thread-CPU ms per 640×360 frame of each tier, full frame and person_only
    (thread-CPU: the calling thread only, so with 2 threads it misses ORT's worker)."""
    import argparse
    import time
    from fractions import Fraction

    from pipeline.sources.synthetic import SyntheticSource
    from pipeline.stages.segment import Segment

    ap = argparse.ArgumentParser(description=_bench.__doc__)
    ap.add_argument("--model-dir", default=str(MODEL_DIR))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--tiers", default="", help="tiers to time, comma-separated (default: all)")
    ap.add_argument("--engines", default=",".join(ENGINE_CLASSES),
                    help="engines to time, comma-separated (each only on the tiers it runs)")
    args = ap.parse_args(argv)
    src = SyntheticSource(640, 360, 25, frames=1)
    src.open()
    pixels = src.render(0)
    seg = Segment("landscape")
    seg.open(Caps(640, 360, Fraction(25)))
    mask = seg.segment(pixels)
    seg.close()
    print("| scale | tier | engine | threads | person_only | wall ms (median) | thread-CPU ms (median) | box |")
    print("|---:|---|---|---:|---|---:|---:|---|")
    for scale in SCALES:
        for tier in tiers_for(scale):
            if args.tiers and tier not in args.tiers.split(","):
                continue
            engines = [e for e in args.engines.split(",") if ENGINE_CLASSES[e].runs(tier)]
            for engine in (("onnxruntime",) if tier == "bicubic" else engines):
                for threads in [int(t) for t in args.threads.split(",")]:
                    for person_only in ((False,) if tier == "bicubic" else (False, True)):
                        if tier == "bicubic" and threads > 1:
                            continue
                        stage = Upscale(scale, tier, threads=threads, model_dir=args.model_dir,
                                        person_only=person_only, engine=engine, strict=True)
                        stage.open(Caps(640, 360, Fraction(25)))
                        stage.upscale(pixels, mask=mask)
                        wall, cpu = [], []
                        for _ in range(args.repeat):
                            t0, c0 = time.perf_counter(), time.thread_time()
                            stage.upscale(pixels, mask=mask)
                            wall.append((time.perf_counter() - t0) * 1e3)
                            cpu.append((time.thread_time() - c0) * 1e3)
                        print(f"| ×{scale} | {tier} | {stage.engines.get(tier, '')} | {threads} | "
                              f"{'yes' if person_only else 'no'} | {np.median(wall):.1f} | {np.median(cpu):.1f} | "
                              f"{stage.last_box if person_only else ''} |", flush=True)


if __name__ == "__main__":
    _bench()
