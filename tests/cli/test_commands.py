"""Whole commands end to end on real media: demo, transcode, matte."""

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipeline.cli import main
from pipeline.media.pixels import frame_to_bgr
from tests.conftest import write_test_video


def probe(path: Path):
    """(video pts list, time base, audio packet count, audio duration in seconds)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        pts = [frame.pts for frame in container.decode(video)]
        time_base = video.time_base
    with av.open(str(path)) as container:
        audio_packets = [p for p in container.demux(audio=0) if p.size] if container.streams.audio else []
        audio_s = sum(float(p.duration * p.time_base) for p in audio_packets)
    return pts, time_base, len(audio_packets), audio_s


def test_transcode_keeps_every_frame_its_timestamp_and_the_audio(tmp_path, tiny_video, capsys):
    out = tmp_path / "out.mp4"
    assert main(["transcode", str(tiny_video), str(out), "--background", "color:#00ff00"]) == 0
    in_pts, in_tb, in_audio, in_audio_s = probe(tiny_video)
    out_pts, out_tb, out_audio, out_audio_s = probe(out)
    assert len(out_pts) == len(in_pts) == 20
    assert [p * out_tb for p in out_pts] == [p * in_tb for p in in_pts]
    assert out_audio == in_audio > 0 and abs(out_audio_s - in_audio_s) < 1 / 25
    assert "wrote" in capsys.readouterr().out


def test_transcode_replaces_the_background(tmp_path, tiny_video):
    out = tmp_path / "green.mp4"
    assert main(["transcode", str(tiny_video), str(out), "--background", "color:#00ff00"]) == 0
    with av.open(str(out)) as container:
        first = frame_to_bgr(next(container.decode(video=0)))
    corner = first[:12, -12:].reshape(-1, 3).mean(axis=0)  # background (rocket side) -> green
    assert corner[1] > 200 and corner[0] < 60 and corner[2] < 60


def test_transcode_with_light_and_main_person_brightens_a_dark_recording_and_keeps_every_frame(tmp_path):
    class Dark:
        """The synthetic portrait at a fifth of its brightness (a dim room)."""

        def __init__(self):
            from pipeline.sources.synthetic import SyntheticSource

            self.source = SyntheticSource(320, 180, 25, frames=20)
            self.source.open()

        def render(self, i: int) -> np.ndarray:
            return (self.source.render(i) // 5).astype(np.uint8)

    dark = write_test_video(tmp_path / "dark.mp4", size=(320, 180), source=Dark())
    out = tmp_path / "lit.mp4"
    assert main(["transcode", str(dark), str(out), "--light", "auto", "--people", "main", "--background", "none"]) == 0
    pts, _, audio, _ = probe(out)
    assert len(pts) == 20 and audio > 0
    with av.open(str(dark)) as before, av.open(str(out)) as after:
        ratios = [
            a.to_ndarray(format="gray").mean() / max(1.0, b.to_ndarray(format="gray").mean())
            for a, b in zip(after.decode(video=0), before.decode(video=0))
        ]
    assert min(ratios) > 1.8


@pytest.mark.parametrize("suffix", [".webm", ".mov"])
def test_transparent_transcode_keeps_alpha(tmp_path, tiny_video, suffix):
    out = tmp_path / f"cutout{suffix}"
    assert main(["transcode", str(tiny_video), str(out), "--background", "transparent"]) == 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        codec = av.CodecContext.create("libvpx-vp9", "r") if suffix == ".webm" else None
        packets = [p for p in container.demux(stream) if p.size]
        frame = codec.decode(packets[0])[0] if codec else next(iter(stream.codec_context.decode(packets[0])))
        bgra = frame.to_ndarray(format="bgra")
    assert len(packets) == 20
    alpha = bgra[:, :, 3]
    assert alpha[:10, -10:].mean() < 20  # background corner transparent
    assert alpha[25:41, 60:75].mean() > 245  # the face opaque


def test_demo_writes_video_side_by_side_and_timing_table(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert main(["demo", "--out", str(out), "--frames", "6", "--size", "320x180"]) == 0
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6
    side = cv2.imread(str(tmp_path / "demo-side-by-side.png"))
    assert side.shape == (180, 960, 3)
    mask = side[:, 320:640, 0]
    assert mask[:20, -20:].mean() < 10 and mask[60:90, 120:150].mean() > 245
    table = capsys.readouterr().out
    assert "| segment |" in table and "| background |" in table and "whole process" in table


def test_matte_of_video_equals_the_compositors_alpha(tmp_path, tiny_video):
    """The refined alpha of the matte stage, as the compositor gets it (see also
    tests/pipeline/test_matte_stage.py, which compares the two in one graph)."""
    from pipeline.presets import load_preset
    from pipeline.stages.matte import matte_for
    from pipeline.stages.segment import Segment

    out_dir = tmp_path / "mattes"
    assert main(["matte", str(tiny_video), str(out_dir)]) == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [f"{i:06d}.png" for i in range(20)]
    settings = load_preset("transcode")
    with av.open(str(tiny_video)) as container:
        first = frame_to_bgr(next(container.decode(video=0)))
    segment = Segment(settings.segmenter, roi=settings.roi)
    expected = matte_for(settings).alpha(first, segment.person_mask(first), discont=True)
    assert expected.shape == (120, 160)
    written = cv2.imread(str(out_dir / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint8 and written.ndim == 2
    assert np.array_equal(written, expected)


def test_matte_of_image_folder_keeps_stems_and_sizes(tmp_path):
    from pipeline.sources.synthetic import SyntheticSource

    images = tmp_path / "images"
    images.mkdir()
    for name, (w, h) in {"a": (200, 150), "b": (121, 97)}.items():
        source = SyntheticSource(w + w % 2, h + h % 2, 30, frames=1)
        source.open()
        cv2.imwrite(str(images / f"{name}.jpg"), source.render(0)[:h, :w])
    out_dir = tmp_path / "out"
    assert main(["matte", str(images), str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.png", "b.png"]
    assert cv2.imread(str(out_dir / "b.png"), cv2.IMREAD_UNCHANGED).shape == (97, 121)


def start_long_transcode(tmp_path, out: Path):
    """A transcode of 400 frames in a child process, returned once it has written some frames
    (its partial output file has grown past the container header)."""
    import subprocess
    import sys
    import time

    source = write_test_video(tmp_path / "long.mp4", frames=400, size=(320, 240))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "transcode", str(source), str(out)],
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        partial = list(tmp_path.glob(f".{out.stem}.partial*"))
        if partial and partial[0].exists() and partial[0].stat().st_size > 20_000:
            return process
        time.sleep(0.02)
    raise AssertionError("the transcode never started writing frames")


def test_interrupted_transcode_leaves_a_playable_file(tmp_path):
    """SIGINT mid-transcode: the file is finalised with the frames processed so far."""
    import signal

    out = tmp_path / "partial.mp4"
    process = start_long_transcode(tmp_path, out)
    partials = lambda: list(tmp_path.glob(".partial*")) + list(tmp_path.glob("*.partial*"))  # noqa: E731
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    with av.open(str(out)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert 0 < decoded < 400
    assert not partials()


def test_transcode_with_a_throughput_budget_still_keeps_every_frame(tmp_path, tiny_video):
    out, stats = tmp_path / "rt.mp4", tmp_path / "stats.jsonl"
    assert main(["transcode", str(tiny_video), str(out), "--max-fps", "5", "--stats", str(stats)]) == 0
    assert len(probe(out)[0]) == 20
    import json

    last = json.loads(stats.read_text().splitlines()[-1])
    assert last["delivered"] == 20 and last["dropped_at_head"] == 0


def test_live_run_writes_stats_lines_and_stops_cleanly_on_sigterm(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    stats = tmp_path / "live.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--input",
            "synthetic",
            "--sink",
            "null",
            "--size",
            "320x180",
            "--fps",
            "15",
            "--stats",
            str(stats),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not stats.exists() or len(stats.read_text().splitlines()) < 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    lines = [json.loads(line) for line in stats.read_text().splitlines()]
    assert len(lines) >= 3
    assert {"t_s", "fps", "latency_ms_p95", "dropped_at_head", "tiers", "tier_changes"} <= set(lines[-1])
    assert 0 < lines[-2]["model_runs_per_second"] <= 16  # the call preset runs the model when the picture changes
    assert lines[-1]["delivered"] > 0 and lines[-1]["tiers"]["segment"] in (
        "general",
        "landscape",
        "landscape-half-rate",
    )
    assert "frames captured" in stderr


def test_disk_full_mid_transcode_is_a_clear_error_and_leaves_no_file(tmp_path):
    """A real write failure: the child's file size limit (RLIMIT_FSIZE) is hit mid-transcode."""
    import resource
    import subprocess
    import sys

    source = write_test_video(tmp_path / "in.mp4", frames=120, size=(640, 480), audio=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "transcode", str(source), str(out_dir / "o.mp4")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # the limit may be hit while frames are written or while the file is finished: either way
    # the message names the file and says nothing was kept
    assert "writing" in result.stderr and "o.mp4" in result.stderr
    assert "partial output was removed" in result.stderr or "no file was written" in result.stderr
    assert list(out_dir.iterdir()) == []  # never a half-written file, never reported as success


def test_second_ctrl_c_exits_at_once_and_the_file_is_still_playable(tmp_path):
    import signal
    import time

    out = tmp_path / "twice.mp4"
    process = start_long_transcode(tmp_path, out)
    process.send_signal(signal.SIGINT)
    time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 10
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0


def test_a_video_standing_in_for_a_camera_plays_at_its_own_rate(tmp_path):
    """`litecam run --input VIDEO` delivers the file at its frame rate, as a camera would (50 frames
    at 25 fps: two seconds at least, frames dropped only if the effects fall behind)."""
    import time

    from pipeline.cli import main

    clip = write_test_video(tmp_path / "clip.mp4", frames=50, size=(160, 120), fps=25)
    main(["run", "--input", str(clip), "--sink", "null", "--no-realtime"])  # warm: models, kernels
    started = time.perf_counter()
    assert main(["run", "--input", str(clip), "--sink", "null"]) == 0
    assert time.perf_counter() - started >= 50 / 25 - 0.05
