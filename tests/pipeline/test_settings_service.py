"""Live settings: changes validated like a preset, applied by their stage at a frame boundary while
frames keep flowing; a watched preset file applies when saved; bad changes refused, nothing changed.
Real graphs: the synthetic camera, MediaPipe's selfie model, the matte and background stages."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from pipeline.bus import Bus
from pipeline.chain import make_effects
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.settings import Settings
from pipeline.settings_service import PresetWatcher, SettingsService
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stage import Sink, Stage

GREEN = (0, 255, 0)  # BGR of color:#00FF00
CORNER = np.s_[4, 4]  # a background pixel of the synthetic portrait


class Corners(Sink):
    """Keeps (seq, the corner pixel) of every frame it receives."""

    name = "corners"

    def __init__(self):
        self.seen: list[tuple[int, tuple[int, ...]]] = []

    def process(self, frame: Frame) -> None:
        self.seen.append((frame.seq, tuple(int(v) for v in frame.pixels[CORNER][:3])))


class AtFrame(Stage):
    """Runs `actions[seq]` when frame `seq` passes, before the effects see it (once every earlier
    frame has reached `sink`, when given: a clean before/after boundary); optionally paces frames."""

    name = "probe"

    def __init__(self, actions: dict, pace_s: float = 0.0, sink: Corners | None = None):
        self.actions, self.pace_s, self.sink = actions, pace_s, sink

    def process(self, frame: Frame) -> Frame:
        if frame.seq in self.actions:
            while self.sink is not None and len(self.sink.seen) < frame.seq:
                time.sleep(0.001)
            self.actions[frame.seq]()
        if self.pace_s:
            time.sleep(self.pace_s)
        return frame


def graph_with(settings: Settings, actions: dict, frames: int = 40, pace_s: float = 0.0):
    effects, _ = make_effects(settings)
    sink = Corners()
    probe = AtFrame(actions, pace_s, sink)
    graph = Graph(SyntheticSource(320, 180, 30, frames=frames), [probe, *effects], [sink])
    service = SettingsService(settings, graph.stages, graph.bus)
    return graph, service, sink


def small(**values) -> Settings:
    return Settings(**{"size": (320, 180), "refine": False, "temporal": True, **values})


def test_changes_apply_from_the_next_frame_and_no_frame_is_lost():
    settings = small(background="blur")
    calls = {}
    graph, service, sink = graph_with(
        settings,
        {
            10: lambda: calls.setdefault(10, service.apply({"background": "color:#00FF00"}, "test")),
            20: lambda: calls.setdefault(20, service.apply({"background": "none", "edge_low": 0.3}, "test")),
            30: lambda: calls.setdefault(
                30, service.apply({"background": "color:#00FF00", "segmenter": "general"}, "test")
            ),
        },
    )
    graph.run()
    seqs = [seq for seq, _ in sink.seen]
    assert seqs == list(range(40))  # every frame, in order: nothing dropped while settings changed
    corner = dict(sink.seen)
    assert all(corner[s] != GREEN for s in range(10))
    assert all(corner[s] == GREEN for s in range(10, 20))  # from the very frame after the request
    assert all(corner[s] != GREEN for s in range(20, 30))  # none: the camera's own pixels
    assert all(corner[s] == GREEN for s in range(30, 40))
    assert calls == {
        10: {"background": "color:#00FF00"},
        20: {"background": "none", "edge_low": 0.3},
        30: {"background": "color:#00FF00", "segmenter": "general"},
    }
    assert graph.stages[1].tier == "general" and graph.stages[-1].edge_lo == 0.3
    texts = [m.text for m in graph.bus.messages("settings")]
    assert texts[0] == "test: background = color:#00FF00" and len(texts) == 3


def test_bad_changes_are_refused_and_nothing_changes(tmp_path):
    settings = small(background="blur", scale=1)
    graph, service, _ = graph_with(settings, {})
    segment = graph.stages[1]
    cases = [
        ({"edge_low": "x"}, "edge_low"),
        ({"light_wrap": 2}, "light_wrap"),
        ({"edge_low": 0.8}, "edge_low (0.8) must be below edge_high"),
        ({"size": "640x360"}, "size cannot change while litecam runs"),
        ({"nonsense": 1}, "unknown key 'nonsense'"),
        ({"background": f"image:{tmp_path / 'missing.png'}"}, "missing.png"),
        ({"background": "transparent"}, "needs a restart"),
        ({"sr_model": "esrt"}, "not offered by this run"),
        ({"segmenter": "general", "background": "video:/nope.mp4"}, "nope.mp4"),  # all or nothing
    ]
    for values, needle in cases:
        with pytest.raises(UserError, match=re.escape(needle)):
            service.apply(values, "test")
    assert service.settings == settings and segment.tier == "landscape"
    assert graph.bus.messages("settings") == []
    plain = Graph(SyntheticSource(320, 180, 30, frames=1), make_effects(small(temporal=False))[0], [Corners()])
    with pytest.raises(UserError, match="no matte stage"):
        SettingsService(small(temporal=False), plain.stages, Bus()).apply({"refine": True})


def test_a_saved_preset_applies_live_and_an_invalid_edit_is_refused(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('size = "320x180"\nrefine = false\nbackground = "blur"\n')
    settings = small(background="blur")
    holder = {}

    def save(text: str):
        preset.write_text(text)
        stamp = preset.stat().st_mtime_ns
        import os

        os.utime(preset, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))  # a new mtime, however coarse

    graph, service, sink = graph_with(
        settings,
        {
            15: lambda: save('size = "320x180"\nrefine = false\nbackground = "color:#00FF00"\n'),
            45: lambda: save('size = "320x180"\nrefine = false\nbackground = "blur"\nedge_low = 2\n'),
        },
        frames=75,
        pace_s=0.02,
    )
    with PresetWatcher(preset, service, {"segmenter": "landscape"}, interval_s=0.05) as watcher:
        holder["watcher"] = watcher
        graph.run()
    corner = dict(sink.seen)
    assert [seq for seq, _ in sink.seen] == list(range(75))
    assert corner[10] != GREEN
    first_green = min(s for s in corner if corner[s] == GREEN)
    assert 15 <= first_green <= 15 + 10  # 50 ms polling at ~20 ms a frame
    assert all(corner[s] == GREEN for s in range(first_green, 75))  # the bad edit changed nothing
    assert watcher.applied == 1 and watcher.refused == 1
    (refusal,) = [m.text for m in graph.bus.messages("warning") if m.origin == "settings"]
    assert "edge_low" in refusal and "mine.toml" in refusal and "unchanged" in refusal
    assert service.settings.background == "color:#00FF00"


def test_litecam_run_applies_a_saved_preset_and_refuses_a_broken_one(tmp_path):
    """End to end: `litecam run --preset FILE` in a real process; the file is edited while it runs."""
    import signal
    import subprocess
    import sys
    import threading

    from tests.cli.test_cli_errors import REPO

    preset = tmp_path / "mine.toml"
    preset.write_text('size = "320x180"\nfps = 15\nbackground = "blur"\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--input", "synthetic", "--sink", "null", "--preset", str(preset)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()

    def wait_for(text: str, timeout_s: float = 90) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any(text in line for line in lines):
            time.sleep(0.1)
        return any(text in line for line in lines)

    try:
        assert wait_for("watching"), lines
        time.sleep(1.0)
        preset.write_text('size = "320x180"\nfps = 15\nbackground = "color:#00FF00"\n')
        assert wait_for("background = color:#00FF00", 20), lines
        preset.write_text('size = "320x180"\nfps = 30\nbackground = "blur"\n')
        assert wait_for("fps cannot change while litecam runs", 20), lines
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(10)
    assert process.returncode == 0, "".join(lines)
    assert not any("Traceback" in line for line in lines)


def test_pause_shows_a_still_while_frames_keep_flowing(tmp_path):
    settings = small(background="blur")
    picture = tmp_path / "brb.png"
    import cv2

    cv2.imwrite(str(picture), np.full((90, 160, 3), (10, 20, 200), np.uint8))
    graph, service, sink = graph_with(
        settings,
        {
            10: lambda: service.apply({"pause": True}, "test"),
            20: lambda: service.apply({"pause_image": str(picture)}, "test"),
            30: lambda: service.apply({"pause": False}, "test"),
        },
    )
    with pytest.raises(UserError, match="could not be read"):
        service.apply({"pause": True, "pause_image": str(tmp_path / "nope.png")}, "test")
    assert service.settings.pause is False
    graph.run()
    corner = dict(sink.seen)
    assert [seq for seq, _ in sink.seen] == list(range(40))  # paused frames are frames too: no gap
    assert all(corner[s] == (40, 40, 40) for s in range(10, 20))  # the "Be right back" card's grey
    assert all(corner[s] == (10, 20, 200) for s in range(20, 30))  # the user's picture
    assert all(corner[s] not in ((40, 40, 40), (10, 20, 200)) for s in list(range(10)) + list(range(30, 40)))


def test_a_preset_may_start_paused():
    graph, service, sink = graph_with(
        small(background="blur", pause=True), {5: lambda: service.apply({"pause": False}, "test")}, frames=10
    )
    graph.run()
    corner = dict(sink.seen)
    assert all(corner[s] == (40, 40, 40) for s in range(5)) and corner[9] != (40, 40, 40)
