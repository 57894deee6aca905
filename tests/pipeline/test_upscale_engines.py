"""The upscaler's inference engines: the protocol they all implement, their agreement on real
frames, ONNX Runtime's session options, OpenVINO's row bands and bf16, the Numba LiteSR engine,
`auto`'s race, fallbacks when an engine is missing or cannot run a model, and that the registry
offers exactly the catalogue's engine names."""

from __future__ import annotations

import inspect

import cv2
import numpy as np
import pytest

from pipeline.errors import UserError
from pipeline.stages.upscale.catalogue import (
    ENGINES,
    MODEL_FILES,
    RECEPTIVE_RADIUS_PX,
)
from pipeline.stages.upscale.engines import openvino_engine
from pipeline.stages.upscale.engines.base import Engine
from pipeline.stages.upscale.engines.openvino_engine import (
    OpenVinoEngine,
    cpu_has_native_bf16,
)
from pipeline.stages.upscale.engines.registry import ENGINE_CLASSES
from pipeline.stages.upscale.stage import Upscale
from tests.pipeline.upscale_helpers import (
    SHIPPED_XLSR,
    needs_openvino,
    opened,
    outputs_by_engine,
    portrait,
    shipped,
)


# -- the protocol ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ENGINE_CLASSES))
def test_every_engine_implements_the_protocol(model_dir, name):
    """Each registered class is a concrete `Engine` named as registered; loaded on a tier it runs, it
    writes the ×2 BGR picture into the caller's preallocated buffer (no other array comes back) and
    leaves the input alone, at any frame size."""
    cls = ENGINE_CLASSES[name]
    assert issubclass(cls, Engine) and not inspect.isabstract(cls) and cls.engine == name
    if name.startswith("openvino"):
        needs_openvino()
    if not cls.suits_this_cpu():
        pytest.skip(f"{name} does not suit this CPU")
    tier = next(t for t in ("xlsr", "litesr") if cls.runs(t))
    engine = cls(model_dir / MODEL_FILES[tier][2], 2, 1)
    assert engine.bands >= 1 and engine.scale == 2
    for h, w in ((48, 64), (31, 17)):
        pixels = np.ascontiguousarray(portrait()[:h, :w])
        before = pixels.copy()
        out = np.zeros((2 * h, 2 * w, 3), np.uint8)
        assert engine.upscale_into(pixels, out) is None
        assert np.array_equal(pixels, before) and out.any()


def test_the_registry_has_an_engine_for_each_name_of_the_catalogue():
    """One list of engine names: the catalogue's (`--engine`, the presets, the stage), and the
    registry holds a class for each but `auto`, in the same order."""
    assert ENGINES == ("auto", *ENGINE_CLASSES)


def test_session_options_threads_and_preallocated_io(model_dir):
    stage, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, threads=2, engine="onnxruntime", detail_check=False))
    model = stage._models["xlsr"]
    options = model.session.get_session_options()
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    stage.upscale(portrait())
    inp, out, _ = model._bindings[(96, 160, 0)]
    stage.upscale(portrait())
    assert model._bindings[(96, 160, 0)][0] is inp  # the same bound buffers, frame after frame


# -- inference engines -----------------------------------------------------------------------------


def test_engines_agree_on_a_real_frame_with_the_shipped_model():
    """ONNX Runtime and OpenVINO run the same file: outputs within 1 level (float error ~1e-6)."""
    pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")
    if not SHIPPED_XLSR.is_file():
        pytest.skip(f"{SHIPPED_XLSR} is not shipped in this checkout")
    pixels = portrait(320, 180)
    outputs = outputs_by_engine("xlsr", ("onnxruntime", "openvino"), pixels)
    assert np.abs(outputs["onnxruntime"] - outputs["openvino"]).max() <= 1


