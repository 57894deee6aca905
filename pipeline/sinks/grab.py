"""Keeps one frame of the stream (by sequence number) for a still picture of the run."""

from __future__ import annotations

from pipeline.frame import Frame
from pipeline.stage import Sink


class GrabSink(Sink):
    name = "grab"

    def __init__(self, seq: int):
        self.seq = seq
        self.frame: Frame | None = None

    def process(self, frame: Frame) -> None:
        if frame.seq == self.seq or self.frame is None:
            self.frame = frame
