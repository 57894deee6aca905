"""Rewrites of an OpenVINO model graph that the OpenVINO engines apply before compiling.

Pure functions of a model read by `openvino.Core().read_model` (each leaves the input/output
contract alone and computes the same picture):

- `output_before_shuffle` / `cut_before_shuffle`: find the network's final pixel shuffle and clip to
  [0, 1] and stop the model before them; `kernels.sr.shuffled_to_bgr` then does that tail's work in
  the one pass that converts the output to uint8 BGR, instead of three passes over the ×s² larger
  output;
- `densify_grouped_convolutions`: grouped convolutions as dense ones with block-diagonal weights,
  which keep AMX's bf16 tiles busy (only the bf16 engine on an AMX CPU uses it: in f32 dense is
  slower).

OpenVINO is imported inside the functions that build nodes, so importing this module needs NumPy only.
"""

from __future__ import annotations

import numpy as np


def constant_values(output) -> np.ndarray | None:
    """The values of an OpenVINO node output that is a Constant, else None."""
    node = output.get_node()
    return np.asarray(node.get_data()) if node.get_type_name() == "Constant" else None


def output_before_shuffle(model, scale: int):
    """The tensor an OpenVINO `model`'s final pixel shuffle reads, or None.

    Matches a model that ends in DepthToSpace(depth_first, block `scale`) then a clip to [0, 1]
    (Maximum 0 and Minimum 1, either order, or Clamp(0, 1)) — what `tools.export_onnx` writes for
    XLSR — looking through a Slice of the first channels before it (XLSR's output convolution is
    padded to 16 channels). The tensor has at least 3·scale² channels, in DepthToSpace's
    depth-first order, unclipped."""
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
        values = [constant_values(node.input_value(i)) for i in range(2)]
        if (values[0] is None) == (values[1] is None):
            return None
        data = 0 if values[1] is not None else 1
        bound = values[1 - data]
        if bound is None or bound.size != 1:
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
        start, _, step, axes = (constant_values(producer.input_value(i)) for i in range(1, 5))
        if (
            start is not None
            and step is not None
            and axes is not None
            and start.tolist() == [0]
            and step.tolist() == [1]
            and axes.tolist() in ([1], [-3])
        ):
            source = producer.input_value(0)
    channels = source.get_partial_shape()[1]
    if channels.is_dynamic or channels.get_length() < 3 * scale * scale:
        return None
    return source


def cut_before_shuffle(model, scale: int):
    """(model, channels): `model` stopped before its final pixel shuffle and clip where
    `output_before_shuffle` finds them, with the channels of its new output; else (`model`, 0)
    unchanged. The new model keeps the input parameter and the friendly name."""
    source = output_before_shuffle(model, scale)
    if source is None:
        return model, 0
    import openvino as ov

    return ov.Model([source], model.get_parameters(), model.get_friendly_name()), source.get_partial_shape()[
        1
    ].get_length()


def densify_grouped_convolutions(model) -> int:
    """Replace, in an OpenVINO `model` (in place), each GroupConvolution whose weights fold to a
    constant by the equal dense Convolution (block-diagonal weights, zeros between the groups);
    returns how many. Runs constant folding first, so weights computed from constants count.

    Why: AMX tiles multiply 32 bf16 input channels at once, so XLSR's 3×3 convolutions in four
    groups of 8 channels leave most of each tile idle; dense, with 4× the multiply-adds, they run
    faster in bf16 on AMX, and slower in f32 (measured)."""
    import openvino.opset13 as opset
    from openvino import passes

    manager = passes.Manager()
    manager.register_pass(passes.ConstantFolding())
    manager.run_passes(model)
    replaced = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "GroupConvolution":
            continue
        weights = constant_values(op.input_value(1))
        if weights is None or weights.ndim != 5 or weights.dtype != np.float32:
            continue
        groups, out_per_group, in_per_group = weights.shape[:3]
        dense = np.zeros((groups * out_per_group, groups * in_per_group, *weights.shape[3:]), np.float32)
        for g in range(groups):
            dense[g * out_per_group : (g + 1) * out_per_group, g * in_per_group : (g + 1) * in_per_group] = weights[g]
        attrs = op.get_attributes()
        conv = opset.convolution(
            op.input_value(0),
            opset.constant(dense),
            attrs["strides"],
            attrs["pads_begin"],
            attrs["pads_end"],
            attrs["dilations"],
            attrs["auto_pad"],
        )
        op.output(0).replace(conv.output(0))
        replaced += 1
    return replaced
