"""The `litecam` command line (also `python -m pipeline`).

Commands: demo, run, transcode, batch, matte, upscale, devices. User errors print one line and exit with 2;
a stage failure prints one line naming the stage and frame and exits with 1 (`--debug` shows the
traceback); Ctrl-C finishes the frames already captured, finalises outputs and exits with 130.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path

from pipeline.chain import make_effects, make_upscale, offline_stages
from pipeline.errors import StageError, UserError
from pipeline.media.images import IMAGE_SUFFIXES
from pipeline.options import parse_fps
from pipeline.paths import background_inputs, check_writable_file, make_folder, refuse_overwriting_inputs
from pipeline.periodic import ProgressLine
from pipeline.presets import is_user_preset, load_preset, resolve_preset
from pipeline.settings import PARAMS, Settings
from pipeline.settings_service import PresetWatcher, SettingsService
from pipeline.stages.upscale.catalogue import ENGINES

EXIT_USER_ERROR = 2
EXIT_STAGE_ERROR = 1
EXIT_INTERRUPTED = 130


# -- settings -------------------------------------------------------------------------------------
EFFECT_FLAGS = ("background", "segmenter", "size", "fps")
"""Settings every command with effects takes on its command line (over the preset)."""
UPSCALE_FLAGS = ("scale", "sr_model", "sr_engine", "autoframe")
"""Settings of the upscale stage on the command line of `run`, `transcode` and `batch`."""


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
            group.add_argument(param.flag, dest=key, metavar=param.metavar or "NAME", type=param.flag_type,
                               choices=param.choices, help=text)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("effects (override the preset)")
    group.add_argument("--preset", help="preset name (presets/NAME.toml) or path to a .toml file")
    add_setting_flags(group, EFFECT_FLAGS)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def add_upscale_options(parser: argparse.ArgumentParser) -> None:
    """--scale / --model / --engine / --autoframe for `run`, `transcode` and `batch`."""
    add_setting_flags(parser.add_argument_group("super-resolution (override the preset)"), UPSCALE_FLAGS)


def settings_from(args: argparse.Namespace, default_preset: str | None = None) -> Settings:
    """Defaults, then the preset, then the command-line options (`command_line_overrides`)."""
    settings = Settings()
    preset = args.preset or default_preset
    if preset:
        settings = load_preset(preset, settings)
    settings = dataclasses.replace(settings, **command_line_overrides(args))
    if settings.scale != 1 or getattr(args, "sr_model", None) is not None:
        from pipeline.stages.upscale.catalogue import check_upscale

        # auto-framing without --scale enlarges its crops with the ×2 models
        check_upscale(2 if settings.scale == 1 and settings.autoframe else settings.scale, settings.sr_model)
    return settings


def command_line_overrides(args: argparse.Namespace) -> dict:
    """The settings the command line gives, which override the preset's (validated here, `UserError`
    naming the flag and what is allowed)."""
    overrides = {}
    for key in (*EFFECT_FLAGS, *UPSCALE_FLAGS):
        value = getattr(args, key, None)
        if value is None:
            continue
        param = PARAMS[key]
        try:
            overrides[key] = param.parse(value, param.flag)
        except ValueError as exc:
            raise UserError(f"{param.flag} {value!r}: expected {exc}") from None
    return overrides


def check_outputs(outputs: list, inputs: list, settings: Settings | None = None, stats: str | None = None) -> None:
    """Before anything is built or written: no output (nor the `--stats` file) is an input or the
    background's image/video, and the stats file can be written (`UserError` otherwise)."""
    if stats:
        check_writable_file(stats, "--stats file")
        outputs = [*outputs, stats]
    if settings is not None:
        inputs = [*inputs, *background_inputs(settings.background)]
    refuse_overwriting_inputs(outputs, inputs)


