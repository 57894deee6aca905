"""The fused compositing kernels against their NumPy references (bit-exact, alpha included)."""

import cv2
import numpy as np
import pytest

from kernels.composite import composite_over_color, composite_over_full, composite_over_small, composite_rgba
from kernels.mask import alpha_from_mask
from kernels.reference import (
    composite_over_color_reference,
    composite_over_full_reference,
    composite_over_small_reference,
    composite_rgba_reference,
    upsample_bg_reference,
)
from kernels.reference import synthetic_mask as blob_mask

CASES = [
    # (frame h, frame w, mask h, mask w, bg_small h, bg_small w)
    (2, 2, 1, 1, 1, 1),
    (3, 5, 2, 2, 2, 3),
    (17, 31, 3, 5, 5, 8),
    (64, 48, 256, 256, 8, 6),
    (720, 1280, 144, 256, 90, 160),
    (241, 427, 256, 256, 31, 54),
]
EDGES = (0.3, 0.7)


def inputs(fh, fw, mh, mw, bh, bw, kind, seed=0):
    rng = np.random.default_rng(seed + fh * 7 + fw)
    frame = rng.integers(0, 256, (fh, fw, 3), dtype=np.uint8)
    mask = rng.random((mh, mw), dtype=np.float32) if kind == "random" else blob_mask(mh, mw)
    bg_small = rng.integers(0, 256, (bh, bw, 3), dtype=np.uint8)
    return frame, mask, bg_small


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["random", "blob"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_over_small_matches_reference(case, kind, with_alpha):
    frame, mask, bg_small = inputs(*case, kind)
    out = np.empty_like(frame)
    alpha = np.empty(frame.shape[:2], np.uint8) if with_alpha else None
    composite_over_small(frame, mask, bg_small, *EDGES, out, alpha)
    ref, ref_alpha = composite_over_small_reference(frame, mask, bg_small, *EDGES)
    np.testing.assert_array_equal(out, ref)
    if with_alpha:
        np.testing.assert_array_equal(alpha, ref_alpha)
        np.testing.assert_array_equal(alpha, alpha_from_mask(mask, *frame.shape[:2], *EDGES))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["random", "blob"])
def test_over_full_matches_reference(case, kind):
    frame, mask, _ = inputs(*case, kind)
    bg = np.ascontiguousarray(frame[::-1, ::-1])
    out, alpha = np.empty_like(frame), np.empty(frame.shape[:2], np.uint8)
    composite_over_full(frame, mask, bg, *EDGES, out, alpha)
    ref, ref_alpha = composite_over_full_reference(frame, mask, bg, *EDGES)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(alpha, ref_alpha)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["random", "blob"])
def test_over_color_matches_reference(case, kind):
    frame, mask, _ = inputs(*case, kind)
    out, alpha = np.empty_like(frame), np.empty(frame.shape[:2], np.uint8)
    composite_over_color(frame, mask, (0, 177, 64), *EDGES, out, alpha)
    ref, ref_alpha = composite_over_color_reference(frame, mask, (0, 177, 64), *EDGES)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(alpha, ref_alpha)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["random", "blob"])
def test_rgba_matches_reference(case, kind):
    frame, mask, _ = inputs(*case, kind)
    out = np.empty(frame.shape[:2] + (4,), np.uint8)
    alpha = np.empty(frame.shape[:2], np.uint8)
    composite_rgba(frame, mask, *EDGES, out, alpha)
    ref, ref_alpha = composite_rgba_reference(frame, mask, *EDGES)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(alpha, ref_alpha)


def test_person_pixels_are_the_frame_and_background_pixels_the_background():
    frame, _, _ = inputs(48, 64, 1, 1, 1, 1, "random")
    bg = np.full_like(frame, 9)
    out = np.empty_like(frame)
    composite_over_full(frame, np.ones((3, 4), np.float32), bg, *EDGES, out)
    np.testing.assert_array_equal(out, frame)
    composite_over_full(frame, np.zeros((3, 4), np.float32), bg, *EDGES, out)
    np.testing.assert_array_equal(out, bg)


def test_bg_sampling_is_within_one_level_of_cv2_bilinear():
    rng = np.random.default_rng(3)
    small = cv2.GaussianBlur(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8), (0, 0), 1.5)
    ours = upsample_bg_reference(small, 720, 1280).astype(int)
    cv = cv2.resize(small, (1280, 720), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(ours - cv).max() <= 1


def test_rejects_mismatched_shapes():
    frame = np.zeros((4, 6, 3), np.uint8)
    mask = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError):
        composite_over_full(frame, mask, np.zeros((4, 5, 3), np.uint8), *EDGES, np.empty_like(frame))
    with pytest.raises(ValueError):
        composite_rgba(frame, mask, *EDGES, np.empty_like(frame))
    with pytest.raises(ValueError):
        composite_over_color(frame, mask, (0, 0, 300), *EDGES, np.empty_like(frame))
