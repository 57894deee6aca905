"""Fail closed: while an effect hides the background, no frame that leaves litecam shows it.

The live graph of `litecam run` (segment → matte → background, the deadline scheduler) runs on the
built-in webcam clip with a secret written into its background: a seeded ±`MARK_LEVELS` pattern of
single pixels in the side strips, where the person never is. A blur removes such a pattern
completely, so the share of its amplitude in an output frame's fine detail in the strips measures a
leak: about 1 for the raw camera picture, about 0 for any blurred or replaced background. Every output frame is
measured, under faults: a stage that stalls at random, both cores hogged by other processes, tier
switches forced many times a second, settings changed many times a second (backgrounds, segmenter,
edges, pause and resume), a stage failing mid-stream, the camera lost for a second and back. The
count of leaking frames is printed and must be zero.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from pipeline.chain import make_effects
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.ring import Overflow
from pipeline.scheduler import DeadlineScheduler, live_config
from pipeline.settings import Settings
from pipeline.settings_service import SettingsService
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stage import Sink, Stage

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 320, 180
STRIP = WIDTH // 8
"""Width of the left and right strips that carry the mark (the person stays in the middle)."""
MARK_LEVELS = 40
LEAK_SCORE = 0.25
"""A frame that shows this fraction of the mark's amplitude (or more) shows the background."""


def mark_pattern() -> np.ndarray:
    """The secret: ±MARK_LEVELS on single pixels of the side strips, 0 elsewhere, int16 (H, W, 1)."""
    rng = np.random.default_rng(1234)
    pattern = np.zeros((HEIGHT, WIDTH, 1), np.int16)
    signs = rng.choice(np.array([-MARK_LEVELS, MARK_LEVELS], np.int16), (HEIGHT, WIDTH, 1))
    pattern[:, :STRIP] = signs[:, :STRIP]
    pattern[:, -STRIP:] = signs[:, -STRIP:]
    return pattern


def fine_detail(pixels: np.ndarray) -> np.ndarray:
    """Luma minus its 3×3 mean, in the side strips, float32 (H, 2·STRIP)."""
    luma = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = luma - cv2.blur(luma, (3, 3))
    return np.concatenate([detail[:, :STRIP], detail[:, -STRIP:]], axis=1)


def leak_score(pixels: np.ndarray, reference: np.ndarray) -> float:
    """How much of the mark a frame shows: its fine detail projected on the mark's, as a fraction of the
    mark's own amplitude (1: the raw picture; near 0: blurred or replaced)."""
    detail = fine_detail(pixels).ravel()
    return float((detail - detail.mean()) @ reference) / float(reference @ reference)


class MarkedSource(SyntheticSource):
    """The built-in webcam clip, live, with the mark added to its background."""

    def __init__(self, **kwargs):
        super().__init__(WIDTH, HEIGHT, 30, frames=None, live=True, **kwargs)
        self.mark = mark_pattern()

    def render(self, seq: int) -> np.ndarray:
        frame = super().render(seq).astype(np.int16) + self.mark
        return np.clip(frame, 0, 255).astype(np.uint8)


class LeakMeter(Sink):
    """Scores every frame that leaves the graph (like the virtual camera: newest frame only)."""

    name = "leak-meter"
    ring_policy = Overflow.DROP_OLDEST
    ring_capacity = 1

    def __init__(self, reference: np.ndarray):
        self.reference = reference
        self.scores: list[float] = []
        self.failures: list[BaseException] = []
        """What ended the stream, if a stage failed (set by `run_live`)."""

    def process(self, frame: Frame) -> None:
        self.scores.append(leak_score(frame.pixels, self.reference))


class RaiseAt(Stage):
    """Raises on frame `seq`: a model or kernel that fails in the middle of a call."""

    name = "raises"

    def __init__(self, seq: int):
        self.seq = seq

    def process(self, frame: Frame) -> Frame:
        if frame.seq >= self.seq:
            raise RuntimeError("injected failure")
        return frame


class Stall(Stage):
    """Sleeps 0–`max_ms` at random before passing a frame on: a model that is late now and then."""

    name = "stall"

    def __init__(self, max_ms: float, seed: int = 0):
        self.max_ms, self.random = max_ms, random.Random(seed)

    def process(self, frame: Frame) -> Frame:
        if self.random.random() < 0.3:
            time.sleep(self.random.uniform(0, self.max_ms) / 1000)
        return frame


def raw_reference() -> np.ndarray:
    """The mark's fine detail as the raw camera picture shows it (what a leak correlates with)."""
    source = MarkedSource()
    source.open()
    marked = fine_detail(source.render(0)).ravel()
    plain = fine_detail(SyntheticSource.render(source, 0)).ravel()
    reference = marked - plain
    return reference - reference.mean()


