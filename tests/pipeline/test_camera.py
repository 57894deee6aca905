"""The camera source's start-up errors, mode report and recovery from a lost camera.

There is no camera on the test machines, so the device is scripted: an object with OpenCV's
VideoCapture interface whose reads succeed or fail on cue.
"""

import cv2
import numpy as np
import pytest

from pipeline.bus import Bus
from pipeline.clock import ManualClock
from pipeline.errors import UserError
from pipeline.sources.camera import CameraSource


class ScriptedCamera:
    """Gives `good_reads` frames (then fails every read); `opens=False` never opens."""

    def __init__(self, good_reads: int, opens: bool = True, size=(320, 240), level: int = 200):
        self.good_reads, self.opens, self.size, self.level = good_reads, opens, size, level
        self.settings = {}
        self.released = False

    def isOpened(self):
        return self.opens

    def set(self, prop, value):
        self.settings[prop] = value
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: 25.0, cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*"MJPG")}.get(prop, 0.0)

    def read(self):
        if not self.opens or self.good_reads <= 0:
            return False, None
        self.good_reads -= 1
        w, h = self.size
        return True, np.full((h, w, 3), self.level, np.uint8)

    def grab(self):
        self.grabs = getattr(self, "grabs", 0) + 1
        ok, _ = self.read()
        return ok

    def release(self):
        self.released = True


def test_missing_camera_is_one_clear_user_error():
    source = CameraSource(3, open_device=lambda i: ScriptedCamera(0, opens=False))
    with pytest.raises(UserError, match="camera 3 could not be opened.*synthetic"):
        source.open()


def test_camera_that_gives_no_frame_suggests_another_mode():
    source = CameraSource(0, open_device=lambda i: ScriptedCamera(0))
    with pytest.raises(UserError, match="--fourcc YUYV"):
        source.open()


def test_fourcc_is_set_before_size_and_rate_and_the_real_mode_is_reported():
    device = ScriptedCamera(5, size=(640, 480))
    source = CameraSource(0, 1280, 720, 30, open_device=lambda i: device)
    caps = source.open()
    assert list(device.settings)[:1] == [cv2.CAP_PROP_FOURCC]
    assert source.mode == {"fourcc": "MJPG", "width": 640, "height": 480, "fps": 25.0}
    assert (caps.width, caps.height, float(caps.fps), caps.live) == (640, 480, 25.0, True)


def test_lost_camera_shows_dimmed_notice_reconnects_with_backoff_and_resumes():
    clock = ManualClock(start_ns=1_000_000_000)
    devices = iter(
        [
            ScriptedCamera(4),
            ScriptedCamera(0, opens=False),
            ScriptedCamera(0, opens=False),
            ScriptedCamera(0),
            ScriptedCamera(100, level=160),
        ]
    )
    source = CameraSource(0, 320, 240, 25, clock=clock, open_device=lambda i: next(devices))
    source.bus = Bus()
    source.open()
    frames = []
    while source.reconnects == 0:
        frames.append(source.read())
        assert len(frames) < 500
    frames += [source.read() for _ in range(3)]
    good = [f for f in frames if f.pixels.mean() == 200]
    notices = [f for f in frames if f.pixels.mean() < 120]  # 200 dimmed to 80, plus the text
    resumed = [f for f in frames if f.pixels.mean() == 160]
    assert len(good) == 4 and len(notices) > 5 and len(resumed) == 4
    assert resumed[0].discont and not any(f.discont for f in good + notices + resumed[1:])
    assert [f.seq for f in frames] == list(range(len(frames)))  # the stream never stopped
    gaps = np.diff([f.pts_ns for f in notices])
    assert (gaps == 40_000_000).all()  # the notice keeps the camera's rate (25 fps)
    # exponential back-off 0.25, 0.5, 1 s; each retry happens at the first frame read after it
    intervals_s = np.diff(source.reconnect_attempts_ns) / 1e9
    assert len(intervals_s) == 3
    for interval, backoff in zip(intervals_s, [0.25, 0.5, 1.0]):
        assert backoff <= interval < backoff + 0.04
    kinds = [m.text for m in source.bus.messages()]
    assert any("lost" in t for t in kinds) and any("back after" in t for t in kinds)


def test_a_skipped_frame_is_grabbed_without_decoding_and_a_lost_camera_still_shows_the_notice():
    device = ScriptedCamera(3)
    source = CameraSource(0, 320, 240, 25, clock=ManualClock(), open_device=lambda i: device)
    source.bus = Bus()
    source.open()
    assert source.read().seq == 0  # the image open() read to learn the mode
    assert source.skip() and device.grabs == 1
    assert source.read().seq == 2
    assert source.skip()  # the camera is gone: read() takes over (the notice, reconnecting)
    assert device.released
