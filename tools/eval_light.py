"""Score the light stage (`light = "auto"`) on real webcam recordings made dark, against the originals.

    python -m tools.eval_light [--clips eval|tune] [--json out/eval-light.json]

Each recording in `../shared/data/video/webcam` (`--clips eval`: `tools.eval_real.EVAL_CLIPS`'s, never
tuned on; `tune`: the others, on which the stage's constants were chosen) and the talking head, made
dark as a camera in a dim room delivers it: each frame x (0..1) becomes gain·x^gamma plus sensor noise
(Gaussian, σ² = σ0² + 4·σ0²·signal, per channel, seeded), rounded to 8 bits. `DARKENINGS` are the
cases. Then, as a stream (the stage smooths over time):

* **PSNR** (RGB, dB) and **SSIM** (luma) of the dark frames and of the light stage's output against
  the originals;
* **mask IoU**: the segment stage (landscape, ROI tracking, as a call runs it) on the dark frames and
  on the corrected ones, thresholded at 0.5, against its own mask of the original frames;
* **pumping**: the mean |change| of the output's mean luma from one frame to the next, minus the
  originals' (0: the stage adds no brightness changes of its own);
* **cost**: CPU-ms per 1280×720 frame of the stage's correction (a dark frame scaled to 720p,
  corrected 100 times, process time) and of its check on a bright frame (no correction needed).

Prints Markdown tables; writes JSON with `--json`. Exits 0 with a message where the data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time

import cv2
import numpy as np

from tools.eval_people import iou, read_clip, run_segment
from tools.eval_real import VIDEO, add_call_options, call_recordings, recordings_present, write_report
from tools.sr_data import ssim_y

DARKENINGS = {"none": (1.0, 1.0, 0.0), "dim": (1.3, 0.6, 2.0), "dark": (1.6, 0.4, 3.0), "very dark": (2.0, 0.28, 4.0)}
"""name → (gamma, gain, σ0 in 8-bit levels); `none`: the recording as it is (the stage should leave it)."""


def darken(frames: list[np.ndarray], gamma: float, gain: float, sigma0: float, seed: int = 0) -> list[np.ndarray]:
    """The frames as a camera in a dim room delivers them (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    if (gamma, gain, sigma0) == (1.0, 1.0, 0.0):
        return [frame.copy() for frame in frames]
    for frame in frames:
        signal = gain * (frame.astype(np.float32) / 255) ** gamma
        sigma = sigma0 / 255 * np.sqrt(1 + 4 * signal)
        noisy = signal + rng.standard_normal(frame.shape).astype(np.float32) * sigma
        out.append(np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8))
    return out


def corrected(frames: list[np.ndarray], fps: int = 30) -> list[np.ndarray]:
    """The light stage's output of a stream."""
    from pipeline.frame import Frame
    from pipeline.stages.light import Light

    stage = Light()
    return [
        stage.process(Frame(f, pts_ns=i * 1_000_000_000 // fps, seq=i, discont=i == 0)).pixels.copy()
        for i, f in enumerate(frames)
    ]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 255**2 / 1e10)))  # identical: 100 dB


def luma_steps(frames: list[np.ndarray]) -> float:
    means = [float(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean()) for f in frames]
    return float(np.mean(np.abs(np.diff(means)))) if len(means) > 1 else 0.0


def score_clip(clip: str, limit: int) -> list[dict]:
    originals = read_clip(VIDEO / clip, limit)
    truth = [m >= 0.5 for m in run_segment(originals, "all", "landscape")[0]]
    rows = []
    for name, (gamma, gain, sigma0) in DARKENINGS.items():
        dark = darken(originals, gamma, gain, sigma0)
        light = corrected(dark)
        row: dict = {"clip": clip, "darkening": name}
        for label, frames in (("dark", dark), ("light", light)):
            masks = run_segment(frames, "all", "landscape")[0]
            row[label] = {
                "psnr": float(np.mean([psnr(f, o) for f, o in zip(frames, originals)])),
                "ssim": float(np.mean([ssim_y(f[:, :, ::-1], o[:, :, ::-1], 0) for f, o in zip(frames, originals)])),
                "mask_iou": float(np.mean([iou(m >= 0.5, t) for m, t in zip(masks, truth)])),
            }
        row["pumping"] = luma_steps(light) - luma_steps(originals)
        rows.append(row)
    return rows


def cost_ms(frame: np.ndarray, repeats: int = 100) -> tuple[float, float]:
    """CPU-ms per 1280×720 frame: (correcting a dark frame, checking a bright one)."""
    from pipeline.stages.light import Light

    big = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR)
    dark = darken([big], *DARKENINGS["dark"])[0]
    results = []
    for picture in (dark, big):
        stage = Light()
        stage.correct(picture)
        start = time.process_time()
        for i in range(repeats):
            stage.correct(picture, pts_ns=i * 33_333_333, discont=False)
        results.append((time.process_time() - start) * 1000 / repeats)
    return results[0], results[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.eval_light", description=__doc__.split("\n")[0])
    add_call_options(parser, frames=60)
    args = parser.parse_args(argv)
    clips = call_recordings(args.clips)
    if not recordings_present(clips, "eval_light"):
        return 0
    rows = [row for clip in clips for row in score_clip(clip, args.frames)]
    print("| darkening | PSNR dark → light (dB) | SSIM dark → light | mask IoU dark → light | pumping (levels) |")
    print("|---|---:|---:|---:|---:|")
    summary = {}
    for name in DARKENINGS:
        mine = [r for r in rows if r["darkening"] == name]

        def mean(label: str, key: str) -> float:
            return float(np.mean([r[label][key] for r in mine]))  # noqa: B023 (used at once)

        summary[name] = {
            f"{label}_{key}": mean(label, key) for label in ("dark", "light") for key in ("psnr", "ssim", "mask_iou")
        }
        summary[name]["pumping"] = float(np.mean([r["pumping"] for r in mine]))
        s = summary[name]
        print(
            f"| {name} | {s['dark_psnr']:.2f} → {s['light_psnr']:.2f} | {s['dark_ssim']:.3f} → {s['light_ssim']:.3f} "
            f"| {s['dark_mask_iou']:.3f} → {s['light_mask_iou']:.3f} | {s['pumping']:+.2f} |"
        )
    correct_ms, check_ms = cost_ms(read_clip(VIDEO / clips[0], 1)[0])
    print(
        f"cost per 1280x720 frame: {correct_ms:.2f} CPU-ms correcting a dark frame, "
        f"{check_ms:.2f} checking a bright one"
    )
    write_report(args.json, {"clips": rows, "summary": summary, "cost_ms": {"correct": correct_ms, "check": check_ms}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
