"""Deliver any source's frames at their real rate, like a camera: for benchmarks and tests that
must face real deadlines with a file (e.g. a looped clip) instead of a camera."""

from __future__ import annotations

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.frame import Frame
from pipeline.stage import Source


class PacedSource(Source):
    """Frame n of `inner` is released at start + n periods of `inner`'s nominal rate and stamped
    with that time (`pts_ns` and `capture_ns`), so the graph sees a live source. The start is the
    first read (a camera streams from when the graph starts reading, however long the stages took
    to open). A frame read late (the graph fell behind) keeps its due time, as a camera's frame
    keeps its capture time, so the graph drops it at the head instead of getting a burst of frames
    faster than the camera's rate. `seconds`: end the stream after that much media time (a looped
    file never ends by itself); None: when `inner` ends."""

    def __init__(self, inner: Source, clock=SYSTEM_CLOCK, seconds: float | None = None):
        self.inner = inner
        self.clock = clock
        self.seconds = seconds
        self.name = f"paced-{inner.name}"

    def open(self) -> Caps:
        caps = self.inner.open()
        self.period_ns = round(1e9 / caps.fps)
        self._limit = None if self.seconds is None else round(self.seconds * float(caps.fps))
        self._start_ns: int | None = None
        self._count = 0
        return caps.with_(live=True, frame_count=None)

    def _ended(self) -> bool:
        return self._limit is not None and self._count >= self._limit

    def _wait_for_next(self) -> int:
        """Count one more frame and wait for its due time; returns that time (ns)."""
        if self._start_ns is None:
            self._start_ns = self.clock.now_ns()
        due = self._start_ns + self._count * self.period_ns
        self._count += 1
        self.clock.sleep_until_ns(due)
        return due

    def read(self) -> Frame | None:
        frame = None if self._ended() else self.inner.read()
        if frame is None:
            return None
        frame.pts_ns = frame.capture_ns = self._wait_for_next()
        frame.media_pts = frame.time_base = None  # live timing from here on
        return frame

    def skip(self) -> bool:
        """Pass over the next frame at its due time, as a camera's frame goes by."""
        if self._ended() or not self.inner.skip():
            return False
        self._wait_for_next()
        return True

    def close(self) -> None:
        self.inner.close()
