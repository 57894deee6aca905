"""The command line of `python -m tools.bench`: the options of every mode, and the mode's module."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import tools.bench
from kernels.warmup import prepare_kernels
from tools.bench import batch, chain, control, effect, live, overlay, soak, upscale
from tools.bench.common import machine

MODES = (
    ("overlay_page", overlay),
    ("batch", batch),
    ("upscale", upscale),
    ("chain", chain),
    ("control", control),
    ("soak", soak),
    ("live", live),
)
"""(the option that selects a mode, its module): the first one given runs; none given: `effect`."""


def build_parser() -> argparse.ArgumentParser:
    """Every mode's options (one parser: the modes share the camera and chain options)."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=tools.bench.__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--frames", type=int, default=300, help="frames per throughput run")
    parser.add_argument("--paced-frames", type=int, default=300, help="frames per paced (live) run")
    parser.add_argument("--preset", default="video-call-720p", help="the litecam chain's settings")
    parser.add_argument("--segmenter", default="landscape")
    parser.add_argument("--blur", type=float, default=12, help="blur strength (Gaussian sigma, px)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each litecam chain (the baseline runs once); the table shows the median",
    )
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    parser.add_argument("--overlay", action="store_true", help="also time the overlay sink's per-frame encoding")
    parser.add_argument("--json", type=Path, help="write the report here")
    group = parser.add_argument_group("--live: the deadline scheduler on a paced camera")
    group.add_argument("--live", action="store_true")
    group.add_argument(
        "--input",
        default="synthetic",
        help="synthetic (a close-up), walker (a person walking about), or a video file looped at its rate",
    )
    group.add_argument(
        "--autoframe",
        action="store_true",
        help="auto-framing after the background; the crop is enlarged by the upscaler (at --scale 1 too)",
    )
    group.add_argument("--size", default="640x360", help="camera size (before upscaling)")
    group.add_argument("--scale", type=int, default=2, help="upscale factor (1: none)")
    group.add_argument("--sr-threads", type=int, default=1, help="ONNX Runtime threads of the upscaler")
    group.add_argument("--sr-model", default="xlsr", help="the upscale tier to start on (the scheduler moves it)")
    group.add_argument("--sr-engine", default="auto", help="the upscaler's inference engine (auto: measured here)")
    group.add_argument(
        "--sr-whole-frame",
        action="store_true",
        help="upscale the whole frame with the network (default: the person's box, as live presets do)",
    )
    group.add_argument(
        "--restore", action="store_true", help="the restore stage (compression artefact removal) first in the chain"
    )
    group.add_argument(
        "--mask-reuse",
        choices=("preset", "on", "off"),
        default="preset",
        help="run the person model only when the picture changed (on), on every frame (off: the baseline), "
        "or as --preset says",
    )
    group.add_argument(
        "--power",
        choices=("preset", "performance", "saver", "auto"),
        default="preset",
        help="the power mode (saver: a lower frame and model rate: pipeline/power.py), or as --preset says",
    )
    group.add_argument("--seconds", type=float, default=30)
    group.add_argument("--budget-frames", type=float, default=2, help="latency budget in frame periods")
    group.add_argument("--load-at", type=float, default=10, help="start of the CPU load, s")
    group.add_argument("--load-seconds", type=float, default=0, help="length of the CPU load, s (0: none)")
    group.add_argument("--plot", type=Path, help="PNG of fps, latency and tiers over time")
    group = parser.add_argument_group("--overlay-page: the overlay page in headless Chromium")
    group.add_argument("--overlay-page", action="store_true")
    group.add_argument("--page-preset", default="stream-overlay", help="chain feeding the page (default: %(default)s)")
    group = parser.add_argument_group("--batch: litecam batch throughput, 1 vs 2 workers")
    group.add_argument(
        "--batch",
        nargs="*",
        type=Path,
        metavar="VIDEO",
        help="videos to batch (default: every clip in ../shared/data/video)",
    )
    group.add_argument("--batch-workers", default="1,2", help="pool sizes to compare (default: %(default)s)")
    group.add_argument("--batch-ray", action="store_true", help="also run on a local Ray cluster")
    group.add_argument("--chunk-seconds", type=float, default=20.0, help="--split chunk length (default: %(default)s)")
    group = parser.add_argument_group("--upscale: litecam upscale x2 of a 640x360 video, whole runs")
    group.add_argument(
        "--upscale",
        nargs="?",
        type=Path,
        const=Path(),
        metavar="VIDEO",
        help="the video (default: ../shared/data's Big Buck Bunny at 640x360, looped "
        "--upscale-loops times, made once in out/)",
    )
    group.add_argument("--upscale-loops", type=int, default=6, help="default: %(default)s (33 s, 792 frames)")
    group.add_argument(
        "--upscale-engines",
        default="auto",
        help="engines to run xlsr on, comma-separated (bicubic runs first as the baseline)",
    )
    group.add_argument(
        "--upscale-detail",
        default="checked",
        help="--sr-detail values to run xlsr with on each engine, comma-separated (default: %(default)s)",
    )
    group.add_argument(
        "--upscale-earlier",
        type=Path,
        metavar="DIR",
        help="an earlier litecam checked out in DIR (git worktree add DIR REV): its xlsr runs join the "
        "turns as the previous behaviour",
    )
    group.add_argument(
        "--upscale-interleaved",
        type=int,
        metavar="ROUNDS",
        help="with --upscale-earlier: the upscale stage alone, this checkout's and DIR's in two "
        "processes on the same frames, ROUNDS batches of 30 frames each in turns (first engine of "
        "--upscale-engines); lower noise than whole runs",
    )
    group = parser.add_argument_group("--chain: the live effect chain on recordings against a baseline, in turns")
    group.add_argument(
        "--chain",
        nargs="+",
        type=Path,
        metavar="VIDEO",
        help="recordings, each scaled to --width x --height and played at its own rate through --preset's chain",
    )
    group.add_argument(
        "--chain-earlier",
        type=Path,
        metavar="DIR",
        help="the baseline: an earlier litecam checked out in DIR (git worktree add DIR REV)",
    )
    group.add_argument(
        "--chain-baseline",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="the baseline: this litecam with these settings changed (JSON values, e.g. mask_reuse=false)",
    )
    group.add_argument("--chain-rounds", type=int, default=12, help="one-second turns per side (default: %(default)s)")
    parser.add_argument(
        "--control",
        action="store_true",
        help="the control page's server: request-to-frame latency of a change, and the CPU "
        "its polling costs (720p, --preset's chain)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="a long live run (720p synthetic camera, blur): memory, threads, latency drift",
    )
    return parser


def mode_of(args):
    """The module of the mode `args` select."""
    return next((module for option, module in MODES if getattr(args, option) not in (None, False)), effect)


def main(argv=None) -> int:
    cli = build_parser()
    args = cli.parse_args(argv)
    if args.repeat < 1:
        cli.error("--repeat must be at least 1")
    prepare_kernels(report=sys.stderr)  # compilation is never part of a figure
    print(f"machine: {json.dumps(machine())}", file=sys.stderr)
    return mode_of(args).run(args)


if __name__ == "__main__":
    sys.exit(main())
