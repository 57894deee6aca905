"""How sharp an auto-framing zoom is: the network tiers against bicubic on real talking-head footage.

    python -m tools.eval_zoom                       # every tier, the talking-head clip, table
    python -m tools.eval_zoom --png out/zoom.png    # also a side-by-side picture (bicubic | network | original)

For every `--every`-th frame of each clip (``../shared/data/video/talking_head_410x412.mp4`` and
``carphone_176x144.mp4`` by default): the frame is the full-resolution original O; the camera sees
D = O made `--zoom` times smaller (MATLAB-compatible bicubic, the standard SR degradation, rounded to
uint8); the autoframe stage, held at that zoom (min = max zoom), picks the crop of D around the
person; the upscale stage enlarges the crop back to D's size with each tier (`Upscale(1, tier).reframe`,
exactly what a run does). The reference is the same region of O, at full resolution. Scores: PSNR-Y
(BT.601, 4 pixels shaved) of each tier's zoom against the reference, mean over frames, and the gain
over bicubic. Needs ``../shared/data``; exits 0 with a message without it.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from tools.sr_data import imresize, psnr, rgb_to_y, shared_data_dir

REPO = Path(__file__).resolve().parent.parent

CLIPS = ("talking_head_410x412.mp4", "carphone_176x144.mp4")


def frames_of(path: Path, every: int):
    import av

    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every == 0:
                yield frame.to_ndarray(format="bgr24")


def zoom_scores(original: np.ndarray, zoom: int, tiers: list[str], stages: dict, segment) -> tuple[dict, dict]:
    """PSNR-Y of each tier's zoom of `original` (BGR) and the pictures, {tier: dB}, {tier: BGR}."""
    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.autoframe import AutoFrame, Framing

    step = 4 * zoom  # D = O / zoom and its crop D / zoom both have even sides: the zoom is exact
    h, w = original.shape[0] // step * step, original.shape[1] // step * step
    original = original[:h, :w]
    small_rgb = imresize(np.ascontiguousarray(original[..., ::-1]), 1 / zoom, out_uint8=True)
    small = np.ascontiguousarray(small_rgb[..., ::-1])
    sh, sw = small.shape[:2]
    framer = AutoFrame(Framing(min_zoom=zoom, max_zoom=zoom))
    framer.open(Caps(sw, sh, Fraction(25)))
    frame = Frame(small, pts_ns=0, seq=0, mask=segment.segment(small))
    framed = framer.process(frame)
    assert framed is not None and framed.crop is not None  # no look-ahead: the frame comes straight back, cropped
    x, y, cw, ch = framed.crop
    reference = original[y * zoom : (y + ch) * zoom, x * zoom : (x + cw) * zoom]
    scores, pictures = {}, {}
    for tier in tiers:
        stage = stages[tier]
        out, used = stage.reframe(
            Frame(small, pts_ns=0, seq=0, crop=(x, y, cw, ch)), (x, y, cw, ch), stage._model(tier)
        )
        assert used == tier, (used, tier)
        picture = out[: ch * zoom, : cw * zoom]
        if picture.shape != reference.shape:  # the output is D's size: the crop enlarged ×zoom
            raise RuntimeError(f"zoomed picture {picture.shape} != reference {reference.shape}")
        y_out = rgb_to_y(np.ascontiguousarray(picture[..., ::-1]))
        y_ref = rgb_to_y(np.ascontiguousarray(reference[..., ::-1]))
        scores[tier] = psnr(y_out, y_ref, border=4)
        pictures[tier] = picture
    pictures["original"] = reference
    return scores, pictures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", nargs="+", default=list(CLIPS))
    ap.add_argument("--zoom", type=int, default=2)
    ap.add_argument("--every", type=int, default=10, help="use every Nth frame")
    ap.add_argument("--tiers", nargs="+", default=["bicubic", "litesr", "xlsr"])
    ap.add_argument("--png", type=Path, help="side-by-side of the first frame: " + " | ".join(["tiers...", "original"]))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    video_dir = shared_data_dir(REPO) / "video"
    if not video_dir.is_dir():
        print(f"skipping: {video_dir} not found (shared data absent)")
        return 0
    import cv2

    from kernels.warmup import prepare_kernels
    from pipeline.caps import Caps
    from pipeline.stages.segment import Segment
    from pipeline.stages.upscale.stage import Upscale

    prepare_kernels()
    stages = {}
    for tier in args.tiers:
        stages[tier] = Upscale(1, tier, strict=True)
        stages[tier].load()
    segment = Segment("general", roi=False)
    segment.open(Caps(256, 256, Fraction(25)))
    report = {
        "zoom": args.zoom,
        "protocol": "O → MATLAB bicubic ÷zoom → autoframe crop → ×zoom; PSNR-Y vs O's crop, 4 px shaved",
        "clips": {},
    }
    first_pictures = None
    for clip in args.clips:
        per_tier: dict[str, list[float]] = {t: [] for t in args.tiers}
        for original in frames_of(video_dir / clip, args.every):
            scores, pictures = zoom_scores(original, args.zoom, args.tiers, stages, segment)
            for tier, db in scores.items():
                per_tier[tier].append(db)
            first_pictures = first_pictures or pictures
        means = {t: float(np.mean(v)) for t, v in per_tier.items()}
        report["clips"][clip] = {
            "frames": len(per_tier[args.tiers[0]]),
            "psnr_y": {t: round(m, 2) for t, m in means.items()},
            "gain_over_bicubic_db": {
                t: round(m - means["bicubic"], 2) for t, m in means.items() if "bicubic" in means and t != "bicubic"
            },
        }
    segment.close()
    print("| clip | frames | " + " | ".join(f"{t} PSNR-Y" for t in args.tiers) + " |")
    print("|---|---:|" + "---:|" * len(args.tiers))
    for clip, row in report["clips"].items():
        gains = row["gain_over_bicubic_db"]
        cells = [f"{row['psnr_y'][t]:.2f}" + (f" (+{gains[t]:.2f})" if t in gains else "") for t in args.tiers]
        print(f"| {clip} | {row['frames']} | " + " | ".join(cells) + " |")
    if args.png and first_pictures:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        tiles = []
        for name in [*args.tiers, "original"]:
            tile = first_pictures[name].copy()
            cv2.putText(tile, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(tile, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        cv2.imwrite(str(args.png), np.hstack(tiles))
        print(f"wrote {args.png}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
