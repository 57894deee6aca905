"""`litecam batch` on real files: outputs equal single-process transcodes, resumable, crash-safe.

The process-pool backend here; the Ray backend in test_batch_ray.py.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.batch.runner import BatchOptions, run_batch
from pipeline.presets import load_preset
from pipeline.settings import Settings
from tests.batch.helpers import assert_same_timing, probe, psnr, read_manifest, transcode
from tests.conftest import write_test_video

pytestmark = pytest.mark.slow

SPLIT = ["--split", "--chunk-seconds", "1"]


@pytest.fixture(scope="module")
def gop_clip(tmp_path_factory) -> Path:
    """3 s of the synthetic portrait, 160×120 at 25 fps, AAC audio, a keyframe every 10 frames,
    B-frames: with 1-second chunks it splits into 3 (at frames 30 and 60)."""
    return write_test_video(tmp_path_factory.mktemp("gop") / "gop.mp4", frames=75, keyint=10)


@pytest.fixture(scope="module")
def gop_single(gop_clip, tmp_path_factory) -> Path:
    return transcode(gop_clip, tmp_path_factory.mktemp("single") / "gop.mp4")


def batch(inputs, out_dir: Path, *options: str) -> int:
    from pipeline.cli import main

    return main(["batch", *map(str, inputs), "--out-dir", str(out_dir), *options])


def leftovers(out_dir: Path) -> list[str]:
    """Anything in the output folder but finished outputs and the manifest."""
    return sorted(
        str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")
    )


def test_split_output_is_the_single_transcode_frame_for_frame(gop_clip, gop_single, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch([gop_clip], out, "--cluster", "local", "--workers", "2", *SPLIT) == 0
    entry = read_manifest(out)["gop.mp4"]
    assert entry["status"] == "done" and entry["chunks"] == 3 and entry["frames"] == 75
    single, joined = probe(gop_single), probe(out / "gop.mp4")
    assert_same_timing(single, joined)
    # Chunk 0 (frames 0-29) is the same encode up to its last GOP (keyframes every 10): x264 encodes
    # frames 20-29 without the frames that follow them, and its look-ahead (B-frame placement, mb-tree)
    # may then decide differently (seen on an AVX-512 CPU, not on an AVX2 one). Later chunks start new
    # GOPs, so their pixels differ from the single encode's by H.264 noise (at 160x120, CRF 20: ~2
    # levels, >= 36 dB). That the pipeline's own frames are identical is checked with an intra-only
    # codec below.
    assert all(psnr(a, b) == float("inf") for a, b in zip(single.frames[:20], joined.frames[:20]))
    assert min(psnr(a, b) for a, b in zip(single.frames, joined.frames)) > 34
    assert leftovers(out) == []
    printed = capsys.readouterr()
    assert "| gop.mp4 | done | 75 | 3 |" in printed.out
    assert "frames 75/75 (100%)" in printed.err  # a late progress report of a finished chunk is not counted twice


def test_split_is_bit_exact_with_an_intra_codec_and_no_temporal_state(gop_clip, tmp_path):
    # ProRes is intra-only and deterministic; without the temporal matte no state crosses a chunk
    # boundary, so every decoded pixel (and alpha) must equal the single-process transcode's.
    preset = tmp_path / "stateless.toml"
    preset.write_text('segmenter = "general"\nbackground = "transparent"\nrefine = true\ntemporal = false\n')
    single = transcode(gop_clip, tmp_path / "single.mov", "--preset", str(preset))
    out = tmp_path / "out"
    assert (
        batch(
            [gop_clip], out, "--cluster", "local", "--workers", "2", "--format", "mov", "--preset", str(preset), *SPLIT
        )
        == 0
    )
    a, b = probe(single, "bgra"), probe(out / "gop.mov", "bgra")
    assert_same_timing(a, b)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))


def test_rerun_skips_done_files_and_redoes_them_when_settings_change(gop_clip, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch([gop_clip], out, "--cluster", "local", "--workers", "1") == 0
    made = (out / "gop.mp4").stat().st_mtime_ns
    capsys.readouterr()
    assert batch([gop_clip], out, "--cluster", "local", "--workers", "1") == 0
    assert "gop.mp4: already done (manifest), skipped" in capsys.readouterr().err
    assert (out / "gop.mp4").stat().st_mtime_ns == made
    assert batch([gop_clip], out, "--cluster", "local", "--workers", "1", "--background", "color:#00ff00") == 0
    assert (out / "gop.mp4").stat().st_mtime_ns != made
    assert read_manifest(out)["gop.mp4"]["status"] == "done"


def test_a_bad_file_fails_alone_with_one_line_and_exit_2(gop_clip, tmp_path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    out = tmp_path / "out"
    assert batch([bad, gop_clip], out, "--cluster", "local", "--workers", "2") == 2
    files = read_manifest(out)
    assert files["gop.mp4"]["status"] == "done"
    assert files["notes.mp4"]["status"] == "failed" and str(bad) in files["notes.mp4"]["error"]
    err = capsys.readouterr().err
    assert "notes.mp4: failed:" in err and "Traceback" not in err
    assert not (out / "notes.mp4").exists() and leftovers(out) == []


def test_an_unreadable_file_fails_alone_when_splitting_too(gop_clip, tmp_path, capsys):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"\x00\x01 not a container " * 100)
    out = tmp_path / "out"
    assert batch([bad, gop_clip], out, "--cluster", "local", "--workers", "2", *SPLIT) == 2
    files = read_manifest(out)
    assert files["garbage.mp4"]["status"] == "failed" and str(bad) in files["garbage.mp4"]["error"]
    assert files["gop.mp4"]["status"] == "done"
    assert "Traceback" not in capsys.readouterr().err and leftovers(out) == []


def test_inputs_are_checked_before_any_work(gop_clip, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch([tmp_path / "missing.mp4"], out, "--cluster", "local") == 2
    assert "missing.mp4" in capsys.readouterr().err and not out.exists()
    twin = tmp_path / "other"
    twin.mkdir()
    (twin / "gop.mov").write_bytes(gop_clip.read_bytes())
    assert batch([gop_clip, twin / "gop.mov"], out, "--cluster", "local") == 2
    assert "would both be written to" in capsys.readouterr().err


def run_in_thread(inputs, out: Path, options: BatchOptions, settings: Settings):
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("status", run_batch([str(p) for p in inputs], settings, options)), daemon=True
    )
    thread.start()
    return thread, result


def kill_a_running_worker(out: Path, key: str, timeout_s: float = 60.0) -> int:
    """SIGKILL the worker process the manifest says is running `key`; its pid."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            entry = read_manifest(out).get(key, {})
        except (OSError, ValueError):
            entry = {}
        if entry.get("status") == "running" and entry.get("worker"):
            pid = int(entry["worker"].rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.02)
    raise AssertionError(f"{key} never started running")


