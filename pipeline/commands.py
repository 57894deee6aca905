"""What each `litecam` command does (`pipeline.cli` parses the command line and calls these).

One module for the seven commands and the helpers they share (a little over 500 lines): each command
reads as one function from settings to exit status.

Each `cmd_*` takes the parsed arguments and returns the exit status; a user error raises `UserError`
(the entry point prints its one line and exits with `EXIT_USER_ERROR`). The helpers build a run's
settings (defaults, then the preset, then the command line), its source and sinks, and run a graph
with signals, a progress line and optional statistics.
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

from pipeline.chain import make_effects, make_upscale, offline_stages, picture_stages
from pipeline.errors import UserError, terminal_safe
from pipeline.media.images import IMAGE_SUFFIXES, read_image_file, write_image
from pipeline.paths import background_inputs, check_writable_file, make_folder, refuse_overwriting_inputs
from pipeline.periodic import ProgressLine
from pipeline.presets import is_user_preset, load_preset, resolve_preset
from pipeline.settings import PARAMS, Settings
from pipeline.settings_service import PresetWatcher, SettingsService

EXIT_USER_ERROR = 2
EXIT_STAGE_ERROR = 1
EXIT_INTERRUPTED = 130


# -- settings -------------------------------------------------------------------------------------
EFFECT_FLAGS = ("background", "segmenter", "people", "light", "restore", "restore_model", "size", "fps")
"""Settings every command with effects takes on its command line (over the preset)."""
UPSCALE_FLAGS = ("scale", "sr_model", "sr_engine", "sr_detail", "autoframe")
"""Settings of the upscale stage on the command line of `run`, `transcode` and `batch`."""
LIVE_FLAGS = ("power",)
"""Settings only `run` takes on its command line."""


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
    for key in (*EFFECT_FLAGS, *UPSCALE_FLAGS, *LIVE_FLAGS):
        value = getattr(args, key, None)
        if value is None:
            continue
        param = PARAMS[key]
        try:
            overrides[key] = param.parse(value, param.flag or key)
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
def make_source(
    spec: str,
    settings: Settings,
    *,
    live: bool,
    frames: int | None = None,
    fourcc: str = "MJPG",
    realtime: bool = True,
):
    """'synthetic', 'camera:N', an image file, or a video file/URL. A video in a live run plays at its
    own frame rate when `realtime` (it stands in for a camera), else as fast as it decodes."""
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

    if live and realtime:
        from pipeline.sources.paced import PacedSource

        return PacedSource(FileSource(spec))
    return FileSource(spec)


def print_messages(graph) -> None:
    """Print info/warning/tier messages on stderr: those posted while the graph was built, then live."""

    def show(m):
        if m.kind in ("info", "warning", "tier", "settings"):
            print(terminal_safe(f"litecam: {m.origin}: {m.text}"), file=sys.stderr)

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
            return (
                f"{self.label}: {done}/{self.total} frames ({100 * done / self.total:3.0f}%) {fps:5.1f} fps {eta_text}"
            )
        return f"{self.label}: {done} frames {fps:5.1f} fps"


def run_graph(
    graph, progress_label: str | None = None, progress_node: str | None = None, stats_path: str | None = None
) -> dict:
    """Run `graph` with an optional progress line and optional once-a-second JSON-lines
    statistics written to `stats_path`.

    While it runs, signals only *tell* the graph (no KeyboardInterrupt can strike in the middle
    of the main thread's work): SIGINT → `graph.interrupt()` (the first drains and finalises, a
    second aborts at once; exit 130), SIGTERM → `graph.stop()` (a clean end, exit 0). When the
    statistics could not be written (a full disk), the run goes on to its end and then `UserError`
    says so (exit 2); the file keeps its whole lines.
    """
    from pipeline.stats import StatsSampler

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers[signal.SIGINT] = signal.signal(signal.SIGINT, lambda *_: graph.interrupt())
        handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, lambda *_: graph.stop())
    sampler = None
    try:
        with contextlib.ExitStack() as stack:
            if stats_path:
                sampler = stack.enter_context(StatsSampler(graph, path=stats_path))
            if progress_label:
                counters = graph.counters[progress_node]
                stack.enter_context(Progress(progress_label, graph.caps[0].frame_count, lambda: counters.processed))
            stats = graph.run()
    finally:
        for signum, previous in handlers.items():
            signal.signal(signum, previous)
    if sampler is not None and sampler.write_error:  # the run went on; its statistics did not
        raise UserError(sampler.write_error)
    return stats


def timing_table(graph, wall_s: float, cpu_s: float, frames: int) -> str:
    rows = ["| node | frames | wall ms/frame | CPU ms/frame |", "|---|---:|---:|---:|"]
    for name, c in graph.counters.items():
        d = c.as_dict()
        rows.append(f"| {name} | {d['processed']} | {d['wall_ms_per_frame']:.2f} | {d['cpu_ms_per_frame']:.2f} |")
    n = max(frames, 1)
    rows.append(
        f"| **whole process** | {frames} | {1000 * wall_s / n:.2f} ({frames / wall_s:.1f} fps) "
        f"| {1000 * cpu_s / n:.2f} |"
    )
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
        assert frame.mask is not None, "the segment stage set it"
        alpha = (
            frame.alpha
            if frame.alpha is not None
            else alpha_from_mask(frame.mask, height, width, settings.edge_low, settings.edge_high)
        )
        output = frame.pixels
        if output.shape[2] == 4:
            output = cv2.cvtColor(output, cv2.COLOR_BGRA2BGR)
        panels = [source.render(frame.seq), cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR), output]
        cv2.imwrite(str(side_by_side_path), np.hstack(panels))
    print(
        f"wrote {out} ({args.frames} frames, {width}x{height} @ {float(settings.fps):g} fps) "
        f"and {side_by_side_path} (input | mask | output)"
    )
    print(timing_table(graph, wall_s, cpu_s, args.frames))
    return 0


def cmd_run(args) -> int:
    from pipeline.graph import Graph
    from pipeline.power import PowerGovernor
    from pipeline.scheduler import DeadlineScheduler, live_config

    settings = settings_from(args, default_preset="video-call-720p")
    if settings.restore and settings.restore_model == "quality":
        raise UserError(
            "--restore-model quality is for offline work (transcode, upscale --scale 1): about a second per "
            "720p frame; a live run restores with --restore-model fast"
        )
    source_spec = args.input or f"camera:{args.camera}"
    sink_specs = args.sink or settings.sinks or ["virtualcam"]
    check_outputs(
        [spec.partition(":")[2] for spec in sink_specs if spec.startswith("file:")],
        [args.input] if args.input else [],
        settings,
        stats=args.stats,
    )
    prepare_kernels()
    source = make_source(source_spec, settings, live=True, fourcc=args.fourcc, realtime=args.realtime)
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
    graph = Graph(
        source, [*effects, *make_upscale(settings, strict=False)], sinks, max_in_flight=settings.max_in_flight
    )
    graph_ref["graph"] = graph
    power = PowerGovernor(settings.power, graph.stages, graph.caps[0].fps, graph.bus)
    graph.head_filter = power
    service = graph_ref["settings"] = SettingsService(settings, graph.stages, graph.bus, power=power)
    if args.control is not None:
        control = ControlServer(service, thumbnail, control_host, control_port, token=args.control_token)
    # deadlines follow the rate the source really delivers (a camera may not give what was asked)
    graph.scheduler = DeadlineScheduler(
        graph.stages, live_config(graph.caps[0].fps, settings.latency_budget_frames), graph.bus
    )
    for sink in sinks:
        if sink.name == "overlay":
            print(
                f"litecam: overlay: open {sink.url} (OBS: Browser Source, "
                f"{graph.output_caps.width}x{graph.output_caps.height})",
                file=sys.stderr,
            )
    mode = getattr(source, "mode", None)
    if mode:  # what the camera really gave, which may differ from what was asked
        print(
            f"litecam: camera {args.camera}: {mode['fourcc']} {mode['width']}x{mode['height']} @ {mode['fps']:g} fps",
            file=sys.stderr,
        )
    print_messages(graph)
    print(f"litecam: power: {power.label}", file=sys.stderr)
    watched = resolve_preset(args.preset) if args.preset and is_user_preset(args.preset) else None
    with contextlib.ExitStack() as stack:
        stack.enter_context(power)
        if control is not None:
            control.start()
            stack.callback(control.stop)
            print(f"litecam: control: open {control.url} to change the effects while this runs", file=sys.stderr)
        if watched is not None:  # the user's own preset file (not a built-in one): a saved edit applies live
            stack.enter_context(PresetWatcher(watched, service, command_line_overrides(args)))
            print(f"litecam: watching {watched}: saved changes apply while running", file=sys.stderr)
        stats = run_graph(graph, stats_path=args.stats)
    head = stats["nodes"][source.name]
    skipped = f", {head['skipped']} left out by the power saver" if head["skipped"] else ""
    print(
        f"litecam: {head['processed']} frames captured, {head['dropped']} dropped at the head{skipped}", file=sys.stderr
    )
    return EXIT_INTERRUPTED if graph.interrupted else 0


def cmd_transcode(args) -> int:
    from pipeline.graph import Graph
    from pipeline.sinks.encoder import FileSink

    settings = settings_from(args, default_preset="transcode")
    if Path(args.input).suffix.lower() in IMAGE_SUFFIXES or args.input == "synthetic":
        raise UserError(
            f"transcode takes a video file or URL, not {args.input!r}; "
            "for a still image use 'litecam matte', for the built-in clip 'litecam demo'"
        )
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
            print(f"litecam: interrupted: {args.output} holds the {written} frames processed so far", file=sys.stderr)
        else:
            print("litecam: interrupted before the first frame: no file was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"wrote {args.output} ({written} frames)")
    return 0


def cmd_batch(args) -> int:
    from pipeline.batch.runner import BatchOptions, run_batch

    settings = settings_from(args, default_preset="transcode")
    options = BatchOptions(
        out_dir=args.out_dir,
        fmt=args.format,
        split=args.split,
        chunk_seconds=args.chunk_seconds,
        warmup_frames=args.warmup_frames,
        cluster=args.cluster,
        workers=args.workers,
        retries=args.retries,
    )
    return run_batch(args.inputs, settings, options)


def write_folder_mattes(in_dir: Path, out_dir: Path, settings: Settings) -> int:
    """`litecam matte FOLDER`: one PNG per image of `in_dir` (same stem), at each image's own size, each
    image segmented on its own (no temporal state carried between unrelated images). Returns the count."""
    from fractions import Fraction

    import cv2

    from kernels.mask import alpha_from_mask
    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.matte import matte_for
    from pipeline.stages.segment import Segment

    images = sorted(p for p in in_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UserError(f"folder {in_dir} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    refuse_overwriting_inputs([out_dir / f"{path.stem}.png" for path in images], images)
    make_folder(out_dir, "matte folder")
    segment = Segment(settings.segmenter, roi=settings.roi, people=settings.people)
    matte = matte_for(settings)
    correct = picture_stages(settings, offline=True)
    for stage in correct:
        stage.open(Caps(2, 2, Fraction(1)))  # loads the restore model; the caps are not kept
    try:
        for path in images:
            image = read_image_file(path, "image", cv2.IMREAD_COLOR)
            for stage in correct:  # each image on its own, like the segmentation below
                image = stage.process(Frame(image, pts_ns=0, seq=0, discont=True)).pixels
            mask = segment.person_mask(image)
            if matte is not None:  # unrelated images: each one starts the temporal state afresh
                alpha = matte.alpha(image, mask, discont=True)
            else:
                alpha = alpha_from_mask(mask, image.shape[0], image.shape[1], settings.edge_low, settings.edge_high)
            write_image(out_dir / f"{path.stem}.png", alpha)
    finally:
        segment.close()
    return len(images)


def cmd_matte(args) -> int:
    from pipeline.sinks.matte import MatteSink

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
    sink = MatteSink(
        out_dir,
        settings.edge_low,
        settings.edge_high,
        single_name=source_path.stem + ".png" if source_path.suffix.lower() in IMAGE_SUFFIXES else None,
    )
    matte = matte_for(settings)
    segment = Segment(settings.segmenter, roi=settings.roi, people=settings.people)
    graph = Graph(source, [*picture_stages(settings, offline=True), segment, *([matte] if matte else [])], [sink])
    stats = run_graph(graph, "matte", sink.name)
    print(f"wrote {stats['nodes'][sink.name]['processed']} mattes to {out_dir}")
    return EXIT_INTERRUPTED if graph.interrupted else 0


def cmd_upscale(args) -> int:
    """An image (-> image by OUT's extension), a folder of images (-> OUT/STEM.png) or a video.
    `--scale 1` restores (the restore stage) instead of enlarging."""
    from pipeline.stages.restore import RESTORE_MODEL, Restore
    from pipeline.stages.upscale.catalogue import SR_DETAIL, SR_MODEL, check_upscale
    from pipeline.stages.upscale.files import upscale_files
    from pipeline.stages.upscale.stage import Upscale

    started = time.perf_counter()
    if args.scale == 1 and args.model is not None:
        raise UserError(
            f"--model {args.model}: --scale 1 restores with its own networks (--restore-model fast|quality); "
            "--model is for --scale 2 or 3"
        )
    if args.scale != 1 and args.restore_model is not None:
        raise UserError(f"--restore-model {args.restore_model} is for --scale 1 (restore); --model picks the upscaler")
    if args.scale == 1 and args.sr_detail is not None:
        raise UserError(f"--sr-detail {args.sr_detail} is for --scale 2 or 3 (the upscaler); --scale 1 restores")
    model = args.model or SR_MODEL.default
    if args.scale != 1:
        check_upscale(args.scale, model)
    source_path = Path(args.input)
    is_url = "://" in args.input
    if not is_url and not source_path.exists():
        raise UserError(f"upscale input {args.input} not found (give an image, a folder of images or a video)")
    prepare_kernels()
    stage: Upscale | Restore
    if args.scale == 1:
        restore_model = args.restore_model or RESTORE_MODEL.default
        stage = Restore(model=restore_model, strict=True)
        enlarge, what = stage.restore, f"x1 restore, {restore_model}"
    else:
        detail = args.sr_detail or SR_DETAIL.default
        stage = Upscale(
            args.scale, model, strict=True, threads=args.threads, engine=args.engine, detail_check=detail == "checked"
        )
        enlarge, what = stage.upscale, f"x{args.scale} {stage.tier}"
    if source_path.is_dir() or source_path.suffix.lower() in IMAGE_SUFFIXES:
        stage.load()
        count = upscale_files(enlarge, source_path, Path(args.output), IMAGE_SUFFIXES)
        note = bicubic_note(stage.bicubic_alone if isinstance(stage, Upscale) else 0)
        print(f"wrote {args.output} ({count} image{'s' if count != 1 else ''}, {what}{note})")
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
    if isinstance(stage, Upscale) and stage.tier in stage.engines:
        what += f" on {stage.engines[stage.tier]}"
    note = bicubic_note(stage.bicubic_alone if isinstance(stage, Upscale) else 0)
    print(
        f"wrote {args.output} ({written} frames, {what}: {written / run_s:.1f} fps "
        f"over {run_s:.1f} s, after {running - started:.1f} s of set-up{note})"
    )
    return 0


def bicubic_note(count: int) -> str:
    """What the summary line adds when the detail check enlarged `count` pictures with bicubic alone
    (`Upscale.bicubic_alone`): '' for none."""
    if not count:
        return ""
    return f"; bicubic alone on {count}, where the network would hardly have helped (--sr-detail full runs it)"


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
