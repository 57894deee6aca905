"""`python -m tools.bench --live`: the scheduled live chain on a video file played at its own rate
ends after `--seconds` and reports per-stage CPU, model runs and what the upscaler ran."""

import json

from tools.bench.__main__ import main


def test_a_looped_file_ends_after_its_seconds_and_the_report_says_what_ran(tmp_path, tiny_video):
    out = tmp_path / "live.json"
    args = ["--live", "--input", str(tiny_video), "--size", "320x180", "--scale", "2", "--seconds", "4"]
    assert main([*args, "--json", str(out)]) == 0  # returns: the looped file does not run forever
    report = json.loads(out.read_text())
    assert report["whole_run"]["frames"] > 0 and report["model_runs_per_second"] > 0
    assert set(report["stage_cpu_ms_per_frame"]) >= {"segment", "background", "upscale"}
    assert report["process_cpu_ms_per_frame"] > 0
    assert 0.0 <= report["network_ran_fraction"] <= report["network_tier_fraction"] <= 1.0
