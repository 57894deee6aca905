"""Messages from the stages to whoever watches the graph (CLI, HUD, benchmark, tests).

Drops, tier changes, warnings and errors are posted here as `Message`s instead of being printed
from stage threads. The bus keeps the last `history` messages and calls subscribers synchronously
(subscribers must be quick and must not raise).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    """One of: 'info', 'warning', 'error', 'drop', 'tier', 'eos', 'stats', 'settings' (a live change)."""
    origin: str
    """The stage, source or sink that posted it."""
    text: str
    pts_ns: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Bus:
    def __init__(self, history: int = 1000):
        self._lock = threading.Lock()
        self._messages: collections.deque[Message] = collections.deque(maxlen=history)
        self._subscribers: list[Callable[[Message], None]] = []

    def post(self, message: Message) -> None:
        with self._lock:
            self._messages.append(message)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(message)

    def subscribe(self, callback: Callable[[Message], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def messages(self, kind: str | None = None) -> list[Message]:
        with self._lock:
            return [m for m in self._messages if kind is None or m.kind == kind]
