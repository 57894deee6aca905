"""Region-of-interest tracking for the segmenter: run the model on a crop around the person.

The selfie models see a 256-pixel-wide image. A person who fills a small part of the frame then
covers a few dozen model pixels and is segmented badly; cropping around them first gives the model
the person at a useful resolution. The crop also keeps the model's own aspect ratio (square for
`general`, 16:9 for `landscape`) where the frame allows, so the person is not stretched.

`RoiTracker` decides, frame by frame, where the model runs (all boxes are (x, y, width, height) in
frame pixels, integers):

* **acquire** on the whole frame — the first frame, after `discont`, when the person was lost, and
  at the start of every `reacquire_ns` of media time (someone new may have walked in); when the
  person found covers little enough of the frame that a crop helps, the crop runs on that frame
  too. Each acquisition starts afresh, so the crops depend only on the frames since the last
  acquisition, and those start at fixed media times: a file processed in chunks (`litecam batch
  --split`, with warm-up frames) gets the crops a single pass would;
* **track**: otherwise only the crop runs, and the person's box in this frame's mask gives the
  next crop. A crop is the box plus a margin of its larger side on every side (`margin` when
  acquired on the same frame, `track_margin` when it must also hold the next frames' motion),
  widened to the model's aspect ratio, at least `min_height` of the frame tall, shifted inside the
  frame (never padded: the models segment a stretched image far better than a letterboxed one);
* **hysteresis**: the crop stays where it is while the person, grown by half of `margin`, stays
  inside it (frame borders aside) and it is at most twice as large as needed — a still crop gives
  the model the same input for a still person, so tracking itself adds no flicker.

A crop that would cover most of the frame (`FULL_FRAME_AREA`) is no crop: the whole frame runs.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]
"""(x, y, width, height) in frame pixels."""

FULL_FRAME_AREA = 0.95
"""A crop covering at least this fraction of the frame area is not worth it: run the whole frame."""
PERSON_LEVEL = 0.5
"""Mask probability at or above which a pixel counts as the person when finding their box."""


def person_box(mask: np.ndarray, frame_w: int, frame_h: int) -> Box | None:
    """The bounding box, in frame pixels, of the mask's person pixels (probability ≥ 0.5), or None.

    `mask`: float32 (h, w) covering the whole frame (any resolution, stretched to the frame).
    """
    mh, mw = mask.shape
    x, y, w, h = cv2.boundingRect((mask >= PERSON_LEVEL).view(np.uint8))
    if w == 0 or h == 0:
        return None
    sx, sy = frame_w / mw, frame_h / mh
    x0, y0 = int(np.floor(x * sx)), int(np.floor(y * sy))
    x1, y1 = min(frame_w, int(np.ceil((x + w) * sx))), min(frame_h, int(np.ceil((y + h) * sy)))
    return x0, y0, x1 - x0, y1 - y0


def crop_around(box: Box, frame_w: int, frame_h: int, aspect: float, margin: float, min_height: float) -> Box | None:
    """The crop for a person's `box`: grown by `margin` × its larger side on every side, widened
    (or heightened) to `aspect` (width / height) about its centre, at least `min_height` × frame
    height tall, clipped to the frame size and shifted inside it. None when it would cover at
    least `FULL_FRAME_AREA` of the frame (then the whole frame is the better input)."""
    x, y, w, h = box
    pad = margin * max(w, h)
    cw, ch = w + 2 * pad, h + 2 * pad
    ch = max(ch, min_height * frame_h)
    cw, ch = max(cw, ch * aspect), max(ch, cw / aspect)
    cw, ch = min(cw, frame_w), min(ch, frame_h)
    if cw * ch >= FULL_FRAME_AREA * frame_w * frame_h:
        return None
    cx, cy = x + w / 2, y + h / 2
    x0 = int(round(min(max(cx - cw / 2, 0), frame_w - cw)))
    y0 = int(round(min(max(cy - ch / 2, 0), frame_h - ch)))
    return x0, y0, int(round(cw)), int(round(ch))


def contains(crop: Box, box: Box, pad: float, frame_w: int, frame_h: int) -> bool:
    """Whether `box` grown by `pad` pixels lies inside `crop`, except where the crop touches a
    frame border (the person cannot leave the crop that way)."""
    cx, cy, cw, ch = crop
    x, y, w, h = box
    inside_left = cx == 0 or x - pad >= cx
    inside_top = cy == 0 or y - pad >= cy
    inside_right = cx + cw >= frame_w or x + w + pad <= cx + cw
    inside_bottom = cy + ch >= frame_h or y + h + pad <= cy + ch
    return inside_left and inside_top and inside_right and inside_bottom


class RoiTracker:
    """Where the segmentation model runs next (see the module docstring).

    `aspect`: the model input's width / height. `margin`, `track_margin`: fractions of the
    person's larger side added on every side of a crop for the same frame, and for the next ones.
    `min_height`: smallest crop as a fraction of the frame height. `reacquire_ns`: media time
    between whole-frame runs while tracking (acquisitions happen at multiples of it).
    """

    def __init__(
        self,
        frame_w: int,
        frame_h: int,
        aspect: float,
        *,
        margin: float = 0.1,
        track_margin: float = 0.2,
        min_height: float = 0.3,
        reacquire_ns: int = 500_000_000,
    ):
        self.frame_w, self.frame_h = frame_w, frame_h
        self.aspect, self.margin, self.track_margin, self.min_height = aspect, margin, track_margin, min_height
        self.reacquire_ns = reacquire_ns
        self.crop: Box | None = None
        """The crop the model runs on next, or None (the whole frame)."""
        self._window: int | None = None
        """pts_ns // reacquire_ns of the last acquisition."""

    def needs_full_frame(self, discont: bool, pts_ns: int) -> bool:
        """Whether the frame at `pts_ns` must (also) run the model on the whole frame."""
        return discont or self.crop is None or pts_ns // self.reacquire_ns != self._window

    def _follow(self, box: Box | None, margin: float) -> None:
        """Keep the crop while `box` stays well inside it and it is not much too large (hysteresis);
        otherwise the crop for `box` with `margin`; None when nobody is in the picture."""
        if box is None:
            self.crop = None
            return
        wanted = crop_around(box, self.frame_w, self.frame_h, self.aspect, margin, self.min_height)
        if self.crop is not None and contains(
            self.crop, box, self.margin / 2 * max(box[2], box[3]), self.frame_w, self.frame_h
        ):
            if wanted is None or self.crop[2] * self.crop[3] <= 2 * wanted[2] * wanted[3]:
                return
        self.crop = wanted

    def acquire(self, full_mask: np.ndarray, pts_ns: int) -> Box | None:
        """After a whole-frame run on the frame at `pts_ns`: the crop to run on this same frame
        too (None: no crop), found afresh."""
        self._window = pts_ns // self.reacquire_ns
        self.crop = None
        self._follow(person_box(full_mask, self.frame_w, self.frame_h), self.margin)
        return self.crop

    def update(self, mask: np.ndarray) -> None:
        """After the frame's final mask (whole frame, any resolution): the crop for the next frame."""
        self._follow(person_box(mask, self.frame_w, self.frame_h), self.track_margin)


