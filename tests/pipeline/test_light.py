"""The light stage (light = auto): a dark picture brought up steadily, a bright one left alone, on
drawn frames and on real webcam recordings made dark (tools.eval_light)."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from kernels import reference as ref
from kernels.tone import apply_pair_table, curve_table, levels_apart, measure_curve, pair_table
from pipeline.caps import Caps
from pipeline.errors import GraphError
from pipeline.frame import Frame
from pipeline.stages import light as light_stage
from pipeline.stages.light import TABLE_STEP_LEVELS, Light, curve_for
from tests.conftest import shared_data


def scene(level: float, seed: int = 0) -> np.ndarray:
    """A 1280×720 picture of varied content whose mean is about `level` of full scale."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((9, 16, 3), dtype=np.float32), (1280, 720), interpolation=cv2.INTER_CUBIC)
    return np.clip(base * 2 * level * 255, 0, 255).astype(np.uint8)


def luma_mean(pixels: np.ndarray) -> float:
    return float(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY).mean()) / 255


def table(gain: float, lift: float) -> np.ndarray:
    out = np.empty(256, np.uint8)
    curve_table(gain, lift, out)
    return out


def test_the_curve_kernels_equal_their_numpy_reference():
    for gain, lift in [(1.0, 0.0), (1.02, 0.0), (1.7, 12.0), (3.0, 40.0), (1.3, 1e-7), (2.2, 0.004)]:
        np.testing.assert_array_equal(table(gain, lift), ref.tone_table_reference(gain, lift))
    lower, higher = table(1.01393, 0.0), table(1.01172, 0.0)
    assert levels_apart(lower, higher) == levels_apart(higher, lower) == 1  # both ways round, no wrap
    assert levels_apart(table(1.7, 12.0), lower) == int(np.abs(table(1.7, 12.0).astype(int) - lower).max())
    constants = tuple(getattr(light_stage, name) for name in ("WHITE", "TARGET_MEAN", "DARK_MEAN", "MAX_GAIN"))
    constants += (light_stage.MAX_LIFT, light_stage.LIFT_STEPS)
    for level in (0.03, 0.1, 0.2, 0.3, 0.45, 0.6):
        for seed in range(3):
            luma = cv2.cvtColor(scene(level, seed)[4::8, 4::8], cv2.COLOR_BGR2GRAY)
            gain, lift = measure_curve(luma, *constants)
            expected = ref.measure_curve_reference(luma, *constants)
            assert gain == pytest.approx(expected[0], abs=1e-12) and lift == pytest.approx(expected[1], abs=1e-9)


def test_the_pair_table_kernel_equals_a_byte_lookup():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)
    curve = table(1.7, 12.0)
    out = np.empty_like(pixels)
    apply_pair_table(pixels, pair_table(curve), out)
    np.testing.assert_array_equal(out, cv2.LUT(pixels, curve))


def test_a_bright_picture_passes_untouched_and_a_dark_one_is_brought_up():
    stage = Light()
    bright = scene(0.55)
    assert stage.correct(bright) is bright and (stage.gain, stage.lift) == (1.0, 0.0)
    dark = scene(0.12)
    out = Light().correct(dark)
    assert luma_mean(dark) < 0.15 and 0.4 < luma_mean(out) < 0.6
    assert out.shape == dark.shape and out.dtype == np.uint8
    order = np.argsort(dark[::7, ::7].ravel(), kind="stable")  # a tone curve: the order of levels is kept
    assert np.all(np.diff(out[::7, ::7].ravel()[order].astype(int)) >= 0)


def test_a_curve_within_one_level_of_the_identity_leaves_the_frame_untouched():
    """A scene dimming a little: the smoothed curve leaves the identity gradually. While it would move
    no level by `TABLE_STEP_LEVELS`, the frame passes as it is (no pass over it); from then on the
    table in use follows the curve, and the report says so."""
    stage = Light()
    bright = scene(0.55)
    assert stage.correct(bright, 0, True) is bright
    dimmer = scene(0.4)
    outs = [stage.correct(dimmer, k * 33_333_333, False) for k in range(1, 60)]
    untouched = [out is dimmer for out in outs]
    first = untouched.index(False)
    assert first >= 1 and all(untouched[:first]) and not any(untouched[first:])  # no flicker back
    assert stage.gain > 1.0  # the curve was already moving before the first step
    assert np.abs(outs[first].astype(int) - dimmer).max() >= TABLE_STEP_LEVELS
    frame = stage.process(Frame(dimmer, pts_ns=60 * 33_333_333, seq=60))
    assert frame.tiers["light"].startswith("auto: gain") and frame.pixels is not dimmer


