"""Compile (or load from Numba's on-disk cache) every kernel before a run starts its clock.

The first call of a `@jit` kernel with new argument types compiles it: ~10-15 s for all of them on
a 2-core machine the first time after an install or an edit, a few hundred milliseconds to load
them from the cache afterwards. `prepare_kernels()` makes those first calls on tiny arrays of the
very types the pipeline passes (C-contiguous and strided views alike, 3 and 4 channels), so no
frame of a run, and no timing table or benchmark figure, pays for compilation.
`tests/kernels/test_warmup.py` checks in a fresh process that running the effect chains afterwards
compiles nothing more.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

NOTICE_AFTER_S = 3.0
"""`prepare_kernels(report=...)` says what is happening only when it takes longer than this (a
compilation: ~10-15 s); loading the cached kernels (0.7-1.4 s on the 2-core machine) stays silent."""


def _compile_all() -> None:
    from kernels.blur import downscaled_blur, halve, renormalised_blur
    from kernels.composite import (
        composite_color_with_alpha,
        composite_full_with_alpha,
        composite_over_color,
        composite_over_full,
        composite_over_small,
        composite_rgba,
        composite_small_with_alpha,
    )
    from kernels.guided import GuidedBuffers, apply_guided, guided_coefficients
    from kernels.lightwrap import light_wrap, wrap_weight
    from kernels.litesr import LiteSRKernel
    from kernels.mask import alpha_from_mask
    from kernels.motion import CellGrid
    from kernels.sr import (
        bgr_to_tensor,
        blend_over_bicubic_x2,
        blend_roi,
        detail_fit_x2,
        shuffled_to_bgr,
        tensor_to_bgr,
    )
    from kernels.temporal import temporal_update
    from kernels.tone import apply_pair_table, curve_table, levels_apart, measure_curve, pair_table

    h, w, lo, hi = 36, 64, 0.25, 0.75
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = rng.random((9, 16), dtype=np.float32)
    alpha = alpha_from_mask(mask, h, w, lo, hi)
    alpha_from_mask(mask, h, w, lo, hi, out=np.empty((h, w), np.uint8))

    small = downscaled_blur(frame, 12.0, levels={})
    full = frame[::-1].copy()
    for alpha_out in (None, np.empty((h, w), np.uint8)):
        composite_over_small(frame, mask, small, lo, hi, np.empty_like(frame), alpha_out)
        composite_over_full(frame, mask, full, lo, hi, np.empty_like(frame), alpha_out)
        composite_over_color(frame, mask, (0, 255, 0), lo, hi, np.empty_like(frame), alpha_out)
        composite_rgba(frame, mask, lo, hi, np.empty((h, w, 4), np.uint8), alpha_out)
    composite_small_with_alpha(frame, alpha, small, np.empty_like(frame))
    composite_full_with_alpha(frame, alpha, full, np.empty_like(frame))
    composite_color_with_alpha(frame, alpha, (0, 255, 0), np.empty_like(frame))

    half = halve(frame, 2)
    renormalised_blur(half, rng.random(half.shape[:2], dtype=np.float32), 2.0)

    luma = half[:, :, 1].copy()
    p = rng.random(luma.shape, dtype=np.float32)
    for soft in (False, True):
        temporal_update(
            p,
            np.zeros(luma.shape, np.uint8),
            p.copy(),
            (p >= 0.5).astype(np.uint8),
            0.3,
            6.0,
            0.15,
            np.empty_like(p),
            soft,
        )
    buffers = GuidedBuffers(*luma.shape)
    coef = guided_coefficients(luma, p, 2, 1e-4, buffers)
    apply_guided(frame, coef, lo, hi, buffers=buffers)
    apply_guided(frame, coef, lo, hi, out=np.empty((h, w), np.uint8), buffers=buffers)

    apply_pair_table(frame, pair_table(np.arange(256, dtype=np.uint8)[::-1].copy()), np.empty_like(frame))
    table = np.empty(256, np.uint8)
    curve_table(1.5, 10.0, table)
    levels_apart(table, np.arange(256, dtype=np.uint8))
    measure_curve(luma, 0.94, 0.5, 0.3, 3.0, 40.0, 16)
    thumb = luma.astype(np.float32)
    CellGrid(thumb.shape[1], thumb.shape[0], 6, 4).changes(thumb, thumb[::-1].copy(), np.ones_like(thumb), 0.02)

    light = rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)
    light_wrap(frame.copy(), wrap_weight(rng.random((9, 16), dtype=np.float32), 1.5, 0.5), light)

    # super-resolution conversions: whole frames and crops (strided views), BGR and BGRA
    tensor = np.empty((1, 3, h, w), np.float32)
    for pixels in (frame, frame[2:20, 4:40], np.empty((h, w, 4), np.uint8)):
        bgr_to_tensor(pixels, tensor)
    for t in (tensor, tensor[:, :, :20, :30]):
        for out in (np.empty((h, w, 3), np.uint8), np.empty((h, w, 4), np.uint8), frame.copy()[2:30, 4:60]):
            tensor_to_bgr(t, out)
    shuffled = np.empty((1, 16, h // 2, w // 2), np.float32)
    for out in (np.empty((h, w, 3), np.uint8), np.empty((h, w, 4), np.uint8)):
        shuffled_to_bgr(shuffled, 2, 0, out)
        shuffled_to_bgr(shuffled, 2, 2, out[4:20])  # a band's rows
    small = np.ascontiguousarray(frame[: h // 2, : w // 2])  # (h and w are even)
    blend_over_bicubic_x2(small.reshape(h // 2, -1), frame.copy().reshape(h, -1), 0.5)
    detail_fit_x2(small.reshape(h // 2, -1), frame.reshape(h, -1), frame.reshape(h, -1), 4)
    roi = frame.copy()
    for dst in (frame.copy(), np.empty((h, w, 4), np.uint8)):
        blend_roi(dst, roi[4:20, 8:40], 8, 4, 4)
    lite = LiteSRKernel(
        [rng.random((2, 1, 3, 3), dtype=np.float32), rng.random((4, 2, 3, 3), dtype=np.float32)],
        [np.zeros(2, np.float32), np.zeros(4, np.float32)],
        2,
    )
    bgra = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    for pixels in (frame, frame[2:20, 4:40], bgra, bgra[2:20, 4:40]):
        for channels in (3, 4):
            lite.add_detail(pixels, np.zeros((pixels.shape[0] * 2, pixels.shape[1] * 2, channels), np.uint8))


def prepare_kernels(report=sys.stderr) -> float:
    """Compile or load every kernel; returns the seconds it took. With `report` (a text stream;
    None for silence), a compilation long enough to notice is announced when it starts and its
    duration written when it ends; a cache load says nothing."""
    started = time.perf_counter()
    announced = threading.Event()

    def announce() -> None:
        announced.set()
        print(
            "litecam: preparing the Numba kernels (compiled once after an install or upgrade, then cached)...",
            file=report,
            flush=True,
        )

    timer = threading.Timer(NOTICE_AFTER_S, announce) if report is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        _compile_all()
    finally:
        if timer is not None:
            timer.cancel()
    seconds = time.perf_counter() - started
    if announced.is_set():
        print(f"litecam: kernels ready in {seconds:.1f} s (not counted in any timing)", file=report, flush=True)
    return seconds
