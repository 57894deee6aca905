"""ONNX Runtime (CPU provider) as an upscaler engine.

One session per model: `intra_op_num_threads=threads` (default 1: the graph already runs its stages
in parallel threads on few cores), `inter_op_num_threads=1`, `ORT_SEQUENTIAL`, `ORT_ENABLE_ALL`, and
no spin-waiting between ops (a spinning ORT thread would steal the core the segmentation thread
needs). The input and output tensors are NumPy buffers bound once per frame size through
`io_binding()` (OrtValues over the same memory), so a frame allocates nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.stages.upscale.engines.base import TensorEngine


class OnnxRuntimeEngine(TensorEngine):
    """ONNX Runtime, CPU provider; the buffers are bound once per size through `io_binding()`.
    Refuses a model whose input is not `lr` or whose output is not `sr` (the export contract)."""

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
            raise ValueError(
                f"expected input 'lr' and output 'sr', found {[i.name for i in inputs]} -> {[o.name for o in outputs]}"
            )
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
