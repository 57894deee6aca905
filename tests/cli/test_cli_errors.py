"""The CLI's answer to each bad input: one line naming the thing, exit status 2, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def litecam(*args, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=timeout
    )


def assert_user_error(result, *needles):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("litecam: error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_video_file(tmp_path):
    assert_user_error(litecam("transcode", str(tmp_path / "nope.mp4"), str(tmp_path / "o.mp4")), "nope.mp4")


def test_garbage_video_file(tmp_path):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 100)
    assert_user_error(litecam("transcode", str(bad), str(tmp_path / "o.mp4")), "garbage.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_unwritable_output_is_refused_before_processing(tmp_path, tiny_video):
    result = litecam("transcode", str(tiny_video), str(tmp_path / "missing-dir" / "o.mp4"))
    assert_user_error(result, "missing-dir")


def test_missing_background_image(tmp_path, tiny_video):
    result = litecam(
        "transcode", str(tiny_video), str(tmp_path / "o.mp4"), "--background", f"image:{tmp_path / 'no-such.jpg'}"
    )
    assert_user_error(result, "no-such.jpg")


@pytest.mark.parametrize(
    "option, value, needle",
    [
        ("--background", "sparkles", "sparkles"),
        ("--size", "641x479", "even"),
        ("--size", "1x1", "1x1"),
        ("--size", "7680x4320", "7680x4320"),
        ("--fps", "0", "--fps"),
        ("--fps", "fast", "fast"),
        ("--preset", "no-such-preset", "no-such-preset"),
        ("--people", "everyone", "'all', 'main'"),
        ("--light", "on", "'off', 'auto'"),
    ],
)
def test_bad_option_values(option, value, needle, tmp_path):
    assert_user_error(litecam("demo", "--out", str(tmp_path / "d.mp4"), "--frames", "2", option, value), needle)


def test_bad_preset_file_names_file_and_key(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('edge_low = "high"\n')
    assert_user_error(
        litecam("demo", "--out", str(tmp_path / "d.mp4"), "--preset", str(preset)), "mine.toml", "edge_low"
    )


def test_transparent_background_to_mp4_is_refused(tmp_path, tiny_video):
    result = litecam("transcode", str(tiny_video), str(tmp_path / "o.mp4"), "--background", "transparent")
    assert_user_error(result, ".webm")


def test_missing_camera_says_what_to_do(tmp_path):
    result = litecam("run", "--camera", "7", "--sink", "null")
    assert_user_error(result, "camera 7", "synthetic")


def test_virtual_camera_without_device_gives_modprobe_line():
    result = litecam("run", "--input", "synthetic", "--sink", "virtualcam", "--size", "320x240")
    assert_user_error(result, "modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=litecam", "Chrome")


def test_devices_lists_cameras_and_virtual_camera_state():
    result = litecam("devices")
    assert result.returncode == 0, result.stderr
    assert "cameras:" in result.stdout and "virtual camera:" in result.stdout


def test_transcode_refuses_a_still_image(tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    assert_user_error(litecam("transcode", str(image), str(tmp_path / "o.mp4")), "x.png")
