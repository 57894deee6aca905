"""A still image repeated at a target rate (a test card, a held frame, a background plate).

The image is read once with OpenCV and must be 8-bit colour without alpha (BGR); anything else is
refused with a one-line `UserError` naming the file: a missing path, a folder, an empty or
unreadable file, an image with an alpha channel, 16 bits per channel, or greyscale. (They are
refused rather than converted so that what the graph shows is exactly the file; convert them to an
8-bit RGB PNG or JPEG first.) Odd sizes are cropped to even by dropping the last column/row.

Frames: `pts_ns = seq × period` (exact integer arithmetic from the Fraction `fps`; with `live=True`
plus the clock reading at `open()`, as other live sources stamp on the graph clock), `seq` from 0,
each frame with its own copy of the pixels (stages may write in place). `frame_count=None` repeats
until the graph stops. With `live=True` the source paces itself to real time on its clock
(`clock.sleep_until_ns(start + pts_ns)`), and `Caps.live` is True so the graph adds its flow limiter.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.media.images import read_image_file
from pipeline.sources.file import check_readable_file
from pipeline.stage import Source

_CONVERT = "convert it to an 8-bit RGB PNG or JPEG"


def load_bgr_image(path: str) -> np.ndarray:
    """Read `path` as BGR uint8 (H, W, 3), even-sized; `UserError` for anything else."""
    check_readable_file(path, "image")
    image = read_image_file(path)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise UserError(f"{path} is a greyscale image; colour images only ({_CONVERT})")
    if image.shape[2] == 4:
        raise UserError(f"{path} has an alpha channel; images with transparency are not accepted ({_CONVERT})")
    if image.shape[2] != 3:
        raise UserError(f"{path} has {image.shape[2]} channels; colour images only ({_CONVERT})")
    if image.dtype != np.uint8:
        bits = image.dtype.itemsize * 8
        raise UserError(f"{path} has {bits} bits per channel; only 8-bit images are accepted ({_CONVERT})")
    h, w = image.shape[:2]
    if h < 2 or w < 2:
        raise UserError(f"{path} is {w}x{h} pixels; at least 2x2 is needed")
    return np.ascontiguousarray(image[: h - h % 2, : w - w % 2])


class ImageSource(Source):
    name = "image"

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float | Fraction,
        frame_count: int | None = None,
        clock=SYSTEM_CLOCK,
        live: bool = False,
    ):
        self.path = os.fspath(path)
        self.fps = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
        if self.fps <= 0:
            raise UserError(f"image source fps {fps}: must be > 0")
        if frame_count is not None and frame_count < 0:
            raise UserError(f"image source frame count {frame_count}: must be >= 0")
        self.frame_count = frame_count
        self.clock = clock
        self.live = live
        self._image: np.ndarray | None = None
        self._seq = 0

    def open(self) -> Caps:
        self._image = load_bgr_image(self.path)
        self._seq = 0
        self._start_ns = self.clock.now_ns()
        h, w = self._image.shape[:2]
        return Caps(w, h, self.fps, channels=3, live=self.live, frame_count=self.frame_count)

    def pts_ns_of(self, seq: int) -> int:
        return seq * 1_000_000_000 * self.fps.denominator // self.fps.numerator

    def read(self) -> Frame | None:
        if self._image is None or (self.frame_count is not None and self._seq >= self.frame_count):
            return None
        seq = self._seq
        pts_ns = self.pts_ns_of(seq)
        if self.live:  # on the graph clock, like every live source
            pts_ns += self._start_ns
            self.clock.sleep_until_ns(pts_ns)
        self._seq += 1
        return Frame(pixels=self._image.copy(), pts_ns=pts_ns, seq=seq, capture_ns=self.clock.now_ns())

    def close(self) -> None:
        self._image = None
