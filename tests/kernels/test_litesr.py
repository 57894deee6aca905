"""kernels.litesr (the live super-resolution network as fused band kernels) against its NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.litesr import BAND_ROWS, LiteSRKernel
from kernels.reference import litesr_detail_reference, litesr_reference


def random_layers(channels=(1, 5, 6, 4), seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.4, (co, ci, 3, 3)).astype(np.float32) for ci, co in zip(channels, channels[1:])]
    biases = [rng.normal(0, 0.05, co).astype(np.float32) for co in channels[1:]]
    return weights, biases


def smooth_frame(h, w, channels=3, seed=1):
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (h, w, channels), dtype=np.uint8), (5, 5), 1.2)


@pytest.mark.parametrize("h, w", [(7, 5), (BAND_ROWS, 33), (2 * BAND_ROWS + 1, 40), (90, 160)])
def test_matches_the_reference_across_band_edges_and_odd_sizes(h, w):
    weights, biases = random_layers()
    frame = smooth_frame(h, w)
    ref = litesr_reference(frame, weights, biases, 2)
    out = litesr_reference(frame, [np.zeros_like(x) for x in weights], [np.zeros_like(b) for b in biases], 2)
    LiteSRKernel(weights, biases, 2).add_detail(frame, out)
    diff = np.abs(out.astype(int) - ref)
    assert diff.max() <= 1 and diff.mean() < 0.02  # float32 sums against float64: rounding at .5 only
    detail = litesr_detail_reference(frame, weights, biases, 2)
    assert np.abs(detail).max() > 20  # the layers really add detail: this is not comparing bicubic with itself


def test_a_gain_scales_the_detail_added():
    """The detail check's share of the detail: gain g adds g × the detail (0: bicubic as it is)."""
    weights, biases = random_layers()
    frame = smooth_frame(40, 48)
    bicubic = litesr_reference(frame, [np.zeros_like(x) for x in weights], [np.zeros_like(b) for b in biases], 2)
    detail = litesr_detail_reference(frame, weights, biases, 2)
    assert np.abs(detail).max() > 20  # the layers really add detail
    untouched = bicubic.copy()
    LiteSRKernel(weights, biases, 2).add_detail(frame, untouched, 0.0)
    assert np.array_equal(untouched, bicubic)
    out = bicubic.copy()
    LiteSRKernel(weights, biases, 2).add_detail(frame, out, 0.4)
    expected = np.clip(np.floor(bicubic + 0.4 * detail[..., None] + 0.5), 0, 255)
    assert np.abs(out.astype(int) - expected).max() <= 1 and np.mean(out != expected) < 0.02


@pytest.mark.parametrize("scale", [2, 3])
def test_depth_to_space_order_and_scale(scale):
    """Channel dy·s + dx of the last layer lands on output pixel (s·y + dy, s·x + dx)."""
    w0 = np.zeros((1, 1, 3, 3), np.float32)
    w0[0, 0, 1, 1] = 1.0  # identity on luma
    w1 = np.zeros((scale * scale, 1, 3, 3), np.float32)
    b1 = np.zeros(scale * scale, np.float32)
    b1[scale + 1 if scale > 1 else 0] = 10 / 255  # +10 levels on subpixel (1, 1) only
    frame = np.full((6, 8, 3), 100, np.uint8)
    out = np.full((6 * scale, 8 * scale, 3), 100, np.uint8)
    LiteSRKernel([w0, w1], [np.zeros(1, np.float32), b1], scale).add_detail(frame, out)
    hit = np.zeros((6 * scale, 8 * scale), bool)
    hit[1::scale, 1::scale] = True
    assert (out[hit] == 110).all() and (out[~hit] == 100).all()


def test_clips_and_leaves_alpha_and_works_on_strided_crops_and_bgra():
    weights, biases = random_layers(seed=3)
    big = smooth_frame(60, 80, channels=4)
    crop = big[5:45, 10:70]  # a strided view, BGRA
    ref = litesr_reference(np.ascontiguousarray(crop), weights, biases, 2)
    out = np.zeros((80, 120, 4), np.uint8)
    out[...] = litesr_reference(
        np.ascontiguousarray(crop), [np.zeros_like(x) for x in weights], [np.zeros_like(b) for b in biases], 2
    )
    alpha_before = out[..., 3].copy()
    LiteSRKernel(weights, biases, 2).add_detail(crop, out)
    assert np.abs(out[..., :3].astype(int) - ref[..., :3]).max() <= 1
    assert np.array_equal(out[..., 3], alpha_before)
    strong = [w * 20 for w in weights]
    out3 = np.full((80, 120, 3), 128, np.uint8)
    LiteSRKernel(strong, biases, 2).add_detail(crop, out3)
    assert out3.min() == 0 and out3.max() == 255  # clipped, not wrapped


def test_refuses_layers_that_do_not_chain_and_outputs_of_the_wrong_size():
    weights, biases = random_layers()
    with pytest.raises(ValueError, match="first layer"):
        LiteSRKernel(weights[1:], biases[1:], 2)
    with pytest.raises(ValueError, match="chain"):
        LiteSRKernel([weights[0], weights[2]], [biases[0], biases[2]], 2)
    kernel = LiteSRKernel(weights, biases, 2)
    with pytest.raises(ValueError, match="out must be"):
        kernel.add_detail(smooth_frame(10, 10), np.zeros((20, 22, 3), np.uint8))
