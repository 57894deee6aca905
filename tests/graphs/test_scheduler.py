"""The DeadlineScheduler's decisions, exactly, on simulated stages of known cost (see sim.py)."""

from pipeline.bus import Bus
from pipeline.scheduler import DeadlineScheduler, SchedulerConfig
from tests.graphs.sim import MS, KnownCostStage, simulate

PERIOD_NS = 33_333_333  # 30 fps
BUDGET_NS = 2 * PERIOD_NS


def make_stages():
    segment = KnownCostStage(
        "segment",
        {"general": 10.0, "landscape": 6.0, "landscape-half-rate": 3.5},
        {"general": 1.0, "landscape": 0.95, "landscape-half-rate": 0.8},
    )
    background = KnownCostStage("background", {"blur": 3.0}, {"blur": 1.0})
    upscale = KnownCostStage(
        "upscale",
        {"esrt": 28.0, "xlsr": 12.0, "xlsr-int8": 9.0, "bicubic": 2.0},
        {"esrt": 1.0, "xlsr": 0.93, "xlsr-int8": 0.92, "bicubic": 0.6},
    )
    return [segment, background, upscale]


def make_scheduler(stages, bus=None):
    return DeadlineScheduler(stages, SchedulerConfig(latency_budget_ns=BUDGET_NS, period_ns=PERIOD_NS), bus)


def busy_core(start_s, end_s, factor):
    return lambda t: factor if start_s * 1e9 <= t < end_s * 1e9 else 1.0


def test_admits_every_frame_when_the_machine_keeps_up():
    stages = make_stages()
    scheduler = make_scheduler(stages)
    records = simulate(scheduler, stages, seconds=5, period_ns=PERIOD_NS)
    assert all(r["admitted"] for r in records)
    assert not scheduler.changes and scheduler.late == 0
    assert all(r["finish_ns"] - r["capture_ns"] <= BUDGET_NS for r in records)


def test_drops_at_the_head_a_frame_predicted_to_miss_its_deadline():
    stages = make_stages()
    scheduler = make_scheduler(stages)
    for _ in range(2):  # the first report of each tier is warm-up and is not learnt from
        scheduler.frame_done(
            0, {"segment": 10.0, "background": 3.0, "upscale": 28.0}, {"segment": "general", "upscale": "esrt"}, 41 * MS
        )
    assert scheduler.admit(capture_ns=100 * MS, now_ns=100 * MS)  # done at 141 ms: within 166.7
    assert scheduler.admit(capture_ns=110 * MS, now_ns=110 * MS)  # waits for the upscaler: 169 ms
    assert not scheduler.admit(capture_ns=115 * MS, now_ns=115 * MS)  # 169 + 28 = 197 ms > 181.7
    assert not scheduler.admit(capture_ns=200 * MS, now_ns=230 * MS)  # captured 30 ms ago: 271 > 266.7
    assert scheduler.dropped == 2


def test_first_measurement_is_warm_up_and_an_empty_graph_always_admits():
    stages = make_stages()
    scheduler = make_scheduler(stages)
    warm_up = {"segment": 900.0, "background": 50.0, "upscale": 2000.0}  # model load, JIT
    scheduler.frame_done(0, warm_up, {"segment": "general", "upscale": "esrt"}, 3000 * MS)
    assert scheduler.stage_costs_ms() == [0.0, 0.0, 0.0]
    slow = {"segment": 100.0, "background": 3.0, "upscale": 100.0}
    scheduler.frame_done(0, slow, {"segment": "general", "upscale": "esrt"}, 3100 * MS)
    assert not scheduler.admit(capture_ns=4000 * MS, now_ns=4000 * MS, in_flight=1)  # 203 ms > budget
    assert scheduler.admit(capture_ns=4000 * MS, now_ns=4000 * MS, in_flight=0)  # nothing to wait for


