"""Run the person model only when the picture changed: a cheap motion gate for the segment stage.

In a call the picture barely changes from one frame to the next; running the selfie model on every
frame pays its fixed cost for nothing. `MotionGate` looks at a small luma thumbnail of each frame
(the frame halved while it stays at least `THUMB_WIDTH` wide, from the frame's cache of reductions)
and compares it, cell by cell (`GRID` cells), with the thumbnail of the frame the model last ran on.
The model runs when

* the frame is a `discont` (a cut, a seek, a reconnect), or nothing has run yet;
* some cell's mean |Δluma| exceeds `threshold` levels (something moved there; a cut or a light
  switched on changes every cell), the mean taken over the pixels outside the person's interior
  (the last mask, eroded by `INTERIOR_PX` thumbnail pixels): a face talking or a hand moving in
  front of the body does not change the silhouette, while whatever crosses its edge or moves in the
  background still counts, and counts fully in a cell the person mostly fills;
* `max_gap_s` of media time passed since the model last ran (a minimum model rate);

otherwise the last mask is used again as it is (the matte stage smooths it over time as any mask).
Moving it with the person's measured motion (phase correlation of the thumbnails within their box)
was tried and scored worse on every measure on the tuning recordings — lower IoU against the
every-frame masks and twice the flicker: a signing person's hands make the measured shift jitter,
and a small true motion is already below the threshold (docs/benchmarks.md, "Mask reuse").

`decide(...)` says whether to run; after a run, `ran(...)` makes that frame (and its mask) the reference.
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels.blur import halve
from kernels.motion import CellGrid

THUMB_WIDTH = 96
"""The thumbnail is the frame halved while it stays at least this wide."""
GRID = (6, 4)
"""Cells (columns, rows) of the thumbnail compared one by one."""
MAX_GAP_S = 0.2
"""The longest media time between two model runs, by default (5 runs a second at least)."""
INTERIOR_PX = 4
"""Thumbnail pixels (8 frame pixels each at 720p) the person's mask is eroded by to make the interior
whose changes are not counted; 0: count every pixel."""
MIN_COUNTED_SHARE = 0.02
"""A cell with fewer counted (non-interior) pixels than this share is all interior: change 0."""


def thumbnail(pixels: np.ndarray, levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """float32 luma (0..255) of `pixels` (BGR or BGRA) halved while at least `THUMB_WIDTH` wide."""
    factor = 1
    while pixels.shape[1] // (2 * factor) >= THUMB_WIDTH:
        factor *= 2
    if pixels.shape[2] == 4:
        pixels, levels = np.ascontiguousarray(pixels[:, :, :3]), None
    small = halve(pixels, factor, levels) if factor > 1 else pixels
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)


class MotionGate:
    """Whether the person model must run on a frame (see the module docstring). `threshold`: levels
    of mean change in one cell that make the model run; `max_gap_s`: the longest media time between
    two runs; `min_gap_s`: the shortest, except for a change over twice the threshold or a discont
    (0: none; the power saver's cap on the model rate); `interior_px`: see `INTERIOR_PX`. The
    defaults were chosen on the tuning recordings (`python -m tools.eval_reuse --clips tune`)."""

    def __init__(
        self,
        *,
        threshold: float = 8.0,
        max_gap_s: float = MAX_GAP_S,
        min_gap_s: float = 0.0,
        interior_px: int = INTERIOR_PX,
    ):
        self.threshold, self.max_gap_s, self.min_gap_s = threshold, max_gap_s, min_gap_s
        self.interior_px = interior_px
        self._reference: np.ndarray | None = None
        self._counted: np.ndarray | None = None
        """float32 0/1 over the reference thumbnail: the pixels outside the person's interior."""
        self._reference_pts_ns = 0
        self._thumb: np.ndarray | None = None
        self._grid: CellGrid | None = None
        """The `GRID` cells over the thumbnail (`kernels.motion`), made for the thumbnails' size."""
        self.change = 0.0
        """The largest cell change of the latest frame against the reference (levels)."""

    def reset(self) -> None:
        self._reference = None

    def decide(self, pixels: np.ndarray, pts_ns: int, discont: bool, levels=None) -> bool:
        """True: run the model on this frame (then call `ran`); False: use the last mask again."""
        self._thumb = thumbnail(pixels, levels)
        reference = self._reference
        if discont or reference is None or reference.shape != self._thumb.shape:
            self.change = float("inf")
            return True
        self.change = float(self._cell_changes(self._thumb, reference).max())
        gap_ns = pts_ns - self._reference_pts_ns
        if self.change > self.threshold:
            return gap_ns >= self.min_gap_s * 1e9 or self.change > 2 * self.threshold
        return gap_ns >= self.max_gap_s * 1e9

    def _cell_changes(self, now: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Mean |now - before| per `GRID` cell (levels), shape (rows, columns), over the pixels outside
        the reference's interior (all of them without one); 0 in a cell with fewer than
        `MIN_COUNTED_SHARE` of its pixels counted."""
        if self._grid is None or self._grid.shape != now.shape:
            self._grid = CellGrid(now.shape[1], now.shape[0], *GRID)
        counted = self._counted if self._counted is not None else np.ones(now.shape, np.float32)
        return self._grid.changes(now, before, counted, MIN_COUNTED_SHARE)

    def ran(self, pts_ns: int, mask: np.ndarray | None = None) -> None:
        """The model ran on the frame `decide` last looked at: it is the reference now. `mask`: its
        person probability (float32, any size, stretched over the whole frame); None: no interior."""
        self._reference, self._reference_pts_ns = self._thumb, pts_ns
        self._counted = None
        if mask is not None and self.interior_px > 0 and self._thumb is not None:
            th, tw = self._thumb.shape
            person = (cv2.resize(mask, (tw, th), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8)
            side = 2 * self.interior_px + 1
            interior = cv2.erode(person, np.ones((side, side), np.uint8), borderType=cv2.BORDER_REPLICATE)
            self._counted = (1 - interior).astype(np.float32)
