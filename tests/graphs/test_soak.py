"""The CI-sized soak: a 30-second live run must not leak threads, memory or latency.

Resident memory rises for the first ~12 s (allocator arenas of the stage threads, MediaPipe's
buffers) and is flat after that, so growth is measured from 12 s on; `python -m tools.bench --soak`
runs the long version."""

import pytest

from tools.bench.soak import soak


@pytest.mark.slow
def test_short_live_soak_is_steady():
    report = soak(minutes=30 / 60, width=320, height=180, fps=15, warmup_s=12, sample_s=1)
    print({k: v for k, v in report.items() if k != "samples"}, report["samples"])
    assert report["frames_delivered"] + report["dropped_at_head"] >= 15 * 30 - 2
    assert report["frames_delivered"] > 0.7 * 15 * 30  # a small frame at 15 fps: few drops
    assert report["rings_within_capacity"]
    assert report["threads_end"] <= report["threads_after_warmup"]
    assert report["rss_growth_mb"] < 10
    assert report["latency_ms_p95_last_window"] < 3 * report["latency_ms_p95_first_window"] + 30
