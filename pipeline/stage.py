"""The contracts of sources, stages and sinks.

A **Source** produces frames: `open()` returns the `Caps` it will produce; `read()` returns the next
`Frame`, or None at the end of the stream; `close()` releases the device or file.

A **Stage** transforms frames on its own thread: `open(caps_in)` is called once when the graph is
built and returns the caps it will produce (raising `GraphError` if it can never accept
`caps_in`); `process(frame)` returns the frame to pass on (the same object, modified, or a new one);
`close()` releases resources. Stages never drop frames: dropping happens at the head of the graph.
An offline stage that looks ahead (`delay` > 0 frames) may return None while it holds frames back;
it passes them on, in order, from later calls and from `flush()` at the end of the stream.

A **Sink** is a stage at the end of a branch: `process(frame)` consumes the frame and returns None.
`close(reason)` finalises its output: reason is 'eos' (the stream ended), 'interrupt' (the user
stopped it: keep what was written, playable) or 'error' (the graph failed: remove partial output).
`ring_policy` says how its input ring treats overflow: `BLOCK` for sinks that must see every frame
(files), `DROP_OLDEST` for live displays that only want the newest.

Live changes: `update(**values)` (from any thread) sets attributes named in the stage's `updatable`,
and the stage takes them with `apply_updates()` at the start of its next `process`, so a frame is
never processed half with the old and half with the new setting.
"""
from __future__ import annotations

import threading

from pipeline.bus import Bus
from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.frame import Frame
from pipeline.ring import Overflow


_UPDATES_LOCK = threading.Lock()
"""Guards every stage's pending `update()` values (changes are rare: one lock is enough)."""


class Source:
    name = "source"

    def open(self) -> Caps:
        raise NotImplementedError

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Stage:
    name = "stage"
    bus: Bus | None = None
    clock = SYSTEM_CLOCK
    tiers: tuple[str, ...] = ()
    """Quality tiers this stage offers, best first; empty for one fixed way of working. A stage
    with tiers also has `tier` (the one in use), `set_tier(name)` (thread-safe, takes effect at
    the next frame), `tier_quality` (relative quality of each tier, 1.0 = best) and
    `tier_cost_hint` (relative cost of each tier, for tiers not yet measured). The
    `DeadlineScheduler` chooses among them; the stage reports the tier it used in `frame.tiers`."""
    cpu_runs_elsewhere = False
    """True when `process` waits on a library's own thread (e.g. MediaPipe inference): the graph
    then counts the stage's wall time as its CPU time, since the calling thread's CPU misses it."""

    delay = 0
    """Frames the stage may hold back before passing them on (offline look-ahead; 0: none)."""

    updatable: frozenset[str] = frozenset()
    """Attributes `update()` may set while the graph runs (see the module docstring)."""

    def open(self, caps: Caps) -> Caps:
        return caps

    def update(self, **values) -> None:
        """Set attributes in `updatable` from the next frame on (thread-safe; the caller has
        validated the values, e.g. `pipeline.settings_service`). `ValueError` for any other name."""
        unknown = set(values) - self.updatable
        if unknown:
            raise ValueError(f"{self.name}: cannot update {sorted(unknown)}")
        with _UPDATES_LOCK:
            self.__dict__.setdefault("_updates", {}).update(values)

    def apply_updates(self) -> None:
        """Set what `update()` was given since the last call (on the stage's thread, at a frame boundary)."""
        with _UPDATES_LOCK:
            updates = self.__dict__.pop("_updates", None)
        for key, value in (updates or {}).items():
            setattr(self, key, value)

    def process(self, frame: Frame) -> Frame | None:
        return frame

    def flush(self) -> list[Frame]:
        """At the end of the stream: frames still held back (`delay`), oldest first."""
        return []

    def close(self) -> None:
        pass

    def post(self, kind: str, text: str, **data) -> None:
        """Post a message on the graph's bus (no-op before the graph attaches one)."""
        from pipeline.bus import Message

        if self.bus is not None:
            self.bus.post(Message(kind, self.name, text, data=data))


class Sink(Stage):
    name = "sink"
    ring_policy = Overflow.BLOCK
    ring_capacity = 4

    def process(self, frame: Frame) -> None:
        raise NotImplementedError

    def close(self, reason: str = "eos") -> None:  # type: ignore[override]
        pass
