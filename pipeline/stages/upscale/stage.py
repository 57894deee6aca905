"""The upscale stage: enlarge every frame ×2 or ×3 with a small network, or bicubic.

Takes BGR (3 channels) or BGRA (4) uint8 frames of any size; gives frames `scale` times wider and
higher with the same channels (`open()` returns caps with width/height × scale). BGRA: the colour
goes through the network, the alpha is enlarged with bicubic (the networks are trained on RGB).
The tiers, their files and scores are in `catalogue`; the networks run on an `engines` engine.

**Missing or corrupt model file**: with `strict=False` (live use) the stage posts a `warning` on the
bus naming the file and upscales with `bicubic` instead; with `strict=True` (offline transcoding:
the user asked for that model) `open()` raises `UserError`. The requested tier is loaded in
`open()`, and with `preload` (the default when not strict) every other tier too, so a switch never
stalls a frame; a tier whose model cannot be loaded is left out of `tiers` (one warning lists
them) and means bicubic if asked for. Without `preload` a tier is loaded when first used.

`set_tier(name)` may be called from any thread; the switch happens at the next frame, which
carries `frame.tiers["upscale"]` = the tier that really produced it (a `tier` message is posted
when that changes).

**person_only=True** (the background is synthetic anyway): the network runs only on the person's
bounding box (`person_box`) — from `frame.alpha` (full resolution) if a stage set it, else from
`frame.mask` (the model-resolution probability; each mask cell maps to the frame rectangle it
covers) — where the probability exceeds `threshold`, expanded by `margin_px` input pixels, aligned
outward to multiples of `ALIGN_PX`, clamped to the frame. The network sees the box plus
`CONTEXT_PX` pixels of real image around it (so inside the box its output equals the full-frame
output); everything else is bicubic, and `kernels.sr.blend_roi` feathers the box's inner edges into
the bicubic frame over `feather_px` output pixels so no seam shows. No person in the mask: the frame
is all bicubic; no mask and no alpha at all (no segment stage): the network runs on the whole frame.
The saving is the share of the frame outside the box.

**Crops** (`frame.crop`, from auto-framing): the crop is enlarged to the output size (`reframe`).

**Detail check** (unless `detail_check=False`): wherever a network enlarges (whole frame, person box,
crop), the output is bicubic plus the share of the network's detail that a cross-scale check of the
picture trusts (`detail`): measured on every picture outside a graph, every `STREAM_REFRESH_FRAMES`
frames of a tier and after a `discont` inside one. Below `BICUBIC_BELOW` the network does not run at
all: the picture is enlarged with bicubic (and the frame says so), which is what the blend would
nearly be anyway, at a fraction of the cost.

Output pixels go to new arrays from a small pool, reused only once nothing else references them;
`frame.alpha`, if set, is enlarged too (bilinear) so it keeps matching the pixels.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import cv2
import numpy as np

from kernels.sr import blend_roi
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.pool import ArrayPool
from pipeline.stage import Stage, TierSwitch
from pipeline.stages.upscale import catalogue
from pipeline.stages.upscale.catalogue import (
    CONTEXT_PX,
    RECEPTIVE_RADIUS_PX,
    SR_SCORES,
    check_engine,
    check_upscale,
    live_tiers,
    tiers_for,
)
from pipeline.stages.upscale.detail import STREAM_REFRESH_FRAMES, DetailCheck, keep_detail
from pipeline.stages.upscale.engines.base import Engine, first_line
from pipeline.stages.upscale.engines.registry import load_engine

ALIGN_PX = 8
"""person_only: the box's edges are aligned outward to multiples of this many input pixels."""
TILE_PX = 192
"""Largest input tile (pixels a side) an unbounded-receptive-field tier (ESRT) runs on at once."""
TILE_CONTEXT_PX = 32
"""Input pixels of real image around each such tile, seen by the network and then cut away."""
BICUBIC_BELOW = 0.1
"""A detail weight below this: the network's detail (a tenth of it at most) is not worth running the
network for; the picture is enlarged with bicubic alone. The check still runs when due."""
NETWORK_MIN_ZOOM = 1.5
"""A crop (`frame.crop`, from auto-framing) goes through the network only when it is enlarged at
least this much; below it the network's gain over bicubic is small."""


