import numpy as np
import pytest

from pipeline.clock import ManualClock
from pipeline.errors import UserError
from pipeline.sources.synthetic import SyntheticSource


def read_all(source):
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_frames_have_size_count_and_exact_pts():
    source = SyntheticSource(320, 240, 25, frames=10)
    caps = source.open()
    frames = read_all(source)
    assert (caps.width, caps.height, caps.live) == (320, 240, False)
    assert [f.seq for f in frames] == list(range(10))
    assert [f.pts_ns for f in frames] == [i * 40_000_000 for i in range(10)]
    assert all(f.pixels.shape == (240, 320, 3) and f.pixels.dtype == np.uint8 for f in frames)


def test_same_seed_same_pixels_and_the_picture_moves():
    a, b = SyntheticSource(160, 120, 30, frames=5), SyntheticSource(160, 120, 30, frames=5)
    a.open(), b.open()
    assert np.array_equal(a.render(3), b.render(3))
    assert np.abs(a.render(0).astype(int) - a.render(20).astype(int)).mean() > 2  # motion + lighting


def test_live_source_paces_itself_on_the_graph_clock():
    clock = ManualClock(start_ns=1_000)
    source = SyntheticSource(64, 48, 50, frames=3, live=True, clock=clock)
    assert source.open().live
    frames = read_all(source)
    assert [f.pts_ns for f in frames] == [1_000, 20_001_000, 40_001_000]
    assert clock.now_ns() == 40_001_000  # slept until each frame's due time


@pytest.mark.parametrize("size", [(15, 16), (641, 480), (640, 479)])
def test_rejects_odd_or_tiny_sizes(size):
    with pytest.raises(UserError, match="even"):
        SyntheticSource(*size)


def test_paced_source_starts_at_the_first_read_and_stamps_late_frames_with_their_due_time():
    from pipeline.sources.paced import PacedSource

    clock = ManualClock(start_ns=1_000)
    source = PacedSource(SyntheticSource(64, 48, 25, frames=5), clock=clock)
    assert source.open().live
    clock.advance_ns(5_000_000_000)  # the stages took 5 s to open: no burst of stale frames
    first = source.read()
    assert first.capture_ns == clock.now_ns()
    clock.advance_ns(100_000_000)  # the graph fell behind by 2.5 periods
    late = [source.read() for _ in range(2)]
    assert [f.capture_ns - first.capture_ns for f in late] == [40_000_000, 80_000_000]
    assert source.read().capture_ns - first.capture_ns == 120_000_000  # on time again: waited for it
    assert clock.now_ns() == first.capture_ns + 120_000_000


def test_paced_source_ends_after_its_seconds_even_when_the_input_never_does():
    """A looped file stands in for a camera in the live benchmark: `seconds` ends the stream."""
    from pipeline.sources.paced import PacedSource

    clock = ManualClock(start_ns=0)
    source = PacedSource(SyntheticSource(64, 48, 25, frames=None), clock=clock, seconds=2)
    source.open()
    frames = iter(source.read, None)
    assert sum(1 for _ in frames) == 50 and clock.now_ns() == 49 * 40_000_000
