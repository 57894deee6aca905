"""Only the main person: keep the person the camera is on and send everyone else to the background.

The selfie models segment every person in the picture. For a call, a bystander walking behind the
caller should not be cut in. `MainPerson.keep(mask)` takes a person-probability mask (float32 (h, w),
stretched over the whole frame) and returns it with every person region other than the main one set
to 0:

* **regions**: the connected components (8-connected) of the pixels at or above `REGION_LEVEL` —
  low enough that a region takes in its own soft edge;
* **the main person, chosen** (first frame, after `reset`, or when the main person has left): the
  region with the largest area weighted by closeness to the frame's centre (a region at a corner
  counts half its area), if it covers at least `min_area` of the frame;
* **followed**: on later frames, the regions overlapping the previous frame's main person grown by
  `follow_px` (its largest motion from one frame to the next), within that grown region;
* **one person**: of the regions the main person's previous place touches, the one it overlaps most
  is theirs, and others only when small (`DETACHED_SHARE`: a hand the mask cut off) — a person who
  was hidden behind them and comes apart is someone else;
* **held to their shape** (an average of their last masks, `SHAPE_WEIGHT`) while someone else's
  region touches theirs, or while their region grows beyond `GROWTH_SHARE` of that shape: someone
  hidden behind them may be coming out. In the second case the shape still learns the whole
  region, so what stays (their own raised arm) is theirs again after a few masks;
* **kept apart**: a person seen apart from the main one (a region of their own) stays someone else
  when they walk into the main person's region: the pixels of a merged region nearer to where the
  others were than to where the main person was go to the others — so a bystander passing behind
  the caller is not cut in, and two people overlapping for a moment do not flicker in and out;
* everything not kept (other regions and their soft edges) becomes 0; the kept region's own soft
  edge (probabilities below `REGION_LEVEL` around it, up to `EDGE_PX`) stays.

Masks of any resolution work; distances are in mask pixels scaled from a 320-pixel-wide mask.
"""

from __future__ import annotations

import cv2
import numpy as np

REGION_LEVEL = 0.2
"""Probability at or above which a pixel belongs to a person region."""
DETACHED_SHARE = 0.25
"""A region touching the main person's previous place that is smaller than this share of their main
region is a piece of them (a hand the mask cut off); a larger one is someone else."""
SHAPE_WEIGHT = 0.1
"""Weight of each mask in the main person's remembered shape (an exponential average: ~10 masks)."""
GROWN_WEIGHT = 0.3
"""Weight of each mask in the shape while the main person is held to it with nobody else near: what
stays for two masks reaches half weight, and is theirs from the next."""
GROWTH_SHARE = 1.1
"""A main person suddenly larger than this times their remembered shape has someone who was hidden
behind them coming out: they are held to their shape."""
SHAPE_MARGIN_PX = 4
"""How far (at 320 px wide) the main person may reach beyond their remembered shape while someone
else's region touches theirs."""
EDGE_PX = 2
WORK_WIDTH = 160
"""Width of the mask the people are told apart on (a wider mask is shrunk for it: a quarter of the work)."""
"""Mask pixels around the kept region (at 320 px wide) whose lower probabilities are kept: its soft edge."""


def _distance_to(pixels: np.ndarray) -> np.ndarray:
    """float32 (h, w): each pixel's distance (mask pixels, ~Euclidean) to the nearest nonzero pixel of
    uint8 `pixels` (a distance transform: far cheaper than dilating with a disc)."""
    return cv2.distanceTransform((pixels == 0).astype(np.uint8), cv2.DIST_L2, 3)


def _of_labels(labels: np.ndarray, chosen, count: int) -> np.ndarray:
    """bool (h, w): the pixels whose label is among `chosen` (a table lookup)."""
    table = np.zeros(count, bool)
    table[np.asarray(chosen, dtype=np.int64)] = True
    table[0] = False
    return table[labels]


