"""downscaled_blur, upsampled the way the compositor samples it, looks like a full-resolution Gaussian."""

import math

import cv2
import numpy as np
import pytest
from skimage import data

from kernels import reference as ref
from kernels.blur import blur_factor, downscaled_blur, halve, renormalised_blur, small_size


@pytest.fixture(scope="module")
def astronaut_720p():
    img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return cv2.resize(img, (1280, 720), interpolation=cv2.INTER_AREA)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255.0**2 / mse)


@pytest.mark.parametrize("strength", [4, 12, 20])
def test_upsampled_small_blur_matches_full_resolution_gaussian(astronaut_720p, strength):
    small = downscaled_blur(astronaut_720p, strength)
    assert small.shape[:2] == small_size(1280, 720, blur_factor(strength))[::-1]
    up = ref.upsample_bg_reference(small, 720, 1280)
    full = cv2.GaussianBlur(astronaut_720p, (0, 0), strength)
    assert psnr(up, full) > 38


def test_a_wrong_sigma_would_fail_the_bound(astronaut_720p):
    """The PSNR bound is tight enough to catch a blur of the wrong strength."""
    up = ref.upsample_bg_reference(downscaled_blur(astronaut_720p, 12), 720, 1280)
    assert psnr(up, cv2.GaussianBlur(astronaut_720p, (0, 0), 6)) < 38
    assert psnr(up, cv2.GaussianBlur(astronaut_720p, (0, 0), 20)) < 38


def test_factor_grows_with_strength_and_is_a_power_of_two():
    factors = [blur_factor(s) for s in (0.5, 2, 4, 8, 12, 20, 100)]
    assert factors == sorted(factors) and factors[0] == 1
    assert all(f & (f - 1) == 0 for f in factors)


def test_small_and_odd_frames():
    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (2, 2), (3, 5), (33, 17)]:
        frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        small = downscaled_blur(frame, 12)
        assert small.dtype == np.uint8 and small.ndim == 3 and small.shape[2] == 3
        assert small.shape[:2] == small_size(w, h, blur_factor(12))[::-1]


def test_constant_frame_stays_constant():
    frame = np.full((48, 64, 3), 77, np.uint8)
    assert (downscaled_blur(frame, 10) == 77).all()


def test_rejects_non_positive_strength():
    with pytest.raises(ValueError):
        downscaled_blur(np.zeros((4, 4, 3), np.uint8), 0)


def test_halving_is_bit_identical_to_opencvs_inter_area_whatever_the_size_or_layout():
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    images = [frame, frame[:, :, ::-1], frame[100:371, 7:1001], frame[:90, :160].copy(), frame[:, :, 0].copy()]
    for image in images:  # even BGR (the kernel), a reversed-channel view, odd sizes, one channel (OpenCV)
        h, w = image.shape[:2]
        expected = cv2.resize(image, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
        assert np.array_equal(halve(image, 2), expected)
    three_halvings = frame
    for size in ((640, 360), (320, 180), (160, 90)):
        three_halvings = cv2.resize(three_halvings, size, interpolation=cv2.INTER_AREA)
    assert np.array_equal(halve(frame, 8), three_halvings)


def test_halve_reuses_and_fills_a_shared_cache_of_levels_without_letting_callers_write_into_it():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    levels = {}
    quarter = halve(image, 4, levels)
    assert sorted(levels) == [2, 4] and levels[4] is quarter
    assert np.array_equal(quarter, halve(image, 4))  # the same pixels as without a cache
    assert halve(image, 2, levels) is levels[2]  # reused, not recomputed
    assert np.array_equal(halve(image, 8, levels), halve(image, 8)) and 8 in levels
    kept = {f: a.copy() for f, a in levels.items()}
    blurred = downscaled_blur(image, 12.0, levels=levels)  # factor 8: blurs a copy, not the cached level
    assert all(np.array_equal(levels[f], kept[f]) for f in kept)
    assert np.array_equal(blurred, downscaled_blur(image, 12.0))


@pytest.mark.parametrize("sigma", [0.0, 1.4, 3.0])
def test_renormalised_blur_matches_the_float_formula(astronaut_720p, sigma):
    small = cv2.resize(astronaut_720p, (160, 90), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:90, 0:160]
    # a soft disc whose values run out of range at both ends
    person = np.clip((80 - np.hypot(xx - 80, yy - 60)) / 10, -0.5, 1.5).astype(np.float32)
    person[0, 0] = np.nan
    expected = ref.renormalised_blur_reference(small, person, sigma)
    got = renormalised_blur(small, person, sigma)
    assert got.shape == small.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - expected).max() <= 1
