"""What a link between two stages carries; checked once when the graph is built."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Caps:
    """Frame size in pixels, nominal rate in frames per second, and 3 (BGR) or 4 (BGRA) channels.

    `live` is True for sources that run at their own pace (camera, paced synthetic): such graphs
    get a flow limiter at the head. `has_audio` is True when frames carry audio packets and
    `audio_stream` is the PyAV input stream they belong to (for the file sink's remux).
    """

    width: int
    height: int
    fps: Fraction
    channels: int = 3
    live: bool = False
    has_audio: bool = False
    audio_stream: object | None = None
    video_time_base: Fraction | None = None
    frame_count: int | None = None

    def with_(self, **changes) -> Caps:
        return replace(self, **changes)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height
