"""Score litecam's mattes against ground truth: IoU, boundary F, flicker, motion lag.

    .venv/bin/python -m tools.eval_seg [--limit N] [--json out/eval_seg.json] [--strip out/motion_strip.png]

Stills (`../shared/data/seg/portraits`, `N.jpg` <-> `N.png`): the ground-truth mask is resized to the
photo with nearest-neighbour when their sizes differ, then binarised at 128; the prediction (uint8
alpha) is binarised at 128 too. Per image:

* **IoU** = |P ∩ G| / |P ∪ G| (both empty counts as 1);
* **boundary F** (2-px tolerance): boundary pixels of a binary mask are its pixels with a 4-neighbour
  outside it (frame edges do not count); precision = fraction of predicted boundary pixels within
  2 px (Chebyshev: a 5x5 square) of a GT boundary pixel, recall = the same the other way round, F = harmonic mean.
Tables report the mean over images. (With this definition the raw general model scores IoU 0.878,
boundary F 0.661 on the 290 portraits, the baseline the matte is measured against; with a Euclidean 2-px
tolerance the same prediction scores boundary F 0.602.)

Video (`../shared/data/video`: talking_head, carphone): **flicker** = mean |alpha_t - alpha_{t-1}|
(alpha in 0..255) over the pixels whose luma changed by less than 2 levels (|ΔY| < 2), so real motion
is not counted; the first frame and frames marked `discont` are skipped.

Motion (`lag IoU`): a portrait from the still set, cut out with its GT mask and pasted over a fixed
background, sweeping horizontally by 2.5 % of the width per frame (fast: ~0.75 frame widths per
second at 30 fps); the score is the mean IoU against the moving ground truth over the moving frames.
If temporal smoothing ghosts or lags, the refined score falls below the raw one.

Far person (`far person IoU / boundary F`): each portrait's GT cut-out scaled to 45 % of a
1280x720 frame's height and pasted bottom-aligned at a random (seeded) column on `backdrop` — a
stand-in for a full-body or far-away shot, where the model sees the person at a low resolution
(what region-of-interest tracking is for); each frame on its own.

Methods: **raw** = the model on the whole frame, its mask upsampled bilinearly and thresholded at
0.5 (no refinement; for flicker: with the preset's smoothstep edge instead, i.e. the alpha the
compositor used before), and **refined** = exactly what `litecam matte` writes (and the compositor
blends with): the segmenter with the preset's ROI setting, then the `Matte` stage of
`pipeline/stages/matte.py` with the preset's settings (`transcode` by default). Both models
(general, landscape). Prints a Markdown table and writes JSON. Exits cleanly (status 0, a message)
when the shared data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kernels.mask import alpha_from_mask
from pipeline.frame import Frame

REPO = Path(__file__).resolve().parents[1]

SHARED = REPO.parent / "shared" / "data"
PORTRAITS = SHARED / "seg" / "portraits"
VIDEOS = {
    "talking_head": SHARED / "video" / "talking_head_410x412.mp4",
    "carphone": SHARED / "video" / "carphone_176x144.mp4",
}
MODELS = ("general", "landscape")
TOLERANCE_PX = 2
STILL_Y_LEVELS = 2
FRAME_NS = 1_000_000_000 // 30
"""Frame period given to the clips' frames (media time drives the ROI tracker's re-acquisition)."""


# -- scores ----------------------------------------------------------------------------------------
def boundary(binary: np.ndarray) -> np.ndarray:
    """Pixels of `binary` (bool) with a 4-neighbour outside it; the frame edge is not a boundary."""
    m = binary.astype(np.uint8)
    eroded = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), borderType=cv2.BORDER_REPLICATE)
    return (m > 0) & (eroded == 0)


def _near(b: np.ndarray, tol: int) -> np.ndarray:
    """Pixels within `tol` px of a True pixel of b, Chebyshev distance (a (2 tol + 1)² square)."""
    size = 2 * tol + 1
    return cv2.dilate(b.astype(np.uint8), np.ones((size, size), np.uint8)) > 0


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def boundary_f(pred: np.ndarray, gt: np.ndarray, tol: int = TOLERANCE_PX) -> float:
    bp, bg = boundary(pred), boundary(gt)
    n_p, n_g = np.count_nonzero(bp), np.count_nonzero(bg)
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    precision = np.count_nonzero(bp & _near(bg, tol)) / n_p
    recall = np.count_nonzero(bg & _near(bp, tol)) / n_g
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def load_gt(mask_path: Path, shape: tuple[int, ...]) -> np.ndarray:
    gt = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if gt.shape != shape:
        gt = cv2.resize(gt, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return gt >= 128


def luma(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.int16)


# -- the two methods --------------------------------------------------------------------------------
def raw_alpha(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """The model alone: bilinear upsampling, hard threshold at probability 0.5."""
    return alpha_from_mask(mask, h, w, 0.5, 0.5)


class Methods:
    """Segmenter + the refinement stage, built the way `litecam matte` builds them."""

    def __init__(self, model: str, settings):
        from pipeline.stages.matte import matte_for
        from pipeline.stages.segment import Segment

        self.segment = Segment(model, roi=settings.roi)
        self.settings = settings
        self.make_matte = lambda: matte_for(settings)
        self.matte = self.make_matte()

    def both(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(raw alpha, refined alpha) of one frame; the refinement keeps its temporal state (and the
        segmenter its ROI tracker). Leaves the raw model mask in `frame.mask`."""
        raw_mask = self.segment.segment(frame.pixels)
        raw = raw_alpha(raw_mask, frame.height, frame.width)
        if self.settings.roi:  # the model on the tracked crop, as `litecam matte` runs it
            frame.mask = self.segment.person_mask(frame.pixels, frame.pts_ns, frame.discont)
        else:
            frame.mask = raw_mask
        refined: np.ndarray | None
        if self.matte is None:
            refined = alpha_from_mask(
                frame.mask, frame.height, frame.width, self.settings.edge_low, self.settings.edge_high
            )
        else:
            refined = self.matte.process(frame).alpha
            if refined is None:  # temporal only: the compositor upsamples the smoothed mask
                refined = alpha_from_mask(
                    frame.mask, frame.height, frame.width, self.settings.edge_low, self.settings.edge_high
                )
        frame.mask = raw_mask
        return raw, refined

    def reset(self) -> None:
        self.matte = self.make_matte()
        if self.matte is not None:
            from pipeline.caps import Caps

            self.matte.open(Caps(16, 16, Fraction(30)))

    def close(self) -> None:
        self.segment.close()


