"""Power modes (pipeline.power): where the power comes from, saver's frame rate at the graph's head,
its model rate in the segment stage, live switching, and `litecam run --power`."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.bus import Bus
from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.power import PowerGovernor, linux_power_source, pmset_power_source, saver_step
from pipeline.sinks.null import NullSink
from pipeline.sources.synthetic import SyntheticSource
from tests.graphs.helpers import Collect


def supply(root: Path, name: str, **files: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for key, text in files.items():
        (folder / key).write_text(text + "\n")


def test_linux_power_source_reads_the_kernel_power_supply_class(tmp_path):
    laptop_on_ac, laptop_on_battery, desktop = tmp_path / "ac", tmp_path / "battery", tmp_path / "desktop"
    supply(laptop_on_ac, "AC", type="Mains", online="1")
    supply(laptop_on_ac, "BAT0", type="Battery", status="Charging")
    supply(laptop_on_battery, "AC", type="Mains", online="0")
    supply(laptop_on_battery, "BAT0", type="Battery", status="Discharging")
    supply(desktop, "hidpp_battery_0", type="Battery", scope="Device", status="Discharging")  # a mouse
    desktop_without_anything = tmp_path / "empty"
    desktop_without_anything.mkdir()
    assert linux_power_source(laptop_on_ac) == "mains"
    assert linux_power_source(laptop_on_battery) == "battery"
    assert linux_power_source(desktop) is None
    assert linux_power_source(desktop_without_anything) is None
    assert linux_power_source(tmp_path / "missing") is None


def test_macos_pmset_output_says_where_the_power_comes_from():
    assert pmset_power_source("Now drawing from 'Battery Power'\n -InternalBattery-0 (id=1)\t80%; discharging") == (
        "battery"
    )
    assert pmset_power_source("Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t100%; charged") == "mains"
    assert pmset_power_source("") is None


def test_saver_keeps_every_other_frame_of_a_30_fps_camera():
    assert [saver_step(fps) for fps in (30, Fraction(30000, 1001), 60, 25, 24, 15, 10)] == [2, 2, 4, 2, 2, 1, 1]
    saver = PowerGovernor("saver", [], 30)
    assert [saver.skip_next() for _ in range(6)] == [False, True, False, True, False, True]
    performance = PowerGovernor("performance", [], 30)
    assert not any(performance.skip_next() for _ in range(6))


class Battery:
    """Where the power comes from, as a test says (`PowerGovernor`'s `read_source`)."""

    def __init__(self, state):
        self.state = state

    def __call__(self):
        return self.state


def test_auto_follows_the_battery_tells_the_segment_stage_and_says_why():
    from pipeline.stages.segment import Segment

    battery, bus, segment = Battery("mains"), Bus(), Segment("landscape", mask_reuse=False)
    power = PowerGovernor("auto", [segment], 30, bus, read_source=battery)
    assert not power.saving and power.label == "auto: performance (on mains power)"
    battery.state = "battery"
    power.tick()
    assert power.saving and power.label == "auto: saver (on battery)"
    assert [m.text for m in bus.messages() if m.origin == "power"] == ["auto: saver (on battery)"]
    segment.apply_updates()
    assert segment.power_saving
    battery.state = None
    power.tick()
    assert not power.saving and power.label == "auto: performance (power source not readable here)"
    power.set_mode("saver")
    assert power.saving and power.label == "saver"
    with pytest.raises(ValueError, match="performance, saver, auto"):
        power.set_mode("turbo")


def test_a_live_graph_in_saver_delivers_half_the_frames_none_dropped_none_discont():
    source = SyntheticSource(160, 96, 30, frames=40, live=True)
    sink = Collect()
    graph = Graph(source, [], [sink, NullSink()], max_in_flight=4)
    power = PowerGovernor("saver", graph.stages, graph.caps[0].fps)
    graph.head_filter = power
    stats = graph.run()
    seqs = [frame.seq for frame in sink.frames]
    assert seqs == list(range(0, 40, 2))
    assert stats["nodes"][source.name]["skipped"] == 20 and stats["nodes"][source.name]["dropped"] == 0
    assert not any(frame.discont for frame in sink.frames[1:])
    assert {frame.tiers["power"] for frame in sink.frames} == {"saver"}
    gaps_ms = np.diff([frame.capture_ns for frame in sink.frames]) / 1e6
    assert abs(float(np.median(gaps_ms)) - 1000 / 15) < 5  # evenly spaced, at the camera's pace


def test_saver_runs_the_model_less_often_on_a_still_and_on_a_moving_picture():
    """A still: the model at least every 0.5 s instead of 0.2 s; a moderate move: not on two frames
    in a row at 15 fps (at most every 0.1 s); a cut: at once."""
    from pipeline.stages.segment import Segment

    rng = np.random.default_rng(0)
    still = rng.integers(40, 200, (360, 640, 3), dtype=np.uint8)

    def runs(frames: list[np.ndarray], saving: bool, fps: int) -> list[bool]:
        segment = Segment("landscape", roi=False, mask_reuse=True)
        segment.open(Caps(640, 360, Fraction(fps)))
        segment.set_power_saving(saving)
        ran = []
        try:
            for i, pixels in enumerate(frames):
                before = segment.model_runs
                segment.process(Frame(pixels, pts_ns=i * 1_000_000_000 // fps, seq=i, discont=i == 0))
                ran.append(segment.model_runs > before)
        finally:
            segment.close()
        return ran

    assert sum(runs([still] * 30, saving=False, fps=15)) == 10  # 2 s: every 0.2 s
    assert sum(runs([still] * 30, saving=True, fps=15)) == 4  # every 0.5 s
    moving = []
    for i in range(7):  # a light coming up in one corner: 10 levels of change a frame (threshold 8)
        frame = still.copy()
        frame[:180, :214] = 100 + 10 * i
        moving.append(frame)
    cut = rng.integers(40, 200, (360, 640, 3), dtype=np.uint8)
    assert runs([*moving, cut], saving=False, fps=15) == [True] * 8
    assert runs([*moving, cut], saving=True, fps=15) == [True, False, True, False, True, False, True, True]


def test_litecam_run_power_saver_and_a_bad_mode(tmp_path, capsys):
    import av

    from pipeline.cli import main
    from tests.conftest import write_test_video

    clip = write_test_video(tmp_path / "camera.mp4", frames=30, size=(160, 96), fps=30)
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.jsonl"
    assert main(["run", "--input", str(clip), "--sink", f"file:{out}", "--power", "saver", "--stats", str(stats)]) == 0
    err = capsys.readouterr().err
    assert "power: saver" in err and "15 left out by the power saver" in err
    assert json.loads(stats.read_text().splitlines()[-1])["skipped_at_head"] == 15
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 15
    with pytest.raises(SystemExit) as exit_status:
        main(["run", "--input", str(clip), "--sink", "null", "--power", "turbo"])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert "--power" in err and "performance" in err and "Traceback" not in err
