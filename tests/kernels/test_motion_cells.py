"""The motion gate's per-cell change (kernels.motion) against OpenCV's area averages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kernels import reference as ref
from kernels.motion import CellGrid, area_segments

MIN_SHARE = 0.02


@pytest.mark.parametrize("source, cells", [(160, 6), (90, 4), (68, 4), (120, 6), (7, 7), (100, 3)])
def test_the_segments_cover_every_pixel_once_and_every_cell_by_its_size(source, cells):
    bounds, cell, weight = area_segments(source, cells)
    per_pixel = np.zeros(source)
    per_cell = np.zeros(cells)
    for (start, end), index, w in zip(bounds, cell, weight):
        per_pixel[start:end] += w
        per_cell[index] += w * (end - start)
    np.testing.assert_allclose(per_pixel, 1.0)
    np.testing.assert_allclose(per_cell, source / cells)


@pytest.mark.parametrize("width, height", [(160, 90), (120, 68), (96, 54), (100, 75)])
def test_cell_changes_equal_opencvs_area_averages(width, height):
    rng = np.random.default_rng(width + height)
    grid = CellGrid(width, height, 6, 4)
    for trial in range(60):
        now = rng.random((height, width), dtype=np.float32) * 255
        before = rng.random((height, width), dtype=np.float32) * 255
        counted = (rng.random((height, width)) < rng.random()).astype(np.float32)
        if trial % 3 == 0:
            counted[:, : rng.integers(0, width)] = 0  # cells with few or no counted pixels
        got = grid.changes(now, before, counted, MIN_SHARE)
        expected = ref.cell_changes_reference(now, before, counted, 6, 4, MIN_SHARE)
        share = cv2.resize(counted, (6, 4), interpolation=cv2.INTER_AREA)
        decided = np.abs(share - MIN_SHARE) > 1e-4  # a share on the 2 % line may fall either way
        np.testing.assert_allclose(got[decided], expected[decided], atol=1e-3)
        assert got.shape == (4, 6) and (got[share < MIN_SHARE - 1e-4] == 0).all()
