"""The ×1 restore stage: the shipped network on real H.264-decoded webcam frames, pass-through when
off, and what a missing model does."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.bus import Bus
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.stages.restore import Restore
from tests.conftest import shared_data
from tools import eval_real
from tools.sr_data import psnr_y


@pytest.fixture(scope="module")
def webcam_frames() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(originals, the same after a real libx264 CRF 28 round trip): 3 frames of an evaluation clip."""
    clip = eval_real.EVAL_CLIPS[0]
    shared_data("video", clip)
    originals = eval_real.read_frames(eval_real.VIDEO / clip, 3)
    return originals, eval_real.through_codec(originals, "crf28")


def psnr(bgr: np.ndarray, reference: np.ndarray) -> float:
    return psnr_y(bgr[:, :, ::-1], reference[:, :, ::-1], 0)


def test_restore_brings_decoded_webcam_frames_closer_to_the_originals(webcam_frames):
    originals, decoded = webcam_frames
    stage = Restore(strict=True)
    restored = [stage.restore(f) for f in decoded]
    assert all(r.shape == f.shape and r.dtype == np.uint8 for r, f in zip(restored, decoded))
    before = np.mean([psnr(f, o) for f, o in zip(decoded, originals)])
    after = np.mean([psnr(r, o) for r, o in zip(restored, originals)])
    assert after > before + 0.08, (before, after)  # measured +0.15 dB on this clip at CRF 28


def test_the_quality_network_restores_more_than_the_live_one(webcam_frames):
    originals, decoded = webcam_frames
    gains = {}
    for model in ("fast", "quality"):
        stage = Restore(model=model, strict=True)
        gains[model] = np.mean([psnr(stage.restore(f), o) - psnr(f, o) for f, o in zip(decoded, originals)])
    assert gains["quality"] > gains["fast"] + 0.15, gains  # measured +0.46 against +0.13 dB over the clips


def test_the_stage_passes_frames_through_when_off_and_keeps_alpha_when_on(webcam_frames):
    _, decoded = webcam_frames
    stage = Restore(enabled=False, strict=True)
    stage.load()
    frame = stage.process(Frame(decoded[0].copy(), pts_ns=0, seq=0))
    assert np.array_equal(frame.pixels, decoded[0]) and frame.tiers["restore"] == "off"
    stage.update(enabled=True)
    bgra = np.dstack([decoded[0], np.full(decoded[0].shape[:2], 77, np.uint8)])
    frame = stage.process(Frame(bgra, pts_ns=0, seq=1))
    assert frame.tiers["restore"] == "on" and frame.pixels.shape == bgra.shape
    assert (frame.pixels[:, :, 3] == 77).all() and not np.array_equal(frame.pixels[:, :, :3], decoded[0])


def test_an_unknown_restore_network_is_refused():
    with pytest.raises(UserError, match="restore model 'best': expected one of fast, quality"):
        Restore(model="best")


def test_a_missing_model_is_an_error_offline_and_a_warning_live(tmp_path):
    missing = tmp_path / "restore_x1.npz"
    with pytest.raises(UserError, match="restore_x1.npz.*reinstall"):
        Restore(strict=True, model_path=missing).load()
    live = Restore(model_path=missing)
    live.bus = Bus()
    live.load()
    assert not live.enabled
    messages = live.bus.messages()
    assert [m.kind for m in messages] == ["warning"] and "restore is off" in messages[0].text
