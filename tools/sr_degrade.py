"""Realistic training pairs for super-resolution: degraded as webcams, capture pipelines and calls degrade video.

Each training *sequence* (a few consecutive frames of one crop) gets one random :class:`Recipe`, seeded:

1. optional Gaussian pre-blur at full resolution (optics, ISP smoothing), σ in HR pixels;
2. downscaling by the scale factor with one of the kernels cameras and scalers use: ``box`` (area
   average), ``bilinear`` (two-tap interpolation at a random sampling phase, aliasing as cheap scalers
   do), ``bicubic`` (MATLAB, antialiased: the benchmark kernel), ``cubic-noaa`` (OpenCV INTER_CUBIC,
   no antialiasing);
3. optional sensor-like noise on the small frames: signal-dependent luma noise (read + shot noise)
   and chroma noise, in YCrCb;
4. compression: a real libx264 round trip through PyAV of the whole sequence (CRF 16–34, preset
   veryfast…slow, yuv420p: inter-frame coding and its artefacts are real), JPEG at quality 50–95 with
   4:2:0 chroma (webcams' MJPEG), 4:2:0 chroma subsampling alone, or nothing.

A share of the sequences (``clean_share``) gets the textbook degradation instead (MATLAB bicubic, no
noise, no codec), so the benchmark protocol stays in the mix.  Scale 1 (restoration) skips step 2.
The recipes, crops and noise follow the seed exactly; the libx264 round trip (encoding and decoding
through PyAV) does not always: on the 2-core machine about one run in ten gave different frames for
the same input from its second frame on.

Sources: frames of the training video clips (:data:`tools.eval_real.TRAIN_CLIPS` plus Big Buck Bunny;
never the evaluation clips) with their real motion, and the still training images panned by a few
pixels a frame.  The result is a cache of aligned (HR, LR) uint8 RGB crops for ``tools.train_sr --pairs``:

    python -m tools.sr_degrade --scale 2 --sequences 800 --out out/sr-real-x2.npz
    python -m tools.sr_degrade --thin out/sr-real-x2.npz --every 2 --lr-crop 48 --out out/sr-crops-x2.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from tools.eval_real import TRAIN_CLIPS, VIDEO, x264_round_trip
from tools.sr_data import imresize, list_images, load_rgb, shared_data_dir

EXTRA_TRAIN_VIDEOS = ["bigbuckbunny_1280x720.mp4"]
"""Clean footage used for training only (no evaluation reads it for super-resolution)."""
X264_PRESETS = ("veryfast", "faster", "fast", "medium", "slow")


@dataclass(frozen=True)
class Recipe:
    """One sequence's degradation (see the module docstring); sizes in pixels, noise in 8-bit levels."""

    blur_sigma: float = 0.0
    downscale: str = "bicubic"
    phase: float = 0.5
    luma_noise: float = 0.0
    shot_noise: float = 0.0
    chroma_noise: float = 0.0
    codec: str = "none"
    quality: int = 0
    preset: str = ""


def random_recipe(rng: np.random.Generator, scale: int, clean_share: float = 0.15) -> Recipe:
    """A random recipe; with probability ``clean_share`` the clean benchmark one (``Recipe()``)."""
    if rng.random() < clean_share:
        return Recipe()
    blur = float(rng.uniform(0.3, 1.0) * max(scale, 1)) if rng.random() < 0.3 else 0.0
    downscale = str(rng.choice(["box", "bilinear", "bicubic", "cubic-noaa"], p=[0.35, 0.25, 0.25, 0.15]))
    phase = float(rng.uniform(0.0, scale - 1.0)) if downscale == "bilinear" else 0.5
    noisy = rng.random() < 0.35
    luma = float(rng.uniform(0.5, 3.0)) if noisy else 0.0
    shot = float(rng.uniform(0.0, 0.03)) if noisy else 0.0
    chroma = float(rng.uniform(0.0, 2.0)) if noisy else 0.0
    codec = str(rng.choice(["x264", "jpeg", "yuv420", "none"], p=[0.6, 0.2, 0.1, 0.1]))
    quality, preset = 0, ""
    if codec == "x264":
        quality, preset = int(rng.integers(16, 35)), str(rng.choice(X264_PRESETS))
    elif codec == "jpeg":
        quality = int(rng.integers(50, 96))
    return Recipe(blur, downscale, phase, luma, shot, chroma, codec, quality, preset)