def prepare_kernels() -> None:
    """Compile (first run) or load the Numba kernels now, so no frame and no timing pays for it."""
    from kernels.warmup import prepare_kernels as prepare

    prepare(report=sys.stderr)


# -- building blocks ------------------------------------------------------------------------------
def make_source(spec: str, settings: Settings, *, live: bool, frames: int | None = None,
                fourcc: str = "MJPG"):
    """'synthetic', 'camera:N', an image file, or a video file/URL."""
    width, height = settings.size
    if spec == "synthetic":
        from pipeline.sources.synthetic import SyntheticSource

        return SyntheticSource(width, height, settings.fps, frames=frames, live=live)
    if spec.startswith("camera:"):
        from pipeline.sources.camera import CameraSource

        index = spec.split(":", 1)[1]
        if not index.isdigit():
            raise UserError(f"--input {spec!r}: expected camera:N with N a camera number, e.g. camera:0")
        return CameraSource(int(index), width, height, float(settings.fps), fourcc=fourcc)
    if Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        from pipeline.sources.image import ImageSource

        return ImageSource(spec, fps=settings.fps, frame_count=frames, live=live)
    from pipeline.sources.file import FileSource

    return FileSource(spec)


def print_messages(graph) -> None:
    """Print info/warning/tier messages on stderr: those posted while the graph was built, then live."""
    def show(m):
        if m.kind in ("info", "warning", "tier", "settings"):
            print(f"litecam: {m.origin}: {m.text}", file=sys.stderr)

    for message in graph.bus.messages():
        show(message)
    graph.bus.subscribe(show)


def parse_sink(spec: str, graph_ref: dict, overlay_token: str | None = None):
    """'virtualcam', 'preview', 'null', 'file:PATH' or 'overlay[:HOST:PORT]'. `graph_ref` will hold
    the graph ("graph") and its settings service ("settings") for the preview's keys."""
    kind, _, arg = spec.partition(":")
    if kind == "overlay":
        from pipeline.sinks.overlay import OverlaySink, parse_overlay_address

        host, port = parse_overlay_address(arg)
        return OverlaySink(host, port, token=overlay_token)
    if kind == "file":
        if not arg:
            raise UserError("--sink file:PATH needs a path, e.g. --sink file:out.mp4")
        from pipeline.sinks.encoder import FileSink

        return FileSink(arg)
    if kind == "virtualcam":
        from pipeline.sinks.virtual_camera import VirtualCameraSink

        return VirtualCameraSink(device=arg or None)
    if kind == "preview":
        from pipeline.sinks.preview import PreviewSink

        return PreviewSink(
            on_quit=lambda: graph_ref["graph"].stop(),
            on_next_background=lambda: graph_ref["settings"].next_background(),
            on_pause=lambda: graph_ref["settings"].toggle_pause(),
            on_autoframe=lambda: graph_ref["settings"].toggle_autoframe(),
            head_drops=lambda: graph_ref["graph"].counters[graph_ref["graph"].source.name].dropped,
        )
    if kind == "null":
        from pipeline.sinks.null import NullSink

        return NullSink()
    raise UserError(f"--sink {spec!r}: choose virtualcam[:DEVICE], preview, file:PATH, overlay[:HOST:PORT] or null")


class Progress(ProgressLine):
    """A progress line on stderr (frames, fps, ETA) while a graph runs; quiet when not a terminal."""

    def __init__(self, label: str, total: int | None, count, interval_s: float | None = None):
        self.label, self.total, self.count = label, total, count
        self._start = time.monotonic()
        super().__init__(self._text, interval_s=interval_s)

    def _text(self) -> str:
        done = self.count()
        elapsed = max(time.monotonic() - self._start, 1e-9)
        fps = done / elapsed
        if self.total:
            eta = (self.total - done) / fps if fps > 0 else float("inf")
            eta_text = f"ETA {eta:4.0f} s" if eta != float("inf") else "ETA   ? s"
            return f"{self.label}: {done}/{self.total} frames ({100 * done / self.total:3.0f}%) {fps:5.1f} fps {eta_text}"
        return f"{self.label}: {done} frames {fps:5.1f} fps"


