"""A deterministic simulation of a pipelined live graph for scheduler tests.

Each stage is one server (one thread in the real graph) with a known cost per tier, optionally
multiplied by a load factor over time (a busy core). Frames arrive every `period_ns`; the head asks
the scheduler to admit each one; admitted frames pass the stages in order, each starting when both
the frame and the stage are free. Completions are reported to the scheduler in time order before
each arrival, all on integer nanoseconds: no threads, no wall clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from pipeline.scheduler import DeadlineScheduler

MS = 1_000_000


class KnownCostStage:
    """A stage whose cost per tier is known exactly (in ms)."""

    def __init__(self, name: str, costs_ms: dict[str, float], quality: dict[str, float], tier=None):
        self.name = name
        self.tiers = tuple(costs_ms)
        self.costs_ms = costs_ms
        self.tier_quality = quality
        self.tier_cost_hint = dict(costs_ms)
        self.tier = tier or self.tiers[0]

    def set_tier(self, tier: str) -> None:
        assert tier in self.tiers
        self.tier = tier


def simulate(
    scheduler: DeadlineScheduler,
    stages,
    *,
    seconds: float,
    period_ns: int,
    load: Callable[[int], float] = lambda t: 1.0,
) -> list[dict]:
    """Run the simulation; returns one record per captured frame (admitted or not)."""
    stage_free_ns = [0] * len(stages)
    pending: list[tuple[int, int, dict]] = []  # (finish time, seq, record) of frames in flight
    records = []
    for seq in range(int(seconds * 1e9 / period_ns)):
        arrival = seq * period_ns
        while pending and pending[0][0] <= arrival:
            finish, _, record = heapq.heappop(pending)
            scheduler.frame_done(record["capture_ns"], record["stage_ms"], record["tiers"], finish)
        record = {"seq": seq, "capture_ns": arrival, "admitted": False}
        records.append(record)
        if not scheduler.admit(arrival, arrival, len(pending)):
            continue
        record.update(admitted=True, stage_ms={}, tiers={})
        t = arrival
        for index, stage in enumerate(stages):
            start = max(t, stage_free_ns[index])
            cost_ms = stage.costs_ms[stage.tier] * load(start)
            t = stage_free_ns[index] = start + int(cost_ms * MS)
            record["stage_ms"][stage.name] = cost_ms
            record["tiers"][stage.name] = stage.tier
        record["finish_ns"] = t
        heapq.heappush(pending, (t, seq, record))
    return records
