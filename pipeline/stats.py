"""Once-a-second snapshots of a running graph, as JSON lines (`--stats FILE`) or in memory.

Each snapshot: time since start (s), frames delivered and fps over the interval, capture→sink
latency p50/p95 over the interval, frames dropped at the head so far (and left out on purpose by the
power saver, `skipped_at_head`), frames in flight, the
largest fill each ring has seen, the tier each stage is using, the tier changes posted since
the previous snapshot, and the person model's runs per second over the interval (null without a
segment stage; below the frame rate with `mask_reuse`).
"""

from __future__ import annotations

import collections
import json
import threading
from pathlib import Path

import numpy as np

from pipeline.errors import UserError
from pipeline.periodic import Periodic


class RecentRate:
    """How often something happens, over its last `window` occurrences (e.g. a sink's frame rate)."""

    def __init__(self, window: int = 30):
        self._times_ns: collections.deque[int] = collections.deque(maxlen=window)

    def add(self, now_ns: int) -> None:
        self._times_ns.append(now_ns)

    def per_second(self) -> float:
        """Occurrences per second between the oldest and newest kept (0 with fewer than two)."""
        if len(self._times_ns) < 2:
            return 0.0
        span_ns = self._times_ns[-1] - self._times_ns[0]
        return (len(self._times_ns) - 1) * 1e9 / span_ns if span_ns > 0 else 0.0


class StatsSampler(Periodic):
    def __init__(self, graph, interval_s: float = 1.0, path: str | Path | None = None):
        self.graph = graph
        self.interval_s = interval_s
        self.snapshots: list[dict] = []
        self._tier_changes: list[dict] = []
        self._lock = threading.Lock()
        graph.bus.subscribe(self._on_message)
        self._file = None
        self.path = path
        self.write_error: str | None = None
        """Why the statistics file stopped being written (a full disk…), or None; the file then holds
        every whole line written before."""
        self._whole_bytes = 0
        if path is not None:
            try:
                self._file = open(path, "wb", buffering=0)  # unbuffered: a failed write is known at once
            except OSError as exc:
                raise UserError(f"--stats {path}: cannot write ({exc.strerror})") from None

    def _on_message(self, message) -> None:
        if message.kind == "tier":
            with self._lock:
                self._tier_changes.append({"stage": message.origin, **message.data})

    def __enter__(self):
        self._start_ns = self.graph.clock.now_ns()
        self._last_count = 0
        self._last_model_runs = 0
        self._last_latency_index = {name: 0 for name in self.graph.latency_ms}
        return super().__enter__()

    def tick(self) -> None:
        self.sample()

    def final_tick(self) -> None:
        self.sample()
        if self._file is not None:
            self._file.close()

    def sample(self) -> dict:
        graph = self.graph
        now_ns = graph.clock.now_ns()
        first_sink = graph.sinks[0].name
        delivered = graph.counters[first_sink].processed
        latencies = list(graph.latency_ms[first_sink])
        recent = latencies[-max(delivered - self._last_count, 0) :] if delivered > self._last_count else []
        elapsed_s = (now_ns - self._start_ns) / 1e9
        previous_s = self.snapshots[-1]["t_s"] if self.snapshots else 0.0
        with self._lock:
            changes, self._tier_changes = self._tier_changes, []
        snapshot = {
            "t_s": round(elapsed_s, 3),
            "delivered": delivered,
            "fps": (delivered - self._last_count) / max(elapsed_s - previous_s, 1e-9),
            "latency_ms_p50": float(np.percentile(recent, 50)) if recent else None,
            "latency_ms_p95": float(np.percentile(recent, 95)) if recent else None,
            "dropped_at_head": graph.counters[graph.source.name].dropped,
            "skipped_at_head": graph.counters[graph.source.name].skipped,
            "in_flight": graph.in_flight,
            "ring_high_water": {r["name"]: r["high_water"] for r in graph.stats()["rings"]},
            "tiers": {s.name: s.tier for s in graph.stages if len(s.tiers) > 1},
            "model_runs_per_second": self._model_runs_per_second(elapsed_s - previous_s),
            "tier_changes": changes,
        }
        self._last_count = delivered
        self.snapshots.append(snapshot)
        if self._file is not None:
            self._write_line(json.dumps(snapshot) + "\n")
        return snapshot

    def _model_runs_per_second(self, seconds: float) -> float | None:
        """The person model's runs per second since the previous sample (None: no segment stage)."""
        segments = [stage for stage in self.graph.stages if stage.name == "segment"]
        if not segments:
            return None
        runs = sum(stage.model_runs for stage in segments)
        rate, self._last_model_runs = (runs - self._last_model_runs) / max(seconds, 1e-9), runs
        return round(rate, 2)

    def _write_line(self, line: str) -> None:
        """Append one JSON line; on a write error (a full disk…) cut the file back to its whole lines,
        stop writing, and post the reason (`write_error`) as a warning."""
        assert self._file is not None
        data = line.encode("utf-8")
        try:
            written = 0
            while written < len(data):
                written += self._file.write(data[written:]) or 0
            self._whole_bytes += len(data)
        except OSError as exc:
            file, self._file = self._file, None
            self.write_error = (
                f"--stats {self.path}: could not write ({exc.strerror or exc}); it holds the whole lines written before"
            )
            try:
                file.truncate(self._whole_bytes)
                file.close()
            except OSError:
                pass
            from pipeline.bus import Message

            self.graph.bus.post(Message("warning", "stats", self.write_error))
