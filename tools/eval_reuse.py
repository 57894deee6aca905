"""Score `mask_reuse` (the model run only when the picture changed) against running it on every frame.

    python -m tools.eval_reuse [--clips eval|tune] [--frames 90] [--power saver] [--json out/eval-reuse.json]

Real recordings with frame times at 30 fps (`--clips eval`: the evaluation webcam recordings of
`tools.eval_real.EVAL_CLIPS` and the talking head; `tune`: the other webcam recordings, on which the
gate's constants were chosen), each frame scaled to 1280×720, and the synthetic walker (a person
moving fast about a room, 1280×720): the segment and matte stages as the `video-call-720p` preset runs
them (landscape model, ROI tracking, temporal smoothing), once with the model on every frame and once
with `mask_reuse` (`--power saver`: as the power saver runs, on every other frame with its longer
and shorter gaps between model runs, scored on the frames it keeps), each smoothed mask stretched to
the frame and thresholded at 0.5. Per clip:

* **IoU** of the reuse masks against the every-frame ones: mean and worst frame;
* **boundary F** (2 px) of the reuse masks against the every-frame ones: how well the edges agree;
* **flicker**: mean |Δmask| (0..255) between consecutive frames over pixels whose luma changed by
  less than 2 levels, for both;
* **model runs**: the share of frames the model ran on with reuse, and runs per second;
* **segment CPU-ms per frame** of the stage's own thread (process time around `process`, the model's
  own thread included since the call waits for it), both ways, taken one after the other in this
  process; and per second of video.

Prints a Markdown table; writes JSON with `--json`. Exits 0 with a message where the data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from pipeline.power import saver_step
from tools.eval_people import read_clip
from tools.eval_real import VIDEO, add_call_options, call_recordings, recordings_present, write_report
from tools.eval_seg import boundary_f, iou

SIZE = (1280, 720)
FPS = 30
"""Every clip is played at this rate (its frames' media times)."""


def walker_frames(count: int) -> list[np.ndarray]:
    from pipeline.sources.synthetic import WalkingPersonSource
    from pipeline.stages.segment import person_probability

    source = WalkingPersonSource(*SIZE, FPS, frames=count, person_probability=person_probability)
    source.open()
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame.pixels.copy())
    source.close()
    return frames


def masks_of(
    frames: list[np.ndarray], mask_reuse: bool, fps: int = FPS, step: int = 1
) -> tuple[list[np.ndarray], int, float]:
    """(masks stretched to the frame, model runs, segment CPU-ms per frame) of one pass over every
    `step`-th frame; `step` > 1: as the power saver runs (`pipeline.power`)."""
    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.matte import Matte
    from pipeline.stages.segment import Segment

    segment = Segment("landscape", roi=True, mask_reuse=mask_reuse)
    segment.set_power_saving(step > 1)
    matte = Matte(0.25, 0.75, refine=False, temporal=True)
    segment.open(Caps(SIZE[0], SIZE[1], Fraction(fps)))
    frames = frames[::step]
    masks, cpu_s = [], 0.0
    try:
        for i, pixels in enumerate(frames):
            frame = Frame(pixels, pts_ns=i * step * 1_000_000_000 // fps, seq=i, discont=i == 0)
            start = time.thread_time()
            wall = time.perf_counter()
            segment.process(frame)
            # MediaPipe runs the model on its own thread and this one waits: count the wait as CPU
            cpu_s += max(time.thread_time() - start, time.perf_counter() - wall)
            matte.process(frame)
            assert frame.mask is not None
            masks.append(cv2.resize(frame.mask, SIZE, interpolation=cv2.INTER_LINEAR))
        return masks, segment.model_runs, 1000 * cpu_s / len(frames)
    finally:
        segment.close()


def flicker(masks: list[np.ndarray], frames: list[np.ndarray]) -> float:
    steps = []
    for i in range(1, len(frames)):
        still = (
            np.abs(
                cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY).astype(np.int16)
                - cv2.cvtColor(frames[i - 1], cv2.COLOR_BGR2GRAY)
            )
            < 2
        )
        if still.any():
            steps.append(float(np.abs(masks[i][still] - masks[i - 1][still]).mean()) * 255)
    return float(np.mean(steps)) if steps else 0.0


