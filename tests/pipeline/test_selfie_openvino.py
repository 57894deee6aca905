"""The selfie models rebuilt from the wheel's .tflite files as OpenVINO networks give MediaPipe's masks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.stages.segment import Segment
from pipeline.stages.selfie_openvino import SelfieNetwork, UnsupportedModel
from tests.conftest import shared_data


@pytest.mark.parametrize("model", ["landscape", "general"])
def test_the_rebuilt_network_gives_mediapipes_masks_on_real_frames(model):
    from tools.eval_people import read_clip
    from tools.eval_real import VIDEO

    shared_data("video", "webcam")
    frames = read_clip(VIDEO / "webcam/asl_again.mkv", 12)[::3] + read_clip(VIDEO / "talking_head_410x412.mp4", 4)
    engines = {name: Segment(model, roi=False, engine=name) for name in ("openvino", "mediapipe")}
    try:
        for segment in engines.values():
            segment.open(Caps(640, 480, Fraction(30)))
        assert engines["openvino"].engines[model] == "openvino"
        assert engines["mediapipe"].engines[model] == "mediapipe"
        for frame in frames:
            ours, theirs = (engines[name].segment(frame) for name in ("openvino", "mediapipe"))
            assert ours.shape == theirs.shape and ours.dtype == np.float32
            assert np.abs(ours - theirs).max() < 1e-4
    finally:
        for segment in engines.values():
            segment.close()


def test_a_file_that_is_not_a_model_is_refused_and_auto_falls_back(tmp_path, monkeypatch):
    from pipeline.stages import segment as segment_module

    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(UnsupportedModel, match="not a model"):
        SelfieNetwork(broken)
    monkeypatch.setitem(segment_module.SELFIE_FILES, "landscape", str(broken))
    auto = Segment("landscape", roi=False, engine="auto")
    auto.open(Caps(64, 36, Fraction(30)))
    try:
        assert auto.engines["landscape"] == "mediapipe" and auto.engines["general"] == "openvino"
    finally:
        auto.close()
    with pytest.raises(UserError, match="segment_engine openvino: the landscape model could not be built"):
        Segment("landscape", roi=False, engine="openvino").open(Caps(64, 36, Fraction(30)))
