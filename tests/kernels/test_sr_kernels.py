"""kernels.sr against their NumPy references (bit for bit)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kernels.reference import (
    bgr_to_tensor_reference,
    blend_roi_reference,
    roi_weights_reference,
    shuffled_to_bgr_reference,
    tensor_to_bgr_reference,
)
from kernels.sr import bgr_to_tensor, blend_over_bicubic_x2, blend_roi, detail_fit_x2, shuffled_to_bgr, tensor_to_bgr


@pytest.mark.parametrize("shape", [(7, 5, 3), (36, 64, 3), (10, 12, 4)])
def test_bgr_to_tensor_equals_reference(shape):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, shape, dtype=np.uint8)
    frame[0, 0, :3] = (0, 128, 255)
    out = np.full((1, 3, shape[0], shape[1]), -1, np.float32)
    bgr_to_tensor(frame, out)
    ref = bgr_to_tensor_reference(frame)
    assert np.array_equal(out, ref)
    assert out[0, 0, 0, 0] == 1.0 and out[0, 2, 0, 0] == 0.0  # R first: BGR -> RGB


@pytest.mark.parametrize("channels", [3, 4])
def test_tensor_to_bgr_equals_reference_and_clips(channels):
    rng = np.random.default_rng(2)
    t = rng.uniform(-0.3, 1.3, (1, 3, 9, 11)).astype(np.float32)
    t[0, :, 0, 0] = (np.nan, 0.5 / 255, 254.5 / 255)  # NaN -> 0, rounding at half levels
    t[0, :, 0, 1] = (1.0, 0.0, 2.0)
    out = np.full((9, 11, channels), 7, np.uint8)
    tensor_to_bgr(t, out)
    ref = tensor_to_bgr_reference(t)
    assert np.array_equal(out[..., :3], ref)
    assert tuple(out[0, 1, :3]) == (255, 0, 255)  # B from the tensor's channel 2 (clipped), R from 0
    if channels == 4:
        assert (out[..., 3] == 7).all()  # the alpha is left alone


@pytest.mark.parametrize("scale, planes, channels", [(2, 12, 3), (2, 16, 4), (3, 27, 3)])
def test_shuffled_to_bgr_equals_reference_and_the_pixel_shuffle(scale, planes, channels):
    rng = np.random.default_rng(4)
    t = rng.uniform(-0.3, 1.3, (1, planes, 7, 9)).astype(np.float32)
    t[0, 0, 0, 0] = np.nan
    out = np.full((7 * scale, 9 * scale, channels), 7, np.uint8)
    shuffled_to_bgr(t, scale, 0, out)
    assert np.array_equal(out[..., :3], shuffled_to_bgr_reference(t, scale))
    band = np.zeros((3 * scale, 9 * scale, channels), np.uint8)  # input rows 2..4 only
    shuffled_to_bgr(t, scale, 2, band)
    assert np.array_equal(band[..., :3], out[2 * scale : 5 * scale, :, :3])
    # channel c·s² + i·s + j is colour c (RGB) at (y·s + i, x·s + j): B is the output's channel 0
    last = scale - 1
    expected_red = np.uint8(
        np.int32(np.clip(t[0, last * scale + last, 3, 4], 0, 1) * np.float32(255) + np.float32(0.5))
    )
    assert out[3 * scale + last, 4 * scale + last, 2] == expected_red
    assert out[0, 0, 2] == 0  # NaN -> 0
    if channels == 4:
        assert (out[..., 3] == 7).all()
    # the same as shuffling first and converting with tensor_to_bgr
    shuffled = np.ascontiguousarray(
        t[0, : 3 * scale * scale]
        .reshape(3, scale, scale, 7, 9)
        .transpose(0, 3, 1, 4, 2)
        .reshape(1, 3, 7 * scale, 9 * scale)
    )
    assert np.array_equal(out[..., :3], tensor_to_bgr(shuffled, np.empty((7 * scale, 9 * scale, 3), np.uint8)))


def test_tensor_roundtrip_is_exact():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    t = np.empty((1, 3, 6, 8), np.float32)
    out = np.empty_like(frame)
    tensor_to_bgr(bgr_to_tensor(frame, t), out)
    assert np.array_equal(out, frame)


@pytest.mark.parametrize(
    "x0, y0, h, w, feather",
    [
        (10, 6, 20, 30, 8),  # interior: all four edges feathered
        (0, 0, 20, 30, 8),  # touches the top-left corner: only right and bottom feathered
        (34, 24, 16, 30, 5),  # touches the bottom-right corner
        (0, 0, 40, 64, 8),  # the whole frame: a plain copy
        (10, 6, 20, 30, 0),  # no feather: a hard paste
        (10, 6, 6, 5, 8),  # smaller than the feather band
    ],
)
def test_blend_roi_equals_reference(x0, y0, h, w, feather):
    rng = np.random.default_rng(4)
    dst = rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)
    roi = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ref = blend_roi_reference(dst, roi, x0, y0, feather)
    out = blend_roi(dst.copy(), roi, x0, y0, feather)
    assert np.array_equal(out, ref)


def test_blend_roi_takes_a_view_and_keeps_the_outside():
    dst = np.zeros((40, 64, 3), np.uint8)
    big = np.full((30, 40, 3), 200, np.uint8)
    roi = big[2:22, 3:33]  # a non-contiguous view, as the stage passes the cropped SR output
    out = blend_roi(dst.copy(), roi, 12, 8, 8)
    assert np.array_equal(out, blend_roi_reference(dst, np.ascontiguousarray(roi), 12, 8, 8))
    assert (out[:8] == 0).all() and (out[:, :12] == 0).all()
    assert (out[8 + 8 : 8 + 20 - 8, 12 + 8 : 12 + 30 - 8] == 200).all()  # interior: the ROI itself


def test_roi_weights_ramp_monotonically_over_the_feather():
    wgt = roi_weights_reference(1, 40, 5, 0, 1, 60, 8)[0]
    assert wgt[0] == 16 and wgt[7] == 240 and wgt[8] == 256 and wgt[-1] == 16
    assert (np.diff(wgt[:9]) > 0).all()


def test_blend_over_bicubic_x2_runs_from_opencvs_bicubic_to_the_network():
    rng = np.random.default_rng(5)
    picture = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    picture[:4, :5] = 255  # an edge that overshoots: the bicubic is clipped before the blend
    network = rng.integers(0, 256, (26, 34, 3), dtype=np.uint8)
    rows = picture.reshape(13, -1)

    def blended(weight):
        out = network.copy()
        blend_over_bicubic_x2(rows, out.reshape(26, -1), weight)
        return out.astype(int)

    bicubic = cv2.resize(picture, (34, 26), interpolation=cv2.INTER_CUBIC).astype(int)
    assert np.abs(blended(0.0) - bicubic).max() <= 1  # OpenCV's uint8 path rounds in fixed point
    assert np.array_equal(blended(1.0), network)
    exact = np.clip(cv2.resize(picture.astype(np.float32), (34, 26), interpolation=cv2.INTER_CUBIC), 0, 255)
    expected = np.floor(0.3 * network + 0.7 * exact + 0.5)
    assert np.abs(blended(0.3) - expected).max() <= 1 and np.mean(blended(0.3) != expected) < 0.01


def test_detail_fit_x2_sums_the_added_and_the_real_detail_over_the_float_bicubic():
    """The detail check's sums against NumPy on OpenCV's float bicubic (clipped), rim left out."""
    rng = np.random.default_rng(7)
    picture = rng.integers(0, 256, (40, 58, 3), dtype=np.uint8)
    small = cv2.resize(picture, (29, 20), interpolation=cv2.INTER_AREA)
    network = rng.integers(0, 256, (40, 58, 3), dtype=np.uint8)
    bicubic = np.clip(cv2.resize(small.astype(np.float32), (58, 40), interpolation=cv2.INTER_CUBIC), 0, 255)
    for border in (0, 4):
        rim = np.s_[border : 40 - border, border : 58 - border]
        added = (network[rim] - bicubic[rim]).astype(np.float64)
        real = (picture[rim] - bicubic[rim]).astype(np.float64)
        energy, cross = detail_fit_x2(small.reshape(20, -1), network.reshape(40, -1), picture.reshape(40, -1), border)
        assert energy == pytest.approx(np.sum(added * added), rel=1e-4)
        assert cross == pytest.approx(np.sum(added * real), rel=1e-4)
