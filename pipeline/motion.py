"""Run the person model only when the picture changed: a cheap motion gate for the segment stage.

In a call the picture barely changes from one frame to the next; running the selfie model on every
frame pays its fixed cost for nothing. `MotionGate` looks at a small luma thumbnail of each frame
(at most `THUMB_WIDTH` wide, from the frame's cache of reductions) and compares it, cell by cell
(`GRID` cells), with the thumbnail of the frame the model last ran on. The model runs when

* the frame is a `discont` (a cut, a seek, a reconnect), or nothing has run yet;
* some cell's mean |Δluma| exceeds `threshold` levels (something moved there), or the whole
  picture's does `cut_levels` (a cut, a light switched on: at once);
* `max_gap_s` of media time passed since the model last ran (a minimum model rate);

otherwise the last mask is carried to this frame: shifted by the person's measured motion (phase
correlation of the thumbnails within the person's box, applied when its response is confident and the
shift small) — the matte stage then fits its edges to this frame's picture as it does for any mask.

`decide(...)` says whether to run; after a run, `ran(...)` makes that frame the reference.
"""

from __future__ import annotations

import cv2
import numpy as np

from kernels.blur import halve

THUMB_WIDTH = 96
"""The thumbnail is the frame halved while it stays at least this wide."""
GRID = (6, 4)
"""Cells (columns, rows) of the thumbnail compared one by one."""
MIN_RESPONSE = 0.2
"""Phase correlation's peak response below which the measured shift is not trusted (no shift)."""


def thumbnail(pixels: np.ndarray, levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """float32 luma (0..255) of `pixels` (BGR or BGRA) halved while at least `THUMB_WIDTH` wide."""
    factor = 1
    while pixels.shape[1] // (2 * factor) >= THUMB_WIDTH:
        factor *= 2
    if pixels.shape[2] == 4:
        pixels, levels = np.ascontiguousarray(pixels[:, :, :3]), None
    small = halve(pixels, factor, levels) if factor > 1 else pixels
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)


def cell_changes(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Mean |now - before| per `GRID` cell (levels), shape (rows, columns)."""
    columns, rows = GRID
    return cv2.resize(np.abs(now - before), (columns, rows), interpolation=cv2.INTER_AREA)


class MotionGate:
    """Whether the person model must run on a frame, and the carried mask when it need not (see the
    module docstring). `threshold`: levels of mean change in one cell that make the model run;
    `max_gap_s`: the longest media time between two runs; `cut_levels`: mean change of the whole
    thumbnail that counts as a cut."""

    def __init__(self, *, threshold: float = 4.0, max_gap_s: float = 0.2, cut_levels: float = 12.0):
        self.threshold, self.max_gap_s, self.cut_levels = threshold, max_gap_s, cut_levels
        self._reference: np.ndarray | None = None
        self._reference_pts_ns = 0
        self._thumb: np.ndarray | None = None
        self.change = 0.0
        """The largest cell change of the latest frame against the reference (levels)."""

    def reset(self) -> None:
        self._reference = None

    def decide(self, pixels: np.ndarray, pts_ns: int, discont: bool, levels=None) -> bool:
        """True: run the model on this frame (then call `ran`); False: carry the last mask (`carry`)."""
        self._thumb = thumbnail(pixels, levels)
        reference = self._reference
        if discont or reference is None or reference.shape != self._thumb.shape:
            self.change = float("inf")
            return True
        changes = cell_changes(self._thumb, reference)
        self.change = float(changes.max())
        if self.change > self.threshold or float(changes.mean()) > self.cut_levels:
            return True
        return pts_ns - self._reference_pts_ns >= self.max_gap_s * 1e9

    def ran(self, pts_ns: int) -> None:
        """The model ran on the frame `decide` last looked at: it is the reference now."""
        self._reference, self._reference_pts_ns = self._thumb, pts_ns

    def carry(self, mask: np.ndarray) -> np.ndarray:
        """The last model mask (float32 (h, w), stretched over the frame) moved with the person's
        measured motion since the reference frame (the mask itself when no shift is trusted)."""
        assert self._reference is not None and self._thumb is not None
        th, tw = self._thumb.shape
        x, y, w, h = cv2.boundingRect((cv2.resize(mask, (tw, th), interpolation=cv2.INTER_AREA) >= 0.5).view(np.uint8))
        if w < 8 or h < 8:
            return mask
        pad = 4
        x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(tw, x + w + pad), min(th, y + h + pad)
        window = cv2.createHanningWindow((x1 - x0, y1 - y0), cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(self._reference[y0:y1, x0:x1], self._thumb[y0:y1, x0:x1], window)
        if response < MIN_RESPONSE or abs(dx) < 0.25 and abs(dy) < 0.25 or max(abs(dx), abs(dy)) > 6:
            return mask
        mh, mw = mask.shape
        shift = np.float32([[1, 0, dx * mw / tw], [0, 1, dy * mh / th]])
        return cv2.warpAffine(mask, shift, (mw, mh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
