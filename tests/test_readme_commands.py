"""Every command README.md shows in its fenced code blocks works as shown.

The commands are read from the README itself (lines of a fenced block that start with `litecam `,
`make `, `pip install ` or `python -m tools.`; `# comments` dropped), so an edited README is checked
as it stands:

- `litecam …`: run for real through `pipeline.cli.main` (the `litecam` entry point), in a folder
  holding the inputs the README names (`in.mp4`, `big.mp4`, `videos/`, `photo.png`, `beach.jpg`,
  `my-call.toml`), made here: a short clip encoded with PyAV, a still, a copy of a built-in preset.
  A `litecam run` reads the camera, which this machine may not have, and runs until stopped, so it
  is run twice: as written, where there is no camera, it must exit with status 2 and one clear
  `litecam: error:` line (no traceback); and with the short clip instead of the camera (`run` ends
  at the end of a file) and stand-ins for the sinks that need a device or a display (`null`;
  the overlay and control servers on a free port), where it must finish with status 0.
  `litecam demo` gets a short `--frames` and a small `--size`.
- `make TARGET`: the target exists in the Makefile (`make demo` runs the demo into out/demo.mp4).
- `pip install .`: the package declares the `litecam` entry point and the Python versions the README names.
- `python -m tools.X …`: the module imports, its `--help` exits with 0 and lists every option the
  README line uses.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.presets import read_preset_table
from tests.conftest import write_test_video

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

pytestmark = pytest.mark.slow  # ~20 commands, each a real (short) run


def readme_commands() -> list[str]:
    """The command lines of README.md's fenced code blocks, comments dropped, in order."""
    commands, in_block = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        text = line.strip()
        if in_block and text.startswith(("litecam ", "make ", "pip install ", "python -m tools.")):
            commands.append(shlex.join(shlex.split(text, comments=True)))
    return commands


COMMANDS = readme_commands()
LITECAM = [c for c in COMMANDS if c.startswith("litecam ")]
MAKE = [c for c in COMMANDS if c.startswith("make ")]
PIP = [c for c in COMMANDS if c.startswith("pip install ")]
TOOLS = [c for c in COMMANDS if c.startswith("python -m tools.")]


def argv_of(command: str) -> list[str]:
    return shlex.split(command)[1:]


def has_camera() -> bool:
    return any(Path("/dev").glob("video*"))


# -- inputs the README's commands name ----------------------------------------------------------------
@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    """A folder with every input file the README's commands read."""
    import cv2

    from pipeline.sources.synthetic import SyntheticSource

    folder = tmp_path_factory.mktemp("readme-inputs")
    write_test_video(folder / "in.mp4", frames=8, size=(160, 120))
    shutil.copy(folder / "in.mp4", folder / "big.mp4")
    (folder / "videos").mkdir()
    shutil.copy(folder / "in.mp4", folder / "videos" / "talk.mp4")
    source = SyntheticSource(96, 64, 30, frames=1)
    source.open()
    cv2.imwrite(str(folder / "photo.png"), source.render(0))
    beach = cv2.resize(source.render(0)[:, ::-1], (160, 120))
    cv2.imwrite(str(folder / "beach.jpg"), beach)
    shutil.copy(REPO / "presets" / "video-call-720p.toml", folder / "my-call.toml")
    return folder


@pytest.fixture
def workdir(inputs, tmp_path, monkeypatch) -> Path:
    """A fresh folder holding copies of the inputs, as the current directory."""
    work = tmp_path / "work"
    shutil.copytree(inputs, work)
    monkeypatch.chdir(work)
    return work


def run_litecam(argv: list[str]) -> int:
    from pipeline.cli import main

    return main(argv)


# -- the offline stand-in of a live run ---------------------------------------------------------------
def preset_sinks(argv: list[str]) -> list[str]:
    """The sinks `litecam run` would use without `--sink`: its preset's, else the virtual camera."""
    name = argv[argv.index("--preset") + 1] if "--preset" in argv else "video-call-720p"
    path = Path(name) if name.endswith(".toml") else REPO / "presets" / f"{name}.toml"
    return read_preset_table(path).get("sinks") or ["virtualcam"]


def run_on_the_clip(argv: list[str]) -> list[str]:
    """`litecam run` argv with the clip `in.mp4` for the camera (the run ends with the file), `null`
    for sinks that need a device or a display, and the overlay/control servers on a free port."""
    out, sinks, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--camera", "--fourcc"):
            i += 2
            continue
        if arg == "--sink":
            sinks.append(argv[i + 1])
            i += 2
            continue
        if arg == "--control":
            has_value = i + 1 < len(argv) and not argv[i + 1].startswith("--")
            out += ["--control", "127.0.0.1:0"]
            i += 2 if has_value else 1
            continue
        out.append(arg)
        i += 1
    stand_ins = []
    for spec in sinks or preset_sinks(argv):
        stand_in = "overlay:127.0.0.1:0" if spec.partition(":")[0] == "overlay" else "null"
        if stand_in not in stand_ins:
            stand_ins.append(stand_in)
    out += ["--input", "in.mp4"]
    for spec in stand_ins:
        out += ["--sink", spec]
    return out


