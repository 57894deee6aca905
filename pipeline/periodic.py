"""`Periodic`: a context manager that calls `tick()` every `interval_s` on a daemon thread while
its `with` block runs, and `final_tick()` (by default `tick()`) once on the way out, after the
thread has stopped. The base of the progress line, the statistics sampler and the batch worker's
frame reporter."""
from __future__ import annotations

import threading


class Periodic:
    interval_s: float = 1.0

    def tick(self) -> None:
        raise NotImplementedError

    def final_tick(self) -> None:
        self.tick()

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.final_tick()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()
