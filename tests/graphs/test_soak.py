"""The CI-sized soak: a 20-second live run must not leak threads, memory or latency."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))


def test_short_live_soak_is_steady():
    import bench

    report = bench.soak(minutes=20 / 60, width=320, height=180, fps=15, warmup_s=6, sample_s=1)
    assert report["frames_delivered"] + report["dropped_at_head"] >= 15 * 20 - 2
    assert report["frames_delivered"] > 0.8 * 15 * 20  # a small frame at 15 fps: hardly any drops
    assert report["rings_within_capacity"]
    assert report["threads_end"] <= report["threads_after_warmup"]
    assert report["rss_growth_mb"] < 10
    assert report["latency_ms_p95_last_window"] < 3 * report["latency_ms_p95_first_window"] + 30