def run_graph(graph, progress_label: str | None = None, progress_node: str | None = None,
              stats_path: str | None = None) -> dict:
    """Run `graph` with an optional progress line and optional once-a-second JSON-lines
    statistics written to `stats_path`.

    While it runs, signals only *tell* the graph (no KeyboardInterrupt can strike in the middle
    of the main thread's work): SIGINT → `graph.interrupt()` (the first drains and finalises, a
    second aborts at once; exit 130), SIGTERM → `graph.stop()` (a clean end, exit 0).
    """
    from pipeline.stats import StatsSampler

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers[signal.SIGINT] = signal.signal(signal.SIGINT, lambda *_: graph.interrupt())
        handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, lambda *_: graph.stop())
    try:
        with contextlib.ExitStack() as stack:
            if stats_path:
                stack.enter_context(StatsSampler(graph, path=stats_path))
            if progress_label:
                counters = graph.counters[progress_node]
                stack.enter_context(Progress(progress_label, graph.caps[0].frame_count, lambda: counters.processed))
            return graph.run()
    finally:
        for signum, previous in handlers.items():
            signal.signal(signum, previous)


def timing_table(graph, wall_s: float, cpu_s: float, frames: int) -> str:
    rows = ["| node | frames | wall ms/frame | CPU ms/frame |", "|---|---:|---:|---:|"]
    for name, c in graph.counters.items():
        d = c.as_dict()
        rows.append(f"| {name} | {d['processed']} | {d['wall_ms_per_frame']:.2f} | {d['cpu_ms_per_frame']:.2f} |")
    n = max(frames, 1)
    rows.append(f"| **whole process** | {frames} | {1000 * wall_s / n:.2f} ({frames / wall_s:.1f} fps) "
                f"| {1000 * cpu_s / n:.2f} |")
    return "\n".join(rows)


# -- commands -------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    import cv2
    import numpy as np

    from kernels.mask import alpha_from_mask
    from pipeline.graph import Graph
    from pipeline.sinks.encoder import FileSink
    from pipeline.sinks.grab import GrabSink
    from pipeline.sources.synthetic import SyntheticSource

    settings = settings_from(args, default_preset="video-call-720p")
    out = Path(args.out)
    side_by_side_path = out.with_name(out.stem + "-side-by-side.png")
    check_outputs([out, side_by_side_path], [], settings)
    make_folder(out.parent, "output folder")  # the demo's own output folder (default out/)
    prepare_kernels()
    width, height = settings.size
    source = SyntheticSource(width, height, settings.fps, frames=args.frames)
    effects, background = make_effects(settings, keep_alpha=True)  # the side-by-side shows the alpha used
    grab = GrabSink(seq=args.frames // 2)
    graph = Graph(source, effects, [FileSink(str(out)), grab])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run_graph(graph, "demo", "file")
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    frame = grab.frame
    if frame is not None:
        alpha = frame.alpha if frame.alpha is not None else \
            alpha_from_mask(frame.mask, height, width, settings.edge_low, settings.edge_high)
        output = frame.pixels
        if output.shape[2] == 4:
            output = cv2.cvtColor(output, cv2.COLOR_BGRA2BGR)
        panels = [source.render(frame.seq), cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR), output]
        cv2.imwrite(str(side_by_side_path), np.hstack(panels))
    print(f"wrote {out} ({args.frames} frames, {width}x{height} @ {float(settings.fps):g} fps) "
          f"and {side_by_side_path} (input | mask | output)")
    print(timing_table(graph, wall_s, cpu_s, args.frames))
    return 0


