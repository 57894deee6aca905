"""Small sources, stages and sinks of known behaviour for whole-graph tests."""

from __future__ import annotations

import threading
from fractions import Fraction

import numpy as np

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.stage import Sink, Source, Stage


class CountingSource(Source):
    """`count` tiny frames with pts = seq × period; `tick_clock` (a ManualClock) advances one
    period per frame read, like a camera delivering in real time."""

    name = "counting"

    def __init__(self, count: int, *, live: bool = False, tick_clock=None, period_ns: int = 33_333_333):
        self.count, self.live, self.tick_clock, self.period_ns = count, live, tick_clock, period_ns

    def open(self) -> Caps:
        self.seq = 0
        return Caps(8, 8, Fraction(30), live=self.live)

    def read(self) -> Frame | None:
        if self.seq >= self.count:
            return None
        if self.tick_clock is not None:
            self.tick_clock.advance_ns(self.period_ns)
        pixels = np.full((8, 8, 3), self.seq % 256, np.uint8)
        frame = Frame(pixels, pts_ns=self.seq * self.period_ns, seq=self.seq, capture_ns=self.clock.now_ns())
        self.seq += 1
        return frame


class AddOne(Stage):
    def __init__(self, name: str = "add-one"):
        self.name = name

    def process(self, frame: Frame) -> Frame:
        frame.pixels = frame.pixels + 1
        return frame


class FailAt(Stage):
    name = "fails"

    def __init__(self, seq: int):
        self.seq = seq
        self.closed = False

    def process(self, frame: Frame) -> Frame:
        if frame.seq == self.seq:
            raise ValueError("boom")
        return frame

    def close(self) -> None:
        self.closed = True


class Collect(Sink):
    def __init__(self, name: str = "collect", gate=None):
        self.name = name
        self.frames: list[Frame] = []
        self.closed_with: str | None = None
        self.gate = gate

    def process(self, frame: Frame) -> None:
        if self.gate is not None:
            self.gate.wait()
        self.frames.append(frame)

    def close(self, reason: str = "eos") -> None:
        self.closed_with = reason


class GraphThread:
    """`graph.run()` on a daemon thread; `stop()` stops it, joins, and re-raises what it raised."""

    def __init__(self, graph):
        self.graph = graph
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.graph.run()
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self) -> None:
        self.graph.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the graph did not stop"
        if self.error is not None:
            raise self.error
