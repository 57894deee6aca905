"""Score `people = "main"` on real footage: is only the main person cut out, without flicker?

    python -m tools.eval_people [--pairs 4] [--segmenter landscape] [--json out/eval-people.json]

Two-person clips composed from the real webcam recordings in `../shared/data/video/webcam` (each a
person facing the camera): clip A is the caller; the person of clip B, cut out with the general model's
mask of B's own frames, scaled to `BYSTANDER_SCALE` of the height, walks behind A from one side of the
picture to the other over the clip (bottom-aligned, A in front: A's own pixels stay where A's mask of
A's own frame is person). The ground truth of the main person is that mask of A (probability ≥ 0.5).
Pairs: each evaluation recording (`tools.eval_real.EVAL_CLIPS`) as the caller, the next as the bystander
(`--clips tune`: the other recordings, `TRAIN_CLIPS`, on which the constants of `pipeline.people` were tuned).

Per frame, the segment stage's mask (the run's settings: ROI tracking, the chosen model) is stretched
to the frame and thresholded at 0.5, with `people = "all"` and with `people = "main"`:

* **IoU** against the main person's ground truth (mean and worst frame);
* **bystander shown**: the fraction of the bystander's visible pixels (B's cut-out minus A) marked person;
* **flicker**: frames where the bystander is shown (more than 5 % of their pixels) right after a frame
  where they were not, or the other way round.

* **alone**: the caller's own recording, no bystander: IoU of the `main` masks against the `all` ones
  (1: keeping only the main person costs a lone caller nothing; below: pieces of them cut away).

Also the room clip (`people_one_by_one_768x432.mp4`, people walking through a fixed camera's room; no
ground truth): the number of person regions kept per frame with `main` (at most one is the aim) and
how often the kept person changes. Prints a Markdown table; writes JSON with `--json`. Exits 0 with a
message where the shared data is absent.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from tools.eval_real import EVAL_CLIPS, TRAIN_CLIPS, VIDEO, recordings_present, write_report

BYSTANDER_SCALE = 0.7
SHOWN = 0.05
"""Fraction of the bystander's pixels above which they count as shown in a frame."""


def read_clip(path: Path, limit: int | None = None) -> list[np.ndarray]:
    """Every frame (up to `limit`) of a video, BGR, decoded with PyAV."""
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="bgr24"))
            if limit is not None and len(frames) >= limit:
                break
    return frames


