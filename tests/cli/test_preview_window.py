"""The preview sink in a real OpenCV window under Xvfb, driven with real key presses (xdotool)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool")),
    reason="needs Xvfb and xdotool (Debian packages xvfb, xdotool; `make test` installs them as root)",
)


@pytest.fixture
def display():
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.skip("Xvfb did not start")
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def xdotool(env, *args, check=True):
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30, check=check)


def find_window(env, name, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = xdotool(env, "search", "--name", name, check=False).stdout.split()
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no window named {name!r} appeared")


def run_preview(tmp_path, display, extra_args, keys, pause_s=0.5):
    """`litecam run` into the preview window, the `keys` pressed one by one, then q; returns
    (exit status, stderr, the snapshot PNGs written before q)."""
    env = dict(os.environ, DISPLAY=display)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--input",
            "synthetic",
            "--sink",
            "preview",
            "--size",
            "320x240",
            "--fps",
            "15",
            *extra_args,
        ],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = find_window(env, "^litecam$")
        xdotool(env, "windowfocus", "--sync", window)
        time.sleep(1.0)
        for key in keys:
            xdotool(env, "key", "--window", window, key)
            time.sleep(pause_s)
        snapshots = sorted(tmp_path.glob("litecam-snapshot-*.png"))
        xdotool(env, "key", "--window", window, "q")
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr, snapshots


def test_preview_window_shows_stream_and_obeys_keys(tmp_path, display):
    status, stderr, snapshots = run_preview(tmp_path, display, [], ("s", "m", "b", "m", "f"))
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert len(snapshots) == 1, stderr
    snapshot = cv2.imread(str(snapshots[0]))
    assert snapshot.shape == (240, 320, 3) and snapshot.std() > 10  # a real picture, not a blank
    assert "snapshot saved" in stderr and "key b: background = " in stderr  # through the settings service
    assert "started without auto-framing" in stderr  # f: one clear line, the run goes on


def test_f_turns_auto_framing_off_and_on(tmp_path, display):
    status, stderr, snapshots = run_preview(
        tmp_path, display, ["--autoframe", "--model", "litesr"], ("f", "f", "s"), pause_s=0.7
    )
    assert status == 0, stderr
    assert "key f: autoframe = False" in stderr and "key f: autoframe = True" in stderr
    (snapshot,) = snapshots
    assert cv2.imread(str(snapshot)).shape == (240, 320, 3)  # the crop, enlarged back to the camera's size
