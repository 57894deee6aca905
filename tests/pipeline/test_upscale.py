"""The upscale stage: output, tiers at run time, fallback on missing or broken models, person_only
blending, the shipped models, and a model that fails on real frames.

Most tests run on throwaway ONNX models built with `onnx.helper` (`tests.pipeline.upscale_helpers`,
no torch): the real models come from a training run and may be absent. Tests that need the shipped
files skip, saying so. The catalogue, the engines and the OpenVINO rewrites have test files of their
own (`test_upscale_catalogue`, `test_upscale_engines`, `test_openvino_rewrites`).
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from kernels.reference import synthetic_mask
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.stages.upscale.catalogue import MODEL_FILES
from pipeline.stages.upscale.stage import Upscale, person_box
from tests.pipeline.upscale_helpers import (
    frame_of,
    make_fake_model,
    make_fixed_8x8_model,
    opened,
    portrait,
    shipped,
)


# -- output ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("tier, scale", [("xlsr", 2), ("xlsr", 3), ("esrt", 2), ("xlsr-int8", 2), ("bicubic", 3)])
def test_output_is_scale_times_larger_bgr_uint8(model_dir, tier, scale):
    stage, caps, bus = opened(Upscale(scale, tier, model_dir=model_dir, detail_check=False))
    assert (caps.width, caps.height, caps.channels) == (160 * scale, 96 * scale, 3)
    frame = stage.process(frame_of(portrait()))
    assert frame.pixels.shape == (96 * scale, 160 * scale, 3) and frame.pixels.dtype == np.uint8
    assert frame.pixels.flags.c_contiguous
    assert frame.tiers["upscale"] == tier
    assert not bus.messages("warning")


def test_network_output_is_the_model_run_through_the_kernels(model_dir):
    """Pre/post-processing: the stage's output equals ORT on the float RGB tensor, converted back."""
    import onnxruntime as ort

    pixels = portrait(64, 48)
    stage, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, detail_check=False), 64, 48)
    out = stage.process(frame_of(pixels)).pixels
    session = ort.InferenceSession(str(model_dir / "xlsr_x2.onnx"), providers=["CPUExecutionProvider"])
    rgb = pixels[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
    sr = session.run(None, {"lr": rgb})[0][0]
    expected = (np.clip(sr, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)[..., ::-1]
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert np.abs(out.astype(int) - cv2.resize(pixels, (128, 96), interpolation=cv2.INTER_CUBIC)).max() > 20


def test_frame_size_change_reallocates_and_odd_sizes_work(model_dir):
    stage, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, detail_check=False))
    for h, w in [(96, 160), (48, 64), (31, 17), (96, 160)]:
        out = stage.upscale(np.ascontiguousarray(portrait()[:h, :w]))
        assert out.shape == (2 * h, 2 * w, 3)


def test_bgra_colour_goes_through_the_model_and_alpha_through_bicubic(model_dir):
    pixels = portrait()
    alpha = np.zeros((96, 160), np.uint8)
    alpha[20:80, 40:120] = 255
    bgra = np.dstack([pixels, alpha])
    stage, caps, _ = opened(
        Upscale(2, "xlsr", model_dir=model_dir, engine="onnxruntime", detail_check=False), channels=4
    )
    assert caps.channels == 4
    out = stage.process(frame_of(bgra)).pixels
    plain = Upscale(2, "xlsr", model_dir=model_dir, engine="onnxruntime", detail_check=False)
    plain.open(Caps(160, 96, Fraction(25)))
    assert np.array_equal(out[..., :3], plain.upscale(pixels))
    assert np.array_equal(out[..., 3], cv2.resize(alpha, (320, 192), interpolation=cv2.INTER_CUBIC))


def test_refuses_frames_that_are_not_bgr_or_bgra(model_dir):
    with pytest.raises(GraphError, match="BGR or BGRA"):
        Upscale(2, "bicubic").open(Caps(160, 96, Fraction(25), channels=1))