def test_sustained_overload_downgrades_the_best_cost_per_quality_first():
    stages = make_stages()
    bus = Bus()
    scheduler = make_scheduler(stages, bus)
    simulate(scheduler, stages, seconds=6, period_ns=PERIOD_NS, load=busy_core(1, 6, 1.6))
    first = scheduler.changes[0]
    # upscale esrt->xlsr saves 16 ms per 0.07 quality; segment general->landscape saves 4 per 0.05
    assert (first.stage, first.old, first.new, first.reason) == ("upscale", "esrt", "xlsr", "overload")
    assert 1.0e9 < first.at_ns < 1.6e9  # after the overload hold, not at the first late frame
    assert [m.text for m in bus.messages("tier")][0] == "esrt -> xlsr (overload)"


def test_recovers_the_top_tiers_within_3_s_after_the_load_stops_without_flapping():
    stages = make_stages()
    scheduler = make_scheduler(stages)
    records = simulate(scheduler, stages, seconds=20, period_ns=PERIOD_NS, load=busy_core(2, 12, 1.6))
    downgrades = [c for c in scheduler.changes if c.reason == "overload"]
    upgrades = [c for c in scheduler.changes if c.reason == "slack"]
    assert downgrades and all(c.at_ns < 12.5e9 for c in downgrades)
    assert all(c.at_ns >= 12e9 for c in upgrades)  # no upgrade while the core stays busy
    assert [s.tier for s in stages] == ["general", "blur", "esrt"]
    assert max(c.at_ns for c in upgrades) <= 15e9  # top tier within 3 s of the load stopping
    # while loaded, after the downgrades settle, frames meet their deadlines again
    settled = [r for r in records if 6e9 <= r["capture_ns"] < 12e9 and r["admitted"]]
    late = [r for r in settled if r["finish_ns"] - r["capture_ns"] > BUDGET_NS]
    assert settled and len(late) / len(settled) < 0.05


def test_a_marginal_machine_settles_instead_of_flapping():
    stages = make_stages()
    scheduler = make_scheduler(stages)
    # esrt costs 30 ms of a 33 ms period: feasible, but an upgrade back to it would not fit the margin
    simulate(scheduler, stages, seconds=60, period_ns=PERIOD_NS, load=busy_core(0, 60, 1.1))
    assert len(scheduler.changes) <= 3
    last_change_s = scheduler.changes[-1].at_ns / 1e9 if scheduler.changes else 0
    assert last_change_s < 10


def test_decisions_are_deterministic():
    runs = []
    for _ in range(2):
        stages = make_stages()
        scheduler = make_scheduler(stages)
        simulate(scheduler, stages, seconds=10, period_ns=PERIOD_NS, load=busy_core(2, 7, 1.7))
        runs.append([(c.at_ns, c.stage, c.new) for c in scheduler.changes])
    assert runs[0] == runs[1] and runs[0]


def test_live_graph_with_scheduler_downgrades_a_too_slow_stage():
    """The real threaded graph on the system clock: a stage whose best tier takes 45 ms per frame
    at 30 fps is downgraded, frames are dropped only at the head, and every change is posted."""
    import time

    from pipeline.graph import Graph
    from pipeline.stage import Stage
    from tests.graphs.helpers import Collect, CountingSource

    class Sleeper(Stage):
        name = "sleeper"
        tiers = ("slow", "fast")
        tier_quality = {"slow": 1.0, "fast": 0.9}
        tier_cost_hint = {"slow": 45.0, "fast": 3.0}

        def __init__(self):
            self.tier = "slow"

        def set_tier(self, tier):
            self.tier = tier

        def process(self, frame):
            time.sleep(self.tier_cost_hint[self.tier] / 1000)
            frame.tiers[self.name] = self.tier
            return frame

    class Paced(CountingSource):
        def read(self):
            time.sleep(PERIOD_NS / 1e9)
            frame = super().read()
            if frame is not None:
                frame.capture_ns = self.clock.now_ns()
            return frame

    stage, sink, bus = Sleeper(), Collect(), Bus()
    config = SchedulerConfig(latency_budget_ns=BUDGET_NS, period_ns=PERIOD_NS, dwell_ns=300_000_000)
    scheduler = DeadlineScheduler([stage], config, bus)
    graph = Graph(Paced(60, live=True), [stage], [sink], bus=bus, scheduler=scheduler, max_in_flight=3)
    stats = graph.run()
    assert stage.tier == "fast"
    assert [m.text for m in bus.messages("tier")][0] == "slow -> fast (overload)"
    assert stats["nodes"]["counting"]["dropped"] > 0
    assert len(sink.frames) + stats["nodes"]["counting"]["dropped"] == 60
    assert sink.frames[-1].tiers["sleeper"] == "fast"