def person_box(
    height: int,
    width: int,
    *,
    alpha: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    threshold: float = 0.1,
    margin_px: int = 16,
    align: int = ALIGN_PX,
):
    """The person's box in frame pixels, (x0, y0, x1, y1) (end exclusive), or None if no person.

    From `alpha` (uint8 (height, width)) where alpha > threshold·255, else from `mask` (float
    (h, w) at any resolution, each cell covering a frame rectangle) where mask > threshold;
    expanded by `margin_px`, aligned outward to multiples of `align`, clamped to the frame.
    """
    if alpha is not None:
        hit = alpha > int(threshold * 255)
        sy, sx = 1.0, 1.0
    elif mask is not None:
        hit = mask > threshold
        sy, sx = height / mask.shape[0], width / mask.shape[1]
    else:
        return None
    rows = np.flatnonzero(hit.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(hit.any(axis=0))
    x0 = int(np.floor(cols[0] * sx)) - margin_px
    x1 = int(np.ceil((cols[-1] + 1) * sx)) + margin_px
    y0 = int(np.floor(rows[0] * sy)) - margin_px
    y1 = int(np.ceil((rows[-1] + 1) * sy)) + margin_px
    x0, y0 = max(0, x0 // align * align), max(0, y0 // align * align)
    x1, y1 = min(width, -(-x1 // align) * align), min(height, -(-y1 // align) * align)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


class Upscale(Stage):
    """Enlarge frames ×`scale` with the `model` tier (see the module docstring).

    scale: 2 or 3 (1: frames keep their size; only auto-framing's crops are enlarged, by the ×2
    models). model: a tier of `TIERS` that exists at `scale` (`tiers_for(scale)`).
    person_only: network on the person's box only, bicubic elsewhere, feathered over `feather_px`
    output pixels. threads: inference threads per model. engine: one of `catalogue.ENGINES`: `auto`
    (every installed engine loads the model; the one measured fastest at this frame size runs it),
    or an engine by name. strict: a missing/corrupt model file, or an engine asked for that is
    not installed or cannot compile the model, raises `UserError` in `open()`; not strict (live),
    the first falls back to bicubic and the second to ONNX Runtime, each with one warning.
    Not strict, the tiers offered are the live ladder (`live_tiers`) plus the requested one.
    model_dir: where the ONNX files are (default `catalogue.MODEL_DIR`, `pipeline/models/`).
    threshold / margin_px: the person box (probability above which a pixel is person; input pixels
    added around it). detail_check: keep as much of the network's detail as the picture's own
    cross-scale check trusts (`detail`; False: the network's output as it is). preload: load every
    tier's model in `open()`, not only the requested one (default: when not strict, i.e. live use,
    where the scheduler may switch tiers).
    """

    name = "upscale"
    params = catalogue.PARAMS
    absent_hint = "not offered by this run, which has no upscale stage (restart with --scale 2 or 3)"

    def __init__(
        self,
        scale: int = 2,
        model: str = catalogue.SR_MODEL.default,
        *,
        person_only: bool = False,
        threads: int = 1,
        strict: bool = False,
        model_dir: str | Path | None = None,
        feather_px: int = 8,
        margin_px: int = 16,
        threshold: float = 0.1,
        preload: bool | None = None,
        engine: str = catalogue.SR_ENGINE.default,
        detail_check: bool = True,
    ):
        if scale == 1:  # reframing only (auto-framing without upscaling): the ×2 models enlarge crops
            check_upscale(2, model)
        else:
            check_upscale(scale, model)
        check_engine(engine)
        if not isinstance(threads, int) or threads < 1:
            raise UserError(f"upscale threads must be an integer >= 1, got {threads!r}")
        self.scale = scale
        """Output size / input size (1: frames keep their size; crops are enlarged to it)."""
        self.net_scale = 2 if scale == 1 else scale
        """The networks' scale."""
        self.cpu_runs_elsewhere = threads > 1  # the engines' worker threads: the graph counts wall time
        self.person_only = person_only
        self.threads = threads
        self.strict = strict
        self.preload = (not strict) if preload is None else preload
        self.model_dir = Path(model_dir) if model_dir is not None else catalogue.MODEL_DIR
        self.feather_px = int(feather_px)
        self.margin_px = int(margin_px)
        self.threshold = float(threshold)
        self.engine = engine
        self.engines: dict[str, str] = {}
        """The engine that runs each loaded tier (`auto` chose it by measuring)."""
        self._probe_hw = (360, 640)
        """Frame size (h, w) the `auto` engine choice is measured at: the input's, from `open()`."""
        net = self.net_scale
        self._all_tiers = (
            tiers_for(net) if strict else tuple(t for t in tiers_for(net) if t in live_tiers(net) or t == model)
        )
        self._switch = TierSwitch(self, model)
        self._lock = threading.Lock()
        """Guards `_failed` together with the tier requested of `_switch`."""
        self._models: dict[str, Engine] = {}
        self._failed: dict[str, str] = {}
        self._pool = ArrayPool()
        self._roi_pool = ArrayPool(max_arrays=2)
        self.last_box: tuple[int, int, int, int] | None = None
        """person_only: the box (input pixels) the network ran on for the last frame, or None."""
        self.last_weight: float | None = None
        """The detail check's weight on the last picture a network tier was asked to enlarge (below
        `BICUBIC_BELOW`: bicubic did it; 1.0 without the check); None: no network was asked."""
        self.bicubic_alone = 0
        """Pictures a network tier was asked for but bicubic enlarged (weight below `BICUBIC_BELOW`)."""
        self.detail = DetailCheck() if detail_check else None
        """The share of each tier's detail kept (measured on every picture; in a graph, every
        `STREAM_REFRESH_FRAMES` frames and after a discontinuity)."""

    # -- tiers (the scheduler's interface, see `pipeline.stage.Stage.tiers`) ------------------------
    @property
    def tier_quality(self) -> dict[str, float]:
        """Relative quality: 1.0 for the best tier at this scale, 0.5 for bicubic, in between in
        proportion to the measured PSNR-Y (`SR_SCORES`, mean of Set5 and Set14)."""
        mean = {t: sum(SR_SCORES[t, self.net_scale]) / 2 for t in tiers_for(self.net_scale)}
        best, low = max(mean.values()), mean["bicubic"]
        return {t: 0.5 + 0.5 * (m - low) / (best - low) for t, m in mean.items()}

    tier_cost_hint = {"esrt": 30.0, "xlsr": 1.0, "xlsr-int8": 1.4, "litesr": 0.15, "bicubic": 0.012}
    """Relative cost per frame. The scheduler estimates every tier but the one in use as the running
    cost of the one in use times the ratio of these hints, so a missing or wrong ratio makes it try a
    tier that cannot fit (or never try one that would). Ratios of measured ms per 640×360 frame, ×2,
    one thread (`python -m tools.bench.engines`), as on CPUs without AMX: xlsr-int8 is slower than
    fp32 there, and ESRT takes seconds."""

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tiers offered at this scale, best first, without those whose model failed to load."""
        return tuple(t for t in self._all_tiers if t not in self._failed)

    @property
    def tier(self) -> str:
        """The tier in use from the next frame on (bicubic once the requested model failed to load)."""
        return self._switch.requested

    @property
    def tier_used(self) -> str | None:
        """The tier that produced the last frame (also in `frame.tiers["upscale"]`)."""
        return self._switch.used

    def set_tier(self, name: str) -> None:
        """Use tier `name` from the next frame on (thread-safe).

        ValueError for a name that is not a tier at this scale; a tier whose model failed to load
        means bicubic."""
        if name not in self._all_tiers:
            raise ValueError(
                f"upscale tier {name!r} does not exist at ×{self.net_scale}; choose one of {self._all_tiers}"
            )
        with self._lock:
            self._switch.request("bicubic" if name in self._failed else name)

    def settings_change(self, new, changed: set[str]):
        if new.sr_model not in self.tiers:
            raise UserError(f"sr_model {new.sr_model!r} is not offered by this run (offered: {', '.join(self.tiers)})")
        return lambda: self.set_tier(new.sr_model)

    def tier_failed(self, tier: str, reason: str) -> str | None:
        """`tier` raised on a frame (called by a live graph): never use it again in this run; the
        next tier below it is used from the next frame on. Returns that tier; None when `tier`
        is bicubic (nothing below it)."""
        if tier == "bicubic":
            return None
        with self._lock:
            self._failed[tier] = reason
            self._models.pop(tier, None)
            below = self._all_tiers[self._all_tiers.index(tier) + 1 :]
            fallback = next(t for t in below if t not in self._failed)
            self._switch.request(fallback)
            return fallback

    def model_path(self, tier: str) -> Path:
        return catalogue.model_path(tier, self.net_scale, self.model_dir)

    # -- models and engines -----------------------------------------------------------------------
    def _model(self, tier: str, quiet: bool = False) -> Engine | None:
        """The loaded engine of `tier`, loading it now if needed; None for bicubic or a failed load
        (which posts a warning unless `quiet`)."""
        if tier == "bicubic" or tier in self._failed:
            return None
        model = self._models.get(tier)
        if model is None:
            path = self.model_path(tier)
            try:
                model = load_engine(
                    self.engine,
                    tier,
                    path,
                    self.net_scale,
                    self.threads,
                    strict=self.strict,
                    post=self.post,
                    probe_hw=self._probe_hw,
                )
            except UserError:
                raise
            except Exception as exc:  # missing, truncated, not ONNX, wrong contract: fall back
                reason = first_line(exc)
                if self.strict and not quiet:
                    raise UserError(
                        f"upscale model {path} could not be loaded ({reason}); reinstall litecam or use --model bicubic"
                    ) from None
                with self._lock:
                    self._failed[tier] = reason
                    if self._switch.requested == tier:
                        self._switch.request("bicubic")
                if not quiet:
                    self.post(
                        "warning",
                        f"model {path} could not be loaded ({reason}); upscaling with bicubic instead of {tier}",
                        tier=tier,
                        path=str(path),
                    )
                return None
            self._models[tier] = model
            self.engines[tier] = model.engine
        return model

    def load(self) -> None:
        """Load the current tier's model now (`open()` does; for use outside a graph)."""
        self._model(self.tier)

    # -- Stage contract ---------------------------------------------------------------------------
    def open(self, caps: Caps) -> Caps:
        if caps.channels not in (3, 4):
            raise GraphError(f"the upscale stage takes BGR or BGRA frames, got {caps.channels} channels")
        if caps.width and caps.height:
            self._probe_hw = (caps.height, caps.width)
        if self.detail is not None:
            self.detail.refresh_frames = STREAM_REFRESH_FRAMES
        requested = self.tier
        self._model(requested)
        if self.preload:  # every tier now, so that a switch at run time never stalls a frame
            others = [t for t in self._all_tiers if t not in (requested, "bicubic")]
            for tier in others:
                self._model(tier, quiet=True)
            missing = [t for t in others if t in self._failed]
            if missing:
                self.post(
                    "warning",
                    "tiers not offered, their models could not be loaded: "
                    + "; ".join(f"{t} ({self.model_path(t)}: {self._failed[t][:120]})" for t in missing),
                    tiers=missing,
                )
        return caps.with_(width=caps.width * self.scale, height=caps.height * self.scale)

    def process(self, frame: Frame) -> Frame:
        requested = self._switch.requested
        model = self._model(requested)
        self.last_weight = None  # (a picture shown whole at scale 1 is not enlarged: no weight)
        if frame.discont and self.detail is not None:
            self.detail.reset()
        h, w = frame.pixels.shape[:2]
        crop = frame.crop if frame.crop is not None and tuple(frame.crop) != (0, 0, w, h) else None
        if crop is not None:
            out, used = self.reframe(frame, crop, model)
        elif self.scale == 1:  # reframing only, and this frame shows the whole picture
            out, used = frame.pixels, "bicubic"
        else:
            used = requested if model is not None else "bicubic"
            out = self.upscale(frame.pixels, model=model, mask=frame.mask, alpha=frame.alpha)
            if frame.alpha is not None:
                frame.alpha = cv2.resize(frame.alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
        self._switch.ran(used)
        frame.pixels = out
        frame.tiers[self.name] = used
        if self.detail is not None and self.last_weight is not None:
            bicubic = " (bicubic alone)" if self.last_weight < BICUBIC_BELOW else ""
            frame.tiers["detail"] = f"{self.last_weight:.2f}{bicubic}"
        return frame

    def reframe(self, frame: Frame, crop: tuple[int, int, int, int], model: Engine | None) -> tuple[np.ndarray, str]:
        """Enlarge `frame`'s `crop` (x, y, w, h) to the output size: (pixels, tier used).

        With a network tier and an enlargement of at least `NETWORK_MIN_ZOOM`, the network enlarges
        the crop ×`net_scale` and OpenCV brings that to the output size (area-averaging down, bicubic
        up; nothing when it is already the size, e.g. a 2× zoom with no upscaling); otherwise bicubic
        (area-averaging for a crop larger than the output). The alpha, if any, is cropped and enlarged
        bilinearly; the mask is cropped to match (it stays at its own resolution).
        """
        x, y, cw, ch = crop
        h, w, c = frame.pixels.shape
        out_w, out_h = w * self.scale, h * self.scale
        region = frame.pixels[y : y + ch, x : x + cw]
        out = self._pool.get((out_h, out_w, c))
        enlargement = out_w / cw
        self.last_weight = None
        if model is not None and enlargement >= NETWORK_MIN_ZOOM:
            self.last_weight = self._weight(model, region)
        weight = 0.0 if self.last_weight is None else self.last_weight
        if model is not None and weight >= BICUBIC_BELOW:
            n = self.net_scale
            if (cw * n, ch * n) == (out_w, out_h):
                model.upscale_blended(region, out, weight)
            else:
                enlarged = self._roi_pool.get((ch * n, cw * n, 3))
                model.upscale_blended(region, enlarged, weight)
                shrink = cw * n > out_w
                resized = cv2.resize(
                    enlarged,
                    (out_w, out_h),
                    dst=out if c == 3 else None,
                    interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC,
                )
                if c == 4:
                    out[..., :3] = resized
            if c == 4:
                out[..., 3] = cv2.resize(
                    np.ascontiguousarray(region[..., 3]), (out_w, out_h), interpolation=cv2.INTER_CUBIC
                )
            used = self._tier_of(model)
        else:
            cv2.resize(
                region, (out_w, out_h), dst=out, interpolation=cv2.INTER_CUBIC if enlargement >= 1 else cv2.INTER_AREA
            )
            # the tier in force, unless no network was asked (the detail says when bicubic stood in)
            used = "bicubic"
            if model is not None and self.last_weight is not None:
                used = self._tier_of(model)
                self.bicubic_alone += 1
        if frame.alpha is not None:
            frame.alpha = cv2.resize(
                frame.alpha[y : y + ch, x : x + cw], (out_w, out_h), interpolation=cv2.INTER_LINEAR
            )
        if frame.mask is not None:
            mh, mw = frame.mask.shape
            mx0, my0 = int(x * mw / w), int(y * mh / h)
            mx1, my1 = max(mx0 + 1, round((x + cw) * mw / w)), max(my0 + 1, round((y + ch) * mh / h))
            frame.mask = cv2.resize(frame.mask[my0:my1, mx0:mx1], (mw, mh), interpolation=cv2.INTER_LINEAR)
        return out, used

    def close(self) -> None:
        self._models.clear()

    # -- the work ---------------------------------------------------------------------------------
    def upscale(
        self,
        pixels: np.ndarray,
        *,
        model: Engine | None | str = "current",
        mask: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
    ) -> np.ndarray:
        """uint8 (H, W, 3|4) → uint8 (sH, sW, 3|4) with `model` (default: the requested tier's).

        Any H and W (the graph's frames are even; single images need not be). `mask`/`alpha` are
        only read with `person_only`. Returns an array of the stage's pool; `last_weight` says how
        much of the network's detail it holds.
        """
        if isinstance(model, str):
            model = self._model(self.tier)
        s = self.scale
        h, w, c = pixels.shape
        out = self._pool.get((h * s, w * s, c))
        self.last_weight = None
        box: tuple[int, int, int, int] | None = (0, 0, w, h)
        if model is not None and self.person_only and (alpha is not None or mask is not None):
            # (no mask and no alpha: nobody said where the person is, so the whole frame)
            box = person_box(h, w, alpha=alpha, mask=mask, threshold=self.threshold, margin_px=self.margin_px)
            self.last_box = box
        if model is None or box is None:
            return cv2.resize(pixels, (w * s, h * s), dst=out, interpolation=cv2.INTER_CUBIC)
        x0, y0, x1, y1 = box
        ctx = CONTEXT_PX.get(self._tier_of(model), 8)
        cx0, cy0 = max(0, x0 - ctx), max(0, y0 - ctx)
        cx1, cy1 = min(w, x1 + ctx), min(h, y1 + ctx)
        region = pixels[cy0:cy1, cx0:cx1]
        weight = self.last_weight = self._weight(model, region)
        if box != (0, 0, w, h) or weight < BICUBIC_BELOW:
            cv2.resize(pixels, (w * s, h * s), dst=out, interpolation=cv2.INTER_CUBIC)
            if weight < BICUBIC_BELOW:
                self.last_box = None
                self.bicubic_alone += 1
                return out
        else:  # the network on the whole frame
            self.last_box = box
            self._whole_frame(model, pixels, out, weight)
            if c == 4:
                out[..., 3] = cv2.resize(
                    np.ascontiguousarray(pixels[..., 3]), (w * s, h * s), interpolation=cv2.INTER_CUBIC
                )
            return out
        roi = self._roi_pool.get(((cy1 - cy0) * s, (cx1 - cx0) * s, 3))
        model.upscale_into(region, roi)
        # `out` already holds the whole frame's bicubic: equal to the region's own inside `inner`
        keep_detail(region, roi, weight, out[cy0 * s : cy1 * s, cx0 * s : cx1 * s])
        inner = roi[(y0 - cy0) * s : (y1 - cy0) * s, (x0 - cx0) * s : (x1 - cx0) * s]
        blend_roi(out, inner, x0 * s, y0 * s, self.feather_px)
        return out

    def _whole_frame(self, model: Engine, pixels: np.ndarray, out: np.ndarray, weight: float = 1.0) -> None:
        """`model` on all of `pixels` into channels 0..2 of `out`, `weight` of its detail kept over
        bicubic (`Engine.upscale_blended`). A tier whose receptive field has no
        bound (ESRT's attention) runs in tiles of at most `TILE_PX`² input pixels, each with
        `TILE_CONTEXT_PX` of real image around it and only its interior kept: its memory then stays
        bounded whatever the frame size (the whole-frame output is matched within a few hundredths of
        a dB). The convolution-only tiers run whole (their engines cut frames into exact row bands)."""
        h, w = pixels.shape[:2]
        if self._tier_of(model) in RECEPTIVE_RADIUS_PX or (h <= TILE_PX and w <= TILE_PX):
            model.upscale_blended(pixels, out, weight)
            return
        s, ctx = self.net_scale, TILE_CONTEXT_PX
        for y0 in range(0, h, TILE_PX):
            for x0 in range(0, w, TILE_PX):
                y1, x1 = min(h, y0 + TILE_PX), min(w, x0 + TILE_PX)
                cy0, cx0, cy1, cx1 = max(0, y0 - ctx), max(0, x0 - ctx), min(h, y1 + ctx), min(w, x1 + ctx)
                tile = np.empty(((cy1 - cy0) * s, (cx1 - cx0) * s, 3), np.uint8)
                model.upscale_into(pixels[cy0:cy1, cx0:cx1], tile)
                out[y0 * s : y1 * s, x0 * s : x1 * s, :3] = tile[
                    (y0 - cy0) * s : (y1 - cy0) * s, (x0 - cx0) * s : (x1 - cx0) * s
                ]
        keep_detail(pixels, out, weight)

    def _weight(self, model: Engine, pixels: np.ndarray) -> float:
        """The share of `model`'s detail to keep on `pixels`, from the detail check (1.0 without
        `detail_check`)."""
        if self.detail is None:
            return 1.0
        enlarge = functools.partial(self._whole_frame, model)
        return self.detail.weight(self._tier_of(model), enlarge, pixels, self.net_scale)

    def _tier_of(self, model: Engine) -> str:
        for tier, m in self._models.items():
            if m is model:
                return tier
        return "xlsr"
