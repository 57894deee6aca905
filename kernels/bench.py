"""Time each kernel against its NumPy/OpenCV reference, in one process, on one core.

`bench_kernels()` returns one dict per kernel: `name`, `ms_numba` (the kernel as the pipeline runs
it), `ms_reference` (the code it replaces or its plain NumPy/OpenCV spec from `kernels.reference`,
named in `reference`), `ratio` = ms_reference / ms_numba. Times are the **median thread-CPU
milliseconds** per call (`time.thread_time_ns`), with `cv2.setNumThreads(1)` for the duration, so
OpenCV does not spread work over threads the measurement would not see; the Numba kernels are serial.

Inputs: the astronaut photo (scikit-image) resized to the frame size, a head-and-shoulders mask at the
MediaPipe landscape model's resolution (144x256) with a soft edge a few mask pixels wide, edges
(0.3, 0.7), blur strength 12. The last row, `blur background (whole path)`, is the job the blur mode
does per frame — `downscaled_blur` + `composite_over_small` — against the naive approach: a
full-resolution `cv2.GaussianBlur`, a `cv2.resize` of the mask and a float blend in NumPy.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from kernels import reference as ref
from kernels.blur import downscaled_blur
from kernels.composite import composite_over_color, composite_over_full, composite_over_small, composite_rgba
from kernels.mask import alpha_from_mask

EDGES = (0.3, 0.7)
STRENGTH = 12.0


def _median_cpu_ms(fn, repeats: int) -> float:
    fn()  # warm-up (JIT, caches, allocations)
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.thread_time_ns()
        fn()
        times.append(time.thread_time_ns() - t0)
    return float(np.median(times)) / 1e6


def _test_image(width: int, height: int) -> np.ndarray:
    try:
        from skimage import data

        img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    except Exception:  # pragma: no cover - scikit-image is a dependency; fall back to noise
        img = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA))


def bench_kernels(width: int = 1280, height: int = 720, repeats: int = 30) -> list[dict]:
    """Median CPU-ms per call of each kernel and of its reference; see the module docstring."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return _bench(width, height, repeats)
    finally:
        cv2.setNumThreads(threads)


def _bench(width: int, height: int, repeats: int) -> list[dict]:
    frame = _test_image(width, height)
    mask = ref.synthetic_mask(144, 256)
    bg_full = np.ascontiguousarray(frame[::-1, ::-1])
    bg_small = downscaled_blur(frame, STRENGTH)
    out = np.empty_like(frame)
    out4 = np.empty((height, width, 4), np.uint8)
    alpha = np.empty((height, width), np.uint8)
    slow_repeats = max(3, repeats // 5)

    cases = [
        (
            "alpha_from_mask",
            lambda: alpha_from_mask(mask, height, width, *EDGES, out=alpha),
            "reference.alpha_reference (NumPy, exact)",
            lambda: ref.alpha_reference(mask, height, width, *EDGES),
        ),
        (
            "alpha_from_mask vs cv2",
            lambda: alpha_from_mask(mask, height, width, *EDGES, out=alpha),
            "cv2.resize(mask) + float smoothstep",
            lambda: ref.alpha_reference_cv2(mask, height, width, *EDGES),
        ),
        (
            "downscaled_blur",
            lambda: downscaled_blur(frame, STRENGTH),
            "cv2.GaussianBlur at full resolution",
            lambda: cv2.GaussianBlur(frame, (0, 0), STRENGTH),
        ),
        (
            "composite_over_small",
            lambda: composite_over_small(frame, mask, bg_small, *EDGES, out),
            "reference.composite_over_small_reference",
            lambda: ref.composite_over_small_reference(frame, mask, bg_small, *EDGES),
        ),
        (
            "composite_over_small +alpha",
            lambda: composite_over_small(frame, mask, bg_small, *EDGES, out, alpha),
            "reference.composite_over_small_reference",
            lambda: ref.composite_over_small_reference(frame, mask, bg_small, *EDGES),
        ),
        (
            "composite_over_full",
            lambda: composite_over_full(frame, mask, bg_full, *EDGES, out),
            "reference.composite_over_full_reference",
            lambda: ref.composite_over_full_reference(frame, mask, bg_full, *EDGES),
        ),
        (
            "composite_over_color",
            lambda: composite_over_color(frame, mask, (64, 177, 0), *EDGES, out),
            "reference.composite_over_color_reference",
            lambda: ref.composite_over_color_reference(frame, mask, (64, 177, 0), *EDGES),
        ),
        (
            "composite_rgba",
            lambda: composite_rgba(frame, mask, *EDGES, out4),
            "reference.composite_rgba_reference",
            lambda: ref.composite_rgba_reference(frame, mask, *EDGES),
        ),
        (
            "blur background (whole path)",
            lambda: composite_over_small(frame, mask, downscaled_blur(frame, STRENGTH), *EDGES, out),
            "naive: full-res GaussianBlur + cv2.resize(mask) + float blend",
            lambda: ref.naive_blur_composite(frame, mask, STRENGTH, *EDGES),
        ),
    ]
    rows = []
    for name, fast, ref_name, slow in cases:
        ms_fast = _median_cpu_ms(fast, repeats)
        ms_ref = _median_cpu_ms(slow, slow_repeats)
        rows.append(
            {
                "name": name,
                "ms_numba": round(ms_fast, 3),
                "ms_reference": round(ms_ref, 3),
                "ratio": round(ms_ref / ms_fast, 1) if ms_fast > 0 else float("inf"),
                "reference": ref_name,
                "size": f"{width}x{height}",
            }
        )
    return rows


if __name__ == "__main__":  # python -m kernels.bench
    for row in bench_kernels():
        print(
            f"{row['name']:<30} {row['ms_numba']:8.3f} ms  vs {row['ms_reference']:8.3f} ms  "
            f"x{row['ratio']:<6} ({row['reference']})"
        )
