"""The selfie models without MediaPipe's graph: the wheel's `.tflite` files rebuilt as OpenVINO networks.

MediaPipe runs its selfie models inside a calculator graph (image to tensor, TFLite, tensor to mask).
Rebuilt here operator by operator from the very `.tflite` file in the installed mediapipe wheel (read
with the `tflite` flatbuffer package; nothing is shipped or downloaded), the network alone runs on
OpenVINO's CPU plugin on the calling thread, ~20 % cheaper per call than the graph (landscape 1.99 vs
2.56, general 3.59 vs 4.40 CPU-ms on the 2-core AVX2 machine; docs/benchmarks.md), with masks equal
to the graph's within 2e-5.

Layout: the file's NHWC tensors become NCHW; weights are transposed to OpenVINO's layouts. Operators
the two models use: DEQUANTIZE (their weights are float16), CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL,
RELU, HARD_SWISH, LOGISTIC, MEAN (over height and width, kept), AVERAGE_POOL_2D, RESIZE_BILINEAR, and
MediaPipe's custom `Convolution2DTransposeBias` (a transposed convolution plus a bias). Anything else
raises `UnsupportedModel`, and the segment stage stays on MediaPipe.

Input: RGB at the model's size, 0..1 (what MediaPipe's graph feeds it); output: the person probability.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np


class UnsupportedModel(Exception):
    """The `.tflite` file uses something this builder does not rebuild."""


_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}
"""tflite's fused activation codes (NONE, RELU, RELU6)."""


def _same_pads(in_hw, k_hw, s_hw) -> tuple[list[int], list[int]]:
    """TensorFlow's SAME padding: the output is ceil(in / stride), the extra pixel at the end."""
    begin, end = [], []
    for size, kernel, stride in zip(in_hw, k_hw, s_hw):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin, end