def whole_frame_masks(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The general model's person probability of each frame on its own (float32, the frame's size)."""
    from pipeline.stages.segment import Segment

    segment = Segment("general", roi=False)
    segment.open(_caps(frames[0]))
    try:
        return [cv2.resize(segment.segment(f), f.shape[1::-1], interpolation=cv2.INTER_LINEAR) for f in frames]
    finally:
        segment.close()


def _caps(frame: np.ndarray):
    from pipeline.caps import Caps

    return Caps(frame.shape[1], frame.shape[0], Fraction(30))


def compose(
    caller: list[np.ndarray], caller_masks: list[np.ndarray], passer: list[np.ndarray], passer_masks: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(frames, the main person's truth, the bystander's visible pixels) of the caller with the passer
    walking behind them (see the module docstring); as many frames as the shorter clip. Truths: bool (h, w)."""
    count = min(len(caller), len(passer))
    h, w = caller[0].shape[:2]
    frames, truths, bystanders = [], [], []
    for i in range(count):
        small_h = int(h * BYSTANDER_SCALE)
        small_w = int(passer[i].shape[1] * small_h / passer[i].shape[0])
        person = cv2.resize(passer[i], (small_w, small_h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(passer_masks[i], (small_w, small_h), interpolation=cv2.INTER_LINEAR)
        x0 = int(-small_w + (w + small_w) * i / max(1, count - 1))  # enters at the left, leaves at the right
        left, right = max(0, x0), min(w, x0 + small_w)
        picture = caller[i].astype(np.float32)
        behind = np.zeros((h, w), np.float32)
        if right > left:
            behind[h - small_h :, left:right] = alpha[:, left - x0 : right - x0]
            placed = np.zeros_like(picture)
            placed[h - small_h :, left:right] = person[:, left - x0 : right - x0]
            caller_alpha = caller_masks[i][..., None]
            background = picture * (1 - behind[..., None]) + placed * behind[..., None]
            picture = picture * caller_alpha + background * (1 - caller_alpha)
        truth = caller_masks[i] >= 0.5
        frames.append(np.clip(np.rint(picture), 0, 255).astype(np.uint8))
        truths.append(truth)
        bystanders.append((behind >= 0.5) & ~truth)
    return frames, truths, bystanders


def run_segment(
    frames: list[np.ndarray], people: str, segmenter: str, fps: int = 30
) -> tuple[list[np.ndarray], list[int]]:
    """The segment stage's masks of a stream (stretched to the frame, float32) with `people`, and the
    person regions it sent to the background per frame."""
    from pipeline.frame import Frame
    from pipeline.stages.segment import Segment

    segment = Segment(segmenter, roi=True, people=people)
    segment.open(_caps(frames[0]))
    masks, others = [], []
    try:
        for i, pixels in enumerate(frames):
            frame = segment.process(Frame(pixels, pts_ns=i * 1_000_000_000 // fps, seq=i, discont=i == 0))
            assert frame.mask is not None
            masks.append(cv2.resize(frame.mask, pixels.shape[1::-1], interpolation=cv2.INTER_LINEAR))
            others.append(segment._main_person.others)
    finally:
        segment.close()
    return masks, others


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def score_pair(caller_clip: str, passer_clip: str, segmenter: str) -> dict:
    """The scores of one composed clip, for `all` and `main`."""
    caller, passer = read_clip(VIDEO / caller_clip), read_clip(VIDEO / passer_clip)
    frames, truths, bystanders = compose(caller, whole_frame_masks(caller), passer, whole_frame_masks(passer))
    row: dict = {"caller": caller_clip, "bystander": passer_clip, "frames": len(frames)}
    alone = [
        iou(m >= 0.5, a >= 0.5)
        for m, a in zip(run_segment(caller, "main", segmenter)[0], run_segment(caller, "all", segmenter)[0])
    ]
    row["alone"] = {"iou_mean": float(np.mean(alone)), "iou_worst": float(np.min(alone))}
    for people in ("all", "main"):
        masks, _ = run_segment(frames, people, segmenter)
        person = [m >= 0.5 for m in masks]
        ious = [iou(p, t) for p, t in zip(person, truths)]
        visible = [(p, b) for p, b in zip(person, bystanders) if b.sum() > 200]
        shown = [np.count_nonzero(p & b) / np.count_nonzero(b) for p, b in visible]
        flags = [s > SHOWN for s in shown]
        row[people] = {
            "iou_mean": float(np.mean(ious)),
            "iou_worst": float(np.min(ious)),
            "bystander_shown": float(np.mean(shown)) if shown else 0.0,
            "frames_bystander_shown": int(sum(flags)),
            "frames_bystander_visible": len(visible),
            "flicker": int(sum(a != b for a, b in zip(flags, flags[1:]))),
        }
    return row


def score_room(segmenter: str, limit: int) -> dict:
    """Regions kept and changes of the kept person on the room clip with `main` (no ground truth)."""
    frames = read_clip(VIDEO / "people_one_by_one_768x432.mp4", limit)
    masks, others = run_segment(frames, "main", segmenter, fps=10)
    kept_regions, centres = [], []
    for mask in masks:
        count, _, stats, centroids = cv2.connectedComponentsWithStats((mask >= 0.5).astype(np.uint8))
        big = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 0.002 * mask.size]
        kept_regions.append(len(big))
        centres.append(centroids[max(big, key=lambda i: stats[i, cv2.CC_STAT_AREA])] if big else None)
    jumps = sum(
        1
        for a, b in zip(centres, centres[1:])
        if a is not None and b is not None and np.hypot(*(a - b)) > 0.15 * frames[0].shape[1]
    )
    return {
        "frames": len(frames),
        "frames_with_more_than_one_region": int(sum(k > 1 for k in kept_regions)),
        "frames_with_others_hidden": int(sum(o > 0 for o in others)),
        "kept_person_jumps": int(jumps),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.eval_people", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=4, help="composed two-person clips (default 4)")
    parser.add_argument("--segmenter", default="landscape", choices=("general", "landscape"))
    parser.add_argument("--room-frames", type=int, default=600, help="frames of the room clip (0: skip it)")
    parser.add_argument("--clips", choices=("eval", "tune"), default="eval", help="evaluation or tuning recordings")
    parser.add_argument("--json", type=Path, help="write the scores here")
    args = parser.parse_args(argv)
    webcam = [c for c in (EVAL_CLIPS if args.clips == "eval" else TRAIN_CLIPS) if c.startswith("webcam/")]
    if not recordings_present(webcam, "eval_people"):
        return 0
    pairs = [(webcam[i % len(webcam)], webcam[(i + 1) % len(webcam)]) for i in range(args.pairs)]
    rows = [score_pair(a, b, args.segmenter) for a, b in pairs]
    print("| caller | bystander | people | IoU mean | IoU worst | bystander shown | frames shown | flicker |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        for people in ("all", "main"):
            s = row[people]
            print(
                f"| {Path(row['caller']).stem} | {Path(row['bystander']).stem} | {people} | {s['iou_mean']:.3f} "
                f"| {s['iou_worst']:.3f} | {s['bystander_shown']:.1%} "
                f"| {s['frames_bystander_shown']}/{s['frames_bystander_visible']} | {s['flicker']} |"
            )
    summary = {
        people: {
            "iou_mean": float(np.mean([r[people]["iou_mean"] for r in rows])),
            "iou_worst": float(np.min([r[people]["iou_worst"] for r in rows])),
            "bystander_shown": float(np.mean([r[people]["bystander_shown"] for r in rows])),
            "flicker": int(sum(r[people]["flicker"] for r in rows)),
        }
        for people in ("all", "main")
    }
    summary["alone"] = {
        "iou_mean": float(np.mean([r["alone"]["iou_mean"] for r in rows])),
        "iou_worst": float(np.min([r["alone"]["iou_worst"] for r in rows])),
    }
    alone = summary["alone"]
    print(f"callers alone, main against all: IoU {alone['iou_mean']:.4f} (worst frame {alone['iou_worst']:.3f})")
    for people in ("all", "main"):
        s = summary[people]
        print(
            f"mean over {len(rows)} clips, {people}: IoU {s['iou_mean']:.3f} (worst frame {s['iou_worst']:.3f}), "
            f"bystander shown {s['bystander_shown']:.1%}, flicker {s['flicker']}"
        )
    room = score_room(args.segmenter, args.room_frames) if args.room_frames else None
    if room:
        print(
            f"room clip, main, {room['frames']} frames: more than one region kept in "
            f"{room['frames_with_more_than_one_region']}, others hidden in {room['frames_with_others_hidden']}, "
            f"kept person jumped {room['kept_person_jumps']} times"
        )
    write_report(args.json, {"pairs": rows, "summary": summary, "room": room})
    return 0


if __name__ == "__main__":
    sys.exit(main())