def cmd_run(args) -> int:
    from pipeline.graph import Graph
    from pipeline.scheduler import DeadlineScheduler, live_config

    settings = settings_from(args, default_preset="video-call-720p")
    source_spec = args.input or f"camera:{args.camera}"
    sink_specs = args.sink or settings.sinks or ["virtualcam"]
    check_outputs([spec.partition(":")[2] for spec in sink_specs if spec.startswith("file:")],
                  [args.input] if args.input else [], settings, stats=args.stats)
    prepare_kernels()
    source = make_source(source_spec, settings, live=True, fourcc=args.fourcc)
    effects, _ = make_effects(settings)
    graph_ref: dict = {}
    sinks = [parse_sink(spec, graph_ref, overlay_token=args.overlay_token) for spec in sink_specs]
    control = None
    if args.control is not None:  # the page's thumbnail and frame rate come from a sink of their own
        from pipeline.control import ControlServer, parse_control_address
        from pipeline.sinks.thumbnail import ThumbnailSink

        control_host, control_port = parse_control_address(args.control)
        thumbnail = ThumbnailSink()
        sinks.append(thumbnail)
    graph = Graph(source, [*effects, *make_upscale(settings, strict=False)], sinks,
                  max_in_flight=settings.max_in_flight)
    graph_ref["graph"] = graph
    service = graph_ref["settings"] = SettingsService(settings, graph.stages, graph.bus)
    if args.control is not None:
        control = ControlServer(service, thumbnail, control_host, control_port, token=args.control_token)
    # deadlines follow the rate the source really delivers (a camera may not give what was asked)
    graph.scheduler = DeadlineScheduler(graph.stages, live_config(graph.caps[0].fps, settings.latency_budget_frames),
                                        graph.bus)
    for sink in sinks:
        if sink.name == "overlay":
            print(f"litecam: overlay: open {sink.url} (OBS: Browser Source, "
                  f"{graph.output_caps.width}x{graph.output_caps.height})", file=sys.stderr)
    mode = getattr(source, "mode", None)
    if mode:  # what the camera really gave, which may differ from what was asked
        print(f"litecam: camera {args.camera}: {mode['fourcc']} {mode['width']}x{mode['height']} "
              f"@ {mode['fps']:g} fps", file=sys.stderr)
    print_messages(graph)
    watched = resolve_preset(args.preset) if args.preset and is_user_preset(args.preset) else None
    with contextlib.ExitStack() as stack:
        if control is not None:
            control.start()
            stack.callback(control.stop)
            print(f"litecam: control: open {control.url} to change the effects while this runs", file=sys.stderr)
        if watched is not None:  # the user's own preset file (not a built-in one): a saved edit applies live
            stack.enter_context(PresetWatcher(watched, service, command_line_overrides(args)))
            print(f"litecam: watching {watched}: saved changes apply while running", file=sys.stderr)
        stats = run_graph(graph, stats_path=args.stats)
    head = stats["nodes"][source.name]
    print(f"litecam: {head['processed']} frames captured, {head['dropped']} dropped at the head",
          file=sys.stderr)
    return EXIT_INTERRUPTED if graph.interrupted else 0


