"""A tone curve on every byte of an image, two bytes per lookup.

`cv2.LUT` looks up one byte at a time: ~1.0 CPU-ms for a 1280×720 BGR frame on the 2-core machine.
Looking up byte *pairs* in a 65,536-entry uint16 table (`pair_table`, 128 KB: it stays in L2) halves
the lookups: ~0.55 CPU-ms. The pair table is built from the 256-entry one through the same uint16
view of byte pairs the kernel uses, so it is right whatever the CPU's byte order.
"""

from __future__ import annotations

import numpy as np

from kernels._jit import jit

_PAIRS = np.arange(65536, dtype=np.uint16).view(np.uint8).reshape(-1, 2)
"""Byte pair (as stored in memory) of each uint16 value."""


def pair_table(table: np.ndarray) -> np.ndarray:
    """The uint16 table mapping each byte pair to the pair of `table`'s values (`table`: uint8 (256,))."""
    return np.ascontiguousarray(table[_PAIRS]).view(np.uint16).reshape(-1)


@jit
def apply_pair_table(src: np.ndarray, pairs: np.ndarray, dst: np.ndarray) -> None:
    """dst = table[src] for every byte, with `pairs = pair_table(table)`. `src`, `dst`: C-contiguous
    uint8 arrays of one shape with an even number of bytes (frames have even widths)."""
    a = src.reshape(-1).view(np.uint16)
    b = dst.reshape(-1).view(np.uint16)
    for i in range(a.size):
        b[i] = pairs[a[i]]
