"""Guided-filter, temporal and full-alpha compositing kernels against their NumPy references."""

import cv2
import numpy as np
import pytest

from kernels import reference as ref
from kernels.composite import (
    composite_color_with_alpha,
    composite_full_with_alpha,
    composite_rgba_with_alpha,
    composite_small_with_alpha,
)
from kernels.guided import apply_guided, box_mean, guided_coefficients
from kernels.temporal import temporal_update


def scene(h=90, w=160, seed=0):
    """A frame with a bright disc (the 'person') on a textured background, and a coarse mask of it
    whose edge is offset by a few pixels from the true one."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    disc = np.hypot(xx - w * 0.5, yy - h * 0.6) < h * 0.35
    frame = rng.integers(20, 90, (h, w, 3), dtype=np.uint8)
    frame[disc] = rng.integers(170, 240, (int(disc.sum()), 3), dtype=np.uint8)
    coarse = np.hypot(xx - w * 0.5 - 3, yy - h * 0.6) < h * 0.35
    return np.ascontiguousarray(frame), disc, coarse.astype(np.float32)


@pytest.mark.parametrize("shape,r", [((7, 9, 1), 1), ((37, 53, 4), 3), ((20, 31, 2), 8)])
def test_box_mean_matches_reference_including_mirrored_borders(shape, r):
    src = np.random.default_rng(1).random(shape).astype(np.float32)
    np.testing.assert_allclose(box_mean(src, r), ref.box_mean_reference(src, r), atol=1e-6)


def test_guided_coefficients_match_reference():
    frame, _, coarse = scene()
    luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    got = guided_coefficients(luma, coarse, 2, 1e-4)
    want = ref.guided_coefficients_reference(luma, coarse, 2, 1e-4)
    assert got.shape == (90, 160, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-3)


@pytest.mark.parametrize("size,edges", [((160, 90), (0.25, 0.75)), ((321, 181), (0.3, 0.7)), ((100, 50), (0.5, 0.5))])
def test_apply_guided_matches_reference_within_one_level(size, edges):
    w, h = size
    frame, _, coarse = scene(h, w, seed=2)
    small = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    p = cv2.resize(coarse, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
    coef = guided_coefficients(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (p >= 0.5).astype(np.float32), 2, 1e-4)
    got = apply_guided(frame, coef, *edges)
    want = ref.apply_guided_reference(frame, coef, *edges)
    diff = np.abs(got.astype(int) - want)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.001 * diff.size


def test_guided_refinement_snaps_an_offset_mask_to_the_image_edge():
    frame, disc, coarse = scene(180, 320)
    small = cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA)
    p = cv2.resize(coarse, (160, 90), interpolation=cv2.INTER_LINEAR)
    coef = guided_coefficients(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (p >= 0.5).astype(np.float32), 2, 1e-4)
    refined = apply_guided(frame, coef, 0.25, 0.75) >= 128
    raw = cv2.resize(coarse, (320, 180), interpolation=cv2.INTER_LINEAR) >= 0.5
    err = lambda m: np.count_nonzero(m != disc)  # noqa: E731
    assert err(refined) < 0.5 * err(raw)


def test_apply_guided_fills_flat_cells_exactly():
    frame, _, _ = scene()
    coef = np.zeros((45, 80, 2), np.float32)
    coef[:, :40, 1] = 1.0  # left half: q = 1 whatever the pixel
    alpha = apply_guided(frame, coef, 0.25, 0.75)
    assert (alpha[:, :70] == 255).all() and (alpha[:, 90:] == 0).all()


def random_temporal_inputs(seed):
    """(p, diff, ema, state) of a 30x40 matte: random masks, small luma changes, random states."""
    rng = np.random.default_rng(seed)
    return (
        rng.random((30, 40)).astype(np.float32),
        rng.integers(0, 12, (30, 40), dtype=np.uint8),
        rng.random((30, 40)).astype(np.float32),
        (rng.random((30, 40)) > 0.5).astype(np.uint8),
    )


def test_temporal_update_matches_reference_and_keeps_state_in_the_band():
    p, diff, ema, state = random_temporal_inputs(3)
    want_e, want_s, want_out = ref.temporal_reference(p, diff, ema, state, 0.3, 6.0, 0.1)
    out = np.empty_like(p)
    temporal_update(p, diff, ema, state, 0.3, 6.0, 0.1, out)
    np.testing.assert_allclose(ema, want_e, atol=1e-6)
    in_band = np.abs(want_e - 0.5) < 0.1 - 1e-5
    assert np.array_equal(state[~in_band], want_s[~in_band]) and np.array_equal(out, state.astype(np.float32))


def test_temporal_update_soft_output_is_the_ema_pushed_out_of_the_band_on_its_state_side():
    p, diff, ema, state = random_temporal_inputs(5)
    out = np.empty_like(p)
    temporal_update(p, diff, ema, state, 0.3, 6.0, 0.15, out, True)
    expected = np.where(state.astype(bool), np.maximum(ema, np.float32(0.65)), np.minimum(ema, np.float32(0.35)))
    assert np.array_equal(out, expected)
    assert not ((out > 0.35) & (out < 0.65)).any()  # nothing left inside the band


def test_temporal_update_follows_motion_at_once_and_smooths_still_pixels():
    p = np.array([[1.0, 1.0]], np.float32)
    ema = np.zeros((1, 2), np.float32)
    state = np.zeros((1, 2), np.uint8)
    out = np.empty_like(p)
    temporal_update(p, np.array([[0, 50]], np.uint8), ema, state, 0.3, 6.0, 0.1, out)
    assert ema[0, 1] == 1.0 and out[0, 1] == 1.0  # moving: taken as is
    assert abs(ema[0, 0] - 0.3) < 1e-6 and out[0, 0] == 0.0  # still: smoothed, below the band


def test_temporal_update_reads_nan_and_out_of_range_masks_clamped():
    p = np.array([[np.nan, -0.5, 1.5, 0.25]], np.float32)
    ema = np.full((1, 4), 0.5, np.float32)
    state = np.zeros((1, 4), np.uint8)
    temporal_update(p, np.full((1, 4), 50, np.uint8), ema, state, 0.3, 6.0, 0.1, np.empty_like(p))
    assert ema.tolist() == [[0.0, 0.0, 1.0, 0.25]]  # moving pixels take the clamped mask as it is


def test_full_alpha_composites_equal_the_blend_reference():
    frame, _, coarse = scene(72, 128, seed=4)
    alpha = np.ascontiguousarray(ref.alpha_reference(coarse[::2, ::2], 72, 128, 0.3, 0.7))
    alpha[5, 5:9] = [0, 255, 17, 200]
    out = np.empty_like(frame)
    small = cv2.resize(frame, (16, 9), interpolation=cv2.INTER_AREA)
    composite_small_with_alpha(frame, alpha, small, out)
    assert np.array_equal(out, ref.blend_reference(frame, ref.upsample_bg_reference(small, 72, 128), alpha))
    bg = np.ascontiguousarray(frame[::-1, ::-1])
    assert np.array_equal(composite_full_with_alpha(frame, alpha, bg, out), ref.blend_reference(frame, bg, alpha))
    flat = np.empty_like(frame)
    flat[:] = (10, 200, 30)
    assert np.array_equal(
        composite_color_with_alpha(frame, alpha, (10, 200, 30), out), ref.blend_reference(frame, flat, alpha)
    )
    out4 = np.empty((72, 128, 4), np.uint8)
    assert np.array_equal(composite_rgba_with_alpha(frame, alpha, out4), np.dstack([frame, alpha]))


def test_full_alpha_composite_refuses_a_wrong_alpha():
    frame, _, _ = scene(8, 8)
    with pytest.raises(ValueError, match="alpha must be"):
        composite_full_with_alpha(frame, np.zeros((8, 7), np.uint8), frame.copy(), np.empty_like(frame))
