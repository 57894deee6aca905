"""What litecam computes does not depend on the CPUs the process may use: the mattes of a video (the
alpha the compositor blends with, written losslessly) are byte-identical from a process pinned to
one core (as a Ray task or a container may be) and from one that sees every core.

The encoded file is not held to that: x264 and libvpx choose their thread count from the CPUs they
may run on and encode differently with each, so the file sink fixes the count
(`pipeline.sinks.encoder.ENCODER_THREADS`); and x264 (FFmpeg 8 through PyAV 18) was seen to encode
the very same frames differently now and then under CPU load even on one thread, so encoded outputs
are compared within compression noise (`tests/batch/test_batch_ray.py`)."""

import os
import subprocess
import sys

import pytest

from tests.cli.test_cli_errors import REPO
from tests.conftest import write_test_video

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs a machine with 2 or more CPUs and sched_setaffinity",
)


def mattes_on(cpus: set[int], src, out_dir) -> dict[str, bytes]:
    """Run `litecam matte` on `cpus` only; the PNGs it wrote, by name."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "matte", str(src), str(out_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )
    assert result.returncode == 0, result.stderr
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir())}


def test_mattes_do_not_depend_on_the_cpus_the_process_may_use(tmp_path):
    src = write_test_video(tmp_path / "in.mp4", frames=30, size=(640, 360))
    every_cpu = os.sched_getaffinity(0)
    wide = mattes_on(every_cpu, src, tmp_path / "all")
    narrow = mattes_on({min(every_cpu)}, src, tmp_path / "one")
    assert len(wide) == 30
    assert wide == narrow
