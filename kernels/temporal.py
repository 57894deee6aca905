"""Motion-adaptive temporal smoothing of the low-resolution matte, with hysteresis.

One pass per frame over the low-resolution planes (the guide's size), in place on the state:

    motion = clip(diff / motion_levels, 0, 1)   (diff: |Δluma|, 3x3-max-dilated by the caller)
    k      = still_weight + (1 - still_weight) * motion        (EMA weight of the new mask)
    ema   += k * (p - ema)
    state  = 1 if ema >= 0.5 + band, 0 if ema <= 0.5 - band, else the previous state

Strong smoothing where the frame is still (model noise, "twinkling"), none where it moves (so a
moving head or hand is never left behind: where the pixels change, the new mask is taken as it is).
`state` is the Schmitt-trigger (hysteresis) decision near the 0.5 level, so an edge pixel whose
smoothed probability hovers around 0.5 does not toggle from frame to frame. `out` receives `state`
as float32 0/1 (the matte the guided filter refines), or with `soft` the smoothed probability pushed
to its state's side of the band — max(ema, 0.5 + band) where the state is 1, min(ema, 0.5 − band)
where it is 0 — the soft mask that replaces the model's when there is no refinement.

The reference is `kernels.reference.temporal_reference` (float64); the kernel is float32.
"""

from __future__ import annotations

import numpy as np

from kernels._jit import jit


@jit
def temporal_update(p, diff, ema, state, still_weight, motion_levels, band, out, soft=False):
    """Update `ema` (float32 (h, w)) and `state` (uint8 (h, w)) in place from the new mask `p`
    (float32 (h, w); clamped to [0, 1], NaN counts as 0); `diff`: uint8 (h, w) frame difference in
    luma levels; writes float32 0/1 into `out`, or with `soft` the band-pushed soft mask (module
    docstring). Branch-free per pixel (selects), so the loop vectorises whatever the mask holds."""
    h, w = p.shape
    inv = np.float32(1.0) / np.float32(motion_levels)
    sw = np.float32(still_weight)
    hi = np.float32(0.5) + np.float32(band)
    lo = np.float32(0.5) - np.float32(band)
    one = np.float32(1.0)
    for y in range(h):
        for x in range(w):
            pv = p[y, x]
            pv = min(pv, one) if pv > 0 else np.float32(0.0)
            m = min(np.float32(diff[y, x]) * inv, one)
            k = sw + (one - sw) * m
            e = ema[y, x] + k * (pv - ema[y, x])
            ema[y, x] = e
            # hysteresis: 1 at or above hi, 0 at or below lo (hi > lo), else unchanged
            s = np.uint8(e >= hi) | (np.uint8(e > lo) & state[y, x])
            state[y, x] = s
            if soft:
                out[y, x] = max(e, hi) if s else min(e, lo)
            else:
                out[y, x] = np.float32(s)