def shrink(frame: np.ndarray, scale: int, recipe: Recipe) -> np.ndarray:
    """Steps 1–2 on one uint8 RGB frame whose sides are multiples of ``scale``."""
    if scale == 1:
        return frame
    if recipe.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), recipe.blur_sigma, borderType=cv2.BORDER_REFLECT)
    h, w = frame.shape[:2]
    size = (w // scale, h // scale)
    if recipe.downscale == "box":
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    if recipe.downscale == "cubic-noaa":
        return cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
    if recipe.downscale == "bilinear":
        to_source = np.array([[scale, 0, recipe.phase], [0, scale, recipe.phase]], np.float32)
        return cv2.warpAffine(
            frame, to_source, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
        )
    return imresize(frame, 1.0 / scale, out_uint8=True)


def add_noise(frame: np.ndarray, recipe: Recipe, rng: np.random.Generator) -> np.ndarray:
    """Step 3: luma noise of std √(luma² + shot·Y) levels and chroma noise, on a uint8 RGB frame."""
    if recipe.luma_noise == 0 and recipe.chroma_noise == 0:
        return frame
    ycc = cv2.cvtColor(frame, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    luma_std = np.sqrt(recipe.luma_noise**2 + recipe.shot_noise * ycc[..., 0] * 255.0 / 16.0)
    ycc[..., 0] += rng.standard_normal(ycc.shape[:2], dtype=np.float32) * luma_std
    ycc[..., 1:] += rng.standard_normal((*ycc.shape[:2], 2), dtype=np.float32) * recipe.chroma_noise
    return cv2.cvtColor(np.clip(np.rint(ycc), 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)


def compress(frames: list[np.ndarray], recipe: Recipe, fps: int = 30) -> list[np.ndarray]:
    """Step 4 on a sequence of uint8 RGB frames with even sides; returns the decoded frames."""
    if recipe.codec == "none":
        return frames
    if recipe.codec == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, recipe.quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x221111]
        return [cv2.imdecode(cv2.imencode(".jpg", f, params)[1], cv2.IMREAD_COLOR)[:, :, ::-1] for f in frames]
    planes = [cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420) for f in frames]
    if recipe.codec == "x264":
        planes = x264_round_trip(planes, recipe.quality, recipe.preset, fps)
    return [cv2.cvtColor(p, cv2.COLOR_YUV2RGB_I420) for p in planes]


def degrade_sequence(
    hr_frames: list[np.ndarray], scale: int, recipe: Recipe, rng: np.random.Generator
) -> list[np.ndarray]:
    """The LR frames of one HR sequence (uint8 RGB, sides multiples of 2·``scale``) under ``recipe``."""
    small = [add_noise(shrink(f, scale, recipe), recipe, rng) for f in hr_frames]
    return compress(small, recipe)


def load_video_frames(path: Path, limit: int = 300) -> list[np.ndarray]:
    """Up to ``limit`` consecutive decoded frames (uint8 RGB) from the start of ``path``."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= limit:
                break
    return frames


def video_sequence(frames: list[np.ndarray], length: int, crop: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``length`` consecutive frames of one random ``crop``² window (real motion)."""
    start = int(rng.integers(0, len(frames) - length + 1))
    h, w = frames[0].shape[:2]
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    return [np.ascontiguousarray(f[y : y + crop, x : x + crop]) for f in frames[start : start + length]]


def image_sequence(image: np.ndarray, length: int, crop: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``length`` ``crop``² windows of a still image panned by up to 3 pixels a frame (a hand-held camera)."""
    h, w = image.shape[:2]
    dy, dx = (int(v) for v in rng.integers(-3, 4, size=2))
    span_y, span_x = abs(dy) * (length - 1), abs(dx) * (length - 1)
    y0 = int(rng.integers(0, h - crop - span_y + 1)) + (span_y if dy < 0 else 0)
    x0 = int(rng.integers(0, w - crop - span_x + 1)) + (span_x if dx < 0 else 0)
    return [
        np.ascontiguousarray(image[y0 + i * dy : y0 + i * dy + crop, x0 + i * dx : x0 + i * dx + crop])
        for i in range(length)
    ]


def build_pairs(
    scale: int,
    sequences: int,
    seed: int = 0,
    crop: int = 192,
    length: int = 8,
    keep: int = 3,
    clean_share: float = 0.15,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """(HR N×crop×crop×3, LR N×(crop/scale)²×3, recipes): ``keep`` frames of each of ``sequences``
    degraded sequences, half from the training videos and half from the training images."""
    if crop % (2 * scale):
        raise ValueError(f"crop {crop} must be a multiple of {2 * scale} (4:2:0 frames need even sides)")
    rng = np.random.default_rng(seed)
    videos = [load_video_frames(VIDEO / clip) for clip in TRAIN_CLIPS + EXTRA_TRAIN_VIDEOS]
    images = [
        im
        for im in (load_rgb(p) for p in list_images(shared_data_dir() / "sr" / "train"))
        if min(im.shape[:2]) >= crop + 24
    ]
    picks = np.linspace(0, length - 1, keep).round().astype(int)
    hrs, lrs, recipes = [], [], []
    for _ in range(sequences):
        if rng.random() < 0.5:
            seq = video_sequence(videos[int(rng.integers(len(videos)))], length, crop, rng)
        else:
            seq = image_sequence(images[int(rng.integers(len(images)))], length, crop, rng)
        recipe = random_recipe(rng, scale, clean_share)
        low = degrade_sequence(seq, scale, recipe, rng)
        for i in picks:
            hrs.append(seq[i])
            lrs.append(low[i])
        recipes.append(asdict(recipe))
    return np.stack(hrs), np.stack(lrs), recipes


def thin_pairs(
    hr: np.ndarray, lr: np.ndarray, every: int, lr_crop: int, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Every ``every``-th pair of a cache, each cut to one random aligned ``lr_crop``² LR crop (and the
    matching HR crop): a smaller cache of less correlated pairs, e.g. to send to a GPU machine."""
    scale = hr.shape[1] // lr.shape[1]
    rng = np.random.default_rng(seed)
    hrs, lrs = [], []
    for i in range(0, len(hr), every):
        y, x = (int(v) for v in rng.integers(0, lr.shape[1] - lr_crop + 1, size=2))
        hrs.append(hr[i, scale * y : scale * (y + lr_crop), scale * x : scale * (x + lr_crop)])
        lrs.append(lr[i, y : y + lr_crop, x : x + lr_crop])
    return np.stack(hrs), np.stack(lrs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.sr_degrade", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, choices=[1, 2, 3])
    parser.add_argument("--sequences", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clean-share", type=float, default=0.15, help="share of textbook-degraded sequences")
    parser.add_argument("--out", type=Path, required=True, help="the .npz cache to write")
    parser.add_argument("--thin", type=Path, help="instead: thin this cache (--every, --lr-crop) into --out")
    parser.add_argument("--every", type=int, default=2, help="with --thin: keep every N-th pair")
    parser.add_argument("--lr-crop", type=int, default=48, help="with --thin: LR crop side in pixels")
    args = parser.parse_args(argv)
    if args.thin:
        if not args.thin.is_file():
            parser.error(f"--thin: no cache at {args.thin} (write one with --scale N --out FILE)")
        cache = np.load(args.thin)
        if args.every < 1 or not 1 <= args.lr_crop <= cache["lr"].shape[1]:
            parser.error(f"--every must be >= 1 and --lr-crop within 1..{cache['lr'].shape[1]} (the cache's LR side)")
        hr, lr = thin_pairs(cache["hr"], cache["lr"], args.every, args.lr_crop)
        np.savez(args.out, hr=hr, lr=lr)
        print(f"{len(hr)} pairs ({hr.shape[1]}² HR, {lr.shape[1]}² LR) from {args.thin} -> {args.out}")
        return 0
    if args.scale is None:
        parser.error("--scale is required (or --thin CACHE)")
    crop = 192 if args.scale != 3 else 198
    hr, lr, recipes = build_pairs(args.scale, args.sequences, args.seed, crop=crop, clean_share=args.clean_share)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, hr=hr, lr=lr, recipes=json.dumps(recipes))
    print(f"{len(hr)} pairs ({hr.shape[1]}² HR, {lr.shape[1]}² LR) from {len(recipes)} sequences -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
