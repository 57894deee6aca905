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

Settings: a stage class declares the run settings it owns in `params` (`pipeline.params.Param`: key,
parser, default, live or restart, help, flag); `pipeline.settings` gathers them into `Settings`, and
`pipeline.settings_service` hands a running stage the changes of its keys (and of `reads`, keys it
takes but another stage owns) through `settings_change`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from pipeline.bus import Bus
from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.frame import Frame
from pipeline.params import Param
from pipeline.ring import Overflow

_UPDATES_LOCK = threading.Lock()
"""Guards every stage's pending `update()` values (changes are rare: one lock is enough)."""


class Source:
    name = "source"
    bus: Bus | None = None
    clock = SYSTEM_CLOCK
    """The graph sets both before `open()`: one clock for capture stamps, deadlines and latency."""

    def open(self) -> Caps:
        raise NotImplementedError

    def read(self) -> Frame | None:
        raise NotImplementedError

    def skip(self) -> bool:
        """Pass over the next frame without handing it out (a lower frame rate on purpose); False at
        the end of the stream. Sources that can skip more cheaply than `read` (a camera: no decoding)
        override it."""
        return self.read() is not None

    def close(self) -> None:
        pass


class Stage:
    name = "stage"
    bus: Bus | None = None
    clock = SYSTEM_CLOCK
    cpu_runs_elsewhere = False
    """True when `process` waits on a library's own thread (e.g. MediaPipe inference): the graph
    then counts the stage's wall time as its CPU time, since the calling thread's CPU misses it."""

    @property
    def tiers(self) -> tuple[str, ...]:
        """Quality tiers this stage offers, best first; empty for one fixed way of working. A stage
        with more than one implements `Tiered`; the `DeadlineScheduler` chooses among them."""
        return ()

    @property
    def delay(self) -> int:
        """Frames the stage may hold back before passing them on (offline look-ahead; 0: none)."""
        return 0

    updatable: frozenset[str] = frozenset()
    """Attributes `update()` may set while the graph runs (see the module docstring)."""

    params: tuple[Param, ...] = ()
    """The run settings this stage declares (see the module docstring)."""
    reads: frozenset[str] = frozenset()
    """Settings declared by another stage that this one also takes while running (e.g. the edges)."""
    absent_hint = "this run has no stage that takes it (restart with it in the graph)"
    """Why a run may lack this stage and how to get it, for a live change of its keys in such a run."""

    @classmethod
    def check_settings(cls, settings: Any) -> None:
        """`UserError` (one line naming the keys) when this stage's settings disagree with each other."""

    def settings_change(self, new: Any, changed: set[str]) -> Callable[[], None]:
        """Prepare a live change of `changed` (keys of `params` or `reads`) to the values in `new` (a
        `pipeline.settings.Settings`): load what it needs (may raise `UserError`; nothing has changed
        yet) and return the function that applies it (cannot fail)."""
        raise NotImplementedError(f"{self.name} takes no live setting changes")

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

    def close(self, reason: str = "eos") -> None:
        pass


@runtime_checkable
class Tiered(Protocol):
    """A stage that offers a choice of tiers (ways of working, best quality first) to the scheduler.

    It reports the tier that produced each frame in `frame.tiers[name]`; `TierSwitch` holds the
    requested tier for it."""

    name: str

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tiers offered now, best first."""

    @property
    def tier(self) -> str:
        """The tier in use from the next frame on."""

    @property
    def tier_quality(self) -> Mapping[str, float]:
        """Relative quality of each tier (1.0 = the best)."""

    @property
    def tier_cost_hint(self) -> Mapping[str, float]:
        """Relative cost per frame of each tier, to estimate the tiers not yet measured (only ratios count)."""

    def set_tier(self, name: str) -> None:
        """Use tier `name` from the next frame on (thread-safe; `ValueError` for a tier not offered)."""

    def tier_failed(self, tier: str, reason: str) -> str | None:
        """`tier` raised on a frame of a live graph: the tier used from the next frame on, or None when
        there is none to fall back to (the error then stops the graph)."""


def tiered(stage: Stage) -> Tiered | None:
    """The stage as `Tiered` when it offers more than one tier, else None."""
    return stage if len(stage.tiers) > 1 and isinstance(stage, Tiered) else None


class TierSwitch:
    """The tier a stage is asked to run at, set from any thread and read by the stage's thread at a
    frame boundary, and the tier that produced the last frame (each change of it is posted on the bus
    as a `tier` message, "`label`OLD -> NEW")."""

    def __init__(self, stage: Stage, initial: str, label: str = "", used: str | None = None):
        self._stage, self.label = stage, label
        self._lock = threading.Lock()
        self._requested = initial
        self.used = used
        """The tier that produced the last frame (`used` before the first: a first frame at another
        tier is posted as a change from it; None: never)."""

    @property
    def requested(self) -> str:
        with self._lock:
            return self._requested

    def request(self, tier: str) -> None:
        """Run `tier` from the next frame on (the caller has checked that the stage offers it)."""
        with self._lock:
            self._requested = tier

    def ran(self, tier: str) -> None:
        """A frame was produced at `tier` (on the stage's thread): post the change, if it is one."""
        if tier != self.used:
            if self.used is not None:
                self._stage.post("tier", f"{self.label}{self.used} -> {tier}", old=self.used, new=tier)
            self.used = tier