# -- tiers at run time -----------------------------------------------------------------------------
def test_set_tier_switches_at_the_next_frame_and_is_recorded(model_dir):
    stage, _, bus = opened(Upscale(2, "esrt", model_dir=model_dir))
    pixels = portrait()
    assert stage.tiers == ("esrt", "xlsr", "litesr", "bicubic")
    assert stage.process(frame_of(pixels, seq=0)).tiers["upscale"] == "esrt"
    done = threading.Event()
    threading.Thread(target=lambda: (stage.set_tier("bicubic"), done.set())).start()
    assert done.wait(5)
    f1 = stage.process(frame_of(pixels, seq=1))
    assert f1.tiers["upscale"] == "bicubic" and stage.tier == stage.tier_used == "bicubic"
    assert np.array_equal(f1.pixels, cv2.resize(pixels, (320, 192), interpolation=cv2.INTER_CUBIC))
    stage.set_tier("xlsr")  # preloaded in open()
    assert stage.process(frame_of(pixels, seq=2)).tiers["upscale"] == "xlsr"
    assert [m.text for m in bus.messages("tier")] == ["esrt -> bicubic", "bicubic -> xlsr"]
    with pytest.raises(ValueError, match="does not exist"):
        stage.set_tier("fsrcnn")
    with pytest.raises(ValueError):
        Upscale(3, "xlsr", model_dir=model_dir).set_tier("esrt")


# -- missing and broken models ---------------------------------------------------------------------
def test_missing_model_falls_back_to_bicubic_with_a_warning_naming_the_file(tmp_path):
    stage, _, bus = opened(Upscale(2, "xlsr", model_dir=tmp_path))
    warning, others = bus.messages("warning")  # the requested model, then the ladder's other tiers
    assert str(tmp_path / "xlsr_x2.onnx") in warning.text and "bicubic" in warning.text
    assert "litesr" in others.text and "not offered" in others.text
    assert stage.tier == "bicubic" and stage.tiers == ("bicubic",)  # the scheduler will not pick it
    pixels = portrait()
    frame = stage.process(frame_of(pixels))
    assert frame.tiers["upscale"] == "bicubic"
    assert np.array_equal(frame.pixels, cv2.resize(pixels, (320, 192), interpolation=cv2.INTER_CUBIC))
    stage.process(frame_of(pixels, seq=1))
    assert len(bus.messages("warning")) == 2  # warned once, not every frame


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all" * 10])
def test_corrupt_model_falls_back_live_and_is_a_user_error_when_strict(tmp_path, content):
    (tmp_path / "xlsr_x2.onnx").write_bytes(content)
    _, _, bus = opened(Upscale(2, "xlsr", model_dir=tmp_path))
    assert "xlsr_x2.onnx" in bus.messages("warning")[0].text
    with pytest.raises(UserError, match="xlsr_x2.onnx"):
        opened(Upscale(2, "xlsr", model_dir=tmp_path, strict=True))


def test_model_with_another_contract_is_refused(tmp_path):
    make_fake_model(tmp_path / "xlsr_x2.onnx", 2, names=("input", "output"))
    with pytest.raises(UserError, match="'lr'"):
        opened(Upscale(2, "xlsr", model_dir=tmp_path, strict=True))
    make_fake_model(tmp_path / "xlsr_x2.onnx", 3)  # a ×3 model in the ×2 file
    with pytest.raises(UserError, match="not ×2"):
        opened(Upscale(2, "xlsr", model_dir=tmp_path, strict=True))


def test_live_stage_preloads_every_tier_and_strict_only_the_requested_one(model_dir):
    live, _, _ = opened(Upscale(2, "esrt", model_dir=model_dir))
    assert sorted(live._models) == ["esrt", "litesr", "xlsr"]  # the requested tier and the live ladder's
    offline, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, strict=True))
    assert sorted(offline._models) == ["xlsr"]


