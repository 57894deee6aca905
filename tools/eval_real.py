"""Super-resolution on real video, degraded the way cameras and calls degrade it.

Each evaluation clip's frames (the originals, HR) are downscaled ×2 (`--scale 3`: ×3) the way a camera
or a capture pipeline does (`box`: 2×2 average, `bilinear`), then passed through what a recording or a call does to
them (`lossless`: nothing; `crf18`, `crf23`, `crf28`: a real libx264 round trip through PyAV, preset
medium, yuv420p, the whole sequence so that inter-frame coding is real; `jpeg75`: MJPEG-like JPEG at
quality 75 per frame), decoded, and enlarged ×2 (×3) by litecam's upscaler (`bicubic` and the networks).
Scores: PSNR-Y and SSIM (Y) against the originals, per clip and degradation, and each model's mean
gain over bicubic. The networks run on ONNX Runtime in float32 by default (`--engine`), so the scores
are the same on every CPU (`auto` would pick bfloat16 OpenVINO on a CPU with BF16, ~0.1 dB lower).

`--restore` scores the ×1 restoration instead: each clip at its own size through each codec, the restore
stage on the decoded frames, PSNR-Y and SSIM against the originals, gain over the decoded frames.

Clips: `EVAL_CLIPS`, real webcam recordings in `../shared/data/video/webcam` never used for training
or tuning (the others, `TRAIN_CLIPS`, are the ones a training set may take), the talking head and a
fixed camera's room with people walking through it. The RGB↔YUV conversions around the codec are
OpenCV's, correctly rounded (see `x264_round_trip`).

    python -m tools.eval_real [--models litesr,xlsr] [--frames 8] [--json out/eval-real.json] [--png out/real.png]
    python -m tools.eval_real --scale 3 --models xlsr
    python -m tools.eval_real --restore [--json out/eval-restore.json]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from pipeline.stages.restore import MODEL_FILES, RESTORE_MODEL, Restore
from pipeline.stages.upscale.catalogue import ENGINES
from tools.sr_data import psnr_y, ssim_y

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
WEBCAM = sorted(p.name for p in (VIDEO / "webcam").glob("asl_*.mkv")) if (VIDEO / "webcam").is_dir() else []
EVAL_CLIPS = [f"webcam/{name}" for name in WEBCAM[::4]] + ["talking_head_410x412.mp4", "people_one_by_one_768x432.mp4"]
"""Never trained or tuned on: every fourth webcam recording (sorted by name), the talking head and the
room with people walking through it."""
TRAIN_CLIPS = [f"webcam/{name}" for name in WEBCAM if f"webcam/{name}" not in EVAL_CLIPS]
"""The recordings a training set may use."""


def call_recordings(which: str) -> list[str]:
    """The recordings the call effects are scored on: `eval`, the evaluation webcam recordings and the
    talking head; `tune`, every third of the other webcam recordings (where constants may be chosen)."""
    if which == "eval":
        return [c for c in EVAL_CLIPS if c.startswith("webcam/")] + ["talking_head_410x412.mp4"]
    return [c for c in TRAIN_CLIPS if c.startswith("webcam/")][::3]


def add_call_options(parser: argparse.ArgumentParser, frames: int) -> None:
    """The options the call-effect evaluations share: --clips eval|tune, --frames, --json."""
    parser.add_argument("--clips", choices=("eval", "tune"), default="eval", help="evaluation or tuning recordings")
    parser.add_argument("--frames", type=int, default=frames, help=f"frames per clip (default {frames})")
    parser.add_argument("--json", type=Path, help="write the scores here")


def recordings_present(clips: list[str], tool: str) -> bool:
    """Whether every clip is under `VIDEO`; if not, `tool` says so (it has nothing to score)."""
    if all((VIDEO / c).is_file() for c in clips):
        return True
    print(f"{tool}: the recordings are not under {VIDEO}; nothing to score")
    return False


def write_report(path: Path | None, report: dict, indent: int = 1) -> None:
    """Write `report` as JSON to `path` (its folder made), when a path is given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=indent))