def test_bf16_engine_stays_within_a_few_levels_of_f32_on_a_real_frame():
    """OpenVINO in bf16 (8-bit mantissas) against f32 on the shipped XLSR: at most 6 levels apart,
    under half a level on average (it costs 0.015 dB PSNR-Y on Set5, measured with
    `python -m tools.eval_sr --engines openvino-bf16`)."""
    pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")
    if not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16 (AMX-BF16 or AVX512-BF16): the engine is not offered")
    shipped(SHIPPED_XLSR.name)
    pixels = portrait(320, 180)
    outputs = outputs_by_engine("xlsr", ("openvino", "openvino-bf16"), pixels)
    diff = np.abs(outputs["openvino"] - outputs["openvino-bf16"])
    assert 0 < diff.max() <= 6 and diff.mean() < 0.5


# -- OpenVINO row bands ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["openvino", "openvino-bf16"])
def test_row_bands_on_two_threads_give_the_whole_frame_output(engine):
    needs_openvino()
    if engine == "openvino-bf16" and not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16 (AMX-BF16 or AVX512-BF16)")
    shipped(SHIPPED_XLSR.name)
    pixels = portrait(320, 180)
    outputs = {}
    for threads in (1, 2):
        stage, _, _ = opened(
            Upscale(2, "xlsr", engine=engine, strict=True, threads=threads, detail_check=False), 320, 180
        )
        assert stage._models["xlsr"].bands == threads
        assert stage._models["xlsr"].halo == RECEPTIVE_RADIUS_PX["xlsr"]  # the least that is exact
        outputs[threads] = stage.upscale(pixels).copy()
    assert np.array_equal(outputs[1], outputs[2])


@pytest.mark.parametrize("tier", ["xlsr", "litesr"])
def test_the_receptive_radius_is_the_halo_bands_need_and_no_less(tier):
    """×2 in two bands with `RECEPTIVE_RADIUS_PX` rows of overlap (the engines' halo) equals the whole
    frame; with one row less the rows next to the cut differ (so the radius is neither too small nor
    padded)."""
    needs_openvino()
    path = shipped(f"{tier}_x2.onnx")
    pixels = portrait(320, 180)
    whole = np.empty((360, 640, 3), np.uint8)
    OpenVinoEngine(path, 2, 1).upscale_into(pixels, whole)
    radius = RECEPTIVE_RADIUS_PX[tier]
    for halo in (radius, radius - 1):
        banded = np.zeros_like(whole)
        model = OpenVinoEngine(path, 2, 2, halo=halo)
        assert model.bands == 2
        model.upscale_into(pixels, banded)
        differs = np.flatnonzero((banded != whole).any(axis=(1, 2)))
        if halo == radius:
            assert differs.size == 0
        else:  # only output rows within the missing context of the cut at input row 90
            assert differs.size > 0 and differs.min() >= 2 * (90 - radius) and differs.max() < 2 * (90 + radius)


def test_bf16_engine_on_a_cpu_without_bf16(model_dir, monkeypatch):
    """Where the CPU flags lack AMX-BF16/AVX512-BF16, auto does not try it (no warning), and asked for
    by name it is one warning live (then ONNX Runtime) and a clear error offline."""
    monkeypatch.setattr(openvino_engine, "cpu_model_and_flags", lambda: ("x86-64 without bf16", frozenset({"avx2"})))
    auto, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir))
    assert auto.engines["xlsr"] != "openvino-bf16" and not bus.messages("warning")
    live, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir, engine="openvino-bf16", preload=False))
    (warning,) = bus.messages("warning")
    assert "openvino-bf16" in warning.text and "no native bf16" in warning.text
    assert live.engines == {"xlsr": "onnxruntime"}
    with pytest.raises(UserError, match=r"--engine openvino-bf16 cannot run .*no native bf16"):
        opened(Upscale(2, "xlsr", model_dir=model_dir, engine="openvino-bf16", strict=True))


