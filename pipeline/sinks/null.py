"""A sink that consumes frames and only counts them (for benchmarks and tests).

Ring policy BLOCK, like a file sink, so a benchmark measures the whole graph doing all the work.
"""

from __future__ import annotations

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.ring import Overflow
from pipeline.stage import Sink


class NullSink(Sink):
    name = "null"
    ring_policy = Overflow.BLOCK

    def __init__(self, *, name: str = "null"):
        self.name = name
        self.frames = 0
        self.last_pts_ns: int | None = None
        self.caps: Caps | None = None
        self.close_reason: str | None = None

    def open(self, caps: Caps) -> Caps:
        self.caps = caps
        return caps

    def process(self, frame: Frame) -> None:
        self.frames += 1
        self.last_pts_ns = frame.pts_ns

    def close(self, reason: str = "eos") -> None:
        self.close_reason = reason
