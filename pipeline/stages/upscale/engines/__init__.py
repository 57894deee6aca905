"""The upscaler's inference engines, one module each, behind one protocol.

- `base`: the `Engine` protocol (units, invariants) and `TensorEngine`, the base of the ONNX engines;
- `onnxruntime_engine`: ONNX Runtime, CPU provider;
- `openvino_engine`: OpenVINO's CPU runtime in f32 and bf16, with row bands;
- `numba_engine`: the LiteSR network on the project's fused Numba kernel;
- `registry`: `ENGINE_CLASSES` (name → class), `load_engine` (the engine asked for, with its
  fallback) and `auto`'s race between the engines that loaded a model.

Nothing is imported here: import the module you need.
"""