def test_litesr_engines_agree_on_a_real_frame_with_the_shipped_model():
    """The numba engine (OpenCV's bicubic, then the fused layers from `litesr_x2.npz`) against ONNX
    Runtime and OpenVINO running `litesr_x2.onnx` (bicubic inside the graph): within 2 levels, 0.35
    on average (OpenCV's uint8 bicubic is rounded before the detail is added, the graph's float Resize
    is not: two roundings against one, ~1/4 of the values one level apart). Also proves the two
    shipped files hold the same weights."""
    pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")
    shipped(MODEL_FILES["litesr"][2])
    pixels = portrait(320, 180)
    outputs = outputs_by_engine("litesr", ("numba", "onnxruntime", "openvino"), pixels)
    bicubic = cv2.resize(pixels, (640, 360), interpolation=cv2.INTER_CUBIC).astype(int)
    assert np.abs(outputs["numba"] - bicubic).mean() > 0.3  # the network does change the picture
    for engine in ("onnxruntime", "openvino"):
        diff = np.abs(outputs["numba"] - outputs[engine])
        assert diff.max() <= 2 and diff.mean() < 0.35, engine


def test_the_numba_engine_runs_litesr_only(model_dir):
    """auto never tries numba on another tier (no warning); asked for explicitly, it falls back live
    (one warning naming the model, ONNX Runtime) and is a clear error offline."""
    auto, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir))
    assert auto.engines["litesr"] in ("numba", "onnxruntime", "openvino") and not bus.messages("warning")
    (info,) = [m for m in bus.messages("info") if m.data.get("tier") == "litesr"]
    assert "numba" in info.data["ms"]
    live, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir, engine="numba", preload=False))
    (warning,) = bus.messages("warning")
    assert "numba" in warning.text and "xlsr_x2" in warning.text and "onnxruntime" in warning.text
    assert live.engines == {"xlsr": "onnxruntime"}
    with pytest.raises(UserError, match=r"--engine numba cannot run .*xlsr_x2.onnx.*LiteSR"):
        opened(Upscale(2, "xlsr", model_dir=model_dir, engine="numba", strict=True))


def test_auto_measures_the_installed_engines_and_keeps_the_fastest(model_dir):
    pytest.importorskip("openvino", reason="OpenVINO is not installed")
    stage, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir))
    (info,) = [m for m in bus.messages("info") if m.data.get("tier") == "xlsr"]
    bf16 = {"openvino-bf16"} if cpu_has_native_bf16() else set()
    assert set(info.data["ms"]) == {"onnxruntime", "openvino"} | bf16
    assert stage.engines["xlsr"] == info.data["engine"] == min(info.data["ms"], key=info.data["ms"].get)
    assert "160x96" in info.text


def test_the_command_line_and_presets_offer_exactly_the_stages_engines(tmp_path):
    """`litecam upscale --engine` and the preset key `sr_engine` take exactly the catalogue's engines."""
    import argparse

    from pipeline.cli import build_parser
    from pipeline.presets import load_preset

    assert ENGINES == ("auto", *ENGINE_CLASSES)
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    (engine,) = [a for a in commands.choices["upscale"]._actions if "--engine" in a.option_strings]
    assert tuple(engine.choices) == ENGINES
    preset = tmp_path / "engine.toml"
    for name in ENGINES:
        preset.write_text(f'sr_engine = "{name}"\n')
        assert load_preset(str(preset)).sr_engine == name
    preset.write_text('sr_engine = "tensorrt"\n')
    with pytest.raises(UserError, match="sr_engine"):
        load_preset(str(preset))


def test_an_engine_that_is_not_installed(model_dir, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "openvino", None)  # `import openvino` fails as uninstalled
    auto, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir))
    assert auto.engines["xlsr"] == "onnxruntime" and not bus.messages("warning")  # auto: silently what is there
    live, _, bus = opened(Upscale(2, "xlsr", model_dir=model_dir, engine="openvino", preload=False))
    (warning,) = bus.messages("warning")
    assert "openvino" in warning.text and "pip install openvino" in warning.text and "onnxruntime" in warning.text
    assert live.engines == {"xlsr": "onnxruntime"} and live.tier == "xlsr"
    with pytest.raises(UserError, match=r"--engine openvino cannot run .*xlsr_x2.onnx.*pip install openvino"):
        opened(Upscale(2, "xlsr", model_dir=model_dir, engine="openvino", strict=True))
    with pytest.raises(UserError, match="choose one of auto, openvino, openvino-bf16, onnxruntime, numba"):
        Upscale(2, "xlsr", engine="tensorrt")