DOWNSCALES = ("box", "bilinear")
CODECS = ("lossless", "crf18", "crf23", "crf28", "jpeg75")


def read_frames(path: Path, count: int, scale: int = 2) -> list[np.ndarray]:
    """Up to `count` frames spread over the clip, BGR, cropped to multiples of 2 × `scale` (so that the
    downscaled frames have even sides, as 4:2:0 video needs)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    step = max(1, len(frames) // count)
    picked = frames[::step][:count]
    unit = 2 * scale
    return [np.ascontiguousarray(f[: f.shape[0] // unit * unit, : f.shape[1] // unit * unit]) for f in picked]


def downscale(frame: np.ndarray, how: str, scale: int = 2) -> np.ndarray:
    """÷`scale` as a camera or a capture pipeline does it: `box`, the scale×scale average (OpenCV's
    INTER_AREA); `bilinear`, a scaler that interpolates between two neighbours at a quarter-pixel phase
    without averaging the rest (aliasing, as cheap scalers give)."""
    h, w = frame.shape[:2]
    if how == "box":
        return cv2.resize(frame, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
    # output pixel (x, y) reads input (scale·x + ¼, scale·y + ¼)
    to_source = np.array([[scale, 0, 0.25], [0, scale, 0.25]], np.float32)
    return cv2.warpAffine(
        frame,
        to_source,
        (w // scale, h // scale),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def through_codec(frames: list[np.ndarray], codec: str, fps: int = 30) -> list[np.ndarray]:
    """The frames after `codec` (see the module docstring), decoded back to BGR."""
    if codec == "lossless":
        return frames
    if codec.startswith("jpeg"):
        quality = int(codec.removeprefix("jpeg"))
        return [
            cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
            for f in frames
        ]
    h, w = frames[0].shape[:2]
    planes = [cv2.cvtColor(f[: h - h % 2, : w - w % 2], cv2.COLOR_BGR2YUV_I420) for f in frames]
    coded = x264_round_trip(planes, int(codec.removeprefix("crf")), "medium", fps)
    return [cv2.cvtColor(p, cv2.COLOR_YUV2BGR_I420) for p in coded]


def x264_round_trip(planes: list[np.ndarray], crf: int, preset: str, fps: int = 30) -> list[np.ndarray]:
    """I420 frames (OpenCV's planar layout, (3h/2)×w uint8, BT.601 video range) through libx264 and
    back, as one sequence: inter-frame coding is real. The RGB↔YUV conversions are the caller's, done
    with OpenCV's correctly rounded ones: FFmpeg's default swscale conversions truncate, darkening a
    round trip by about 2 levels, a bias a network would learn to undo and a measurement would credit."""
    h, w = planes[0].shape[0] * 2 // 3, planes[0].shape[1]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for plane in planes:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(plane, format="yuv420p")))
        out.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer, "r") as decoded:
        result = [np.ascontiguousarray(f.to_ndarray()) for f in decoded.decode(video=0)]
    if len(result) != len(planes):
        raise RuntimeError(f"x264 round trip returned {len(result)} of {len(planes)} frames")
    return result


def scores(sr: np.ndarray, hr: np.ndarray) -> tuple[float, float]:
    """(PSNR-Y, SSIM-Y) of BGR frames as the SR protocol computes them (BT.601 Y, 2-px border shaved)."""
    return psnr_y(sr[:, :, ::-1], hr[:, :, ::-1], 2), ssim_y(sr[:, :, ::-1], hr[:, :, ::-1], 2)


def _network(stage, frame: np.ndarray) -> np.ndarray:
    return stage.upscale(frame).copy()  # (the stage's output buffer is reused by its next call)


def _restored_first(restore, enlarge, frame: np.ndarray) -> np.ndarray:
    return enlarge(restore(frame))


def upscalers(
    models: list[str],
    model_dir: Path | None = None,
    scale: int = 2,
    engine: str = "onnxruntime",
    detail_check: bool = True,
) -> dict:
    """name → function BGR → BGR ×`scale` (`bicubic` first: the baseline); the networks' files from
    `model_dir` (default: the shipped ones), run by `engine` (default ONNX Runtime in float32, the same
    numbers on every CPU; `auto` picks per machine, e.g. bfloat16 OpenVINO where the CPU has BF16),
    through the upscale stage as `litecam upscale` runs them (`detail_check` False: the networks'
    output as it is, without the stage's cross-scale detail check)."""
    from pipeline.stages.upscale.stage import Upscale

    def bicubic(frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, (frame.shape[1] * scale, frame.shape[0] * scale), interpolation=cv2.INTER_CUBIC)

    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {"bicubic": bicubic}
    for model in models:
        stage = Upscale(
            scale, model, strict=True, threads=2, model_dir=model_dir, engine=engine, detail_check=detail_check
        )
        stage.load()
        out[model] = functools.partial(_network, stage)
    return out


def evaluate(
    clips: list[str],
    models: list[str],
    frames: int,
    model_dir: Path | None = None,
    scale: int = 2,
    engine: str = "onnxruntime",
    restore_first: str | None = None,
    detail_check: bool = True,
) -> dict:
    """Scores of every clip × downscale × codec × method (see the module docstring). `restore_first`:
    the networks get the decoded frames through that restore network first (`--restore --scale N`);
    bicubic, the baseline, does not. `detail_check`: see `upscalers`."""
    methods = upscalers(models, model_dir, scale, engine, detail_check)
    if restore_first:
        restore = Restore(model=restore_first, strict=True)
        for name in models:
            methods[name] = functools.partial(_restored_first, restore.restore, methods[name])
    rows = []
    for clip in clips:
        originals = read_frames(VIDEO / clip, frames, scale)
        for how in DOWNSCALES:
            small = [downscale(f, how, scale) for f in originals]
            for codec in CODECS:
                degraded = through_codec(small, codec)
                for name, enlarge in methods.items():
                    measured = [scores(enlarge(f), h) for f, h in zip(degraded, originals)]
                    rows.append(
                        {
                            "clip": clip,
                            "downscale": how,
                            "codec": codec,
                            "method": name,
                            "psnr_y": float(np.mean([m[0] for m in measured])),
                            "ssim_y": float(np.mean([m[1] for m in measured])),
                        }
                    )
    return {
        "clips": clips,
        "frames_per_clip": frames,
        "scale": scale,
        "engine": engine,
        "restore_first": restore_first,
        "detail_check": detail_check,
        "rows": rows,
        "gains": gains(rows),
    }


def evaluate_restore(clips: list[str], frames: int, model_dir: Path | None = None) -> dict:
    """Scores of every clip × codec for the decoded frames (`decoded`, the baseline) and the restore stage."""
    stage = Restore(strict=True, model_path=model_dir / MODEL_FILES["fast"] if model_dir else None)
    stage.load()
    rows = []
    for clip in clips:
        originals = read_frames(VIDEO / clip, frames)
        for codec in CODECS[1:]:
            degraded = through_codec(originals, codec)
            for name, method in (("decoded", lambda f: f), ("restore", stage.restore)):
                measured = [scores(method(f), h) for f, h in zip(degraded, originals)]
                rows.append(
                    {
                        "clip": clip,
                        "downscale": "none",
                        "codec": codec,
                        "method": name,
                        "psnr_y": float(np.mean([m[0] for m in measured])),
                        "ssim_y": float(np.mean([m[1] for m in measured])),
                    }
                )
    return {"clips": clips, "frames_per_clip": frames, "rows": rows, "gains": gains(rows, "decoded")}


def gains(rows: list[dict], baseline: str = "bicubic") -> dict:
    """Mean PSNR-Y gain over `baseline` per method × downscale × codec, and the worst clip's."""
    base = {(r["clip"], r["downscale"], r["codec"]): r["psnr_y"] for r in rows if r["method"] == baseline}
    table: dict = {}
    for r in rows:
        if r["method"] == baseline:
            continue
        gain = r["psnr_y"] - base[r["clip"], r["downscale"], r["codec"]]
        table.setdefault(r["method"], {}).setdefault(f"{r['downscale']}/{r['codec']}", []).append(gain)
    return {
        method: {case: {"mean": float(np.mean(g)), "worst": float(min(g))} for case, g in cases.items()}
        for method, cases in table.items()
    }


def side_by_side(
    clip: str,
    model: str,
    path: Path,
    codec: str = "crf28",
    model_dir: Path | None = None,
    scale: int = 2,
    engine: str = "onnxruntime",
) -> None:
    """A PNG: bicubic | `model` | original, a 160×160 crop of one frame (box ↓, then `codec`)."""
    original = read_frames(VIDEO / clip, 1, scale)[0]
    degraded = through_codec([downscale(original, "box", scale)], codec)[0]
    methods = upscalers([model], model_dir, scale, engine)
    h, w = original.shape[:2]
    y, x = max(0, h // 2 - 80), max(0, w // 2 - 80)
    crops = [methods[m](degraded)[y : y + 160, x : x + 160] for m in ("bicubic", model)] + [
        original[y : y + 160, x : x + 160]
    ]
    cv2.imwrite(str(path), np.hstack([cv2.resize(c, (320, 320), interpolation=cv2.INTER_NEAREST) for c in crops]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.eval_real", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="litesr,xlsr", help="networks besides bicubic (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip, spread over it (default: %(default)s)")
    parser.add_argument(
        "--clips", default="eval", help="eval (default), or comma-separated paths under shared/data/video"
    )
    parser.add_argument("--scale", type=int, choices=(2, 3), default=2, help="the factor (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--png", type=Path, help="write a bicubic | model | original picture here")
    parser.add_argument("--model-dir", type=Path, help="read the networks from here (default: the shipped ones)")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="onnxruntime",
        help="the upscaler's engine (default: %(default)s, float32 and the same on every CPU; "
        "auto: what litecam would pick on this machine)",
    )
    parser.add_argument(
        "--restore-first",
        choices=RESTORE_MODEL.choices,
        help="run the networks on the decoded frames restored by this network first (bicubic stays plain)",
    )
    parser.add_argument(
        "--detail-check",
        choices=("on", "off"),
        default="on",
        help="on (default): the upscale stage's cross-scale detail check, as litecam runs; off: the networks alone",
    )
    parser.add_argument(
        "--restore", action="store_true", help="score the x1 restore stage against the decoded frames instead"
    )
    args = parser.parse_args(argv)
    clips = EVAL_CLIPS if args.clips == "eval" else args.clips.split(",")
    missing = [c for c in clips if not (VIDEO / c).is_file()]
    if missing:
        print(f"eval_real: not found under {VIDEO}: {', '.join(missing)}", file=sys.stderr)
        return 2
    models = [m for m in args.models.split(",") if m]
    if args.restore:
        report = evaluate_restore(clips, args.frames, args.model_dir)
        cases = [f"none/{c}" for c in CODECS[1:]]
        baseline = "the decoded frames"
    else:
        report = evaluate(
            clips,
            models,
            args.frames,
            args.model_dir,
            args.scale,
            args.engine,
            args.restore_first,
            args.detail_check == "on",
        )
        cases = [f"{d}/{c}" for d in DOWNSCALES for c in CODECS]
        baseline = "bicubic"
    print("| method | " + " | ".join(cases) + " |")
    print("|---|" + "---:|" * len(cases))
    for method, table in report["gains"].items():
        cells = [f"{table[case]['mean']:+.2f} ({table[case]['worst']:+.2f})" for case in cases]
        print(f"| {method} gain over {baseline}, dB (worst clip) | " + " | ".join(cells) + " |")
    write_report(args.json, report, indent=2)
    if args.png and models and not args.restore:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        side_by_side(clips[0], models[-1], args.png, model_dir=args.model_dir, scale=args.scale, engine=args.engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
