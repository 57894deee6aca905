"""Reusable output arrays for stages, so a frame's new pixels cost no fresh allocation."""

from __future__ import annotations

import sys

import numpy as np


class ArrayPool:
    """uint8 arrays by shape, each handed out again only once nothing else references it (no
    frame in a ring, no view of it held by a sink). Keeps at most `max_arrays`, oldest evicted."""

    def __init__(self, max_arrays: int = 8):
        self._arrays: list[np.ndarray] = []
        self._max = max_arrays

    def get(self, shape: tuple[int, ...]) -> np.ndarray:
        for arr in self._arrays:
            # references: the list, the loop variable, getrefcount's argument — nothing else
            if arr.shape == shape and sys.getrefcount(arr) <= 3:
                return arr
        arr = np.empty(shape, np.uint8)
        if len(self._arrays) >= self._max:
            self._arrays.pop(0)
        self._arrays.append(arr)
        return arr
