"""The `litecam` command line (also `python -m pipeline`).

Commands: demo, run, transcode, batch, matte, upscale, devices. User errors print one line and exit with 2;
a stage failure prints one line naming the stage and frame and exits with 1 (`--debug` shows the
traceback); Ctrl-C finishes the frames already captured, finalises outputs and exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from pipeline.commands import (
    EFFECT_FLAGS,
    EXIT_INTERRUPTED,
    EXIT_STAGE_ERROR,
    EXIT_USER_ERROR,
    LIVE_FLAGS,
    UPSCALE_FLAGS,
    cmd_batch,
    cmd_demo,
    cmd_devices,
    cmd_matte,
    cmd_run,
    cmd_transcode,
    cmd_upscale,
)
from pipeline.errors import StageError, UserError, terminal_safe
from pipeline.media.containers import OUTPUT_FORMATS
from pipeline.options import parse_fps
from pipeline.settings import PARAMS
from pipeline.stages.upscale.catalogue import ENGINES

MAX_FRAMES = 100_000
"""The most frames `litecam demo --frames` renders (about an hour at 30 fps)."""


# -- options from the settings' declarations -------------------------------------------------------
def add_setting_flags(group, keys: tuple[str, ...]) -> None:
    """One option per setting in `keys`, from its declaration (`pipeline.settings.PARAMS`): the flag, its
    help, metavar and choices; the value lands in `args.<key>` (None when not given)."""
    for key in keys:
        param = PARAMS[key]
        assert param.flag is not None, f"setting {key} has no command-line flag"
        text = param.help.replace("%", "%%")
        if param.flag_type is bool:
            group.add_argument(param.flag, dest=key, action="store_const", const=True, default=None, help=text)
        else:
            group.add_argument(
                param.flag,
                dest=key,
                metavar=param.metavar or "NAME",
                type=param.flag_type,
                choices=param.choices,
                help=text,
            )


def add_common_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("effects (override the preset)")
    group.add_argument("--preset", help="preset name (presets/NAME.toml) or path to a .toml file")
    add_setting_flags(group, EFFECT_FLAGS)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def add_upscale_options(parser: argparse.ArgumentParser) -> None:
    """--scale / --model / --engine / --autoframe for `run`, `transcode` and `batch`."""
    add_setting_flags(parser.add_argument_group("super-resolution (override the preset)"), UPSCALE_FLAGS)


# -- entry point ----------------------------------------------------------------------------------
def positive_fps(text: str):
    """argparse type for --max-fps: `parse_fps`, reported by argparse as a usage error (exit 2)."""
    try:
        return parse_fps(text, option="--max-fps")
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2, like every
    other error of litecam (argparse's own print the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, terminal_safe(f"litecam: error: {message} (see {self.prog} --help)") + "\n")


def whole_number(lo: int, hi: int):
    """argparse type: an integer from `lo` to `hi` (a usage error naming the range otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range: {lo} to {hi}")
        return value

    return parse


def number_from(lo: float, hi: float):
    """argparse type: a finite number from `lo` to `hi`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
        if not lo <= value <= hi:  # (NaN fails too)
            raise argparse.ArgumentTypeError(f"{text[:40]} is out of range: {lo:g} to {hi:g}")
        return value

    return parse


VALUE_FLAGS = frozenset(
    {
        "--size",
        "--fps",
        "--max-fps",
        "--frames",
        "--camera",
        "--threads",
        "--workers",
        "--retries",
        "--chunk-seconds",
        "--warmup-frames",
        "--scale",
    }
)
"""Options whose value may look like a negative number or option (`--size -5x10`): joined to it as
`--size=-5x10` before parsing, so the user hears what is wrong with the value, not "expected one argument"."""


def join_dash_values(argv: list[str]) -> list[str]:
    """`argv` with each `VALUE_FLAGS` option and a following value that starts with "-" joined by "="."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if (
            token in VALUE_FLAGS
            and index + 1 < len(argv)
            and argv[index + 1][:1] == "-"
            and argv[index + 1][1:2] != "-"
        ):
            joined.append(f"{token}={argv[index + 1]}")
            index += 2
        else:
            joined.append(token)
            index += 1
    return joined


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="litecam", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="built-in synthetic clip -> MP4 + side-by-side PNG + timings")
    demo.add_argument("--out", default="out/demo.mp4", help="output video (default: %(default)s)")
    demo.add_argument(
        "--frames", type=whole_number(1, MAX_FRAMES), default=90, help="frames to render (default: %(default)s)"
    )
    add_common_options(demo)

    run = commands.add_parser("run", help="live: camera -> effects -> virtual camera and/or preview")
    run.add_argument("--camera", type=whole_number(0, 63), default=0, help="camera number (default: %(default)s)")
    run.add_argument("--input", help="instead of a camera: synthetic, an image, or a video file/URL")
    run.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a video --input plays at its own frame rate, as a camera would (default); "
        "--no-realtime: as fast as it decodes",
    )
    run.add_argument(
        "--fourcc",
        default="MJPG",
        help="camera pixel format to ask for (default: %(default)s; YUYV for cameras without MJPG)",
    )
    run.add_argument(
        "--sink",
        action="append",
        help="virtualcam[:DEVICE] | preview | file:PATH | overlay[:HOST:PORT] | null (repeatable)",
    )
    run.add_argument(
        "--overlay-token",
        metavar="SECRET",
        help="for --sink overlay: the page URL must carry ?token=SECRET "
        "(required when binding to a non-loopback address)",
    )
    run.add_argument(
        "--stats", metavar="FILE", help="write per-second statistics (fps, latency, drops, tiers) as JSON lines"
    )
    run.add_argument(
        "--control",
        nargs="?",
        const="",
        metavar="HOST:PORT",
        help="serve a control page to change the effects while running "
        "(default 127.0.0.1:8766; another address needs --control-token)",
    )
    run.add_argument("--control-token", metavar="SECRET", help="for --control: the page URL must carry ?token=SECRET")
    add_common_options(run)
    add_setting_flags(run.add_argument_group("power (overrides the preset)"), LIVE_FLAGS)
    add_upscale_options(run)

    transcode = commands.add_parser("transcode", help="offline: video file in, video file out, every frame")
    transcode.add_argument("input")
    transcode.add_argument("output", help=".mp4/.mkv (H.264), .webm (VP9, alpha kept), .mov (ProRes 4444 with alpha)")
    budget = transcode.add_mutually_exclusive_group()
    budget.add_argument(
        "--realtime",
        action="store_true",
        help="use the best tiers that still process at the input's frame rate (default: best tiers)",
    )
    budget.add_argument(
        "--max-fps",
        type=positive_fps,
        metavar="N",
        help="use the best tiers that still process at least N frames per second",
    )
    transcode.add_argument("--stats", metavar="FILE", help="write per-second statistics as JSON lines")
    add_common_options(transcode)
    add_upscale_options(transcode)

    batch = commands.add_parser(
        "batch", help="offline, many files (or long files in chunks) on a process pool or a Ray cluster; resumable"
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="video files and/or folders of videos")
    batch.add_argument(
        "--out-dir",
        required=True,
        metavar="DIR",
        help="outputs (same names, --format extension) and the manifest litecam-batch.json",
    )
    batch.add_argument(
        "--format",
        default="mp4",
        choices=OUTPUT_FORMATS,
        help="output container (default: %(default)s; webm/mov keep alpha for --background transparent)",
    )
    batch.add_argument(
        "--cluster",
        default="auto",
        metavar="WHERE",
        help="auto (Ray if a cluster is running, else local) | local | ray | ray://HOST:PORT (default: %(default)s)",
    )
    batch.add_argument(
        "--workers", type=whole_number(1, 64), metavar="N", help="local pool size (default: one per CPU core)"
    )
    batch.add_argument(
        "--split",
        action="store_true",
        help="cut long files at keyframes into chunks processed in parallel, joined without re-encoding",
    )
    batch.add_argument(
        "--chunk-seconds",
        type=number_from(1, 86400),
        default=30.0,
        metavar="S",
        help="--split: chunk length, up to the next keyframe (default: %(default)s)",
    )
    batch.add_argument(
        "--warmup-frames",
        type=whole_number(0, 1000),
        default=50,
        metavar="N",
        help="--split: frames before a chunk that prime the matte, not written (default: %(default)s)",
    )
    batch.add_argument(
        "--retries",
        type=whole_number(0, 10),
        default=1,
        metavar="N",
        help="run a task again this many times when its worker dies (default: %(default)s)",
    )
    add_common_options(batch)
    add_upscale_options(batch)

    matte = commands.add_parser("matte", help="write the person mask as 8-bit PNGs")
    matte.add_argument("input", help="a video, an image, or a folder of images")
    matte.add_argument("output", help="folder for the PNGs")
    add_common_options(matte)

    upscale = commands.add_parser(
        "upscale",
        help="super-resolution x2/x3 (or x1: remove compression artefacts) of an image, a folder of images or a video",
    )
    upscale.add_argument("input", help="an image, a folder of images, or a video")
    upscale.add_argument(
        "output",
        help="an image (.png/.jpg…) for an image, a folder (PNGs, same stems) for "
        "a folder, a video (.mp4/.mkv/.webm/.mov; audio kept) for a video",
    )
    upscale.add_argument(
        "--model",
        default=None,
        help="esrt (x2) | xlsr (x2, x3; default) | xlsr-int8 (x2) | litesr (x2) | bicubic; x1 has its own model",
    )
    upscale.add_argument(
        "--scale",
        type=whole_number(1, 3),
        default=2,
        help="2 (default), 3, or 1: the same size, compression blocking and ringing removed",
    )
    upscale.add_argument(
        "--threads",
        type=whole_number(1, 64),
        default=2,
        help="inference threads (default: %(default)s; the only heavy stage here)",
    )
    upscale.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="auto (default: the engine measured fastest on this machine) | openvino | openvino-bf16 "
        "(CPUs with AMX/AVX512-BF16) | onnxruntime | numba (litesr only)",
    )
    add_setting_flags(upscale, ("restore_model", "sr_detail"))
    upscale.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")

    devices = commands.add_parser("devices", help="list cameras and whether a virtual camera is usable")
    devices.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


COMMANDS = {
    "demo": cmd_demo,
    "run": cmd_run,
    "transcode": cmd_transcode,
    "batch": cmd_batch,
    "matte": cmd_matte,
    "upscale": cmd_upscale,
    "devices": cmd_devices,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(join_dash_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(terminal_safe(f"litecam: error: {exc}"), file=sys.stderr)
        return EXIT_USER_ERROR
    except StageError as exc:
        if args.debug:
            raise
        print(terminal_safe(f"litecam: error: {exc} (run with --debug for the traceback)"), file=sys.stderr)
        return EXIT_STAGE_ERROR
    except KeyboardInterrupt:
        print("litecam: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a file problem no check foresaw (a folder removed, a full disk): still one line
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"litecam: error: {where}{exc.strerror or exc} (check the path and free space; "
            "run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