def cmd_transcode(args) -> int:
    from pipeline.graph import Graph
    from pipeline.sinks.encoder import FileSink

    settings = settings_from(args, default_preset="transcode")
    if Path(args.input).suffix.lower() in IMAGE_SUFFIXES or args.input == "synthetic":
        raise UserError(f"transcode takes a video file or URL, not {args.input!r}; "
                        "for a still image use 'litecam matte', for the built-in clip 'litecam demo'")
    check_outputs([args.output], [args.input], settings, stats=args.stats)
    prepare_kernels()
    source = make_source(args.input, settings, live=False)
    graph = Graph(source, offline_stages(settings), [FileSink(args.output)])
    budget_fps = graph.caps[0].fps if args.realtime else args.max_fps
    if budget_fps:  # offline never drops: the scheduler only picks the best tiers that keep this rate
        from pipeline.scheduler import DeadlineScheduler, offline_config

        graph.scheduler = DeadlineScheduler(graph.stages, offline_config(budget_fps), graph.bus)
        print_messages(graph)
    stats = run_graph(graph, "transcode", "file", stats_path=args.stats)
    written = stats["nodes"]["file"]["processed"]
    if graph.interrupted:
        if written:
            print(f"litecam: interrupted: {args.output} holds the {written} frames processed so far",
                  file=sys.stderr)
        else:
            print("litecam: interrupted before the first frame: no file was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"wrote {args.output} ({written} frames)")
    return 0


def cmd_batch(args) -> int:
    from pipeline.batch.runner import BatchOptions, run_batch

    settings = settings_from(args, default_preset="transcode")
    options = BatchOptions(out_dir=args.out_dir, fmt=args.format, split=args.split,
                           chunk_seconds=args.chunk_seconds, warmup_frames=args.warmup_frames,
                           cluster=args.cluster, workers=args.workers, retries=args.retries)
    return run_batch(args.inputs, settings, options)


def cmd_matte(args) -> int:
    from pipeline.sinks.matte import MatteSink, write_folder_mattes

    settings = settings_from(args, default_preset="transcode")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"matte output {out_dir} exists and is not a folder")
    source_path = Path(args.input)
    if source_path.suffix.lower() in IMAGE_SUFFIXES:  # the one PNG it writes must not be the image
        refuse_overwriting_inputs([out_dir / (source_path.stem + ".png")], [source_path])
    prepare_kernels()
    if source_path.is_dir():
        count = write_folder_mattes(source_path, out_dir, settings)
        print(f"wrote {count} mattes to {out_dir}")
        return 0
    from pipeline.graph import Graph
    from pipeline.stages.matte import matte_for
    from pipeline.stages.segment import Segment

    source = make_source(args.input, settings, live=False, frames=1)
    sink = MatteSink(out_dir, settings.edge_low, settings.edge_high,
                     single_name=source_path.stem + ".png" if source_path.suffix.lower() in IMAGE_SUFFIXES else None)
    matte = matte_for(settings)
    graph = Graph(source, [Segment(settings.segmenter, roi=settings.roi), *([matte] if matte else [])], [sink])
    stats = run_graph(graph, "matte", sink.name)
    print(f"wrote {stats['nodes'][sink.name]['processed']} mattes to {out_dir}")
    return EXIT_INTERRUPTED if graph.interrupted else 0


