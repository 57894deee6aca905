"""Background replacement: composite the person (frame.mask) over a new background.

Takes BGR frames (3 channels) carrying `frame.mask` (the segment stage's low-resolution float32
person probability); gives BGR frames, or BGRA for `transparent`. Modes (`--background`): blur,
image, video, colour, chroma key, transparent and none (each mode is a `Backdrop` of `pipeline.stages.backdrops`).

The alpha is `kernels.mask.alpha_from_mask(mask, H, W, edge_lo, edge_hi)`: bilinear upsampling of
the mask and a smoothstep soft edge from `edge_lo` to `edge_hi` (mask probabilities). The stage sets
`frame.alpha` (uint8 (H, W), bit-identical to that function: what `litecam matte` writes) **only when
`keep_alpha=True`**; computing it costs time. For `none`, `keep_alpha` computes it too.

When a matte stage ran first (`pipeline.stages.matte`), the frame already carries the refined
full-resolution `frame.alpha`: every mode then blends with exactly that array (the `*_with_alpha`
kernels), so `litecam matte` and the compositor share one alpha. As without a matte stage, the
frame leaves this stage with `frame.alpha` only when `keep_alpha=True` (sinks such as the overlay
read a BGR frame's `frame.alpha` as "cut out"); then it is that very array.

Invariant relied on: every frame reaching a compositing mode has `frame.mask` set (a segment stage
runs earlier in the graph) or `frame.alpha` (a matte stage ran); a frame with neither raises, naming the fix.

Output pixels go to a new array, never into the input pixels (other nodes may still hold them).
The arrays come from a small pool and are reused only once nothing else references them.

`cycle()` (the preview's `b` key, from any thread) switches to the next background of the cycle
list at the next frame. Every background of the list is checked (and its image/video opened)
before processing starts; the list only holds modes with the same channel count as the first.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Sequence

import cv2
import numpy as np

from kernels.blur import shrink_factor, small_size
from kernels.lightwrap import light_wrap, wrap_weight
from kernels.mask import alpha_from_mask, edge_lut
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.media.images import read_image_file
from pipeline.params import Param, check_bool, check_string, number_in
from pipeline.pool import ArrayPool
from pipeline.stage import Stage
from pipeline.stages.backdrops import (
    ALLOWED_FORMS,
    DEFAULT_STRENGTH,
    MAX_STRENGTH,
    Backdrop,
    BackgroundSpec,
    be_right_back_card,
    cover_fit,
    make_backdrop,
    parse_background,
)

WRAP_SIDE = 128
"""Light wrap works on the frame halved while its longer side stays at least this (160×90 at 720p)."""
DEFAULT_CYCLE = ("blur", "color:#00B140", "none")
"""What `cycle()` steps through after the configured background (unless a list is given)."""


def _background(value, key: str) -> str:
    parse_background(check_string(value, key))
    return value


_edge = number_in(0, 1)


BACKGROUND = Param(
    "background",
    _background,
    "blur",
    f"What replaces the background: {ALLOWED_FORMS}.",
    live=True,
    flag="--background",
    metavar="SPEC",
)
EDGE_LOW = Param(
    "edge_low",
    _edge,
    0.25,
    "Model probability at or below which a pixel is fully background (alpha 0); must be below edge_high.",
    live=True,
)
EDGE_HIGH = Param(
    "edge_high", _edge, 0.75, "Model probability at or above which a pixel is fully person (alpha 255).", live=True
)
NO_BLEED = Param(
    "no_bleed",
    check_bool,
    True,
    "Blur background: blur it with the person masked out, so no halo of the person's colours surrounds them.",
    live=True,
)
LIGHT_WRAP = Param(
    "light_wrap",
    _edge,
    0.0,
    "0..1, how strongly the new background's light spills over the person's edges (0 = off; opaque backgrounds only).",
    live=True,
)
LIGHT_WRAP_PX = Param(
    "light_wrap_px",
    number_in(0, 100, low_open=True, what="a number of pixels"),
    12.0,
    "How far the light wrap reaches into the person, full-resolution pixels (Gaussian sigma).",
    live=True,
)
PAUSE = Param(
    "pause",
    check_bool,
    False,
    'Show a still picture instead of the camera ("be right back"); frames keep flowing.',
    live=True,
)
PAUSE_IMAGE = Param(
    "pause_image",
    check_string,
    "",
    'The still shown while paused: an image file (cover-fitted to the frame), or "" for a "Be right back" card.',
    live=True,
)


def read_pause_still(path: str) -> np.ndarray:
    """The pause picture, BGR: the image at `path`, or the "Be right back" card for "" (`UserError`
    for a file that cannot be read as an image)."""
    if not path:
        return be_right_back_card()
    return read_image_file(path, "pause_image", cv2.IMREAD_COLOR)


class Background(Stage):
    """Composite the person over a background (see the module docstring).

    spec: a `BackgroundSpec` or a `--background` string. strength: blur sigma in full-resolution
    pixels for a plain `blur`. edge_lo/edge_hi: mask probabilities mapped to alpha 0 and 255
    (smoothstep between; equal values give a hard threshold). keep_alpha: also set `frame.alpha`.
    cycle: the backgrounds `cycle()` steps through after `spec` (default `DEFAULT_CYCLE`; entries
    with a different channel count than `spec`, and repeats, are left out).
    no_bleed: blur the background with the person (the matte stage's alpha, or the mask) masked
    out (`person_free_blur`), so no halo of the person's colours surrounds them.
    light_wrap: 0..1, how strongly the background's light spills over the person's edges
    (`kernels.lightwrap`; 0 = off); light_wrap_px: how far in it reaches (Gaussian sigma,
    full-resolution pixels). Opaque backgrounds only (not transparent or none).
    """

    name = "background"
    updatable = frozenset({"edge_lo", "edge_hi", "no_bleed", "light_wrap", "light_wrap_px", "paused_still"})
    params = (BACKGROUND, EDGE_LOW, EDGE_HIGH, NO_BLEED, LIGHT_WRAP, LIGHT_WRAP_PX, PAUSE, PAUSE_IMAGE)

    @classmethod
    def check_settings(cls, settings) -> None:
        if settings.edge_low >= settings.edge_high:
            raise UserError(f"edge_low ({settings.edge_low}) must be below edge_high ({settings.edge_high})")

    def __init__(
        self,
        spec: BackgroundSpec | str = "blur",
        *,
        strength: float = DEFAULT_STRENGTH,
        edge_lo: float = EDGE_LOW.default,
        edge_hi: float = EDGE_HIGH.default,
        keep_alpha: bool = False,
        cycle: Sequence[BackgroundSpec | str] | None = None,
        no_bleed: bool = NO_BLEED.default,
        light_wrap: float = LIGHT_WRAP.default,
        light_wrap_px: float = LIGHT_WRAP_PX.default,
    ):
        if not (math.isfinite(strength) and 0 < strength <= MAX_STRENGTH):
            raise UserError(
                f"blur strength must be more than 0 and at most {MAX_STRENGTH:g} (sigma in pixels), got {strength!r}"
            )
        try:
            edge_lut(edge_lo, edge_hi)
        except ValueError as exc:
            raise UserError(f"background edge: {exc}") from None
        self.strength = float(strength)
        self.edge_lo = float(edge_lo)
        self.edge_hi = float(edge_hi)
        self.keep_alpha = keep_alpha
        self.no_bleed = bool(no_bleed)
        if not (0 <= light_wrap <= 1 and math.isfinite(light_wrap_px) and light_wrap_px > 0):
            raise UserError(
                f"light wrap: need a strength from 0 to 1 and a reach > 0 px, got {light_wrap!r} and {light_wrap_px!r}"
            )
        self.light_wrap, self.light_wrap_px = float(light_wrap), float(light_wrap_px)
        first = parse_background(spec)
        specs = [first]
        for s in DEFAULT_CYCLE if cycle is None else cycle:
            s = parse_background(s)
            if s.channels == first.channels and s not in specs:
                specs.append(s)
        self._backdrops = [make_backdrop(s, self.strength) for s in specs]
        self._cycle_len = len(self._backdrops)
        """The first backdrops are the cycle's, kept for the run; those set later are released once
        neither requested nor in use (an uploaded 24-megapixel photo is ~70 MB fitted)."""
        self._index = 0
        self._requested = 0
        self.paused_still: np.ndarray | None = None
        """While paused: the still every frame shows, at the frame size (`set_pause`)."""
        self._lock = threading.Lock()
        self._pool = ArrayPool()
        self._alpha_pool = ArrayPool()
        self.levels: dict[int, np.ndarray] | None = None
        """While compositing: the frame's cache of reductions, when the pixels composited are the
        frame's own (`_reductions_of`)."""
        self._size: tuple[int, int] | None = None

    # -- what is shown ----------------------------------------------------------------------------
    @property
    def backgrounds(self) -> list[BackgroundSpec]:
        return [b.spec for b in self._backdrops]

    @property
    def current(self) -> BackgroundSpec:
        """The background the last processed frame used."""
        return self._backdrops[self._index].spec

    def cycle(self) -> BackgroundSpec:
        """Switch to the next background at the next frame (thread-safe); returns that background."""
        with self._lock:
            self._requested = (self._requested + 1) % len(self._backdrops)
            return self._backdrops[self._requested].spec

    def next_background(self) -> BackgroundSpec:
        """The background `cycle()` would switch to (changes nothing)."""
        with self._lock:
            return self._backdrops[(self._requested + 1) % len(self._backdrops)].spec

    def set_background(self, spec: BackgroundSpec | str) -> BackgroundSpec:
        """Show `spec` from the next frame on (thread-safe). Call it off the stage thread: an image
        is read and fitted, a video opened, here, while the stream goes on with the old backdrop.
        `UserError` (nothing changes) for a bad spec or file, or one with another channel count
        than the stage's output (transparent ↔ opaque changes the output format: a restart)."""
        backdrop = self._prepare_backdrop(spec)
        self._show(backdrop)
        return backdrop.spec

    def _prepare_backdrop(self, spec: BackgroundSpec | str) -> Backdrop:
        """The backdrop for `spec`, loaded and opened at the frame size (`UserError` as `set_background`)."""
        spec = parse_background(spec)
        channels = self._backdrops[0].spec.channels
        if spec.channels != channels:
            raise UserError(
                f"background {spec}: the output has "
                f"{channels} channels and this background {spec.channels}; switching between "
                "transparent and opaque needs a restart"
            )
        with self._lock:
            known = next((b for b in self._backdrops if b.spec == spec), None)
        if known is None:
            known = make_backdrop(spec, self.strength)
            if self._size is not None:
                known.open(*self._size)
        return known

    def _show(self, backdrop: Backdrop) -> None:
        """Composite over `backdrop` from the next frame on (thread-safe); release the backdrops set
        earlier that are neither the cycle's nor in use by the frame being composited now."""
        with self._lock:
            if backdrop not in self._backdrops:
                self._backdrops.append(backdrop)
            in_use = self._backdrops[self._index]
            keep = [*self._backdrops[: self._cycle_len], in_use, backdrop]
            retired = [b for b in self._backdrops if all(b is not k for k in keep)]
            self._backdrops = [b for b in self._backdrops if any(b is k for k in keep)]
            self._index = next(i for i, b in enumerate(self._backdrops) if b is in_use)
            self._requested = next(i for i, b in enumerate(self._backdrops) if b is backdrop)
        for old in retired:
            old.close()

    def set_pause(self, still: np.ndarray | None) -> None:
        """From the next frame on, output `still` (uint8 BGR, any size: cover-fitted here, on the
        caller's thread) instead of the composited camera; None resumes (thread-safe). Frames keep
        flowing at their rate, with their timestamps."""
        fitted = None
        if still is not None:
            width, height = self._size or (still.shape[1], still.shape[0])
            fitted = cover_fit(still[:, :, :3], width, height)
            if self._backdrops[0].spec.channels == 4:  # transparent output: the still is opaque
                fitted = np.dstack([fitted, np.full(fitted.shape[:2], 255, np.uint8)])
        self.update(paused_still=fitted)

    def settings_change(self, new, changed: set[str]):
        still = None
        if new.pause and {"pause", "pause_image"} & changed:
            still = read_pause_still(new.pause_image)
        backdrop = self._prepare_backdrop(new.background) if "background" in changed else None

        def apply() -> None:
            if backdrop is not None:
                self._show(backdrop)
            if {"pause", "pause_image"} & changed:
                self.set_pause(still)
            self.update(
                edge_lo=new.edge_low,
                edge_hi=new.edge_high,
                no_bleed=new.no_bleed,
                light_wrap=new.light_wrap,
                light_wrap_px=new.light_wrap_px,
            )

        return apply

    # -- Stage contract ---------------------------------------------------------------------------
    def open(self, caps: Caps) -> Caps:
        if caps.channels != 3:
            raise GraphError(
                f"the background stage takes BGR frames (3 channels), got {caps.channels}; "
                "put it before any stage that adds alpha"
            )
        self._size = (caps.width, caps.height)
        for b in self._backdrops:
            b.open(caps.width, caps.height)
        return caps.with_(channels=self._backdrops[0].spec.channels)

    def process(self, frame: Frame) -> Frame:
        with self._lock:
            self._index = self._requested
            backdrop = self._backdrops[self._index]
        self.apply_updates()
        if self.paused_still is not None and self.paused_still.shape[:2] == frame.pixels.shape[:2]:
            frame.pixels = self.paused_still.copy()  # (sinks may draw on what they get)
            frame.alpha = None
            return frame
        pixels = frame.pixels
        h, w = pixels.shape[:2]
        mask = frame.mask
        given = frame.alpha
        if not self.keep_alpha:  # frames leave this stage with frame.alpha only when asked to
            frame.alpha = None
        if backdrop.spec.mode == "none" and not self.keep_alpha:
            return frame
        if given is not None and given.shape == (h, w):  # a matte stage's refined alpha: blend with it
            if backdrop.spec.mode != "none":
                if not pixels.flags.c_contiguous:
                    pixels = np.ascontiguousarray(pixels)
                out = self._pool.get((h, w, backdrop.spec.channels))
                given = np.ascontiguousarray(given)
                with self._reductions_of(frame, pixels):
                    backdrop.composite_alpha(self, pixels, given, out)
                self._wrap(backdrop, out, given, None)
                frame.pixels = out
            return frame
        if mask is None:
            raise RuntimeError(
                "frame has no mask (frame.mask is None): put a segment stage before the background stage"
            )
        alpha = self._alpha_pool.get((h, w)) if self.keep_alpha else None
        if backdrop.spec.mode == "none":
            frame.alpha = alpha_from_mask(mask, h, w, self.edge_lo, self.edge_hi, out=alpha)
            return frame
        if not pixels.flags.c_contiguous:
            pixels = np.ascontiguousarray(pixels)
        out = self._pool.get((h, w, backdrop.spec.channels))
        with self._reductions_of(frame, pixels):
            backdrop.composite(self, pixels, mask, out, alpha)
        self._wrap(backdrop, out, None, mask)
        frame.pixels = out
        if alpha is not None:
            frame.alpha = alpha
        return frame

    @contextlib.contextmanager
    def _reductions_of(self, frame: Frame, pixels: np.ndarray):
        """While compositing `pixels`: `frame`'s cache of reductions as `levels` (for the blur, which
        halves the frame as the earlier stages did) — None when `pixels` is a copy, not the frame's own."""
        self.levels = frame.reductions() if pixels is frame.pixels else None
        try:
            yield
        finally:
            self.levels = None

    def _wrap(self, backdrop: Backdrop, out: np.ndarray, alpha: np.ndarray | None, mask: np.ndarray | None) -> None:
        """Light wrap on the composited `out`, from the full-resolution `alpha` or else the model
        `mask`, at a small working size (160×90 at 720p: `kernels.lightwrap`)."""
        if self.light_wrap <= 0 or out.shape[2] != 3:
            return
        h, w = out.shape[:2]
        factor = shrink_factor(w, h, WRAP_SIDE)
        size = small_size(w, h, factor)
        sigma = self.light_wrap_px / factor
        light = backdrop.wrap_light(size, sigma)
        if light is None:
            return
        person: np.ndarray
        if alpha is not None:
            person = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
        else:
            assert mask is not None, "the model mask, where no alpha is given"
            person = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        light_wrap(out, wrap_weight(person, sigma, self.light_wrap), light)

    def close(self) -> None:
        for b in self._backdrops:
            b.close()