class _Builder:
    """Walks one `.tflite` subgraph and builds the same network with OpenVINO's opset."""

    def __init__(self, buffer: bytes):
        import tflite

        self.tflite = tflite
        self.model = tflite.Model.GetRootAsModel(buffer, 0)
        self.graph = self.model.Subgraphs(0)
        self.names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self.constants: dict[int, np.ndarray] = {}
        self.nodes: dict[int, Any] = {}

    def data(self, index: int) -> np.ndarray:
        tensor = self.graph.Tensors(index)
        raw = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(raw, int):
            raise UnsupportedModel(f"tensor {index} has no data")
        dtype = {0: np.float32, 1: np.float16, 2: np.int32}.get(tensor.Type())
        if dtype is None:
            raise UnsupportedModel(f"tensor {index} of type {tensor.Type()}")
        return np.frombuffer(raw.tobytes(), dtype).reshape(tensor.ShapeAsNumpy())

    def constant(self, index: int) -> np.ndarray:
        return self.constants[index] if index in self.constants else self.data(index).astype(np.float32)

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.graph.Tensors(index).ShapeAsNumpy()]

    def options(self, op, kind):
        table = op.BuiltinOptions()
        options = kind()
        if table is not None:
            options.Init(table.Bytes, table.Pos)
        return options, table is not None

    def build(self):
        import openvino as ov
        import openvino.opset13 as opset

        self.opset = opset
        index = self.graph.Inputs(0)
        _, height, width, _ = self.shape(index)
        rgb = opset.parameter([1, 3, height, width], np.float32, name="rgb")
        self.nodes[index] = rgb
        for i in range(self.graph.OperatorsLength()):
            self.operator(self.graph.Operators(i))
        return ov.Model([self.nodes[self.graph.Outputs(0)]], [rgb], "selfie")

    def activation(self, node, code: int):
        kind = _ACTIVATIONS.get(code, "unknown")
        if kind == "unknown":
            raise UnsupportedModel(f"fused activation {code}")
        if kind == "relu":
            return self.opset.relu(node)
        return self.opset.clamp(node, 0.0, 6.0) if kind == "relu6" else node

    def operand(self, index: int):
        """A node, or a constant laid out for NCHW broadcasting."""
        if index in self.nodes:
            return self.nodes[index]
        value = self.constant(index)
        if value.ndim == 4:
            value = value.transpose(0, 3, 1, 2)
        elif value.ndim == 1 and value.size > 1:
            value = value.reshape(1, -1, 1, 1)
        return self.opset.constant(np.ascontiguousarray(value))

    def operator(self, op) -> None:
        """Add one tflite operator to the network (a DEQUANTIZE only records its float32 constant)."""
        tf, opset = self.tflite, self.opset
        code = self.model.OperatorCodes(op.OpcodeIndex())
        name = self.names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        inputs = [int(v) for v in op.InputsAsNumpy()]
        output = int(op.OutputsAsNumpy()[0])
        if name == "DEQUANTIZE":
            self.constants[output] = self.data(inputs[0]).astype(np.float32)
            return
        x = self.nodes.get(inputs[0])
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            options, _ = self.options(op, tf.Conv2DOptions if name == "CONV_2D" else tf.DepthwiseConv2DOptions)
            weights = self.constant(inputs[1])
            strides = [options.StrideH(), options.StrideW()]
            kernel = list(weights.shape[1:3])
            pads = (
                ([0, 0], [0, 0]) if options.Padding() == 1 else _same_pads(self.shape(inputs[0])[1:3], kernel, strides)
            )
            if name == "CONV_2D":
                filters = opset.constant(np.ascontiguousarray(weights.transpose(0, 3, 1, 2)))
                y = opset.convolution(x, filters, strides, pads[0], pads[1], [1, 1])
            else:
                if options.DepthMultiplier() != 1:
                    raise UnsupportedModel("depthwise multiplier other than 1")
                filters = opset.constant(np.ascontiguousarray(weights.transpose(3, 0, 1, 2)[:, None]))
                y = opset.group_convolution(x, filters, strides, pads[0], pads[1], [1, 1])
            if len(inputs) > 2 and inputs[2] >= 0:
                y = opset.add(y, opset.constant(self.constant(inputs[2]).reshape(1, -1, 1, 1)))
            y = self.activation(y, options.FusedActivationFunction())
        elif name == "CUSTOM":
            if code.CustomCode() != b"Convolution2DTransposeBias":
                raise UnsupportedModel(f"custom operator {code.CustomCode()!r}")
            weights, bias = self.constant(inputs[1]), self.constant(inputs[2])
            padding, stride_w, stride_h = (int(v) for v in np.frombuffer(bytes(op.CustomOptionsAsNumpy()), np.int32))
            if padding != 1 or tuple(weights.shape[1:3]) != (stride_h, stride_w):
                raise UnsupportedModel("a transposed convolution whose kernel is not its stride")
            filters = opset.constant(np.ascontiguousarray(weights.transpose(3, 0, 1, 2)))
            y = opset.convolution_backprop_data(
                x, filters, [stride_h, stride_w], pads_begin=[0, 0], pads_end=[0, 0], dilations=[1, 1]
            )
            y = opset.add(y, opset.constant(bias.reshape(1, -1, 1, 1)))
        elif name == "RELU":
            y = opset.relu(x)
        elif name == "HARD_SWISH":
            y = opset.hswish(x)
        elif name == "LOGISTIC":
            y = opset.sigmoid(x)
        elif name in ("ADD", "MUL"):
            a, b = self.operand(inputs[0]), self.operand(inputs[1])
            y = opset.add(a, b) if name == "ADD" else opset.multiply(a, b)
            options, present = self.options(op, tf.AddOptions if name == "ADD" else tf.MulOptions)
            if present:
                y = self.activation(y, options.FusedActivationFunction())
        elif name == "MEAN":
            options, _ = self.options(op, tf.ReducerOptions)
            if sorted(self.data(inputs[1]).tolist()) != [1, 2] or not options.KeepDims():
                raise UnsupportedModel("a mean other than over height and width, kept")
            y = opset.reduce_mean(x, opset.constant(np.array([2, 3], np.int64)), True)
        elif name == "AVERAGE_POOL_2D":
            options, _ = self.options(op, tf.Pool2DOptions)
            kernel, strides = [options.FilterHeight(), options.FilterWidth()], [options.StrideH(), options.StrideW()]
            pads = (
                ([0, 0], [0, 0]) if options.Padding() == 1 else _same_pads(self.shape(inputs[0])[1:3], kernel, strides)
            )
            y = opset.avg_pool(x, strides, pads[0], pads[1], kernel, exclude_pad=True)
            y = self.activation(y, options.FusedActivationFunction())
        elif name == "RESIZE_BILINEAR":
            import openvino.opset11 as opset11

            options, _ = self.options(op, tf.ResizeBilinearOptions)
            mode = (
                "align_corners"
                if options.AlignCorners()
                else "half_pixel"
                if options.HalfPixelCenters()
                else "asymmetric"
            )
            sizes = opset.constant(self.data(inputs[1]).astype(np.int64))
            axes = opset.constant(np.array([2, 3], np.int64))
            y = opset11.interpolate(x, sizes, "linear", "sizes", axes=axes, coordinate_transformation_mode=mode)
        else:
            raise UnsupportedModel(f"operator {name}")
        self.nodes[output] = y


@functools.lru_cache(maxsize=1)
def _core():
    """The process's one OpenVINO runtime (creating one costs ~0.2 s), made on first use."""
    import openvino as ov

    return ov.Core()


class SelfieNetwork:
    """One selfie model from its `.tflite` file on OpenVINO (one inference thread), with
    `SelfieGraph`'s interface: `run(rgb)` → the person probability, float32 (h, w) in [0, 1], of a
    uint8 RGB image at the model's input size. `UnsupportedModel` (or ImportError without the
    `tflite` package) when it cannot be built."""

    def __init__(self, tflite_path: str | Path):
        try:
            model = _Builder(Path(tflite_path).read_bytes()).build()
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:  # a damaged flatbuffer
            raise UnsupportedModel(f"{tflite_path} is not a model this builder reads ({type(exc).__name__})") from None
        compiled = _core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1})
        self._request = compiled.create_infer_request()
        self.input_size = tuple(int(v) for v in model.inputs[0].get_shape()[2:][::-1])
        """(width, height) the model takes."""
        self._tensor = np.empty((1, 3, self.input_size[1], self.input_size[0]), np.float32)

    def run(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.shape[1::-1] != self.input_size:
            raise ValueError(f"the selfie network takes {self.input_size} images, got {rgb.shape[1::-1]}")
        np.multiply(rgb.transpose(2, 0, 1), np.float32(1 / 255), out=self._tensor[0])
        return np.array(self._request.infer({0: self._tensor})[0][0, 0], dtype=np.float32)

    def close(self) -> None:
        del self._request
