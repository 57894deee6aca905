"""alpha_from_mask against its NumPy reference (bit-exact) and against cv2.resize (within 1 level)."""

import numpy as np
import pytest

from kernels.mask import alpha_from_mask, axis_plan, edge_lut
from kernels.reference import alpha_reference, alpha_reference_cv2, axis_plan_reference
from kernels.reference import synthetic_mask as blob_mask

SIZES = [
    # (mask h, mask w, out h, out w)
    (1, 1, 2, 2),
    (1, 1, 7, 5),
    (2, 3, 2, 2),
    (3, 5, 17, 31),
    (144, 256, 720, 1280),
    (256, 256, 720, 1280),
    (144, 256, 75, 129),  # downsampling
    (144, 256, 481, 641),
]
EDGES = [(0.3, 0.7), (0.0, 1.0), (0.5, 0.5), (0.45, 0.55)]


def random_mask(rng, h, w):
    return rng.random((h, w), dtype=np.float32)


@pytest.mark.parametrize("mh,mw,oh,ow", SIZES)
@pytest.mark.parametrize("edges", EDGES)
def test_alpha_matches_reference_exactly_on_random_masks(mh, mw, oh, ow, edges):
    rng = np.random.default_rng(mh * 1000 + ow)
    mask = random_mask(rng, mh, mw)
    np.testing.assert_array_equal(alpha_from_mask(mask, oh, ow, *edges), alpha_reference(mask, oh, ow, *edges))


@pytest.mark.parametrize("mh,mw,oh,ow", SIZES)
def test_alpha_matches_reference_exactly_on_a_blob(mh, mw, oh, ow):
    mask = blob_mask(mh, mw)
    np.testing.assert_array_equal(alpha_from_mask(mask, oh, ow, 0.3, 0.7), alpha_reference(mask, oh, ow, 0.3, 0.7))


@pytest.mark.parametrize("mh,mw,oh,ow", SIZES)
def test_alpha_is_within_one_level_of_cv2_resize(mh, mw, oh, ow):
    rng = np.random.default_rng(7)
    for mask in (random_mask(rng, mh, mw), blob_mask(mh, mw)):
        ours = alpha_from_mask(mask, oh, ow, 0.2, 0.8).astype(int)
        cv = alpha_reference_cv2(mask, oh, ow, 0.2, 0.8).astype(int)
        assert np.abs(ours - cv).max() <= 1


def test_alpha_clamps_out_of_range_and_nan_values():
    mask = np.array([[-1.0, np.nan], [2.0, 1.0]], np.float32)
    a = alpha_from_mask(mask, 2, 2, 0.3, 0.7)
    np.testing.assert_array_equal(a, [[0, 0], [255, 255]])


def test_constant_masks_give_constant_alpha():
    for value, expected in [(0.0, 0), (1.0, 255), (0.5, 128)]:
        a = alpha_from_mask(np.full((5, 7), value, np.float32), 9, 13, 0.3, 0.7)
        assert (a == expected).all()


def test_hard_threshold_when_edges_are_equal():
    mask = np.array([[0.49, 0.51]], np.float32)
    np.testing.assert_array_equal(alpha_from_mask(mask, 1, 2, 0.5, 0.5), [[0, 255]])


def test_writes_into_out():
    out = np.full((4, 6), 7, np.uint8)
    res = alpha_from_mask(np.ones((2, 3), np.float32), 4, 6, 0.3, 0.7, out=out)
    assert res is out and (out == 255).all()


def test_rejects_bad_edges_and_shapes():
    with pytest.raises(ValueError):
        edge_lut(0.7, 0.3)
    with pytest.raises(ValueError):
        alpha_from_mask(np.ones((2, 2, 2), np.float32), 4, 4, 0.3, 0.7)
    with pytest.raises(ValueError):
        alpha_from_mask(np.ones((2, 2), np.float32), 4, 4, 0.3, 0.7, out=np.empty((4, 5), np.uint8))


@pytest.mark.parametrize("src,dst", [(1, 1), (1, 4), (3, 2), (144, 720), (256, 1280), (256, 129), (7, 7)])
def test_axis_plan_matches_reference(src, dst):
    i0, i1, w1 = axis_plan(src, dst)
    r0, r1, rw = axis_plan_reference(src, dst)
    np.testing.assert_array_equal(i0, r0)
    np.testing.assert_array_equal(i1, r1)
    np.testing.assert_array_equal(w1, rw)
