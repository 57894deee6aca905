"""The same input and settings encode the same video whatever CPUs the process may use: a transcode in
a process pinned to one core (as a Ray task or a container may be) equals one that sees them all,
packet for packet (the WebM header also holds a random segment id, so files are compared by content).
x264 and libvpx choose their thread count from the CPUs they may run on, and their output changes
with it, so the file sink fixes the count (`pipeline.sinks.encoder.ENCODER_THREADS`)."""
import os
import subprocess
import sys

import av
import numpy as np
import pytest

from tests.cli.test_cli_errors import REPO
from tests.conftest import write_test_video

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs a machine with 2 or more CPUs and sched_setaffinity")


def transcode_on(cpus: set[int], src, dst, *options: str) -> tuple[list, list]:
    """Run `litecam transcode` on `cpus` only; its video packets (payload, pts, dts) and decoded BGRA frames."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "transcode", str(src), str(dst), *options],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    assert result.returncode == 0, result.stderr
    with av.open(str(dst)) as container:
        packets = [(bytes(p), p.pts, p.dts) for p in container.demux(container.streams.video[0]) if p.size]
    with av.open(str(dst)) as container:
        frames = [f.to_ndarray(format="bgra") for f in container.decode(container.streams.video[0])]
    return packets, frames


@pytest.mark.parametrize("extension, options", [
    ("mp4", ()),                                     # H.264
    ("webm", ("--background", "transparent")),       # VP9 with alpha
])
def test_encoded_video_does_not_depend_on_the_cpus_the_process_may_use(tmp_path, extension, options):
    src = write_test_video(tmp_path / "in.mp4", frames=40, size=(640, 360))
    every_cpu = os.sched_getaffinity(0)
    one_cpu = {min(every_cpu)}
    wide_packets, wide_frames = transcode_on(every_cpu, src, tmp_path / f"all.{extension}", *options)
    narrow_packets, narrow_frames = transcode_on(one_cpu, src, tmp_path / f"one.{extension}", *options)
    assert len(wide_frames) == 40
    assert wide_packets == narrow_packets
    assert all(np.array_equal(a, b) for a, b in zip(wide_frames, narrow_frames, strict=True))