def test_switching_to_a_missing_tier_warns_and_uses_bicubic(tmp_path):
    make_fake_model(tmp_path / "xlsr_x2.onnx", 2)
    stage, _, bus = opened(Upscale(2, "esrt", model_dir=tmp_path, preload=False))
    assert stage.process(frame_of(portrait())).tiers["upscale"] == "bicubic"
    assert "esrt_x2.onnx" in bus.messages("warning")[0].text
    assert stage.tiers == ("xlsr", "litesr", "bicubic") and stage.tier == "bicubic"
    stage.set_tier("xlsr")
    assert stage.process(frame_of(portrait(), seq=1)).tiers["upscale"] == "xlsr"
    stage.set_tier("esrt")  # still a tier name at ×2: accepted, and means bicubic
    assert stage.tier == "bicubic" and len(bus.messages("warning")) == 1


# -- person_only -----------------------------------------------------------------------------------
def test_person_box_from_mask_and_from_alpha():
    mask = np.zeros((36, 64), np.float32)
    mask[10:20, 30:40] = 0.9
    box = person_box(360, 640, mask=mask, margin_px=0, align=1)
    assert box == (300, 100, 400, 200)
    box = person_box(360, 640, mask=mask, margin_px=16)
    assert box == (280, 80, 416, 216) and all(v % 8 == 0 for v in box)
    alpha = np.zeros((360, 640), np.uint8)
    alpha[100:200, 301:399] = 255
    assert person_box(360, 640, alpha=alpha, mask=np.zeros((36, 64)), margin_px=0) == (296, 96, 400, 200)
    assert person_box(360, 640, mask=np.zeros((36, 64), np.float32)) is None
    full = np.ones((36, 64), np.float32)
    assert person_box(360, 640, mask=full) == (0, 0, 640, 360)


def test_person_only_is_full_sr_inside_bicubic_outside_and_has_no_seam(model_dir):
    w, h, s, feather = 256, 144, 2, 8
    pixels = portrait(w, h)
    mask = synthetic_mask(36, 64)
    full = Upscale(s, "xlsr", model_dir=model_dir, engine="onnxruntime", detail_check=False)
    full.open(Caps(w, h, Fraction(25)))
    sr = full.upscale(pixels).copy()
    bic = cv2.resize(pixels, (w * s, h * s), interpolation=cv2.INTER_CUBIC).astype(int)
    stage, _, _ = opened(
        Upscale(
            s,
            "xlsr",
            model_dir=model_dir,
            engine="onnxruntime",
            person_only=True,
            feather_px=feather,
            detail_check=False,
        ),
        w,
        h,
    )
    out = stage.process(frame_of(pixels, mask)).pixels.astype(int)
    x0, y0, x1, y1 = (v * s for v in stage.last_box)
    assert 0 < (x1 - x0) * (y1 - y0) < 0.8 * w * h * s * s  # a real box, not the whole frame
    inside = (
        slice(y0 + feather, y1 - feather if y1 < h * s else y1),
        slice(x0 + feather, x1 - feather if x1 < w * s else x1),
    )
    assert np.abs(out[inside] - sr[inside]).max() <= 1
    outside = np.ones(out.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], bic[outside])

    # no seam: at the box border the output is still (almost) the bicubic frame, and it moves
    # toward SR over the feather band: |output - bicubic| <= w(d)·|SR - bicubic| + 1 with
    # w(d) = (2d + 1) / (2·feather) at d pixels inside the border. So the step across the border
    # is the bicubic frame's own step plus at most |SR - bicubic| / 16 + 1; a hard paste jumps
    # by the whole |SR - bicubic| there.
    def border_excess(img):
        """Per ring d (0 = the box's outermost pixels): max of |img - bicubic| - w(d)·|SR - bicubic|."""
        d = np.abs(img - bic).max(axis=2)
        worst = []
        for dist in range(feather):
            wgt = (2 * dist + 1) / (2 * feather)
            ring = []
            if x0 > 0:
                ring.append(d[y0:y1, x0 + dist] - wgt * diff[y0:y1, x0 + dist])
            if y0 > 0:
                ring.append(d[y0 + dist, x0:x1] - wgt * diff[y0 + dist, x0:x1])
            if x1 < w * s:
                ring.append(d[y0:y1, x1 - 1 - dist] - wgt * diff[y0:y1, x1 - 1 - dist])
            worst.append(max(r.max() for r in ring))
        return worst

    diff = np.abs(sr.astype(int) - bic).max(axis=2)
    gap = diff[y0:y1, x0:x1].max()
    assert max(border_excess(out)) <= 1
    step_out = np.abs(out[y0:y1, x0] - out[y0:y1, x0 - 1]).max()
    step_bic = np.abs(bic[y0:y1, x0] - bic[y0:y1, x0 - 1]).max()
    assert step_out <= step_bic + gap / (2 * feather) + 1
    hard, _, _ = opened(
        Upscale(
            s, "xlsr", model_dir=model_dir, engine="onnxruntime", person_only=True, feather_px=0, detail_check=False
        ),
        w,
        h,
    )
    assert border_excess(hard.process(frame_of(pixels, mask)).pixels.astype(int))[0] > gap / 2