# -- stills ----------------------------------------------------------------------------------------
def portrait_pairs(limit: int | None = None) -> list[tuple[Path, Path]]:
    images = sorted((PORTRAITS / "images").glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
    pairs = [(p, PORTRAITS / "masks" / f"{p.stem}.png") for p in images]
    pairs = [(i, m) for i, m in pairs if m.exists()]
    return pairs[:limit] if limit else pairs


def eval_stills(methods: Methods, pairs) -> dict:
    scores: dict[str, dict[str, list[float]]] = {"raw": {"iou": [], "bf": []}, "refined": {"iou": [], "bf": []}}
    refine_ms = []
    for image_path, mask_path in pairs:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        gt = load_gt(mask_path, image.shape[:2])
        frame = Frame(np.ascontiguousarray(image), pts_ns=0, seq=0, discont=True)
        t0 = time.thread_time_ns()
        raw, refined = methods.both(frame)
        refine_ms.append((time.thread_time_ns() - t0) / 1e6)
        for name, alpha in (("raw", raw), ("refined", refined)):
            pred = alpha >= 128
            scores[name]["iou"].append(iou(pred, gt))
            scores[name]["bf"].append(boundary_f(pred, gt))
    out: dict[str, Any] = {name: {k: float(np.mean(v)) for k, v in s.items()} for name, s in scores.items()}
    out["images"] = len(pairs)
    out["ms_per_image_segment_and_refine"] = float(np.median(refine_ms))
    return out


# -- video -----------------------------------------------------------------------------------------
def read_video(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def flicker(alphas: list[np.ndarray], frames: list[np.ndarray]) -> float:
    total, count = 0.0, 0
    for t in range(1, len(frames)):
        still = np.abs(luma(frames[t]) - luma(frames[t - 1])) < STILL_Y_LEVELS
        d = np.abs(alphas[t].astype(np.int16) - alphas[t - 1].astype(np.int16))[still]
        total += float(d.sum())
        count += d.size
    return total / max(count, 1)


def eval_video(methods: Methods, frames: list[np.ndarray]) -> dict:
    """Flicker of the raw model's alpha as the compositor made it before refinement (bilinear +
    the preset's smoothstep edge) and of the refined alpha."""
    methods.reset()
    raw, refined = [], []
    lo, hi = methods.settings.edge_low, methods.settings.edge_high
    for seq, pixels in enumerate(frames):
        frame = Frame(np.ascontiguousarray(pixels), pts_ns=seq * FRAME_NS, seq=seq, discont=seq == 0)
        _, f = methods.both(frame)
        assert frame.mask is not None  # `both` leaves the raw model mask there
        raw.append(alpha_from_mask(frame.mask, frame.height, frame.width, lo, hi))
        refined.append(f.copy())
    return {"raw": flicker(raw, frames), "refined": flicker(refined, frames), "frames": len(frames)}


def backdrop(width: int, height: int, phase: float = 0.0) -> np.ndarray:
    """A smooth, colourful, person-free background (float32 BGR) for pasting GT cut-outs onto."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.dstack(
        [80 + 60 * np.sin(xx / 37.0 + phase), 120 + 50 * np.cos(yy / 23.0), 100 + 40 * np.sin((xx + yy) / 51.0)]
    ).astype(np.float32)


def paste_person(image: np.ndarray, gt: np.ndarray, canvas: np.ndarray, x: int, height: int) -> np.ndarray:
    """Paste the GT cut-out of `image`, scaled to `height` px, bottom-aligned at column `x` of
    `canvas` (float32 BGR, modified), with a slightly soft edge; returns the pasted GT (bool, canvas size)."""
    h, w = canvas.shape[:2]
    scale = height / image.shape[0]
    pw = max(1, round(image.shape[1] * scale))
    person = cv2.resize(image, (pw, height), interpolation=cv2.INTER_AREA)
    pmask = cv2.resize(gt.astype(np.uint8), (pw, height), interpolation=cv2.INTER_NEAREST)
    soft = cv2.GaussianBlur(pmask.astype(np.float32), (0, 0), 0.7)[..., None]
    xe = min(w, x + pw)
    region = canvas[h - height :, x:xe]
    s = soft[:, : xe - x]
    canvas[h - height :, x:xe] = person[:, : xe - x] * s + region * (1 - s)
    pasted = np.zeros((h, w), bool)
    pasted[h - height :, x:xe] = pmask[:, : xe - x] > 0
    return pasted


def eval_far(methods: Methods, pairs, width: int = 1280, height: int = 720, fraction: float = 0.45) -> dict:
    """A person far from the camera: each portrait's GT cut-out, scaled to `fraction` of the frame
    height, pasted bottom-aligned at a random (seeded) place on `backdrop`; IoU and boundary F of
    raw and refined, each image on its own (discont)."""
    rng = np.random.default_rng(0)
    scores: dict[str, dict[str, list[float]]] = {"raw": {"iou": [], "bf": []}, "refined": {"iou": [], "bf": []}}
    methods.reset()
    for k, (image_path, mask_path) in enumerate(pairs):
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        gt = load_gt(mask_path, image.shape[:2])
        canvas = backdrop(width, height, phase=float(k))
        ph = round(fraction * height)
        pw = max(1, round(image.shape[1] * ph / image.shape[0]))
        pasted = paste_person(image, gt, canvas, int(rng.integers(0, max(1, width - pw))), ph)
        frame = Frame(np.clip(canvas, 0, 255).astype(np.uint8), pts_ns=0, seq=0, discont=True)
        for name, alpha in zip(("raw", "refined"), methods.both(frame)):
            pred = alpha >= 128
            scores[name]["iou"].append(iou(pred, pasted))
            scores[name]["bf"].append(boundary_f(pred, pasted))
    return {name: {k: float(np.mean(v)) for k, v in sc.items()} for name, sc in scores.items()}


def motion_clip(pair, width: int = 640, height: int = 360, frames: int = 24, step: float = 0.025):
    """(frames, gt masks): a GT-cut-out person sweeping right over a fixed background, then back."""
    image = cv2.imread(str(pair[0]), cv2.IMREAD_COLOR)
    gt = load_gt(pair[1], image.shape[:2])
    ph = round(0.9 * height)
    background = backdrop(width, height)
    out, masks = [], []
    x0 = round(0.05 * width)
    for t in range(frames):
        phase = t if t < frames // 2 else frames - 1 - t
        canvas = background.copy()
        masks.append(paste_person(image, gt, canvas, x0 + round(phase * step * width), ph))
        out.append(np.clip(canvas, 0, 255).astype(np.uint8))
    return out, masks


def eval_motion(methods: Methods, frames, masks) -> tuple[dict, list]:
    methods.reset()
    s: dict[str, list[float]] = {"raw": [], "refined": []}
    kept = []
    for seq, pixels in enumerate(frames):
        r, f = methods.both(Frame(np.ascontiguousarray(pixels), pts_ns=seq * FRAME_NS, seq=seq, discont=seq == 0))
        kept.append((r.copy(), f.copy()))
        if seq > 0:
            s["raw"].append(iou(r >= 128, masks[seq]))
            s["refined"].append(iou(f >= 128, masks[seq]))
    return {k: float(np.mean(v)) for k, v in s.items()}, kept


def motion_strip(frames, kept, path: Path, picks=(4, 8, 12)) -> None:
    """Rows: input | raw alpha | refined alpha | refined composite over green, for a few frames."""
    rows = []
    for t in picks:
        raw, ref = kept[t]
        a = ref.astype(np.float32)[..., None] / 255
        green = np.zeros_like(frames[t])
        green[:] = (64, 177, 0)
        comp = (frames[t] * a + green * (1 - a)).astype(np.uint8)
        panels = [frames[t], cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR), cv2.cvtColor(ref, cv2.COLOR_GRAY2BGR), comp]
        small = [cv2.resize(p, (p.shape[1] // 2, p.shape[0] // 2), interpolation=cv2.INTER_AREA) for p in panels]
        row = np.hstack(small)
        cv2.putText(row, f"frame {t}", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    title = np.zeros((22, rows[0].shape[1], 3), np.uint8)
    pw = rows[0].shape[1] // 4
    for i, text in enumerate(("input", "raw model (p >= 0.5)", "refined alpha", "refined over green")):
        cv2.putText(title, text, (i * pw + 6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([title, *rows]), [cv2.IMWRITE_JPEG_QUALITY, 85])


# -- timings -----------------------------------------------------------------------------------------
def bench(width: int = 1280, height: int = 720, repeats: int = 30) -> list[dict]:
    """Median thread-CPU ms per 720p frame of each refinement kernel vs the NumPy/OpenCV code it
    replaces (one thread: `cv2.setNumThreads(1)`), as `kernels.bench` measures. `--bench` prints
    the smallest median of three runs (other work on a shared 2-core machine inflates single runs)."""
    from kernels import reference as ref
    from kernels.bench import _median_cpu_ms, _test_image
    from kernels.blur import blur_factor, downscaled_blur, halve, renormalised_blur, small_sigma
    from kernels.composite import composite_over_small, composite_small_with_alpha
    from kernels.guided import apply_guided, guided_coefficients
    from kernels.temporal import temporal_update
    from pipeline.stages.matte import Matte, guide_factor

    frame = _test_image(width, height)
    mask = ref.synthetic_mask(144, 256)
    factor = guide_factor(width, height, 256, 144)
    guide = halve(frame, factor)
    gh, gw = guide.shape[:2]
    luma = cv2.cvtColor(guide, cv2.COLOR_BGR2GRAY)
    p = cv2.resize(mask, (gw, gh), interpolation=cv2.INTER_LINEAR)
    target = (p >= 0.5).astype(np.float32)
    coef = guided_coefficients(luma, target, 2, 1e-4)
    diff = np.full((gh, gw), 3, np.uint8)
    ema, state, out_t = p.copy(), (p >= 0.5).astype(np.uint8), np.empty_like(p)
    alpha = np.empty((height, width), np.uint8)
    out = np.empty_like(frame)
    bg_small = downscaled_blur(frame, 12.0)
    matte = Matte(0.25, 0.75)
    matte.alpha(frame, mask, discont=True)
    small = halve(frame, blur_factor(12.0))
    coverage = cv2.resize(mask, small.shape[1::-1], interpolation=cv2.INTER_AREA)
    no_bleed_sigma = small_sigma(12.0, width, height, small.shape[1], small.shape[0])
    full_luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    full_p = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)

    def cv2_apply():  # the obvious OpenCV way: upsample both planes, float math, smoothstep
        up = cv2.resize(coef, (width, height), interpolation=cv2.INTER_LINEAR)
        q = up[..., 0] * (full_luma.astype(np.float32) / 255) + up[..., 1]
        return ref.smoothstep_alpha(np.clip(q, 0, 1).astype(np.float64), 0.25, 0.75)

    cases = [
        (
            "guide: shrink + luma + mask resize",
            lambda: (cv2.cvtColor(halve(frame, factor), cv2.COLOR_BGR2GRAY), cv2.resize(mask, (gw, gh))),
            "same (OpenCV)",
            lambda: (cv2.cvtColor(halve(frame, factor), cv2.COLOR_BGR2GRAY), cv2.resize(mask, (gw, gh))),
        ),
        (
            "temporal_update",
            lambda: temporal_update(p, diff, ema, state, 0.3, 6.0, 0.1, out_t),
            "reference.temporal_reference (NumPy)",
            lambda: ref.temporal_reference(p, diff, ema, state, 0.3, 6.0, 0.1),
        ),
        (
            "guided_coefficients",
            lambda: guided_coefficients(luma, target, 2, 1e-4),
            "cv2.ximgproc.guidedFilter at guide size (OpenCV)",
            lambda: cv2.ximgproc.guidedFilter(luma, target, 2, 1e-4 * 255 * 255),
        ),
        (
            "apply_guided",
            lambda: apply_guided(frame, coef, 0.25, 0.75, out=alpha),
            "cv2.resize(coef) + float math + smoothstep",
            cv2_apply,
        ),
        (
            "Matte.alpha (whole refinement)",
            lambda: matte.alpha(frame, mask, out=alpha),
            "cv2.ximgproc.guidedFilter at full resolution",
            lambda: cv2.ximgproc.guidedFilter(full_luma, full_p, 8, 1e-4 * 255 * 255),
        ),
        (
            "renormalised_blur (no-bleed, 160×90)",
            lambda: renormalised_blur(small, coverage, no_bleed_sigma),
            "reference.renormalised_blur_reference (NumPy)",
            lambda: ref.renormalised_blur_reference(small, coverage, no_bleed_sigma),
        ),
        (
            "composite_small_with_alpha",
            lambda: composite_small_with_alpha(frame, alpha, bg_small, out),
            "composite_over_small (mask path, before)",
            lambda: composite_over_small(frame, mask, bg_small, 0.25, 0.75, out),
        ),
    ]
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    rows = []
    try:
        for name, fast, ref_name, slow in cases:
            a, b = _median_cpu_ms(fast, repeats), _median_cpu_ms(slow, max(3, repeats // 5))
            rows.append({"name": name, "ms": round(a, 3), "reference": ref_name, "ms_reference": round(b, 3)})
    finally:
        cv2.setNumThreads(threads)
    return rows


# -- main ------------------------------------------------------------------------------------------
def table(results: dict) -> str:
    lines = [
        "| model | method | IoU | boundary F | flicker talking_head | flicker carphone | lag IoU (fast motion) "
        "| far person IoU | far person boundary F |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, r in results.items():
        for method in ("raw", "refined"):
            st = r.get("stills", {}).get(method, {})
            fl = {name: v[method] for name, v in r.get("video", {}).items()}
            mo = r.get("motion", {}).get(method)
            far = r.get("far", {}).get(method, {})
            cell = lambda v, f="{:.3f}": "–" if v is None else f.format(v)  # noqa: E731
            lines.append(
                f"| {model} | {method} | {cell(st.get('iou'))} | {cell(st.get('bf'))} | "
                f"{cell(fl.get('talking_head'), '{:.2f}')} | {cell(fl.get('carphone'), '{:.2f}')} | "
                f"{cell(mo)} | {cell(far.get('iou'))} | {cell(far.get('bf'))} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="score only the first N portraits")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--preset", default="transcode", help="preset whose matte settings are scored")
    parser.add_argument("--json", default="out/eval_seg.json")
    parser.add_argument("--strip", default=None, help="also write a motion frame strip PNG here")
    parser.add_argument("--skip-video", action="store_true")
    parser.add_argument("--bench", action="store_true", help="only time the refinement kernels at 1280x720")
    args = parser.parse_args(argv)
    if args.bench:
        print("| kernel (1280x720) | CPU ms | replaces | CPU ms |\n|---|---:|---|---:|")
        runs = [bench() for _ in range(3)]  # the box is shared: the least disturbed of three runs
        for i, row in enumerate(runs[0]):
            row = {**row, "ms": min(r[i]["ms"] for r in runs), "ms_reference": min(r[i]["ms_reference"] for r in runs)}
            print(f"| {row['name']} | {row['ms']:.2f} | {row['reference']} | {row['ms_reference']:.2f} |")
        return 0
    if not PORTRAITS.is_dir():
        print(f"eval_seg: {PORTRAITS} is absent (shared data lives in ../shared/data); nothing to score")
        return 0
    from pipeline.presets import load_preset

    cv2.setNumThreads(1)
    settings = load_preset(args.preset)
    pairs = portrait_pairs(args.limit)
    results = {}
    for model in args.models.split(","):
        methods = Methods(model, settings)
        try:
            r = {"stills": eval_stills(methods, pairs), "far": eval_far(methods, pairs)}
            if not args.skip_video:
                r["video"] = {
                    name: eval_video(methods, read_video(path)) for name, path in VIDEOS.items() if path.exists()
                }
                frames, masks = motion_clip(pairs[0])
                r["motion"], kept = eval_motion(methods, frames, masks)
                if args.strip and model == "general":
                    motion_strip(frames, kept, Path(args.strip))
        finally:
            methods.close()
        results[model] = r
    shown = {k: getattr(settings, k) for k in ("refine", "temporal", "roi") if hasattr(settings, k)}
    print(f"preset {args.preset}: {json.dumps(shown)}")
    print(table(results))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"preset": args.preset, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