def run_live(
    seconds: float,
    *,
    stall_ms: float = 0.0,
    settings_changes: bool = False,
    tier_switches: bool = False,
    raise_at: int | None = None,
    source=None,
):
    """The live graph for `seconds` under the faults asked for (`source`: default the marked clip);
    returns the leak meter."""
    settings = Settings(size=(WIDTH, HEIGHT), background="blur:12", refine=True, temporal=True)
    effects, _ = make_effects(settings)
    meter = LeakMeter(raw_reference())
    stages = [Stall(stall_ms), *effects] if stall_ms else list(effects)
    if raise_at is not None:  # between the segmenter and the compositor: the frame has a mask, no composite
        stages.insert(1, RaiseAt(raise_at))
    graph = Graph(source or MarkedSource(), stages, [meter], max_in_flight=2)
    graph.scheduler = DeadlineScheduler(graph.stages, live_config(graph.caps[0].fps, 2.0), graph.bus)
    service = SettingsService(settings, graph.stages, graph.bus)
    done = threading.Event()

    def disturb() -> None:
        rng = random.Random(7)
        segment = next(s for s in graph.stages if s.name == "segment")
        while not done.wait(0.03):
            if tier_switches:
                segment.set_tier(rng.choice(segment.tiers))
            if settings_changes:
                change = rng.choice(
                    [
                        {"background": f"blur:{rng.choice([4, 12, 30])}"},
                        {"background": "color:#203040"},
                        {"segmenter": rng.choice(["general", "landscape"])},
                        {"edge_low": 0.2, "edge_high": 0.8},
                        {"pause": True},
                        {"pause": False},
                        {"refine": rng.choice([True, False])},
                    ]
                )
                service.apply(change, "test")

    disturber = threading.Thread(target=disturb, daemon=True)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            graph.run()
        except Exception as exc:  # a stage's failure ends the stream: recorded for the test
            failures.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    disturber.start()
    time.sleep(seconds)
    done.set()
    graph.stop()
    runner.join(30)
    disturber.join(5)
    meter.failures = failures
    return meter


def count_leaks(meter: LeakMeter, label: str) -> int:
    leaks = sum(score > LEAK_SCORE for score in meter.scores)
    print(f"{label}: {len(meter.scores)} frames out, {leaks} leaking (max score {max(meter.scores):.3f})")
    return leaks


def test_the_mark_is_seen_in_a_raw_frame_and_not_in_a_blurred_one():
    reference = raw_reference()
    source = MarkedSource()
    source.open()
    raw = source.render(5)
    blurred = cv2.GaussianBlur(raw, (0, 0), 12)
    assert leak_score(raw, reference) > 0.9
    assert abs(leak_score(blurred, reference)) < 0.05


def test_no_frame_leaks_under_stalls_and_forced_tier_switches():
    meter = run_live(8, stall_ms=80, tier_switches=True)
    assert len(meter.scores) > 30
    assert count_leaks(meter, "stalls + tier switches") == 0


def test_no_frame_leaks_under_rapid_settings_changes_and_pause():
    meter = run_live(8, settings_changes=True)
    assert len(meter.scores) > 30
    assert count_leaks(meter, "settings changes + pause/resume") == 0


def test_no_frame_leaks_with_both_cores_hogged():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        meter = run_live(8, stall_ms=40, tier_switches=True, settings_changes=True)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert len(meter.scores) > 10
    assert count_leaks(meter, "both cores hogged + stalls + switches + changes") == 0


def test_a_failing_stage_ends_the_stream_without_letting_a_raw_frame_out():
    meter = run_live(8, raise_at=150)
    assert meter.failures and "injected failure" in str(meter.failures[0])
    assert 5 < len(meter.scores) <= 150
    assert count_leaks(meter, "a stage failing mid-stream") == 0


class FlakyCamera:
    """A camera (OpenCV's VideoCapture interface) showing the marked clip at 30 fps that is lost for
    a second after its first `good` frames, then comes back (the source reopens it)."""

    def __init__(self, clip: MarkedSource, state: dict, good: int = 60, lost_s: float = 1.0):
        self.clip, self.state, self.good, self.lost_s = clip, state, good, lost_s

    def isOpened(self) -> bool:
        return time.monotonic() >= self.state.get("back_at", 0.0)

    def set(self, prop, value) -> bool:
        return True

    def get(self, prop) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        time.sleep(1 / 30)
        seq = self.state["seq"] = self.state.get("seq", -1) + 1
        if seq == self.good:  # unplugged: every read fails until it is back
            self.state["back_at"] = time.monotonic() + self.lost_s
        if time.monotonic() < self.state.get("back_at", 0.0):
            return False, None
        return True, self.clip.render(seq)

    def release(self) -> None:
        pass


def test_no_frame_leaks_when_the_camera_is_lost_and_comes_back():
    from pipeline.sources.camera import CameraSource

    clip, state = MarkedSource(), {}
    clip.open()
    camera = CameraSource(0, WIDTH, HEIGHT, 30, open_device=lambda index: FlakyCamera(clip, state))
    meter = run_live(6, source=camera)
    assert camera.reconnects == 1 and len(meter.scores) > 30
    assert count_leaks(meter, "camera lost and back") == 0
