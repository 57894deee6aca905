"""The OpenVINO graph rewrites (`pipeline.stages.upscale.openvino_rewrites`), each on its own, on
tiny models built with `onnx.helper` or OpenVINO's opset (real OpenVINO, no mocks), and on the
shipped XLSR files where they are there."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.stages.upscale.catalogue import MODEL_FILES
from pipeline.stages.upscale.engines.openvino_engine import OpenVinoEngine
from pipeline.stages.upscale.openvino_rewrites import (
    constant_values,
    cut_before_shuffle,
    densify_grouped_convolutions,
    output_before_shuffle,
)
from tests.pipeline.upscale_helpers import (
    SHIPPED_XLSR,
    make_fake_model,
    needs_openvino,
    portrait,
    shipped,
)


# -- the network's tail (pixel shuffle and clip) in our kernel -------------------------------------
def tail_model(clip=(0.0, 1.0), mode="depth_first", first_channel=0):
    """An OpenVINO model ending like the exported XLSR: conv to 16 channels, Slice of 12 from
    `first_channel`, DepthToSpace(`mode`, 2), Clamp(`clip`)."""
    ov = needs_openvino()
    import openvino.opset13 as op

    lr = op.parameter(ov.PartialShape([1, 3, -1, -1]), ov.Type.f32, name="lr")
    weights = np.random.default_rng(0).standard_normal((16, 3, 3, 3)).astype(np.float32)
    features = op.convolution(lr, op.constant(weights), [1, 1], [1, 1], [1, 1], [1, 1])
    picked = op.slice(
        features, *(op.constant(np.array([v], np.int64)) for v in (first_channel, first_channel + 12, 1, 1))
    )
    return ov.Model([op.clamp(op.depth_to_space(picked, mode, 2), *clip)], [lr])


def test_the_tail_is_found_only_where_it_is_a_pixel_shuffle_and_a_clip_to_0_1():
    source = output_before_shuffle(tail_model(), 2)
    assert source.get_node().get_type_name() == "Convolution"  # through the Slice of the first channels
    assert source.get_partial_shape()[1].get_length() == 16
    later = output_before_shuffle(tail_model(first_channel=4), 2)
    assert later.get_node().get_type_name() == "Slice"  # channels 4..15: our kernel reads the Slice's output
    assert output_before_shuffle(tail_model(clip=(0.0, 0.9)), 2) is None
    assert output_before_shuffle(tail_model(mode="blocks_first"), 2) is None
    assert output_before_shuffle(tail_model(), 3) is None  # not this scale's shuffle


def onnx_tail_model(path, clip_ops=("Max", "Min")):
    """An ONNX ×2 model (`onnx.helper`) ending Conv to 12 channels → DepthToSpace(CRD, 2) → a clip to
    [0, 1] as two ops (`Max` with 0, `Min` with 1, in the order given), read by OpenVINO."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    ov = needs_openvino()
    x = helper.make_tensor_value_info("lr", TensorProto.FLOAT, ["n", 3, "h", "w"])
    y = helper.make_tensor_value_info("sr", TensorProto.FLOAT, ["n", 3, "ho", "wo"])
    weights = np.random.default_rng(1).standard_normal((12, 3, 3, 3)).astype(np.float32)
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, weights.shape, weights.ravel()),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
    ]
    nodes = [
        helper.make_node("Conv", ["lr", "w"], ["f"], pads=[1, 1, 1, 1]),
        helper.make_node("DepthToSpace", ["f"], ["t0"], blocksize=2, mode="CRD"),
    ]
    for i, op in enumerate(clip_ops):
        out = "sr" if i == len(clip_ops) - 1 else f"t{i + 1}"
        nodes.append(helper.make_node(op, [f"t{i}", "zero" if op == "Max" else "one"], [out]))
    model = helper.make_model(
        helper.make_graph(nodes, "tail", [x], [y], initializer=inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return ov.Core().read_model(str(path))


def test_constant_values_reads_constants_and_nothing_else(tmp_path):
    model = onnx_tail_model(tmp_path / "tail.onnx")
    conv = next(op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution")
    weights = constant_values(conv.input_value(1))
    assert weights.shape == (12, 3, 3, 3) and weights.dtype == np.float32
    assert constant_values(conv.input_value(0)) is None  # the model's input, not a constant


@pytest.mark.parametrize("clip_ops", [("Max", "Min"), ("Min", "Max")])
def test_the_tail_is_found_through_a_clip_of_two_ops_in_either_order(tmp_path, clip_ops):
    model = onnx_tail_model(tmp_path / "tail.onnx", clip_ops)
    source = output_before_shuffle(model, 2)
    assert source is not None and source.get_node().get_type_name() == "Convolution"
    assert source.get_partial_shape()[1].get_length() == 12
    assert output_before_shuffle(onnx_tail_model(tmp_path / "half.onnx", ("Max",)), 2) is None  # no upper bound


def test_the_shipped_contract_of_the_fake_models_is_found_or_left_alone(tmp_path):
    """The test suite's 'sharp' fake (Conv → DepthToSpace CRD → Clip) ends in the pattern; the 'cubic'
    one (Resize) does not."""
    ov = needs_openvino()
    core = ov.Core()
    sharp = core.read_model(str(make_fake_model(tmp_path / "sharp.onnx", 2)))
    assert output_before_shuffle(sharp, 2).get_partial_shape()[1].get_length() == 12
    cubic = core.read_model(str(make_fake_model(tmp_path / "cubic.onnx", 2, "cubic")))
    assert output_before_shuffle(cubic, 2) is None


def test_cut_before_shuffle_gives_the_shuffled_tensor_as_the_output(tmp_path):
    """The cut model's output is the unclipped tensor before the shuffle: shuffled (depth-first) and
    clipped, it is the whole model's output. Where there is no such tail the model is left as it is."""
    ov = needs_openvino()
    core = ov.Core()
    whole = onnx_tail_model(tmp_path / "tail.onnx")
    cut, channels = cut_before_shuffle(onnx_tail_model(tmp_path / "tail.onnx"), 2)
    assert channels == 12 and len(cut.outputs) == 1
    assert [p.get_friendly_name() for p in cut.get_parameters()] == [
        p.get_friendly_name() for p in whole.get_parameters()
    ]
    x = np.random.default_rng(3).random((1, 3, 10, 14), dtype=np.float32)
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    expected = np.array(core.compile_model(whole, "CPU", config).create_infer_request().infer({0: x})[0])
    features = np.array(core.compile_model(cut, "CPU", config).create_infer_request().infer({0: x})[0])
    assert features.shape == (1, 12, 10, 14)
    shuffled = features.reshape(1, 3, 2, 2, 10, 14).transpose(0, 1, 4, 2, 5, 3).reshape(1, 3, 20, 28)
    assert np.abs(np.clip(shuffled, 0, 1) - expected).max() < 1e-6
    cubic = core.read_model(str(make_fake_model(tmp_path / "cubic.onnx", 2, "cubic")))
    assert cut_before_shuffle(cubic, 2) == (cubic, 0)


def test_openvino_stops_the_shipped_xlsr_models_before_their_pixel_shuffle():
    """All three XLSR files end in the pattern (so `litecam upscale` gets the faster tail), and the
    picture is the one the whole model gives on OpenVINO, pixel for pixel."""
    ov = needs_openvino()
    from kernels.sr import bgr_to_tensor, tensor_to_bgr

    core = ov.Core()
    pixels = portrait(96, 64)
    for tier, scale, channels in (("xlsr", 2, 16), ("xlsr", 3, 32), ("xlsr-int8", 2, 16)):
        path = shipped(MODEL_FILES[tier][scale])
        source = output_before_shuffle(core.read_model(str(path)), scale)
        assert source is not None and source.get_partial_shape()[1].get_length() == channels, path.name
        whole_model = core.compile_model(core.read_model(str(path)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        x = bgr_to_tensor(pixels, np.empty((1, 3, 64, 96), np.float32))
        expected = tensor_to_bgr(
            np.array(whole_model.create_infer_request().infer({0: x})[0]),
            np.empty((64 * scale, 96 * scale, 3), np.uint8),
        )
        cut = OpenVinoEngine(path, scale, 1)
        assert cut._shuffle_channels == channels
        out = np.empty_like(expected)
        cut.upscale_into(pixels, out)
        assert np.array_equal(out, expected), path.name


# -- dense grouped convolutions ------------------------------------------------------------------
def f32_outputs(core, models, x: np.ndarray) -> list[np.ndarray]:
    """Each OpenVINO model's first output for input `x`, compiled for the CPU in f32."""
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    return [np.array(core.compile_model(m, "CPU", config).create_infer_request().infer({0: x})[0]) for m in models]


def test_dense_grouped_convolutions_compute_the_same_function():
    """XLSR's three grouped 3×3 convolutions, made dense (block-diagonal weights): the same output in
    f32 to float rounding, and no GroupConvolution left."""
    ov = needs_openvino()
    path = shipped(SHIPPED_XLSR.name)
    core = ov.Core()
    grouped, dense = core.read_model(str(path)), core.read_model(str(path))
    assert densify_grouped_convolutions(dense) == 3
    assert not [op for op in dense.get_ordered_ops() if op.get_type_name() == "GroupConvolution"]
    outputs = f32_outputs(core, (grouped, dense), np.random.default_rng(5).random((1, 3, 40, 56), dtype=np.float32))
    assert outputs[0].shape == (1, 3, 80, 112)
    assert np.abs(outputs[0] - outputs[1]).max() < 1e-5


def test_dense_grouped_convolutions_on_a_tiny_grouped_model(tmp_path):
    """A Conv with group=2 built with `onnx.helper`, made dense: one replaced, none left, the same
    output; a model without grouped convolutions is left alone (0)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    ov = needs_openvino()
    x = helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, 4, "h", "w"])
    y = helper.make_tensor_value_info("sr", TensorProto.FLOAT, [1, 6, "h", "w"])
    weights = np.random.default_rng(2).standard_normal((6, 2, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["lr", "w"], ["sr"], pads=[1, 1, 1, 1], group=2)],
        "grouped",
        [x],
        [y],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, weights.shape, weights.ravel())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "grouped.onnx"
    path.write_bytes(model.SerializeToString())
    core = ov.Core()
    grouped, dense = core.read_model(str(path)), core.read_model(str(path))
    assert densify_grouped_convolutions(dense) == 1
    kinds = [op.get_type_name() for op in dense.get_ordered_ops()]
    assert "GroupConvolution" not in kinds and "Convolution" in kinds
    outputs = f32_outputs(core, (grouped, dense), np.random.default_rng(4).random((1, 4, 12, 9), dtype=np.float32))
    assert outputs[0].shape == (1, 6, 12, 9)
    assert np.abs(outputs[0] - outputs[1]).max() < 1e-5
    assert densify_grouped_convolutions(dense) == 0