def paste_crop_mask(crop_mask: np.ndarray, crop: Box, frame_w: int, frame_h: int, out: np.ndarray) -> np.ndarray:
    """Write the model's mask of `crop` into `out`, the whole frame's mask (float32 (h, w),
    stretched to the frame), bilinearly, leaving `out` outside the crop untouched.

    Pixel centres are mapped exactly: crop-mask pixel i sits at frame x = cx + (i + 0.5)·cw/mw,
    and `out` pixel k at frame x = (k + 0.5)·frame_w/w (the same for y).
    """
    oh, ow = out.shape
    mh, mw = crop_mask.shape
    cx, cy, cw, ch = crop
    fx, fy = frame_w / ow, frame_h / oh  # frame pixels per out pixel
    ax, ay = cw / (mw * fx), ch / (mh * fy)
    bx = (cx + 0.5 * cw / mw) / fx - 0.5
    by = (cy + 0.5 * ch / mh) / fy - 0.5
    # the out pixels whose centres lie inside the crop (the outermost ones replicate the crop
    # mask's edge: they sit up to half a crop-mask pixel beyond its outermost centres)
    x0, x1 = (max(0, min(ow, int(np.ceil(v / fx - 0.5)))) for v in (cx, cx + cw))
    y0, y1 = (max(0, min(oh, int(np.ceil(v / fy - 0.5)))) for v in (cy, cy + ch))
    if x1 <= x0 or y1 <= y0:
        return out
    to_region = np.array([[ax, 0, bx - x0], [0, ay, by - y0]], np.float64)  # crop mask -> out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = cv2.warpAffine(
        crop_mask, to_region, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out
