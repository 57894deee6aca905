"""`python -m tools.bench` effect runs: the report's table row is the median of `--repeat` runs."""

import json

from tools.bench.__main__ import main


def test_repeat_reports_the_median_run_and_every_runs_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "--width",
                "320",
                "--height",
                "180",
                "--frames",
                "8",
                "--paced-frames",
                "8",
                "--repeat",
                "3",
                "--no-kernels",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    for key in ("litecam-throughput", "litecam-paced", "litecam-no-refine-paced"):
        effects = report["repeats"][key]
        assert len(effects) == 3 and effects == sorted(effects)
        assert report["runs"][key]["cpu_ms_per_frame_effect"] == effects[1]
        run = report["runs"][key]
        if key.endswith("-paced"):  # a live run: the head may drop a frame when the graph is full, as
            # with a camera (seen on the 2-core machine when the first frames meet MediaPipe's warm-up)
            assert run["frames_delivered"] + run["dropped_at_head"] == 8 and run["frames_delivered"] >= 4
        else:
            assert run["frames_delivered"] == 8
    assert "baseline-paced" not in report["repeats"]  # the baseline runs once
    assert "median of 3" in capsys.readouterr().out
