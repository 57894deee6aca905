"""Shared pieces of the upscale tests: throwaway SR models built with `onnx.helper` (no torch), the
synthetic portrait, an opened stage, and the shipped-model and OpenVINO skips.

The real models come from a training run and may be absent: `shipped` skips, saying so.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.bus import Bus
from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.stages.upscale.catalogue import MODEL_DIR, MODEL_FILES
from pipeline.stages.upscale.stage import Upscale

SHIPPED_XLSR = MODEL_DIR / "xlsr_x2.onnx"


def make_fake_model(path: Path, scale: int, kind: str = "sharp", names=("lr", "sr")) -> Path:
    """A tiny valid SR model with the shipped contract (`lr` N×3×H×W RGB -> `sr` ×scale, dynamic H, W).

    kind 'sharp': a 3×3 conv to 3·s² channels (nearest-neighbour taps plus a Laplacian sharpen) and
    DepthToSpace, clipped to [0, 1] — clearly not bicubic, local like XLSR. kind 'cubic': Resize(cubic).
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    s = scale
    x = helper.make_tensor_value_info(names[0], TensorProto.FLOAT, ["n", 3, "h", "w"])
    y = helper.make_tensor_value_info(names[1], TensorProto.FLOAT, ["n", 3, "ho", "wo"])
    lo = helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0])
    hi = helper.make_tensor("hi", TensorProto.FLOAT, [], [1.0])
    if kind == "cubic":
        scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, s, s])
        nodes = [
            helper.make_node("Resize", ["lr_in", "", "scales"], ["up"], mode="cubic"),
            helper.make_node("Clip", ["up", "lo", "hi"], [names[1]]),
        ]
        inits = [scales, lo, hi]
    else:
        w = np.zeros((3 * s * s, 3, 3, 3), np.float32)
        for c in range(3):
            for k in range(s * s):
                o = c * s * s + k  # DepthToSpace CRD: channel c·s² + (i·s + j)
                w[o, c, 1, 1] = 1.0 + 0.6
                w[o, c, 0, 1] = w[o, c, 2, 1] = w[o, c, 1, 0] = w[o, c, 1, 2] = -0.15
        weights = helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel())
        nodes = [
            helper.make_node("Conv", ["lr_in", "w"], ["f"], pads=[1, 1, 1, 1]),
            helper.make_node("DepthToSpace", ["f"], ["up"], blocksize=s, mode="CRD"),
            helper.make_node("Clip", ["up", "lo", "hi"], [names[1]]),
        ]
        inits = [weights, lo, hi]
    nodes.insert(0, helper.make_node("Identity", [names[0]], ["lr_in"]))
    graph = helper.make_graph(nodes, "fake_sr", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def make_fake_lite_weights(path: Path, scale: int, detail: float = 0.0) -> Path:
    """LiteSR weights for the numba engine (`<name>.npz`: 1 → 2 → s² channels): with detail 0 it adds
    nothing to bicubic, like a `cubic` fake ONNX model, so every engine gives the same picture."""
    rng = np.random.default_rng(0)
    np.savez(
        path,
        w0=rng.random((2, 1, 3, 3), dtype=np.float32),
        b0=np.zeros(2, np.float32),
        w1=np.full((scale * scale, 2, 3, 3), detail, np.float32),
        b1=np.zeros(scale * scale, np.float32),
    )
    return path


def write_fake_models(folder: Path) -> Path:
    """`folder` with every model file (throwaway: esrt and litesr are Resize-cubic, the xlsr ones
    'sharp'; litesr's numba weights add no detail, so both of its engines give bicubic). Test modules
    make it their `model_dir` fixture."""
    for tier, by_scale in MODEL_FILES.items():
        for scale, name in by_scale.items():
            make_fake_model(folder / name, scale, "cubic" if tier in ("esrt", "litesr") else "sharp")
            if tier == "litesr":
                make_fake_lite_weights((folder / name).with_suffix(".npz"), scale)
    return folder


def portrait(width: int = 160, height: int = 96) -> np.ndarray:
    from pipeline.sources.synthetic import SyntheticSource

    src = SyntheticSource(width, height, 25, frames=1)
    src.open()
    return src.render(0)


def frame_of(pixels, mask=None, seq=0) -> Frame:
    return Frame(pixels=pixels, pts_ns=seq * 40_000_000, seq=seq, mask=mask)


def opened(stage: Upscale, width=160, height=96, channels=3) -> tuple[Upscale, Caps, Bus]:
    bus = Bus()
    stage.bus = bus
    caps = stage.open(Caps(width, height, Fraction(25), channels=channels))
    return stage, caps, bus


def shipped(name: str) -> Path:
    path = MODEL_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not there yet (made by python -m tools.train_sr + python -m tools.export_onnx)")
    return path


def needs_openvino():
    return pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")


def make_fixed_8x8_model(path: Path) -> Path:
    """A ×2 model whose input is fixed at 8×8: it passes the load-time probe (an 8×8 frame) and
    raises in ONNX Runtime on any real frame ("invalid dimensions")."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("sr", TensorProto.FLOAT, [1, 3, 16, 16])
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    graph = helper.make_graph(
        [helper.make_node("Resize", ["lr", "", "scales"], ["sr"], mode="nearest")],
        "fixed",
        [x],
        [y],
        initializer=[scales],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def outputs_by_engine(tier: str, engines, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """engine -> the shipped `tier` model's ×2 of `pixels` (int array) on that engine, asked for by name."""
    outputs = {}
    for engine in engines:
        h, w = pixels.shape[:2]
        stage, _, _ = opened(Upscale(2, tier, engine=engine, strict=True, detail_check=False), w, h)
        assert stage.engines == {tier: engine}
        outputs[engine] = stage.upscale(pixels).astype(int)
    return outputs
