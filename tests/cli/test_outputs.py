"""Every command that writes files refuses, before writing anything, an output that is one of its
inputs (by path, through a link or another spelling) and a location it cannot write: one line naming
the path, exit status 2, the input untouched, nothing left behind."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.cli import main
from tests.conftest import write_test_video

UNWRITABLE = "/proc/litecam-nope"
"""A folder that cannot be created, even by root."""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def refused(capsys, argv: list[str], *needles: str) -> str:
    """Run the CLI in this process; assert exit status 2 and one error line containing `needles`."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("litecam: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def video(tmp_path) -> Path:
    return write_test_video(tmp_path / "clip.mp4", frames=6)


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(folder / name), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    return folder


# -- an output that is an input --------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["same", "symlink", "hardlink", "dotdot"])
def test_transcode_onto_its_input_is_refused(tmp_path, capsys, video, spelling):
    before = digest(video)
    output = {
        "same": video,
        "symlink": tmp_path / "link.mp4",
        "hardlink": tmp_path / "hard.mp4",
        "dotdot": tmp_path / "sub" / ".." / "clip.mp4",
    }[spelling]
    if spelling == "symlink":
        output.symlink_to(video)
    elif spelling == "hardlink":
        os.link(video, output)
    elif spelling == "dotdot":
        (tmp_path / "sub").mkdir()
    listing = files_under(tmp_path)
    refused(capsys, ["transcode", str(video), str(output)], str(output), "is the input", "another output path")
    assert digest(video) == before
    assert files_under(tmp_path) == listing


def test_stats_file_and_background_video_are_inputs_or_outputs_too(tmp_path, capsys, video):
    before = digest(video)
    refused(capsys, ["transcode", str(video), str(tmp_path / "o.mp4"), "--stats", str(video)], "is the input")
    backdrop = write_test_video(tmp_path / "backdrop.mp4", frames=4, portrait=False)
    refused(
        capsys,
        ["transcode", str(video), str(backdrop), "--background", f"video:{backdrop}"],
        str(backdrop),
        "is the input",
    )
    refused(capsys, ["run", "--input", str(video), "--sink", f"file:{video}"], "is the input")
    assert digest(video) == before
    assert not (tmp_path / "o.mp4").exists()


def test_demo_side_by_side_may_not_replace_the_background_image(tmp_path, capsys, images):
    side = images / "x-side-by-side.png"  # the side-by-side picture of --out x.mp4
    cv2.imwrite(str(side), np.zeros((8, 8, 3), np.uint8))
    before = digest(side)
    refused(
        capsys,
        ["demo", "--out", str(images / "x.mp4"), "--background", f"image:{side}", "--frames", "2"],
        str(side),
        "is the input",
    )
    assert digest(side) == before
    assert not (images / "x.mp4").exists()


def test_upscale_onto_its_input_is_refused(tmp_path, capsys, video, images):
    picture = images / "a.png"
    before = {p.name: digest(p) for p in images.iterdir()}
    refused(capsys, ["upscale", str(picture), str(picture)], "is the input")
    refused(capsys, ["upscale", str(images), str(images)], str(picture), "is the input")  # a.png -> a.png
    refused(capsys, ["upscale", str(video), str(video)], "is the input")
    assert {p.name: digest(p) for p in images.iterdir()} == before


def test_matte_into_the_inputs_folder_is_refused_where_a_name_collides(tmp_path, capsys, images):
    before = {p.name: digest(p) for p in images.iterdir()}
    refused(capsys, ["matte", str(images), str(images)], str(images / "a.png"), "is the input")
    refused(capsys, ["matte", str(images / "a.png"), str(images)], "is the input")
    assert {p.name: digest(p) for p in images.iterdir()} == before


def test_batch_into_an_input_folder_is_refused_where_names_collide(tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    clip = write_test_video(folder / "talk.mp4", frames=4)
    before = digest(clip)
    refused(
        capsys,
        ["batch", str(folder), "--out-dir", str(folder), "--cluster", "local"],
        str(clip),
        "overwritten",
        "--out-dir",
    )
    link = tmp_path / "same-folder"
    link.symlink_to(folder)
    refused(capsys, ["batch", str(clip), "--out-dir", str(link), "--cluster", "local"], "overwritten")
    assert digest(clip) == before
    assert files_under(folder) == {"talk.mp4"}


# -- a location that cannot be written -------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        lambda v, i: ["demo", "--out", f"{UNWRITABLE}/o.mp4", "--frames", "2"],
        lambda v, i: ["transcode", str(v), f"{UNWRITABLE}/o.mp4"],
        lambda v, i: ["transcode", str(v), f"{v.parent}/o.mp4", "--stats", f"{UNWRITABLE}/s.jsonl"],
        lambda v, i: ["run", "--input", "synthetic", "--sink", f"file:{UNWRITABLE}/o.mp4"],
        lambda v, i: ["upscale", str(i / "a.png"), f"{UNWRITABLE}/a.png"],
        lambda v, i: ["upscale", str(i), f"{UNWRITABLE}/up"],
        lambda v, i: ["upscale", str(v), f"{UNWRITABLE}/o.mp4"],
        lambda v, i: ["matte", str(i), f"{UNWRITABLE}/m"],
        lambda v, i: ["matte", str(v), f"{UNWRITABLE}/m"],
        lambda v, i: ["batch", str(v), "--out-dir", f"{UNWRITABLE}/d", "--cluster", "local"],
    ],
    ids=[
        "demo",
        "transcode",
        "transcode-stats",
        "run-file-sink",
        "upscale-image",
        "upscale-folder",
        "upscale-video",
        "matte-folder",
        "matte-video",
        "batch",
    ],
)
def test_an_unwritable_output_location_is_one_line_and_status_2(tmp_path, capsys, video, images, command):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc (a folder nobody can create files in)")
    listing = files_under(tmp_path)
    refused(capsys, command(video, images), UNWRITABLE)
    assert files_under(tmp_path) == listing  # nothing half-written beside the inputs either
