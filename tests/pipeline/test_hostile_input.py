"""Hostile and careless input: huge numbers, unbounded blur, decompression bombs, backgrounds that are
never released, escape sequences echoed to the terminal, malformed requests to the control page. Each
is refused at once with one clear line (exit status 2 on the command line, 400 on the page), and the
running graph goes on."""

from __future__ import annotations

import json
import socket
import struct
import time
import zlib

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.errors import UserError, terminal_safe
from pipeline.media.images import MAX_IMAGE_PIXELS, header_size
from pipeline.options import parse_fps
from pipeline.settings import Settings, validate
from pipeline.stages.backdrops import MAX_STRENGTH, parse_background
from tests.cli.test_upscale_cli import one_error_line
from tests.pipeline.test_control import Running, wait_for


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width`×`height` RGB pixels (its data holds a few rows only):
    what a decompression bomb looks like to a reader that trusts the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(bytes(4 * (1 + 3 * width)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


# -- numbers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1e999999999", "1e30000000", "9" * 100_000, "1/" + "0" * 5000, "1e308", "inf"])
def test_a_huge_frame_rate_is_refused_at_once(text):
    started = time.perf_counter()
    with pytest.raises(UserError, match="fps"):
        parse_fps(text)
    with pytest.raises(UserError, match="fps"):
        validate({"fps": text}, Settings(), "preset p.toml")
    assert time.perf_counter() - started < 0.5


def test_the_command_line_refuses_a_huge_frame_rate_with_one_line(capsys):
    assert main(["run", "--input", "synthetic", "--sink", "null", "--fps", "1e999999999"]) == 2
    assert "--fps" in one_error_line(capsys)


@pytest.mark.parametrize("spec", ["blur:1e308", "blur:100000", f"blur:{MAX_STRENGTH + 1:g}", "blur:nan", "blur:-1"])
def test_blur_strength_has_a_stated_range(spec):
    with pytest.raises(UserError, match=f"at most {MAX_STRENGTH:g}|not a number"):
        parse_background(spec)
    assert parse_background(f"blur:{MAX_STRENGTH:g}").strength == MAX_STRENGTH


# -- images: checked by their header before decoding -----------------------------------------------------
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, capsys):
    bomb = png_declaring(30000, 30000)
    assert len(bomb) < 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(UserError, match="more than litecam decodes"):
        header_size(bomb, "upload")
    with pytest.raises(UserError, match="declares 8000x8000 pixels more than"):
        header_size(png_declaring(8000, 8000), "upload")  # under Pillow's own limit, over litecam's
    assert time.perf_counter() - started < 1.0
    ordinary = png_declaring(6000, 4000)  # a 24-megapixel photo's size passes
    assert header_size(ordinary, "photo") == (6000, 4000) and 6000 * 4000 <= MAX_IMAGE_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    assert main(["upscale", str(path), str(tmp_path / "out.png")]) == 2
    assert "more than litecam decodes" in one_error_line(capsys)
    assert not (tmp_path / "out.png").exists()
    assert main(["matte", str(path), str(tmp_path / "mattes")]) == 2
    assert "more than litecam decodes" in one_error_line(capsys)


# -- the control page --------------------------------------------------------------------------------------
@pytest.fixture
def running():
    run = Running()
    yield run
    run.stop()


def test_the_page_refuses_huge_numbers_bombs_and_deep_json_and_keeps_running(running):
    before = running.service.settings
    started = time.perf_counter()
    assert running.post_json({"fps": "1e999999999"})[0] == 400
    status, answer = running.post_json({"background": "blur:100000"})
    assert status == 400 and f"at most {MAX_STRENGTH:g}" in answer["error"]
    status, body = running.request("POST", "/background", png_declaring(30000, 30000), {"Content-Type": "image/png"})
    assert status == 400 and "more than litecam decodes" in json.loads(body)["error"]
    deep = b'{"background": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, body = running.request("POST", "/settings", deep, {"Content-Type": "application/json"})
    assert status == 400 and "JSON" in json.loads(body)["error"]
    assert time.perf_counter() - started < 5.0
    assert running.service.settings == before
    seen = len(running.corners.seen)
    assert wait_for(lambda: len(running.corners.seen) > seen + 3)  # frames still flow


def test_malformed_requests_print_no_traceback(running, capfd):
    port = running.control.server.port
    requests = [
        b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",  # a duplicate Host
        b"POST /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: x\r\n\r\n",
        b"POST /settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99\r\n\r\n{",
    ]
    for data in requests:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(data)  # the last one hangs up mid-body
            if not data.endswith(b"{"):
                assert connection.recv(64).startswith(b"HTTP/1.")
    time.sleep(0.5)
    assert "Traceback" not in capfd.readouterr().err


def test_the_page_cannot_be_framed_and_the_thumbnail_not_embedded(running):
    import http.client

    assert wait_for(lambda: running.thumbnail.info())
    connection = http.client.HTTPConnection("127.0.0.1", running.control.server.port, timeout=10)
    connection.request("GET", "/")
    page = connection.getresponse()
    page.read()
    assert page.getheader("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in page.getheader("Content-Security-Policy")
    connection.request("GET", "/thumbnail.jpg")
    thumbnail = connection.getresponse()
    thumbnail.read()
    assert thumbnail.getheader("Cross-Origin-Resource-Policy") == "same-origin"
    connection.close()


def test_a_refusal_is_labelled_once(running):
    running.post_json({"edge_low": "half"})
    assert running.service.latest_note().startswith("control page: ")
    assert "control page: control page" not in running.service.latest_note()


# -- the terminal ----------------------------------------------------------------------------------------
def test_values_echoed_to_the_terminal_cannot_forge_lines(capsys):
    forged = "image:/x\n\x1b[1Alitecam: error: forged"
    assert terminal_safe(f"a = {forged}") == "a = image:/x\\n\\x1b[1Alitecam: error: forged"
    assert main(["transcode", "in.mp4", "out.mp4", "--background", forged]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\\x1b" in err


# -- memory: backgrounds set while running are released -----------------------------------------------------
def test_backgrounds_set_while_running_are_released(tmp_path):
    import cv2

    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.background import Background

    stage = Background("blur")
    stage.open(Caps(64, 48, 30))
    cycle = len(stage.backgrounds)
    for index in range(6):
        path = tmp_path / f"photo{index}.png"
        cv2.imwrite(str(path), np.full((120, 160, 3), 20 * index, np.uint8))
        stage.set_background(f"image:{path}")
        frame = Frame(np.zeros((48, 64, 3), np.uint8), pts_ns=index, seq=index)
        frame.mask = np.zeros((12, 16), np.float32)  # no person: all background
        stage.process(frame)
        assert frame.pixels[0, 0, 0] == 20 * index  # the new one is shown
        assert len(stage.backgrounds) <= cycle + 2  # the cycle's, the one in use, the one asked for
    stage.close()


# -- presets: devices, huge files, half-written and deleted files ---------------------------------------------
def test_a_preset_that_is_a_device_or_huge_is_refused_at_once(tmp_path):
    from pipeline.presets import MAX_PRESET_BYTES, load_preset

    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(UserError, match="not a (regular )?file"):
        load_preset(str(link))
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * MAX_PRESET_BYTES + "\n")
    with pytest.raises(UserError, match="larger than"):
        load_preset(str(huge))
    assert time.perf_counter() - started < 1.0


def test_a_watched_preset_half_written_emptied_or_deleted_changes_nothing(tmp_path):
    import os

    from pipeline.bus import Bus
    from pipeline.settings_service import PresetWatcher, SettingsService

    preset = tmp_path / "mine.toml"
    preset.write_text('description = "one"\n')
    service = SettingsService(Settings(), [], Bus())
    watcher = PresetWatcher(preset, service, {}, interval_s=60)
    stamp = [preset.stat().st_mtime_ns]

    def save(text: str) -> None:  # a new mtime each time, however coarse the file system's clock
        preset.write_text(text)
        stamp[0] += 1_000_000_000
        os.utime(preset, ns=(stamp[0], stamp[0]))

    save('description = "two"\n')
    watcher.tick()
    assert service.settings.description == ""  # not yet: it may still be being written
    watcher.tick()
    assert service.settings.description == "two" and watcher.applied == 1
    save("")  # an editor's truncate-then-write, caught in the middle
    watcher.tick()
    watcher.tick()
    assert service.settings.description == "two" and "is empty" in service.latest_note()
    preset.unlink()
    watcher.tick()
    assert service.settings.description == "two" and "was deleted" in service.latest_note()
    watcher.tick()
    assert service.settings.description == "two"


# -- --stats on a full disk ------------------------------------------------------------------------------------
def test_stats_on_a_full_disk_is_one_line_whole_lines_kept_and_status_2(tmp_path):
    """A real write failure: the child's file size limit (RLIMIT_FSIZE) is hit after a few lines."""
    import resource
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from kernels.warmup import prepare_kernels

    prepare_kernels()  # the kernel cache is written here, not by the limited child
    stats = tmp_path / "stats.jsonl"

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))

    command = [sys.executable, "-m", "pipeline", "run", "--input", "synthetic", "--sink", "null"]
    process = subprocess.Popen(
        [*command, "--size", "160x90", "--stats", str(stats)],
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit_file_size,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (stats.exists() and stats.stat().st_size > 1000):
        time.sleep(0.2)
    time.sleep(3)  # a line a second: the next ones hit the limit
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.count("litecam: error: --stats") == 1 and "could not write" in stderr
    text = stats.read_text()
    assert text and text.endswith("\n")
    assert all(json.loads(line)["delivered"] >= 0 for line in text.splitlines())  # whole lines only


# -- careless command lines ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--input", "synthetic", "--size", "-5x10"], "--size '-5x10': expected WIDTHxHEIGHT"),
        (["demo", "--frames", "0"], "--frames: 0 is out of range: 1 to"),
        (["run", "--camera", "-1"], "--camera: -1 is out of range: 0 to 63"),
        (["batch", "x.mp4", "--out-dir", "y", "--workers", "1000"], "--workers: 1000 is out of range"),
        (["batch", "x.mp4", "--out-dir", "y", "--split", "--chunk-seconds", "nan"], "--chunk-seconds: nan is out"),
        (["upscale", "a.png", "b.png", "--threads", "1e9"], "--threads: '1e9' is not a whole number"),
        (["run", "--segmenter", "huge"], "invalid choice: 'huge'"),
    ],
)
def test_a_bad_number_on_the_command_line_is_one_line_with_its_range(argv, needle, capfd):
    try:
        status = main(argv)  # a value the option's own parser refuses
    except SystemExit as stopped:  # a usage error, from the argument parser
        status = stopped.code
    assert status == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and needle in err and "usage:" not in err, err


def test_a_camera_that_cannot_open_is_litecams_line_alone(capfd):
    from pipeline.media.v4l2 import list_video_nodes

    if list_video_nodes():
        pytest.skip("this machine has a video device: the camera may open")
    assert main(["run", "--camera", "0", "--sink", "null"]) == 2
    err = capfd.readouterr().err
    assert "WARN" not in err and "litecam: error: camera 0 could not be opened" in err, err


def test_upscaling_a_folder_writes_every_good_image_and_names_the_bad_ones(tmp_path, capsys):
    import cv2

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a", "b", "d", "e"):
        cv2.imwrite(str(folder / f"{name}.png"), np.full((16, 24, 3), 100, np.uint8))
    (folder / "c.png").write_bytes(png_declaring(30000, 30000))
    assert main(["upscale", str(folder), str(out), "--model", "bicubic"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "d.png", "e.png"]
    line = one_error_line(capsys)
    assert "wrote 4 of 5 images" in line and "c.png" in line


def test_stalled_connections_are_closed(monkeypatch):
    """Clients that say nothing, stop half-way through a request, or keep an idle connection open
    cannot hold the server's descriptors: each is closed after `IDLE_TIMEOUT_S`."""
    from pipeline import web

    monkeypatch.setattr(web, "IDLE_TIMEOUT_S", 0.5)
    server = web.LocalServer("test", "127.0.0.1", 0, None, "--test")

    def routes(app):
        from aiohttp import web as aiohttp_web

        async def hello(request):
            return aiohttp_web.Response(text="hello")

        app.router.add_get("/", hello)

    server.start(routes)
    try:
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        half = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"hello" in idle.recv(1000)
        started = time.monotonic()
        for connection in (silent, half, idle):
            assert connection.recv(100) == b""  # closed by the server, not by the 10-s timeout
            connection.close()
        assert time.monotonic() - started < 5
    finally:
        server.stop()
