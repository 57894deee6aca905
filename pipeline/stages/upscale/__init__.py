"""Super-resolution: enlarge frames ×2 or ×3 with a small network, or bicubic.

One job per module; import from the module you need (this package imports nothing, so that the
light catalogue does not pull in NumPy, OpenCV or an inference engine):

- `catalogue`: tiers, model files, measured scores, the engine names, `check_upscale`/`check_engine`
  (stdlib only: the command line and the preset loader use it);
- `stage`: the `Upscale` stage (tiers at run time, person_only, crops) and `person_box`;
- `engines`: the `Engine` protocol and one module per inference engine (ONNX Runtime, OpenVINO f32
  and bf16, the Numba LiteSR kernel), the registry and `auto`'s race;
- `openvino_rewrites`: the graph rewrites the OpenVINO engines compile with;
- `files`: `litecam upscale` on images and folders of images.

The engines are timed by `python -m tools.bench.engines`.
"""
