"""The unit that flows through the graph.

Pixel layout (one for the whole graph): `pixels` is a C-contiguous uint8 array of shape (H, W, 3)
in **BGR** order (OpenCV's native order), or (H, W, 4) **BGRA** once a stage has produced alpha
(the `transparent` background). Width and height are even.

Timing: `pts_ns` is the presentation time in integer nanoseconds. Live sources stamp it from the
graph's monotonic clock; file sources derive it from the container's pts, which they also keep
exactly in `media_pts` / `time_base` so a file sink can write the very same timestamps.
`capture_ns` is the clock reading when the source produced the frame (for latency).
`discont` marks the first frame after a gap (a drop, a seek, a reconnect): temporal stages reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np


@dataclass(slots=True)
class Frame:
    pixels: np.ndarray
    pts_ns: int
    seq: int
    capture_ns: int = 0
    discont: bool = False
    media_pts: int | None = None
    time_base: Fraction | None = None
    mask: np.ndarray | None = None
    """Person probability at model resolution, float32 (h, w) in [0, 1]; set by the segment stage."""
    alpha: np.ndarray | None = None
    """Full-resolution uint8 (H, W) alpha the compositor used; set by the background stage."""
    crop: tuple[int, int, int, int] | None = None
    """(x, y, width, height) in pixels: the part of the frame to show, enlarged to the output size
    (set by the autoframe stage, carried out by the upscale stage); None: the whole frame."""
    audio: list[Any] = field(default_factory=list)
    """Audio packets (PyAV) demuxed since the previous frame, for remuxing by file sinks."""
    stage_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds each stage spent on this frame, by stage name."""
    tiers: dict[str, str] = field(default_factory=dict)
    """The quality tier each stage used for this frame, by stage name (e.g. segment: landscape)."""
    _reductions: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)
    _reductions_of: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def reductions(self) -> dict[int, np.ndarray]:
        """The cache of `pixels`' 2:1 reductions by factor (`kernels.blur.halve`), so stages that
        shrink the same frame (the matte's guide, the blur background) do it once. Empty again
        whenever `pixels` has been replaced."""
        if self._reductions_of is not self.pixels:
            self._reductions, self._reductions_of = {}, self.pixels
        return self._reductions

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def has_alpha(self) -> bool:
        return self.pixels.shape[2] == 4