def output_of(argv: list[str]) -> Path | None:
    """What an offline command writes (its `output`, `--out` or `--out-dir`), as the CLI parses it."""
    from pipeline.cli import build_parser

    args = build_parser().parse_args(argv)
    for name in ("output", "out", "out_dir"):
        if getattr(args, name, None):
            return Path(getattr(args, name))
    return None


# -- tests --------------------------------------------------------------------------------------------
def test_the_readme_shows_commands_of_every_kind():
    assert len(LITECAM) >= 10 and MAKE and PIP and TOOLS
    used = {argv_of(c)[0] for c in LITECAM}
    assert {"run", "transcode", "batch", "matte", "upscale", "devices", "demo"} <= used


@pytest.mark.parametrize("command", LITECAM)
def test_litecam_command_runs(command, workdir, capfd):
    argv = argv_of(command)
    if argv[0] == "demo":
        argv += ["--frames", "6", "--size", "320x180"]
    if argv[0] == "run":
        argv = run_on_the_clip(argv)
    code = run_litecam(argv)
    err = capfd.readouterr().err
    assert code == 0, f"{' '.join(argv)} exited with {code}:\n{err}"
    assert "Traceback" not in err
    if argv[0] == "run":
        assert "frames captured" in err
    output = output_of(argv)
    if output is not None:
        assert output.exists(), f"{' '.join(argv)} wrote no {output}"
        if output.is_dir():
            assert any(output.iterdir()), f"{' '.join(argv)} left {output} empty"
        else:
            assert output.stat().st_size > 0


CAMERA_COMMANDS = [c for c in LITECAM if "--camera" in argv_of(c)]


@pytest.mark.parametrize("command", CAMERA_COMMANDS)
def test_camera_command_without_a_camera_is_one_clear_line(command, workdir, capfd):
    if has_camera():
        pytest.skip("this machine has a camera: the run would not end by itself (the offline stand-in ran)")
    code = run_litecam(argv_of(command))
    err = capfd.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    # OpenCV's own log lines ("[ WARN:0@…] … can't open camera by index") and the one-time kernel
    # preparation notes are not litecam's answer; what remains is the one line
    lines = [
        line for line in err.splitlines() if line.strip() and not line.startswith("[ WARN") and "kernels" not in line
    ]
    assert len(lines) == 1 and lines[0].startswith("litecam: error: camera"), err


def test_litecam_devices_in_a_process_of_its_own():
    """A process of its own, as from a shell (`python -m pipeline` is the `litecam` script's `main`)."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "devices"], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "cameras:" in done.stdout and "virtual camera:" in done.stdout


def test_readme_modprobe_line_is_the_one_litecam_prints():
    from pipeline.sinks.virtual_camera import V4L2LOOPBACK_LOAD

    assert V4L2LOOPBACK_LOAD in README.read_text(encoding="utf-8")


def makefile_targets() -> dict[str, str]:
    """Makefile target → its recipe (the tab-indented lines under it)."""
    targets, current = {}, None
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line)
        if match:
            current = match.group(1)
            targets[current] = ""
        elif line.startswith("\t") and current:
            targets[current] += line.strip() + "\n"
        elif line.strip() and not line.startswith("#"):
            current = None
    return targets


@pytest.mark.parametrize("command", MAKE)
def test_make_target_exists(command):
    targets = makefile_targets()
    for target in argv_of(command):
        assert target in targets, f"README: {command!r}, but the Makefile has no {target!r} target"
    if "demo" in argv_of(command):
        assert "litecam demo --out out/demo.mp4" in targets["demo"]


@pytest.mark.parametrize("command", PIP)
def test_pip_install_gives_the_litecam_command(command):
    project = read_preset_table(REPO / "pyproject.toml")["project"]
    assert project["scripts"]["litecam"] == "pipeline.cli:main"
    assert project["requires-python"] == ">=3.10,<3.13"
    assert "Python 3.10–3.12" in README.read_text(encoding="utf-8")


@functools.cache
def tool_help(module: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120, cwd=REPO
    )


@pytest.mark.parametrize("command", TOOLS)
def test_tool_module_imports_and_takes_the_options_shown(command):
    argv = shlex.split(command)
    module = argv[2]
    done = tool_help(module)
    if done.returncode != 0 and "No module named 'torch'" in done.stderr:
        pytest.skip(f"{module} needs the training extra (pip install '.[train]')")
    assert done.returncode == 0, f"python -m {module} --help:\n{done.stderr}"
    for option in (a.split("=")[0] for a in argv[3:] if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", done.stdout), (
            f"README: {command!r}, but {module} has no {option}"
        )