def test_a_lower_tier_that_costs_more_is_skipped():
    """INT8 slower than fp32 (no VNNI): overload moves xlsr straight to bicubic."""
    upscale = KnownCostStage(
        "upscale", {"xlsr": 60.0, "xlsr-int8": 90.0, "bicubic": 2.0}, {"xlsr": 0.9, "xlsr-int8": 0.88, "bicubic": 0.5}
    )
    segment = KnownCostStage("segment", {"landscape": 6.0}, {"landscape": 1.0})
    scheduler = make_scheduler([segment, upscale])
    simulate(scheduler, [segment, upscale], seconds=4, period_ns=PERIOD_NS)
    assert [(c.old, c.new) for c in scheduler.changes][:1] == [("xlsr", "bicubic")]
    assert upscale.tier == "bicubic"  # and no upgrade: neither xlsr nor int8 fits a 33 ms period


def test_an_upgrade_that_does_not_fit_is_retried_ever_more_rarely():
    # the hint says litesr costs 5x bicubic (10 ms, fits); on this machine it takes 45 ms
    upscale = KnownCostStage(
        "upscale", {"litesr": 45.0, "bicubic": 2.0}, {"litesr": 0.9, "bicubic": 0.6}, tier="bicubic"
    )
    upscale.tier_cost_hint = {"litesr": 10.0, "bicubic": 2.0}
    stages = [KnownCostStage("segment", {"general": 8.0}, {"general": 1.0}), upscale]
    scheduler = make_scheduler(stages)
    records = simulate(scheduler, stages, seconds=90, period_ns=PERIOD_NS)
    tries = [c.at_ns / 1e9 for c in scheduler.changes if c.reason == "slack"]
    assert all(c.reason == "overload" for c in scheduler.changes if c.new == "bicubic")
    gaps = [b - a for a, b in zip(tries, tries[1:])]
    assert len(tries) >= 3 and all(later > earlier for earlier, later in zip(gaps, gaps[1:]))
    assert len(tries) <= 6  # without back-off: one try every ~3 s, 30 in 90 s
    assert max(gaps) >= 30
    changes = list(scheduler.changes)
    undone_after_s = [(b.at_ns - a.at_ns) / 1e9 for a, b in zip(changes, changes[1:]) if a.reason == "slack"]
    assert undone_after_s and max(undone_after_s) < 0.25  # undone after a few frames, not after the dwell
    assert sum(r["admitted"] for r in records) / len(records) > 0.97


def test_a_back_off_earned_under_load_ends_when_the_load_does():
    # litesr fits the quiet machine (25 of 33 ms) but not while a busy core slows every stage 1.6x
    upscale = KnownCostStage("upscale", {"litesr": 25.0, "bicubic": 2.0}, {"litesr": 0.9, "bicubic": 0.6})
    upscale.tier_cost_hint = {"litesr": 10.0, "bicubic": 2.0}  # and the hint makes it look cheap
    stages = [KnownCostStage("segment", {"general": 12.0}, {"general": 1.0}), upscale]
    scheduler = make_scheduler(stages)
    simulate(scheduler, stages, seconds=40, period_ns=PERIOD_NS, load=busy_core(2, 25, 1.6))
    failed = [c for c in scheduler.changes if c.reason == "overload" and c.at_ns > 4e9]
    assert len(failed) >= 2  # it kept trying under the load, and failing
    back = [c.at_ns / 1e9 for c in scheduler.changes if c.reason == "slack" and c.at_ns >= 25e9]
    assert back and back[0] <= 28 and upscale.tier == "litesr"  # back within 3 s of the load's end