def test_person_only_without_a_person_is_all_bicubic(model_dir):
    pixels = portrait()
    stage, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, person_only=True))
    frame = stage.process(frame_of(pixels, np.zeros((24, 40), np.float32)))
    assert stage.last_box is None
    assert np.array_equal(frame.pixels, cv2.resize(pixels, (320, 192), interpolation=cv2.INTER_CUBIC))


def test_person_only_without_any_mask_runs_the_network_on_the_whole_frame(model_dir):
    pixels = portrait()
    stage, _, _ = opened(
        Upscale(2, "xlsr", model_dir=model_dir, engine="onnxruntime", person_only=True, detail_check=False)
    )
    full, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, engine="onnxruntime", detail_check=False))
    assert np.array_equal(stage.process(frame_of(pixels)).pixels, full.process(frame_of(pixels)).pixels)
    assert stage.last_box == (0, 0, 160, 96)


def test_person_only_keeps_bgra_alpha_bicubic(model_dir):
    pixels = portrait()
    alpha = np.zeros((96, 160), np.uint8)
    alpha[20:90, 50:110] = 255
    f = frame_of(np.dstack([pixels, alpha]))
    f.alpha = alpha
    stage, _, _ = opened(Upscale(2, "xlsr", model_dir=model_dir, person_only=True, detail_check=False), channels=4)
    out = stage.process(f)
    assert out.pixels.shape == (192, 320, 4) and out.alpha.shape == (192, 320)
    assert np.array_equal(out.pixels[..., 3], cv2.resize(alpha, (320, 192), interpolation=cv2.INTER_CUBIC))
    assert stage.last_box == (32, 0, 128, 96)


# -- the shipped models ----------------------------------------------------------------------------


@pytest.mark.parametrize("tier, engine", [("xlsr", "auto"), ("litesr", "numba"), ("litesr", "onnxruntime")])
def test_shipped_x2_models_beat_bicubic_on_the_portrait(tier, engine):
    """The demo portrait itself (the 512×512 photo, a 320×384 crop), MATLAB-bicubic ÷2, then ×2 by the
    stage: PSNR-Y against the original above that of OpenCV bicubic. (Not the rendered synthetic
    frames: they are drawn at half size and enlarged, so bicubic is nearly exact on them.)"""
    shipped(MODEL_FILES[tier][2])
    from pipeline.sources.synthetic import load_portrait_bgr
    from tools import sr_data

    crop = np.ascontiguousarray(load_portrait_bgr()[64:448, 96:416, ::-1])
    hr, lr = sr_data.degrade(crop, 2)  # RGB, MATLAB bicubic ÷2
    lr_bgr = np.ascontiguousarray(lr[..., ::-1])
    stage, _, _ = opened(Upscale(2, tier, strict=True, engine=engine), lr.shape[1], lr.shape[0])
    out = stage.upscale(lr_bgr)[..., ::-1]
    bic = cv2.resize(lr_bgr, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC)[..., ::-1]
    assert sr_data.psnr_y(out, hr, 2) > sr_data.psnr_y(bic, hr, 2) + 0.3


