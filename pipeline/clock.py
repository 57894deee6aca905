"""The one place that reads the system time.

Everything in the graph takes a clock; tests pass a `ManualClock` so timing decisions are exact.
All times are integer nanoseconds on a monotonic timeline.
"""

from __future__ import annotations

import threading
import time


class MonotonicClock:
    """Wall time from `time.monotonic_ns()`."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int, stop: threading.Event | None = None) -> None:
        """Sleep until `deadline_ns` or until `stop` is set, whichever comes first."""
        remaining_s = (deadline_ns - time.monotonic_ns()) / 1e9
        if remaining_s <= 0:
            return
        if stop is None:
            time.sleep(remaining_s)
        else:
            stop.wait(remaining_s)


class ManualClock:
    """A clock that only moves when told to; `sleep_until_ns` jumps straight to the deadline."""

    def __init__(self, start_ns: int = 0):
        self._now_ns = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._now_ns

    def advance_ns(self, delta_ns: int) -> None:
        with self._lock:
            self._now_ns += delta_ns

    def sleep_until_ns(self, deadline_ns: int, stop: threading.Event | None = None) -> None:
        with self._lock:
            self._now_ns = max(self._now_ns, deadline_ns)


SYSTEM_CLOCK = MonotonicClock()


def thread_cpu_ns() -> int:
    """CPU time consumed by the calling thread, in nanoseconds (for per-stage CPU cost)."""
    return time.thread_time_ns()


def process_cpu_ns() -> int:
    """CPU time consumed by the whole process (all threads), in nanoseconds."""
    return time.process_time_ns()