def test_a_killed_pool_worker_is_retried_and_the_batch_completes(gop_clip, gop_single, tmp_path, capsys):
    clip = write_test_video(tmp_path / "long.mp4", frames=150, size=(320, 240), keyint=25)
    single = transcode(clip, tmp_path / "single.mp4")
    out = tmp_path / "out"
    options = BatchOptions(str(out), cluster="local", workers=2, retries=1)
    thread, result = run_in_thread([clip, gop_clip], out, options, load_preset("transcode"))
    pid = kill_a_running_worker(out, "long.mp4")
    thread.join(300)
    assert result["status"] == 0
    assert f"worker process {pid} died" in capsys.readouterr().err
    files = read_manifest(out)
    assert files["long.mp4"]["status"] == "done" and files["long.mp4"]["attempts"] == 2
    assert files["gop.mp4"]["attempts"] == 1  # the other worker's task was not charged for the crash
    assert_same_timing(probe(single), probe(out / "long.mp4"))
    assert_same_timing(probe(gop_single), probe(out / "gop.mp4"))
    assert leftovers(out) == []


def test_ctrl_c_stops_the_workers_keeps_nothing_half_written_and_a_rerun_finishes(tmp_path):
    import subprocess

    clip = write_test_video(tmp_path / "long.mp4", frames=150, size=(320, 240), keyint=25)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "batch",
        str(clip),
        "--out-dir",
        str(out),
        "--cluster",
        "local",
        "--workers",
        "2",
        "--split",
        "--chunk-seconds",
        "1",
    ]
    # Ctrl-C as a terminal delivers it: a test run started in the background by a shell inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler in the child
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if read_manifest(out).get("long.mp4", {}).get("status") == "running":
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (out / "long.mp4").exists()
    assert [p for p in out.rglob(".*") if p.is_file()] == []  # no partial file left behind
    assert read_manifest(out)["long.mp4"]["status"] == "pending"
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    assert read_manifest(out)["long.mp4"]["status"] == "done"


def test_cluster_ray_without_ray_says_how_to_install_it(monkeypatch):
    from pipeline.batch.backends import make_backend
    from pipeline.errors import UserError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(UserError, match=r"pip install 'litecam\[cluster\]'"):
        make_backend("ray", None)
    fallback = make_backend("auto", 1)
    assert type(fallback).__name__ == "LocalBackend"
    fallback.close()