def test_the_correction_grows_with_the_darkness_and_never_darkens():
    gains = [curve_for(cv2.cvtColor(scene(level)[4::8, 4::8], cv2.COLOR_BGR2GRAY)) for level in (0.1, 0.2, 0.3, 0.45)]
    lifted = [table(gain, lift)[128] for gain, lift in gains]
    assert lifted == sorted(lifted, reverse=True) and min(lifted) >= table(1.0, 0.0)[128]


def test_no_pumping_when_a_light_blinks_or_the_person_moves():
    stage = Light()
    dark = scene(0.12)
    means = []
    for i in range(60):  # 2 s at 30 fps: a lamp in the corner blinks every 5 frames, steps of +60 levels
        pixels = dark.copy()
        if (i // 5) % 2:
            pixels[:200, :300] = np.clip(pixels[:200, :300].astype(int) + 60, 0, 255)
        out = stage.process(Frame(pixels, pts_ns=i * 33_333_333, seq=i, discont=i == 0)).pixels
        means.append(luma_mean(out[300:, 400:900]))  # where the person is, untouched by the lamp
    assert max(means[10:]) - min(means[10:]) < 0.02  # under 5 levels of drift


def test_a_30_fps_stream_is_measured_every_third_frame_and_at_once_after_a_cut(monkeypatch):
    from pipeline.stages import light

    measured = []

    def counting(samples):
        measured.append(samples.shape)
        return curve_for(samples)

    monkeypatch.setattr(light, "curve_for", counting)
    stage = Light()
    dark = scene(0.12)
    for i in range(9):
        stage.process(Frame(dark.copy(), pts_ns=i * 33_333_333, seq=i, discont=i == 0))
    assert len(measured) == 3  # frames 0, 3 and 6
    out = stage.process(Frame(scene(0.55), pts_ns=9 * 33_333_333, seq=9, discont=True))
    assert len(measured) == 4 and stage.gain == 1.0 and stage.lift == 0.0  # a cut: its own curve at once
    assert out.tiers["light"] == "auto: bright enough"


def test_bgra_keeps_its_alpha_and_other_channel_counts_are_refused():
    stage = Light()
    bgra = np.dstack([scene(0.1), np.full((720, 1280), 77, np.uint8)])
    out = stage.correct(bgra)
    assert np.all(out[:, :, 3] == 77) and luma_mean(np.ascontiguousarray(out[:, :, :3])) > 0.3
    with pytest.raises(GraphError, match="BGR or BGRA"):
        stage.open(Caps(64, 36, Fraction(30), channels=1))


def test_the_stage_reports_its_curve_and_goes_off_and_on_live():
    from pipeline.settings import Settings

    stage = Light()
    frame = stage.process(Frame(scene(0.1), pts_ns=0, seq=0, discont=True))
    assert frame.tiers["light"].startswith("auto: gain")
    stage.settings_change(Settings(light="off"), {"light"})()
    dark = scene(0.1)
    frame = stage.process(Frame(dark, pts_ns=1, seq=1))
    assert frame.tiers["light"] == "off" and frame.pixels is dark


def test_real_dark_recordings_are_brought_closer_to_the_originals():
    from tools import eval_light

    shared_data("video", "webcam")
    clip = eval_light.call_recordings("eval")[0]
    rows = {row["darkening"]: row for row in eval_light.score_clip(clip, 30)}
    assert rows["none"]["light"]["psnr"] > 40  # a well-exposed recording is (nearly) left as it is
    for name in ("dim", "dark", "very dark"):
        row = rows[name]
        assert row["light"]["psnr"] > row["dark"]["psnr"] + 8, name
        assert row["light"]["ssim"] > row["dark"]["ssim"], name
        assert row["light"]["mask_iou"] >= row["dark"]["mask_iou"] - 0.005, name
        assert abs(row["pumping"]) < 0.3, name