def score(name: str, frames: list[np.ndarray], saver: bool = False) -> dict:
    """Mask reuse (`saver`: the power saver, on its share of the frames) against the model on every frame."""
    step = saver_step(FPS) if saver else 1
    seconds = len(frames) / FPS
    every, _, every_ms = masks_of(frames, False)
    reuse, runs, reuse_ms = masks_of(frames, True, step=step)
    every, frames = every[::step], frames[::step]
    ious = [iou(a >= 0.5, b >= 0.5) for a, b in zip(reuse, every)]
    return {
        "clip": name,
        "frames": len(frames),
        "iou_mean": float(np.mean(ious)),
        "iou_worst": float(np.min(ious)),
        "boundary_f": float(np.mean([boundary_f(a >= 0.5, b >= 0.5) for a, b in zip(reuse, every)])),
        "flicker_every": flicker(every, frames),
        "flicker_reuse": flicker(reuse, frames),
        "model_share": runs / len(frames),
        "model_runs_per_second": runs / seconds,
        "segment_ms_every": every_ms,
        "segment_ms_reuse": reuse_ms,
        "segment_ms_per_second_every": every_ms * FPS,
        "segment_ms_per_second_reuse": reuse_ms * len(frames) / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.eval_reuse", description=__doc__.split("\n")[0])
    add_call_options(parser, frames=90)
    parser.add_argument(
        "--power",
        choices=("performance", "saver"),
        default="performance",
        help="saver: the power saver's frame rate, model rate and whole-frame model (pipeline/power.py)",
    )
    args = parser.parse_args(argv)
    saver = args.power == "saver"
    clips = call_recordings(args.clips)
    if not recordings_present(clips, "eval_reuse"):
        return 0
    rows = []
    for clip in clips:
        frames = [cv2.resize(f, SIZE, interpolation=cv2.INTER_LINEAR) for f in read_clip(VIDEO / clip, args.frames)]
        rows.append(score(Path(clip).stem, frames, saver))
    rows.append(score("walker (fast motion)", walker_frames(args.frames), saver))
    print(
        "| clip | IoU mean | IoU worst | boundary F | flicker every → reuse | model runs | model runs/s "
        "| segment CPU-ms per frame | per second |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clip']} | {r['iou_mean']:.4f} | {r['iou_worst']:.3f} | {r['boundary_f']:.3f} "
            f"| {r['flicker_every']:.2f} → {r['flicker_reuse']:.2f} | {r['model_share']:.0%} "
            f"| {r['model_runs_per_second']:.1f} | {r['segment_ms_every']:.2f} → {r['segment_ms_reuse']:.2f} "
            f"| {r['segment_ms_per_second_every']:.0f} → {r['segment_ms_per_second_reuse']:.0f} |"
        )
    real = rows[:-1]
    summary = {
        "iou_mean": float(np.mean([r["iou_mean"] for r in real])),
        "iou_worst": float(np.min([r["iou_worst"] for r in real])),
        "model_share": float(np.mean([r["model_share"] for r in real])),
        "segment_ms_every": float(np.mean([r["segment_ms_every"] for r in real])),
        "segment_ms_reuse": float(np.mean([r["segment_ms_reuse"] for r in real])),
        "segment_ms_per_second_every": float(np.mean([r["segment_ms_per_second_every"] for r in real])),
        "segment_ms_per_second_reuse": float(np.mean([r["segment_ms_per_second_reuse"] for r in real])),
    }
    print(
        f"recordings: IoU {summary['iou_mean']:.4f} (worst frame {summary['iou_worst']:.3f}), model on "
        f"{summary['model_share']:.0%} of frames, segment {summary['segment_ms_every']:.2f} → "
        f"{summary['segment_ms_reuse']:.2f} CPU-ms per frame ({summary['segment_ms_per_second_every']:.0f} → "
        f"{summary['segment_ms_per_second_reuse']:.0f} per second)"
    )
    write_report(args.json, {"clips": rows, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
