"""The shipped super-resolution ONNX models (pipeline/models) run in ONNX Runtime at any size."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.sr._util import MODELS, SHARED_SR
from tools import sr_data as sd

ort = pytest.importorskip("onnxruntime")

SHIPPED = ["xlsr_x2.onnx", "xlsr_x3.onnx", "esrt_x2.onnx", "xlsr_x2_int8.onnx"]


def _session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _scale(name: str) -> int:
    return int(re.search(r"_x(\d)", name).group(1))


def _test_image(h: int, w: int) -> np.ndarray:
    """A 1×3×h×w float32 image in [0, 1] with edges and texture (no data files needed)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack(
        [0.5 + 0.4 * np.sin(xx / 5.0 + yy / 9.0), ((xx // 7 + yy // 7) % 2) * 0.8 + 0.1, (xx + 2 * yy) / (w + 2 * h)],
        axis=0,
    )
    return np.ascontiguousarray(img[None], dtype=np.float32)


def test_all_models_listed_in_the_model_card_are_shipped():
    card = (MODELS / "MODEL_CARD.md").read_text()
    for name in SHIPPED:
        assert (MODELS / name).is_file(), f"{name} missing from pipeline/models"
        assert name in card, f"{name} not described in MODEL_CARD.md"


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("h,w", [(24, 40), (37, 29)])
def test_model_runs_at_dynamic_sizes_with_outputs_in_unit_range(name, h, w):
    sess = _session(MODELS / name)
    assert [i.name for i in sess.get_inputs()] == ["lr"]
    assert [o.name for o in sess.get_outputs()] == ["sr"]
    s = _scale(name)
    y = sess.run(["sr"], {"lr": _test_image(h, w)})[0]
    assert y.shape == (1, 3, h * s, w * s) and y.dtype == np.float32
    assert np.isfinite(y).all() and y.min() >= 0.0 and y.max() <= 1.0


@pytest.mark.parametrize("name", ["xlsr_x2.onnx", "esrt_x2.onnx"])
def test_batch_of_two_matches_two_single_runs(name):
    sess = _session(MODELS / name)
    a, b = _test_image(20, 24), _test_image(20, 24)[:, :, ::-1].copy()
    both = sess.run(["sr"], {"lr": np.concatenate([a, b])})[0]
    np.testing.assert_allclose(both[0], sess.run(["sr"], {"lr": a})[0][0], atol=1e-5)
    np.testing.assert_allclose(both[1], sess.run(["sr"], {"lr": b})[0][0], atol=1e-5)


def test_int8_xlsr_is_close_to_fp32():
    x = _test_image(48, 64)
    fp = _session(MODELS / "xlsr_x2.onnx").run(["sr"], {"lr": x})[0]
    q = _session(MODELS / "xlsr_x2_int8.onnx").run(["sr"], {"lr": x})[0]
    mse = float(np.mean((fp - q) ** 2))
    assert 10 * np.log10(1.0 / mse) > 35.0  # the two agree to better than 35 dB
    assert np.abs(fp - q).mean() < 0.01


@pytest.mark.needs_shared_data
def test_xlsr_x2_beats_bicubic_on_one_set5_image():
    path = SHARED_SR / "eval" / "Set5" / "bird.png"
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/data)")
    hr, lr = sd.degrade(sd.load_rgb(path), 2)
    x = np.ascontiguousarray(lr.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    y = _session(MODELS / "xlsr_x2.onnx").run(["sr"], {"lr": x})[0][0].transpose(1, 2, 0)
    sr = np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)
    bic = sd.imresize(lr, 2, out_uint8=True)
    assert sd.psnr_y(sr, hr, 2) > sd.psnr_y(bic, hr, 2) + 1.0
