"""`python -m tools.bench --chain`: the live effect chain on a recording, this litecam against a
baseline in turns (worker processes running the real MediaPipe model)."""

import json
from pathlib import Path

import pytest

from tools.bench.__main__ import main

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_chain_against_every_frame_inference_reports_both_sides_per_stage(tmp_path, tiny_video, capsys):
    out = tmp_path / "chain.json"
    args = ["--chain", str(tiny_video), "--chain-baseline", "mask_reuse=false", "--chain-rounds", "2"]
    assert main([*args, "--width", "320", "--height", "240", "--json", str(out)]) == 0
    (report,) = json.loads(out.read_text())["recordings"]
    assert report["rounds"] == 2 and report["frames_per_round"] == 25  # one second of the 25-fps file
    assert report["baseline"] == "mask_reuse=false"
    now, baseline = report["now"], report["baseline_run"]
    assert baseline["model_runs_per_second"] == 25.0  # the model on every frame
    assert 0 < now["model_runs_per_second"] <= 25.0
    for side in (now, baseline):
        assert {"light", "segment", "background"} <= set(side["stage_cpu_ms_per_frame"])
        assert side["process_cpu_ms_per_frame"] > 0 and side["effect_cpu_ms_per_frame"] > 0
        assert side["effect_cpu_ms_per_frame"] == pytest.approx(sum(side["stage_cpu_ms_per_frame"].values()), abs=0.05)
    for ratio in (report["effect_ratio_now_vs_baseline"], report["process_ratio_now_vs_baseline"]):
        assert 0 < ratio["lowest"] <= ratio["median"] <= ratio["highest"]
        assert ratio["lowest"] <= ratio["overall"] <= ratio["highest"]
    assert "effect_ratio_now_vs_baseline" in capsys.readouterr().out


def test_the_baseline_must_be_one_earlier_litecam_or_changed_settings(tmp_path, tiny_video):
    with pytest.raises(SystemExit, match="needs a baseline"):
        main(["--chain", str(tiny_video)])
    with pytest.raises(SystemExit, match="not both"):
        main(["--chain", str(tiny_video), "--chain-earlier", str(CHECKOUT), "--chain-baseline", "mask_reuse=false"])
    with pytest.raises(SystemExit, match="no litecam effect chain"):
        main(["--chain", str(tiny_video), "--chain-earlier", str(tmp_path)])
    with pytest.raises(SystemExit, match="is not a file"):
        main(["--chain", str(tmp_path / "missing.mp4"), "--chain-earlier", str(CHECKOUT)])
