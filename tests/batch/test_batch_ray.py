"""`litecam batch` on a local Ray cluster the test starts itself (2 CPUs): the shared clips and
generated ones, outputs equal to single-process transcodes, and a worker killed mid-run."""

from __future__ import annotations

import re

import pytest

from pipeline.batch.runner import BatchOptions
from pipeline.presets import load_preset
from tests.batch.helpers import assert_same_timing, probe, psnr, read_manifest, transcode
from tests.batch.test_batch import kill_a_running_worker, leftovers, run_in_thread
from tests.conftest import shared_data, write_test_video

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[test]' installs it)")

pytestmark = pytest.mark.slow


RAY_CLIPS = (
    "bigbuckbunny_1280x720.mp4",
    "carphone_176x144.mp4",
    "pedestrians_768x576_msmpeg4.avi",
    "talking_head_410x412.mp4",
)
"""The shared clips this test transcodes (named: the folder also holds longer recordings)."""


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_shared_clips_on_ray_equal_single_transcodes(ray_cluster, tmp_path, capsys):
    from pipeline.cli import main

    clips = [shared_data("video", name) for name in RAY_CLIPS]
    out = tmp_path / "out"
    # 20-second chunks: the AVI (keyframes every 25 s) splits in 4; the MP4s have one keyframe each
    assert (
        main(["batch", *map(str, clips), "--out-dir", str(out), "--cluster", "ray", "--split", "--chunk-seconds", "20"])
        == 0
    )
    assert "on Ray cluster, 2 CPUs" in capsys.readouterr().err
    files = read_manifest(out)
    for clip in clips:
        key = clip.stem + ".mp4"
        assert files[key]["status"] == "done", files[key]
        single = probe(transcode(clip, tmp_path / f"single-{key}"))
        batch = probe(out / key)
        assert_same_timing(single, batch)
        if files[key]["chunks"]:
            assert files[key]["chunks"] == 4
        else:
            assert "not split" in files[key]["note"]
        # The graph's frames are the same in a Ray worker (tests/cli/test_deterministic_output.py), but
        # x264 (FFmpeg 8 through PyAV 18) was seen to encode the very same frames differently now and
        # then under CPU load, even on one thread (two encodes 37.7-40 dB apart): compression noise,
        # so decoded frames are compared within it, as for split files.
        assert min(psnr(a, b) for a, b in zip(single.frames, batch.frames)) > 34
    assert leftovers(out) == []


def test_a_killed_ray_worker_fails_its_file_and_a_rerun_completes_it(ray_cluster, tmp_path, capsys):
    long_clip = write_test_video(tmp_path / "long.mp4", frames=150, size=(320, 240), keyint=25)
    short_clip = write_test_video(tmp_path / "short.mp4", frames=30)
    out = tmp_path / "out"
    options = BatchOptions(str(out), cluster="ray", split=True, chunk_seconds=1.0, retries=0)
    settings = load_preset("transcode")
    thread, result = run_in_thread([long_clip, short_clip], out, options, settings)
    kill_a_running_worker(out, "long.mp4")
    thread.join(300)
    assert result["status"] == 1  # a worker lost is not the input's fault
    files = read_manifest(out)
    assert files["long.mp4"]["status"] == "failed" and "worker lost" in files["long.mp4"]["error"]
    assert files["short.mp4"]["status"] == "done"
    assert not (out / "long.mp4").exists()
    capsys.readouterr()

    thread, result = run_in_thread([long_clip, short_clip], out, options, settings)
    thread.join(300)
    assert result["status"] == 0
    err = capsys.readouterr().err
    assert "short.mp4: already done (manifest), skipped" in err
    tasks = int(re.search(r"(\d+) task\(s\)", err).group(1))
    assert tasks < files["long.mp4"]["chunks"]  # the chunks finished before the kill were kept
    assert read_manifest(out)["long.mp4"]["status"] == "done"
    assert_same_timing(probe(transcode(long_clip, tmp_path / "single.mp4")), probe(out / "long.mp4"))
    assert leftovers(out) == []
