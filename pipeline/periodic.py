"""`Periodic`: a context manager that calls `tick()` every `interval_s` on a daemon thread while
its `with` block runs, and `final_tick()` (by default `tick()`) once on the way out, after the
thread has stopped. The base of the progress lines (`ProgressLine`), the statistics sampler and
the batch worker's frame reporter."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


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


class ProgressLine(Periodic):
    """A status line on `stream` (default stderr) while work runs: `text()` rewritten in place every
    0.25 s on a terminal and ended with a newline on the way out; printed as a new line every 5 s
    otherwise, and once more on the way out only with `final_off_terminal`."""

    def __init__(
        self, text: Callable[[], str], *, stream=None, interval_s: float | None = None, final_off_terminal: bool = False
    ):
        self.text = text
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval_s = interval_s or (0.25 if self.tty else 5.0)
        self.final_off_terminal = final_off_terminal

    def tick(self, final: bool = False) -> None:
        text = self.text()
        if self.tty:
            print("\r" + text + ("\n" if final else ""), end="", file=self.stream, flush=True)
        elif not final or self.final_off_terminal:
            print(text, file=self.stream, flush=True)

    def final_tick(self) -> None:
        self.tick(final=True)
