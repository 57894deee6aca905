"""MATLAB-compatible bicubic imresize and the PSNR-Y / SSIM metrics (tools.sr_data)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.sr._util import SHARED_SR
from tools import sr_data as sd


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 2, 3])
def test_constant_image_stays_constant(scale):
    img = np.full((30, 24, 3), 77.0)
    out = sd.imresize(img, scale)
    assert out.shape == (int(np.ceil(30 * scale)), int(np.ceil(24 * scale)), 3)
    np.testing.assert_allclose(out, 77.0, atol=1e-9)


def test_halving_a_linear_ramp_samples_it_between_pixel_pairs():
    # MATLAB maps output pixel j (0-based) to input coordinate 2j + 0.5; the cubic kernel reproduces
    # linear functions exactly away from the (mirrored) borders.
    ramp = np.tile(np.arange(40, dtype=np.float64), (8, 1))
    out = sd.imresize(ramp, 0.5)
    assert out.shape == (4, 20)
    np.testing.assert_allclose(out[:, 2:-2], np.tile(2 * np.arange(2, 18) + 0.5, (4, 1)), atol=1e-9)


def test_weight_rows_sum_to_one_and_downscale_is_antialiased():
    m = sd._weight_matrix(64, 32, 0.5, True)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-12)
    # antialiased ×0.5 kernel spans 8 input taps; plain bicubic 4
    assert (np.abs(m[10]) > 0).sum() == 8
    assert (np.abs(sd._weight_matrix(64, 32, 0.5, False)[10]) > 0).sum() == 4
    # a ±1 checkerboard (Nyquist) is almost removed by antialiased downscaling
    cb = (np.indices((64, 64)).sum(0) % 2) * 2.0 - 1.0
    assert np.abs(sd.imresize(cb, 0.5)[4:-4, 4:-4]).max() < 0.02


def test_uint8_output_rounds_and_clips():
    img = np.zeros((16, 16), np.uint8)
    img[:, 8:] = 255
    out = sd.imresize(img, 2, out_uint8=True)
    assert out.dtype == np.uint8 and out.shape == (32, 32)
    assert out.min() == 0 and out.max() == 255  # overshoot clipped


def test_y_channel_range_and_grey():
    assert sd.rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == pytest.approx(16.0)
    assert sd.rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == pytest.approx(235.0)
    grey = np.full((4, 4), 128, np.uint8)
    np.testing.assert_allclose(sd.rgb_to_y(grey), sd.rgb_to_y(np.stack([grey] * 3, -1)))


def test_metrics_identical_and_known_noise():
    rng = np.random.default_rng(0)
    a = rng.uniform(16, 235, (64, 64))
    assert sd.psnr(a, a) == float("inf")
    assert sd.ssim(a, a) == pytest.approx(1.0)
    b = a + 2.0  # MSE 4 → 10·log10(255²/4)
    assert sd.psnr(a, b, border=2) == pytest.approx(10 * np.log10(255**2 / 4.0))
    noise = rng.normal(0, 1, a.shape)
    assert 1.0 > sd.ssim(a, a + 5 * noise) > sd.ssim(a, a + 20 * noise) > sd.ssim(a, a + 60 * noise)


@pytest.mark.needs_shared_data
def test_bicubic_on_set5_matches_the_reference_protocol():
    set5 = SHARED_SR / "eval" / "Set5"
    if not set5.is_dir():
        pytest.skip(f"{set5} is absent (../shared/data)")
    # per-image value measured with this code (published MATLAB: baby 37.07 dB)
    hr, lr = sd.degrade(sd.load_rgb(set5 / "baby.png"), 2)
    assert sd.psnr_y(sd.imresize(lr, 2, out_uint8=True), hr, 2) == pytest.approx(37.092, abs=0.05)
    # set means from ../shared/data/README.md: 33.68 dB at ×2, 30.40 dB at ×3
    for scale, ref in ((2, 33.68), (3, 30.40)):
        scores = []
        for p in sd.list_images(set5):
            hr, lr = sd.degrade(sd.load_rgb(p), scale)
            scores.append(sd.psnr_y(sd.imresize(lr, scale, out_uint8=True), hr, scale))
        assert np.mean(scores) == pytest.approx(ref, abs=0.02)