class MainPerson:
    """Keeps the main person of a stream of masks (see the module docstring). One per stream: it
    remembers where the main person and the others were in the previous mask. `follow_px`: the main
    person's largest motion between two masks, in pixels of a 320-wide mask. `min_area`: the
    smallest region, as a fraction of the mask, that can become the main person."""

    def __init__(self, *, follow_px: int = 16, min_area: float = 0.01):
        self.follow_px, self.min_area = follow_px, min_area
        self._main: np.ndarray | None = None
        """uint8 (h, w), 1 where the main person was in the previous mask; None: choose afresh."""
        self._others: np.ndarray | None = None
        """uint8 (h, w), 1 where the other people were in the previous mask."""
        self._shape: np.ndarray | None = None
        """float32 (h, w): the main person's shape over the last masks (`SHAPE_WEIGHT`)."""
        self.others = 0
        """Person regions (of at least a few pixels) sent to the background in the latest mask."""

    def reset(self) -> None:
        """Forget the people (an unrelated picture follows): the next mask chooses afresh."""
        self._main = self._others = self._shape = None

    def _scaled(self, pixels: int, width: int) -> int:
        return max(1, round(pixels * width / 320))

    def choose(self, labels: np.ndarray, stats: np.ndarray, centroids: np.ndarray) -> int | None:
        """The label of the main person among the regions (largest, most central), or None."""
        h, w = labels.shape
        best, best_score = None, 0.0
        for label in range(1, len(stats)):
            area = stats[label, cv2.CC_STAT_AREA]
            if area < self.min_area * h * w:
                continue
            dx, dy = (centroids[label][0] - w / 2) / (w / 2), (centroids[label][1] - h / 2) / (h / 2)
            score = area * (1.0 - 0.5 * min(1.0, float(np.hypot(dx, dy)) / np.sqrt(2)))
            if score > best_score:
                best, best_score = label, score
        return best

    def _follow(self, labels: np.ndarray, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(kept, split off, learnt, weight): the main person followed from the previous mask, the
        pixels of the regions they touch that belong to the others (bool (h, w)), and what their
        remembered shape learns from this mask (bool (h, w)) with what weight."""
        assert self._main is not None and self._shape is not None
        width = labels.shape[1]
        follow = self._scaled(self.follow_px, width)
        to_main = _distance_to(self._main)
        grown = to_main <= follow
        overlap = np.bincount(labels[grown], minlength=len(stats))
        overlap[0] = 0
        nobody = np.zeros(labels.shape, bool)
        if not overlap.any():
            return nobody, nobody, nobody, SHAPE_WEIGHT
        primary = int(np.argmax(overlap))
        small = stats[:, cv2.CC_STAT_AREA] < DETACHED_SHARE * stats[primary, cv2.CC_STAT_AREA]
        regions = _of_labels(
            labels, [label for label in np.flatnonzero(overlap) if label == primary or small[label]], len(stats)
        )
        to_others = _distance_to(self._others) if self._others is not None and self._others.any() else None
        others_near = to_others is not None and bool((regions & (to_others <= follow)).any())
        followed = regions & grown
        shape = (self._shape >= 0.5).astype(np.uint8)
        if not others_near and np.count_nonzero(followed) <= GROWTH_SHARE * np.count_nonzero(shape):
            return followed, nobody, followed, SHAPE_WEIGHT
        split_off = nobody
        if others_near:
            assert to_others is not None
            split_off = regions & (to_others < to_main)
        within = _distance_to(shape) <= self._scaled(SHAPE_MARGIN_PX, width)
        kept = followed & within & ~split_off
        # grown with nobody else near: the shape learns all of it, so what stays (a raised arm) is
        # theirs within a few masks; while someone else is near, it learns only what was kept
        return (kept, split_off, kept, SHAPE_WEIGHT) if others_near else (kept, split_off, followed, GROWN_WEIGHT)

    def keep(self, mask: np.ndarray) -> np.ndarray:
        """`mask` (float32 (h, w), probabilities) with every person but the main one set to 0 (a new
        array). The people are told apart on the mask shrunk to at most `WORK_WIDTH` wide; the cut
        between the main person and the others is carried back to the mask's size bilinearly."""
        h, w = mask.shape
        if w <= WORK_WIDTH:
            allowed = self._allowed(mask)
            return mask.copy() if allowed is None else np.where(allowed, mask, np.float32(0))
        small = cv2.resize(mask, (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w))), interpolation=cv2.INTER_AREA)
        allowed = self._allowed(small)
        if allowed is None:
            return mask.copy()
        return mask * cv2.resize(allowed.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)

    def _allowed(self, mask: np.ndarray) -> np.ndarray | None:
        """bool (h, w): where `mask` may keep its probabilities (the main person and their soft edge),
        after updating what is remembered of the people; None: nobody is big enough to be the main
        person (leave the mask as it is)."""
        h, w = mask.shape
        regions = (mask >= REGION_LEVEL).astype(np.uint8)
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(regions, connectivity=8)
        kept = split_off = learnt = np.zeros((h, w), bool)
        weight = SHAPE_WEIGHT
        if self._main is not None and self._main.shape == (h, w) and self._main.any():
            kept, split_off, learnt, weight = self._follow(labels, stats)
        if not kept.any():
            main = self.choose(labels, stats, centroids)
            if main is None:
                self.reset()
                self.others = 0
                return None
            kept, split_off, self._shape = labels == main, np.zeros((h, w), bool), None
        kept_labels = np.unique(labels[kept])
        apart = (regions > 0) & ~_of_labels(labels, kept_labels, count)
        self.others = int(
            sum(1 for label in range(1, count) if label not in kept_labels and stats[label, cv2.CC_STAT_AREA] >= 4)
        ) + int(split_off.any())
        self._main, self._others = kept.astype(np.uint8), (apart | split_off).astype(np.uint8)
        if self._shape is None:
            self._shape = kept.astype(np.float32)
        else:
            self._shape += weight * (learnt - self._shape)
        return (_distance_to(self._main) <= self._scaled(EDGE_PX, w)) & (self._others == 0)