@pytest.mark.parametrize("tier, scale", [("xlsr", 3), ("esrt", 2), ("xlsr-int8", 2)])
def test_shipped_models_load_and_run(tier, scale):
    shipped(MODEL_FILES[tier][scale])
    stage, _, bus = opened(Upscale(scale, tier, strict=True), 64, 48)
    out = stage.process(frame_of(portrait(64, 48)))
    assert out.pixels.shape == (48 * scale, 64 * scale, 3) and out.tiers["upscale"] == tier


# -- a model that fails on real frames -------------------------------------------------------------


def _synthetic_graph(model_dir: Path, live: bool):
    from pipeline.graph import Graph
    from pipeline.sinks.null import NullSink
    from pipeline.sources.synthetic import SyntheticSource

    source = SyntheticSource(64, 48, 30, frames=20, live=live)
    upscale = Upscale(2, "xlsr", model_dir=model_dir, strict=not live)
    seen: list[str] = []
    graph = Graph(source, [upscale], [NullSink()])
    graph.on_frame_done = lambda frame: seen.append(frame.tiers["upscale"])
    return graph, seen


def test_live_graph_falls_back_to_the_next_tier_when_a_model_fails_on_frames(tmp_path):
    make_fixed_8x8_model(tmp_path / "xlsr_x2.onnx")
    graph, seen = _synthetic_graph(tmp_path, live=True)
    graph.run()
    warnings = [m.text for m in graph.bus.messages("warning")]
    failure = next(text for text in warnings if "failed on frame" in text)
    assert "upscale failed on frame 0 with tier xlsr" in failure and "going on with bicubic" in failure
    assert seen and set(seen) == {"bicubic"}  # the stream went on, on bicubic
    assert graph.counters["upscale"].dropped == 1  # only the frame that failed
    assert "xlsr" not in graph.stages[0].tiers  # the scheduler will not pick it again


def test_offline_graph_stops_with_the_stage_and_frame_named(tmp_path):
    from pipeline.errors import StageError

    make_fixed_8x8_model(tmp_path / "xlsr_x2.onnx")
    graph, seen = _synthetic_graph(tmp_path, live=False)
    with pytest.raises(StageError, match=r"upscale.*frame 0"):
        graph.run()
    assert seen == []


def test_esrt_runs_in_tiles_that_match_the_whole_frame(monkeypatch):
    """ESRT's attention has no bounded reach, so large frames run in tiles with context (bounded
    memory): on a real Set14 picture the tiled output scores within 0.05 dB of the whole-frame one."""
    import cv2

    from pipeline.stages.upscale import stage as upscale_stage
    from tests.conftest import shared_data
    from tools.sr_data import imresize, modcrop, psnr_y

    hr = modcrop(cv2.imread(str(shared_data("sr", "eval", "Set14", "comic.png")))[:, :, ::-1], 2)
    lr = np.ascontiguousarray(imresize(hr, 0.5, out_uint8=True)[:, :, ::-1])  # BGR, 125x180
    stage = Upscale(2, "esrt", strict=True, threads=2, engine="onnxruntime", detail_check=False)
    stage.load()
    monkeypatch.setattr(upscale_stage, "TILE_PX", 10**6)
    whole = stage.upscale(lr).copy()
    monkeypatch.setattr(upscale_stage, "TILE_PX", 64)  # 2×3 tiles of this small picture
    tiled = stage.upscale(lr).copy()
    assert not np.array_equal(whole, tiled)  # it did run in tiles
    assert abs(psnr_y(tiled[:, :, ::-1], hr, 2) - psnr_y(whole[:, :, ::-1], hr, 2)) < 0.05