def cmd_upscale(args) -> int:
    """An image (-> image by OUT's extension), a folder of images (-> OUT/STEM.png) or a video."""
    from pipeline.stages.upscale.catalogue import check_upscale
    from pipeline.stages.upscale.files import upscale_files
    from pipeline.stages.upscale.stage import Upscale

    started = time.perf_counter()
    check_upscale(args.scale, args.model)
    source_path = Path(args.input)
    is_url = "://" in args.input
    if not is_url and not source_path.exists():
        raise UserError(f"upscale input {args.input} not found (give an image, a folder of images or a video)")
    if args.threads < 1:
        raise UserError(f"--threads {args.threads}: must be at least 1")
    prepare_kernels()
    stage = Upscale(args.scale, args.model, strict=True, threads=args.threads, engine=args.engine)
    if source_path.is_dir() or source_path.suffix.lower() in IMAGE_SUFFIXES:
        count = upscale_files(stage, source_path, Path(args.output), IMAGE_SUFFIXES)
        print(f"wrote {args.output} ({count} image{'s' if count != 1 else ''}, x{args.scale} {stage.tier})")
        return 0
    from pipeline.graph import Graph
    from pipeline.sinks.encoder import FileSink
    from pipeline.sources.file import FileSource

    if Path(args.output).suffix.lower() in IMAGE_SUFFIXES:
        raise UserError(f"upscale output {args.output}: a video input needs a video output (.mp4, .mkv, .webm, .mov)")
    check_outputs([args.output], [args.input])
    graph = Graph(FileSource(args.input), [stage], [FileSink(args.output)])
    running = time.perf_counter()
    stats = run_graph(graph, "upscale", "file")
    run_s = time.perf_counter() - running
    written = stats["nodes"]["file"]["processed"]
    if graph.interrupted:
        print(f"litecam: interrupted: {args.output} holds the {written} frames upscaled so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    engine = f" on {stage.engines[stage.tier]}" if stage.tier in stage.engines else ""
    print(f"wrote {args.output} ({written} frames, x{args.scale} {stage.tier}{engine}: {written / run_s:.1f} fps "
          f"over {run_s:.1f} s, after {running - started:.1f} s of set-up)")
    return 0


def cmd_devices(args) -> int:
    from pipeline.sinks.virtual_camera import find_loopback_devices, virtual_camera_help
    from pipeline.sources.camera import probe_cameras

    cameras = probe_cameras()
    print("cameras:")
    if not cameras:
        print("  none found (no /dev/video* capture device); use --input synthetic or a video file")
    for camera in cameras:
        print(f"  {camera}")
    loopbacks = find_loopback_devices()
    print("virtual camera:")
    if loopbacks:
        for device in loopbacks:
            print(f"  {device} (v4l2loopback) usable: litecam run --sink virtualcam:{device.split()[0]}")
    else:
        print("  not usable: " + virtual_camera_help("no v4l2loopback device found"))
    return 0


# -- entry point ----------------------------------------------------------------------------------
def positive_fps(text: str):
    """argparse type for --max-fps: `parse_fps`, reported by argparse as a usage error (exit 2)."""
    try:
        return parse_fps(text, option="--max-fps")
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="litecam", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="built-in synthetic clip -> MP4 + side-by-side PNG + timings")
    demo.add_argument("--out", default="out/demo.mp4", help="output video (default: %(default)s)")
    demo.add_argument("--frames", type=int, default=90, help="frames to render (default: %(default)s)")
    add_common_options(demo)

    run = commands.add_parser("run", help="live: camera -> effects -> virtual camera and/or preview")
    run.add_argument("--camera", type=int, default=0, help="camera number (default: %(default)s)")
    run.add_argument("--input", help="instead of a camera: synthetic, an image, or a video file/URL")
    run.add_argument("--fourcc", default="MJPG", help="camera pixel format to ask for (default: %(default)s; "
                     "YUYV for cameras without MJPG)")
    run.add_argument("--sink", action="append",
                     help="virtualcam[:DEVICE] | preview | file:PATH | overlay[:HOST:PORT] | null (repeatable)")
    run.add_argument("--overlay-token", metavar="SECRET",
                     help="for --sink overlay: the page URL must carry ?token=SECRET "
                          "(required when binding to a non-loopback address)")
    run.add_argument("--stats", metavar="FILE", help="write per-second statistics (fps, latency, drops, "
                     "tiers) as JSON lines")
    run.add_argument("--control", nargs="?", const="", metavar="HOST:PORT",
                     help="serve a control page to change the effects while running "
                          "(default 127.0.0.1:8766; another address needs --control-token)")
    run.add_argument("--control-token", metavar="SECRET",
                     help="for --control: the page URL must carry ?token=SECRET")
    add_common_options(run)
    add_upscale_options(run)

    transcode = commands.add_parser("transcode", help="offline: video file in, video file out, every frame")
    transcode.add_argument("input")
    transcode.add_argument("output", help=".mp4/.mkv (H.264), .webm (VP9, alpha kept), .mov (ProRes 4444 with alpha)")
    budget = transcode.add_mutually_exclusive_group()
    budget.add_argument("--realtime", action="store_true",
                        help="use the best tiers that still process at the input's frame rate (default: best tiers)")
    budget.add_argument("--max-fps", type=positive_fps, metavar="N",
                        help="use the best tiers that still process at least N frames per second")
    transcode.add_argument("--stats", metavar="FILE", help="write per-second statistics as JSON lines")
    add_common_options(transcode)
    add_upscale_options(transcode)

    batch = commands.add_parser("batch", help="offline, many files (or long files in chunks) on a process "
                                "pool or a Ray cluster; resumable")
    batch.add_argument("inputs", nargs="+", metavar="INPUT", help="video files and/or folders of videos")
    batch.add_argument("--out-dir", required=True, metavar="DIR",
                       help="outputs (same names, --format extension) and the manifest litecam-batch.json")
    batch.add_argument("--format", default="mp4", choices=["mp4", "mkv", "webm", "mov"],
                       help="output container (default: %(default)s; webm/mov keep alpha for --background transparent)")
    batch.add_argument("--cluster", default="auto", metavar="WHERE",
                       help="auto (Ray if a cluster is running, else local) | local | ray | ray://HOST:PORT "
                            "(default: %(default)s)")
    batch.add_argument("--workers", type=int, metavar="N", help="local pool size (default: one per CPU core)")
    batch.add_argument("--split", action="store_true",
                       help="cut long files at keyframes into chunks processed in parallel, joined without re-encoding")
    batch.add_argument("--chunk-seconds", type=float, default=30.0, metavar="S",
                       help="--split: chunk length, up to the next keyframe (default: %(default)s)")
    batch.add_argument("--warmup-frames", type=int, default=50, metavar="N",
                       help="--split: frames before a chunk that prime the matte, not written (default: %(default)s)")
    batch.add_argument("--retries", type=int, default=1, metavar="N",
                       help="run a task again this many times when its worker dies (default: %(default)s)")
    add_common_options(batch)
    add_upscale_options(batch)

    matte = commands.add_parser("matte", help="write the person mask as 8-bit PNGs")
    matte.add_argument("input", help="a video, an image, or a folder of images")
    matte.add_argument("output", help="folder for the PNGs")
    add_common_options(matte)

    upscale = commands.add_parser("upscale", help="super-resolution x2/x3 of an image, a folder of images or a video")
    upscale.add_argument("input", help="an image, a folder of images, or a video")
    upscale.add_argument("output", help="an image (.png/.jpg…) for an image, a folder (PNGs, same stems) for "
                         "a folder, a video (.mp4/.mkv/.webm/.mov; audio kept) for a video")
    upscale.add_argument("--model", default="xlsr",
                         help="esrt (x2) | xlsr (x2, x3; default) | xlsr-int8 (x2) | litesr (x2) | bicubic")
    upscale.add_argument("--scale", type=int, default=2, help="2 (default) or 3")
    upscale.add_argument("--threads", type=int, default=2,
                         help="inference threads (default: %(default)s; the only heavy stage here)")
    upscale.add_argument("--engine", default="auto", choices=ENGINES,
                         help="auto (default: the engine measured fastest on this machine) | openvino | openvino-bf16 "
                              "(CPUs with AMX/AVX512-BF16) | onnxruntime | numba (litesr only)")
    upscale.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")

    devices = commands.add_parser("devices", help="list cameras and whether a virtual camera is usable")
    devices.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


COMMANDS = {"demo": cmd_demo, "run": cmd_run, "transcode": cmd_transcode, "batch": cmd_batch, "matte": cmd_matte,
            "upscale": cmd_upscale, "devices": cmd_devices}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "frames", 1) is not None and getattr(args, "frames", 1) < 1:
        print("litecam: error: --frames must be at least 1", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"litecam: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except StageError as exc:
        if args.debug:
            raise
        print(f"litecam: error: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_STAGE_ERROR
    except KeyboardInterrupt:
        print("litecam: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a file problem no check foresaw (a folder removed, a full disk): still one line
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"litecam: error: {where}{exc.strerror or exc} (check the path and free space; "
              "run with --debug for the traceback)", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
