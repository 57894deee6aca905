"""The frame-deadline scheduler: drop at the head for short-term lateness, change tiers for
sustained overload or slack.

Policy apart from mechanism: stages *offer* tiers (`stage.tiers`, best first, with
`tier_quality` and `tier_cost_hint`) and switch when told (`stage.set_tier`); the graph *reports*
(`admit` at the head, `frame_done` after the fan-out); only this class *decides*. It reads no
clock of its own: every call carries `now_ns` from the graph's clock, so tests on a
`ManualClock` are exact and deterministic.

Rules (all times integer ns):
- Every frame's deadline is `capture_ns + latency_budget_ns`.
- **Drop** (head, per frame): a frame is refused when its predicted completion is past its
  deadline. In a pipeline a frame finishes no sooner than `now` plus the sum of the current tiers'
  costs, and no sooner than the previous admitted frame's predicted finish plus the bottleneck
  stage's cost; the prediction is the later of the two. A frame arriving at an empty graph is
  always admitted (dropping it cannot make anything faster, and it keeps the cost estimates
  fresh). Never dropped in the middle of the graph.
- **Downgrade** (sustained overload): when frames keep missing (more than `miss_ratio` of the
  frames done or dropped in the last `window_ns` were late or dropped) or the bottleneck stage is
  slower than the frame period, for `overload_hold_ns` without a break, one stage moves down: to
  the lower tier that saves the most measured cost per unit of quality lost (not a fixed order;
  a lower tier that costs more on this machine is skipped).
- **Upgrade** (sustained slack): when nothing was late or dropped for `slack_hold_ns`, one stage
  moves up to the higher tier with the most quality gained per cost added among those predicted
  to fit within `slack_margin` of the period and of the budget.
- **Hysteresis**: no tier change within `dwell_ns` of the previous one; the slack hold is longer
  than the overload hold, and an upgrade must fit with a margin, so tiers do not flap.
- **Back-off**: an upgrade undone by overload within `failed_upgrade_ns` failed (the tier's cost
  was predicted from another tier's and was wrong on this machine); that tier is not tried again
  for twice the previous wait (from `slack_hold_ns`, at most `max_retry_hold_ns`), so a tier that
  does not fit costs a few dropped frames a minute at most instead of every few seconds — unless
  the other stages have become `LIGHTER` since (a load has gone), when it may be tried at once. A
  tier that held longer than that starts afresh. And an upgrade is undone at once, without waiting for
  the dwell time, as soon as `PROBE_FRAMES` frames measured at the new tier put its stage over the
  frame period: a wrong guess costs a couple of frames, not a second of them.
Every decision is posted on the bus (`tier` messages) and counted.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import cast

from pipeline.bus import Bus, Message
from pipeline.stage import Stage, Tiered

NS_PER_MS = 1_000_000
PROBE_FRAMES = 2
"""Frames measured at a just-upgraded tier before it may be undone inside the dwell time."""
LIGHTER = 0.85
"""A backed-off tier may be tried at once when the other stages cost less than this fraction of what
they cost when it failed (a load has gone: the failure said nothing about the machine as it is now)."""


@dataclass
class SchedulerConfig:
    latency_budget_ns: int
    period_ns: int
    window_ns: int = 1_000_000_000
    miss_ratio: float = 0.05
    overload_hold_ns: int = 300_000_000
    slack_hold_ns: int = 2_000_000_000
    dwell_ns: int = 1_000_000_000
    slack_margin: float = 0.9
    cost_smoothing: float = 0.2
    """Weight of the newest measurement in each running cost estimate (EWMA)."""
    failed_upgrade_ns: int = 5_000_000_000
    """An upgrade undone by overload sooner than this after it was made counts as failed (back-off)."""
    max_retry_hold_ns: int = 32_000_000_000
    """The longest wait before a tier whose upgrades keep failing is tried again."""


def live_config(fps, budget_frames: float) -> SchedulerConfig:
    """Deadlines for a live source at `fps`: capture time + `budget_frames` frame periods."""
    period_ns = round(1e9 / float(fps))
    return SchedulerConfig(latency_budget_ns=round(budget_frames * period_ns), period_ns=period_ns)


def offline_config(max_fps) -> SchedulerConfig:
    """Offline (transcode) with a throughput budget: nothing is dropped and lateness is not
    judged (frames wait in the rings by design); tiers follow the bottleneck stage's cost
    against the period of `max_fps` alone."""
    period_ns = round(1e9 / float(max_fps))
    return SchedulerConfig(latency_budget_ns=2**62, period_ns=period_ns, miss_ratio=1.0)


@dataclass
class TierChange:
    at_ns: int
    stage: str
    old: str
    new: str
    reason: str


@dataclass
class _StageState:
    stage: Stage
    costs_ms: dict[str | None, float] = field(default_factory=dict)
    """Smoothed measured ms per frame by tier (None: a stage without tiers)."""
    warmed_up: set[str | None] = field(default_factory=set)
    """Tiers whose first (warm-up) measurement has been discarded."""

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(self.stage.tiers)

    @property
    def tier(self) -> str | None:
        """The tier in use; None for a stage with one fixed way of working."""
        return cast(Tiered, self.stage).tier if len(self.tiers) > 1 else None

    @property
    def chosen(self) -> str:
        """The tier in use, of a stage that offers tiers."""
        return cast(Tiered, self.stage).tier

    def set_tier(self, tier: str) -> None:
        cast(Tiered, self.stage).set_tier(tier)

    def quality(self, tier: str) -> float:
        return cast(Tiered, self.stage).tier_quality.get(tier, 1.0 - 0.1 * self.tiers.index(tier))

    def cost_ms(self, tier: str) -> float:
        """Estimated ms per frame at `tier`.

        The tier in use: its running measurement. Another tier: the current tier's running
        measurement scaled by the cost hints, so the estimate follows the machine's present load
        (a measurement taken under a load that has since gone would keep a tier out forever).
        """
        current = self.chosen
        live = self.costs_ms.get(current)
        if tier == current or live is None:
            return self.costs_ms.get(tier, live if live is not None else 0.0)
        hints = cast(Tiered, self.stage).tier_cost_hint
        if hints.get(current, 0) > 0 and tier in hints:
            return live * hints[tier] / hints[current]
        return live * 0.7 ** (self.tiers.index(tier) - self.tiers.index(current))  # no hints: 30% a tier


class DeadlineScheduler:
    def __init__(self, stages, config: SchedulerConfig, bus: Bus | None = None):
        self.config = config
        self.bus = bus or Bus()
        self._all = [_StageState(s) for s in stages]
        self.stages = [s for s in self._all if len(s.tiers) > 1]
        """The stages that offer a choice of tiers."""
        self.changes: collections.deque[TierChange] = collections.deque(maxlen=1000)
        """The latest tier changes (bounded: a live run may last for days)."""
        self.dropped = 0
        self.late = 0
        self.done = 0
        self._events: collections.deque[tuple[int, bool]] = collections.deque()
        """(time, missed) for frames done or dropped within the window."""
        self._overload_since: int | None = None
        self._slack_since: int | None = None
        self._last_change_ns: int | None = None
        self._last_finish_ns = 0
        """Predicted completion time of the last admitted frame."""
        self._upgraded_at: dict[tuple[str, str], int] = {}
        """(stage, tier) -> when the last upgrade to it happened."""
        self._backed_off: dict[tuple[str, str], tuple[int, int, float]] = {}
        """(stage, tier) -> after its last failed upgrade: (the wait, doubling on each failure; no new
        try before this time; the other stages' cost then, in ms)."""
        self._probe: tuple[_StageState, str, list[float]] | None = None
        """(stage, tier it came from, ms of each frame measured at the new tier) after an upgrade."""

    # -- predictions ------------------------------------------------------------------------------
    def stage_costs_ms(self, override: tuple[str, str] | None = None) -> list[float]:
        """Estimated ms per frame of every stage at its current tier (or `override` = (stage, tier))."""
        costs = []
        for state in self._all:
            tier = override[1] if override and state.name == override[0] else state.tier
            costs.append(state.cost_ms(tier) if tier is not None else state.costs_ms.get(None, 0.0))
        return costs

    def predicted_latency_ns(self, override=None) -> int:
        """Sum of the stages' costs: the latency of a frame that waits for nothing."""
        return int(sum(self.stage_costs_ms(override)) * NS_PER_MS)

    # -- the graph's reports ----------------------------------------------------------------------
    def admit(self, capture_ns: int, now_ns: int, in_flight: int = 1) -> bool:
        """At the head: False (drop) when this frame is predicted to miss its deadline."""
        bottleneck_ns = int(self._bottleneck_ms() * NS_PER_MS)
        finish = max(now_ns + self.predicted_latency_ns(), self._last_finish_ns + bottleneck_ns)
        if in_flight == 0 or finish <= capture_ns + self.config.latency_budget_ns:
            self._last_finish_ns = finish
            return True
        self.dropped += 1
        self._record(now_ns, missed=True)
        self._decide(now_ns)
        return False

    def frame_done(self, capture_ns: int, stage_ms: dict[str, float], tiers: dict[str, str], now_ns: int) -> None:
        """After the fan-out: learn the costs, note lateness, maybe change a tier."""
        alpha = self.config.cost_smoothing
        for state in self._all:
            if state.name in stage_ms:
                key = tiers.get(state.name) if state.tier is not None else None
                if key not in state.warmed_up:  # first call: model loading, JIT, cold caches
                    state.warmed_up.add(key)
                    continue
                old = state.costs_ms.get(key)
                ms = stage_ms[state.name]
                state.costs_ms[key] = ms if old is None else (1 - alpha) * old + alpha * ms
                if self._probe and self._probe[0] is state and key == state.tier:
                    self._probe[2].append(ms)
        late = now_ns > capture_ns + self.config.latency_budget_ns
        self.done += 1
        self.late += late
        self._record(now_ns, missed=late)
        self._decide(now_ns)

    # -- decisions --------------------------------------------------------------------------------
    def _record(self, now_ns: int, missed: bool) -> None:
        self._events.append((now_ns, missed))
        while self._events and self._events[0][0] < now_ns - self.config.window_ns:
            self._events.popleft()

    def _miss_fraction(self) -> float:
        if not self._events:
            return 0.0
        return sum(missed for _, missed in self._events) / len(self._events)

    def _bottleneck_ms(self, override=None) -> float:
        return max(self.stage_costs_ms(override), default=0.0)

    def _decide(self, now_ns: int) -> None:
        cfg = self.config
        period_ms = cfg.period_ns / NS_PER_MS
        overloaded = self._miss_fraction() > cfg.miss_ratio or self._bottleneck_ms() > period_ms
        any_miss = any(missed for _, missed in self._events)
        if overloaded:
            self._slack_since = None
            self._overload_since = self._overload_since if self._overload_since is not None else now_ns
        else:
            self._overload_since = None
            if any_miss:
                self._slack_since = None
            elif self._slack_since is None:
                self._slack_since = now_ns
        if self._last_change_ns is not None and now_ns - self._last_change_ns < cfg.dwell_ns:
            probe = self._probe
            if probe and len(probe[2]) >= PROBE_FRAMES and sum(probe[2]) / len(probe[2]) > period_ms:
                self._change(probe[0], probe[1], now_ns, "overload")
            return
        if self._overload_since is not None and now_ns - self._overload_since >= cfg.overload_hold_ns:
            self._downgrade(now_ns)
        elif self._slack_since is not None and now_ns - self._slack_since >= cfg.slack_hold_ns:
            self._upgrade(now_ns)

    def _downgrade(self, now_ns: int) -> None:
        """One step down for the stage whose step saves the most measured cost per unit of quality
        lost. A stage's step is its nearest lower tier that is cheaper: tiers are ordered by
        quality, and on some machines a lower one costs more (INT8 without VNNI) and is skipped."""
        best, best_score = None, 0.0
        for state in self.stages:
            index = state.tiers.index(state.chosen)
            current_cost = state.cost_ms(state.chosen)
            lower = next((t for t in state.tiers[index + 1 :] if state.cost_ms(t) < current_cost), None)
            if lower is None:
                continue
            loss = max(state.quality(state.chosen) - state.quality(lower), 1e-6)
            score = (current_cost - state.cost_ms(lower)) / loss
            if score > best_score:
                best, best_score = (state, lower), score
        if best is not None:
            self._change(best[0], best[1], now_ns, "overload")

    def _upgrade(self, now_ns: int) -> None:
        """One step up for the stage whose step gains the most quality per cost added. A stage's
        step is its nearest higher tier predicted to fit within `slack_margin` of the period and
        of the budget (a nearer one that does not fit, e.g. a slow INT8, is skipped)."""
        cfg = self.config
        period_ms = cfg.period_ns / NS_PER_MS

        def fits(state, tier) -> bool:
            override = (state.name, tier)
            _, not_before, others_ms = self._backed_off.get(override, (0, 0, 0.0))
            if now_ns < not_before and self._others_ms(state.name) > LIGHTER * others_ms:
                return False
            return (
                self._bottleneck_ms(override) <= cfg.slack_margin * period_ms
                and self.predicted_latency_ns(override) <= cfg.slack_margin * cfg.latency_budget_ns
            )

        best, best_score = None, 0.0
        for state in self.stages:
            index = state.tiers.index(state.chosen)
            higher = next((t for t in reversed(state.tiers[:index]) if fits(state, t)), None)
            if higher is None:
                continue
            gain = state.quality(higher) - state.quality(state.chosen)
            added = max(state.cost_ms(higher) - state.cost_ms(state.chosen), 1e-3)
            if gain / added > best_score:
                best, best_score = (state, higher), gain / added
        if best is not None:
            self._change(best[0], best[1], now_ns, "slack")
        else:
            self._slack_since = now_ns  # nothing fits yet: look again after another hold

    def _change(self, state: _StageState, tier: str, now_ns: int, reason: str) -> None:
        old = state.chosen
        if reason == "slack":
            state.costs_ms[tier] = state.cost_ms(tier)  # restart from the estimate that justified the move
            self._upgraded_at[state.name, tier] = now_ns
            self._probe = (state, old, [])
        else:
            self._back_off(state.name, old, now_ns)
            self._probe = None
        state.set_tier(tier)
        change = TierChange(now_ns, state.name, old, tier, reason)
        self.changes.append(change)
        self._last_change_ns = now_ns
        self._overload_since = self._slack_since = None
        self._events.clear()
        self.bus.post(
            Message(
                "tier", state.name, f"{old} -> {tier} ({reason})", now_ns, {"old": old, "new": tier, "reason": reason}
            )
        )

    def _others_ms(self, stage: str) -> float:
        """The summed running cost of every stage but `stage` (it rises while the machine is loaded)."""
        return sum(cost for state, cost in zip(self._all, self.stage_costs_ms()) if state.name != stage)

    def _back_off(self, stage: str, left: str, now_ns: int) -> None:
        """`stage` left tier `left` under overload: if it had been upgraded to it only just before,
        double the wait before it is tried again; if it had held, forget earlier failures."""
        key = (stage, left)
        cfg = self.config
        upgraded_at = self._upgraded_at.get(key)
        if upgraded_at is not None and now_ns - upgraded_at < cfg.failed_upgrade_ns:
            previous_hold = self._backed_off.get(key, (cfg.slack_hold_ns,))[0]
            hold = min(2 * previous_hold, cfg.max_retry_hold_ns)
            self._backed_off[key] = (hold, now_ns + hold, self._others_ms(stage))
        else:
            self._backed_off.pop(key, None)
