"""Bounded ring buffers joining the stages.

Every ring names its overflow policy:
- `BLOCK`: `put` waits for room. This is the back-pressure of internal links and file sinks.
- `DROP_OLDEST`: `put` evicts the oldest item (side branches such as a preview window).
- `DROP_NEWEST`: `put` discards the item being put.

`END_OF_STREAM` is an ordinary value that flows through like a frame; it is never dropped.
`abort()` wakes every waiter: `put` then returns False and `get` returns `ABORTED`.
"""

from __future__ import annotations

import collections
import enum
import threading
from collections.abc import Callable
from typing import Any


class Overflow(enum.Enum):
    BLOCK = "block"
    DROP_OLDEST = "drop-oldest"
    DROP_NEWEST = "drop-newest"


class _Marker:
    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return self._name


END_OF_STREAM = _Marker("END_OF_STREAM")
ABORTED = _Marker("ABORTED")


class RingBuffer:
    """A bounded FIFO with an overflow policy and processed/dropped counters.

    Invariant: `len(self) <= capacity` at all times, except that `END_OF_STREAM` is always
    accepted (it may take the place of a dropped frame, never be dropped itself).
    `processed` counts items taken by `get`; `dropped` counts items discarded by the policy;
    `high_water` is the largest length ever seen.
    """

    def __init__(self, capacity: int, policy: Overflow = Overflow.BLOCK, name: str = "ring"):
        if capacity < 1:
            raise ValueError(f"ring '{name}' capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.policy = policy
        self.name = name
        self.processed = 0
        self.dropped = 0
        self.high_water = 0
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self._aborted = False
        self.on_drop: Callable[[Any], None] | None = None
        """Optional callable(item) invoked (under the ring's lock) for every item dropped."""

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, item: Any, timeout_s: float | None = None) -> bool:
        """Add `item`; returns False if it was dropped, the ring was aborted, or the wait timed out."""
        with self._cond:
            if self._aborted:
                return False
            if len(self._items) >= self.capacity:
                if item is END_OF_STREAM:
                    pass  # always accepted: the end must reach the consumer
                elif self.policy is Overflow.DROP_NEWEST:
                    self._drop(item)
                    return False
                elif self.policy is Overflow.DROP_OLDEST:
                    self._drop(self._items.popleft())
                else:
                    ok = self._cond.wait_for(lambda: self._aborted or len(self._items) < self.capacity, timeout_s)
                    if self._aborted or not ok:
                        return False
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._cond.notify_all()
            return True

    def get(self, timeout_s: float | None = None) -> Any:
        """Take the oldest item; waits while empty. Returns `ABORTED` after `abort()` or on timeout."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._aborted or self._items, timeout_s)
            if self._aborted or not ok:
                return ABORTED
            item = self._items.popleft()
            if item is not END_OF_STREAM:
                self.processed += 1
            self._cond.notify_all()
            return item

    def abort(self) -> None:
        """Wake all waiters; later puts are refused and gets return `ABORTED`."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    def _drop(self, item: Any) -> None:
        self.dropped += 1
        if self.on_drop is not None:
            self.on_drop(item)

    def stats(self) -> dict:
        with self._cond:
            return {
                "name": self.name,
                "capacity": self.capacity,
                "policy": self.policy.value,
                "processed": self.processed,
                "dropped": self.dropped,
                "high_water": self.high_water,
            }
