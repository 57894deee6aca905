"""Background replacement: composite the person (frame.mask) over a new background.

Takes BGR frames (3 channels) carrying `frame.mask` (the segment stage's low-resolution float32
person probability); gives BGR frames, or BGRA for `transparent`. Modes (`--background`):

* `blur`, `blur:N` — the frame itself blurred with a Gaussian of sigma N full-resolution pixels
  (default `DEFAULT_STRENGTH`), computed at reduced resolution (`kernels.blur.downscaled_blur`)
  and sampled at full resolution only inside the fused kernel (`composite_over_small`);
* `image:PATH` — a still image, loaded once (unreadable → `UserError` at construction) and fitted
  once to the frame size by cover-crop: scaled to cover the frame, then centre-cropped;
* `video:PATH` — a video looped forever (`FileSource(loop=True)`), one background frame per
  output frame, each cover-cropped to the frame size; a missing or undecodable file is a
  `UserError` at construction / `open()`, before processing;
* `color:#RRGGBB` — a plain colour;
* `chroma` — the key colour `CHROMA_BGR`, pure green #00FF00, for apps that only take a camera and
  key the background out themselves (OBS's Chroma Key filter defaults to this green). Skin of every
  tone has R > G > B with hue roughly 0–50°; pure green (hue 120°, R = B = 0) is about as far from it
  as a colour can be, and unlike blue it is bright, so camera noise and 4:2:0 chroma subsampling
  in the virtual camera's path disturb it least. The overlay sink (a real alpha channel) gives
  cleaner edges than any key colour;
* `transparent` — BGRA out, the alpha as 4th channel (straight, not premultiplied): `open()`
  returns caps with `channels=4`;
* `none` — the pixels pass through untouched (the mask is not needed, and not read unless
  `keep_alpha`).

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
import os
import re
import threading
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from kernels.blur import (blur_factor, downscaled_blur, halve, renormalised_blur, shrink_factor, small_sigma,
                          small_size)
from kernels.composite import (composite_color_with_alpha, composite_full_with_alpha, composite_over_color,
                               composite_over_full, composite_over_small, composite_rgba, composite_rgba_with_alpha,
                               composite_small_with_alpha)
from kernels.lightwrap import light_wrap, wrap_weight
from kernels.mask import alpha_from_mask, edge_lut
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.params import Param, check_bool, check_string, number_in
from pipeline.pool import ArrayPool
from pipeline.stage import Stage

DEFAULT_STRENGTH = 12.0
"""Blur sigma in full-resolution pixels when `blur` is given without `:N`."""

WRAP_SIDE = 128
"""Light wrap works on the frame halved while its longer side stays at least this (160×90 at 720p)."""
DEFAULT_CYCLE = ("blur", "color:#00B140", "none")
"""What `cycle()` steps through after the configured background (unless a list is given)."""

ALLOWED_FORMS = "blur | blur:N (N > 0) | image:PATH | video:PATH | color:#RRGGBB | chroma | transparent | none"
MODES = ("blur", "image", "video", "color", "chroma", "transparent", "none")
CHROMA_BGR = (0, 255, 0)
"""The `chroma` key colour, BGR: pure green #00FF00 (see the module docstring for why)."""


@dataclass(frozen=True, slots=True)
class BackgroundSpec:
    """One background: `mode` and its parameter (blur strength, image/video path, colour)."""

    mode: str
    strength: float | None = None
    """blur only: sigma in full-resolution pixels; None = the stage's default strength."""
    path: str | None = None
    bgr: tuple[int, int, int] | None = None

    @property
    def channels(self) -> int:
        return 4 if self.mode == "transparent" else 3

    def __str__(self) -> str:
        if self.mode == "blur":
            return "blur" if self.strength is None else f"blur:{self.strength:g}"
        if self.mode in ("image", "video"):
            return f"{self.mode}:{self.path}"
        if self.mode == "color":
            b, g, r = self.bgr
            return f"color:#{r:02X}{g:02X}{b:02X}"
        return self.mode


def be_right_back_card(width: int = 1280, height: int = 720) -> np.ndarray:
    """The still shown while paused when no image is given: "Be right back" on dark grey, BGR."""
    card = np.full((height, width, 3), 40, np.uint8)
    scale = width / 640
    text = "Be right back"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, round(2 * scale)))
    cv2.putText(card, text, ((width - tw) // 2, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (235, 235, 235), max(1, round(2 * scale)), cv2.LINE_AA)
    return card


def parse_background(spec: str | BackgroundSpec) -> BackgroundSpec:
    """Parse a `--background` value; raise `UserError` naming the allowed forms on bad input."""
    if isinstance(spec, BackgroundSpec):
        return spec

    def bad(reason: str) -> UserError:
        return UserError(f"--background {spec!r}: {reason}; allowed: {ALLOWED_FORMS}")

    if not isinstance(spec, str) or not spec.strip():
        raise bad("empty")
    text = spec.strip()
    mode, sep, arg = text.partition(":")
    mode = mode.lower()
    if mode not in MODES:
        raise bad(f"unknown background {mode!r}")
    if mode in ("transparent", "none", "chroma"):
        if sep:
            raise bad(f"{mode} takes no value")
        return BackgroundSpec(mode, bgr=CHROMA_BGR if mode == "chroma" else None)
    if mode == "blur":
        if not sep:
            return BackgroundSpec("blur")
        try:
            strength = float(arg)
        except ValueError:
            raise bad(f"blur strength {arg!r} is not a number") from None
        if not (math.isfinite(strength) and strength > 0):
            raise bad(f"blur strength must be a number > 0 (sigma in pixels), got {arg!r}")
        return BackgroundSpec("blur", strength=strength)
    if mode in ("image", "video"):
        if not arg:
            raise bad(f"{mode} needs a path, e.g. {mode}:/path/to/file")
        return BackgroundSpec(mode, path=arg)
    # color
    m = re.fullmatch(r"#?([0-9a-fA-F]{6})", arg)
    if not m:
        raise bad(f"colour {arg!r} is not #RRGGBB (six hex digits, e.g. #00B140)")
    rgb = bytes.fromhex(m.group(1))
    return BackgroundSpec("color", bgr=(rgb[2], rgb[1], rgb[0]))


def cover_fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `image` to cover width x height (keeping its aspect), then crop the centre.

    INTER_AREA when shrinking, INTER_LINEAR when enlarging. Returns C-contiguous uint8 (H, W, 3).
    """
    ih, iw = image.shape[:2]
    scale = max(width / iw, height / ih)
    nw, nh = max(width, round(iw * scale)), max(height, round(ih * scale))
    if (nw, nh) != (iw, ih):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(image[y0:y0 + height, x0:x0 + width])


def person_free_blur(frame: np.ndarray, person: np.ndarray, strength: float,
                     levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """`downscaled_blur` of the background only (`kernels.blur.renormalised_blur`): the person
    masked out and the blur renormalised, so the person's colours do not bleed into the blurred
    background as a halo. `person`: the full-resolution uint8 alpha (H, W), or a float32 person
    probability mask of any size covering the frame (the segmenter's or the temporal matte's). The
    frame (and a full-resolution alpha) are reduced first (INTER_AREA halvings, as `downscaled_blur`
    does), a mask is resized to that size; the weighting and the blur run on the small image.
    `levels`: the frame's cache of reductions (`kernels.blur.halve`). Returns uint8 (h, w, 3), the
    size `downscaled_blur` gives."""
    height, width = frame.shape[:2]
    factor = blur_factor(strength)
    small = halve(frame, factor, levels)
    sh, sw = small.shape[:2]
    if person.dtype == np.uint8:
        coverage = halve(person, factor).astype(np.float32) * np.float32(1 / 255)
    else:
        coverage = cv2.resize(np.asarray(person, np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    return renormalised_blur(small, coverage, small_sigma(strength, width, height, sw, sh))


def _blurred_small(image: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(cv2.resize(image, size, interpolation=cv2.INTER_AREA), (0, 0), sigma,
                            borderType=cv2.BORDER_REPLICATE)


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# -- one class per mode: prepare(size) once, then composite each frame ------------------------------
class _Backdrop:
    def __init__(self, spec: BackgroundSpec):
        self.spec = spec

    def open(self, width: int, height: int) -> None:
        pass

    def wrap_light(self, size: tuple[int, int], sigma: float) -> np.ndarray | None:
        """The background the last frame was composited over, shrunk to `size` (w, h) and blurred
        (Gaussian `sigma`, small-image pixels): the light that light wrap spills over the person's
        edges. None where there is no opaque background (transparent, none)."""
        return None

    def close(self) -> None:
        pass


class _Blur(_Backdrop):
    def __init__(self, spec, strength):
        super().__init__(spec)
        self.strength = spec.strength if spec.strength is not None else strength
        self.last: np.ndarray | None = None
        """The last frame's blurred background (small)."""

    def _small(self, stage, frame, person):
        self.last = (person_free_blur(frame, person, self.strength, stage.levels) if stage.no_bleed
                     else downscaled_blur(frame, self.strength, levels=stage.levels))
        return self.last

    def composite(self, stage, frame, mask, out, alpha):
        composite_over_small(frame, mask, self._small(stage, frame, mask), stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_small_with_alpha(frame, alpha, self._small(stage, frame, alpha), out)

    def wrap_light(self, size, sigma):  # already blurred: only resized
        return cv2.resize(self.last, size, interpolation=cv2.INTER_LINEAR)


class _Image(_Backdrop):
    def __init__(self, spec):
        super().__init__(spec)
        path = spec.path
        if not os.path.isfile(path):
            raise UserError(f"background image not found: {path} (give an existing PNG/JPEG/WebP file)")
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None or image.size == 0:
            raise UserError(f"background image could not be read: {path} (give a PNG, JPEG, WebP, BMP or TIFF image)")
        if image.dtype != np.uint8:
            image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
        self.image = _to_bgr(image)
        self.fitted: np.ndarray | None = None
        self._light: tuple[tuple, np.ndarray] | None = None

    def open(self, width, height):
        if self.fitted is None or self.fitted.shape[:2] != (height, width):
            self.fitted = cover_fit(self.image, width, height)

    def composite(self, stage, frame, mask, out, alpha):
        self.open(frame.shape[1], frame.shape[0])
        composite_over_full(frame, mask, self.fitted, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        self.open(frame.shape[1], frame.shape[0])
        composite_full_with_alpha(frame, alpha, self.fitted, out)

    def wrap_light(self, size, sigma):  # a still image: once per size
        key = (size, sigma, self.fitted.shape)
        if self._light is None or self._light[0] != key:
            self._light = (key, _blurred_small(self.fitted, size, sigma))
        return self._light[1]


class _Video(_Backdrop):
    def __init__(self, spec):
        super().__init__(spec)
        from pipeline.sources.file import check_readable_file

        check_readable_file(spec.path, what="background video")
        self.source = None
        self.last: np.ndarray | None = None

    def open(self, width, height):
        from pipeline.sources.file import FileSource

        if self.source is None:
            self.source = FileSource(self.spec.path, loop=True, audio=False)
            self.source.open()

    def next_background(self, width, height) -> np.ndarray:
        self.open(width, height)
        f = self.source.read()
        if f is not None:
            self.last = cover_fit(f.pixels, width, height)
        elif self.last is None:  # pragma: no cover - FileSource.open() already decoded a frame
            raise UserError(f"background video has no frames: {self.spec.path}")
        return self.last

    def composite(self, stage, frame, mask, out, alpha):
        bg = self.next_background(frame.shape[1], frame.shape[0])
        composite_over_full(frame, mask, bg, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_full_with_alpha(frame, alpha, self.next_background(frame.shape[1], frame.shape[0]), out)

    def wrap_light(self, size, sigma):
        return _blurred_small(self.last, size, sigma)

    def close(self):
        source, self.source = self.source, None
        if source is not None:
            source.close()


class _Color(_Backdrop):
    def composite(self, stage, frame, mask, out, alpha):
        composite_over_color(frame, mask, self.spec.bgr, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_color_with_alpha(frame, alpha, self.spec.bgr, out)

    def wrap_light(self, size, sigma):
        return np.full((size[1], size[0], 3), self.spec.bgr, np.uint8)


class _Transparent(_Backdrop):
    def composite(self, stage, frame, mask, out, alpha):
        composite_rgba(frame, mask, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_rgba_with_alpha(frame, alpha, out)


class _None(_Backdrop):
    pass


def _backdrop(spec: BackgroundSpec, strength: float) -> _Backdrop:
    if spec.mode == "blur":
        return _Blur(spec, strength)
    if spec.mode == "image":
        return _Image(spec)
    if spec.mode == "video":
        return _Video(spec)
    if spec.mode in ("color", "chroma"):
        return _Color(spec)
    if spec.mode == "transparent":
        return _Transparent(spec)
    return _None(spec)


def _background(value, key: str) -> str:
    parse_background(check_string(value, key))
    return value


def _edge(value, key: str) -> float:
    return number_in(0, 1)(value, key)


BACKGROUND = Param("background", _background, "blur", f"What replaces the background: {ALLOWED_FORMS}.",
                   live=True, flag="--background", metavar="SPEC")
EDGE_LOW = Param("edge_low", _edge, 0.25, "Model probability at or below which a pixel is fully background "
                 "(alpha 0); must be below edge_high.", live=True)
EDGE_HIGH = Param("edge_high", _edge, 0.75, "Model probability at or above which a pixel is fully person "
                  "(alpha 255).", live=True)
NO_BLEED = Param("no_bleed", check_bool, True, "Blur background: blur it with the person masked out, so no "
                 "halo of the person's colours surrounds them.", live=True)
LIGHT_WRAP = Param("light_wrap", _edge, 0.0, "0..1, how strongly the new background's light spills over "
                   "the person's edges (0 = off; opaque backgrounds only).", live=True)
LIGHT_WRAP_PX = Param("light_wrap_px", number_in(0, 100, low_open=True, what="a number of pixels"), 12.0,
                      "How far the light wrap reaches into the person, full-resolution pixels (Gaussian sigma).",
                      live=True)
PAUSE = Param("pause", check_bool, False, 'Show a still picture instead of the camera ("be right back"); '
              "frames keep flowing.", live=True)
PAUSE_IMAGE = Param("pause_image", check_string, "", 'The still shown while paused: an image file '
                    '(cover-fitted to the frame), or "" for a "Be right back" card.', live=True)


def read_pause_still(path: str) -> np.ndarray:
    """The pause picture, BGR: the image at `path`, or the "Be right back" card for "" (`UserError`
    for a file that cannot be read as an image)."""
    if not path:
        return be_right_back_card()
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"pause_image {path!r} could not be read as an image (give a PNG or JPEG, "
                        "or \"\" for the built-in card)")
    return image


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
            raise ValueError(f"edge_low ({settings.edge_low}) must be below edge_high ({settings.edge_high})")

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
        if not (math.isfinite(strength) and strength > 0):
            raise UserError(f"blur strength must be a number > 0 (sigma in pixels), got {strength!r}")
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
            raise UserError(f"light wrap: need a strength from 0 to 1 and a reach > 0 px, "
                            f"got {light_wrap!r} and {light_wrap_px!r}")
        self.light_wrap, self.light_wrap_px = float(light_wrap), float(light_wrap_px)
        first = parse_background(spec)
        specs = [first]
        for s in (DEFAULT_CYCLE if cycle is None else cycle):
            s = parse_background(s)
            if s.channels == first.channels and s not in specs:
                specs.append(s)
        self._backdrops = [_backdrop(s, self.strength) for s in specs]
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

    def _prepare_backdrop(self, spec: BackgroundSpec | str) -> _Backdrop:
        """The backdrop for `spec`, loaded and opened at the frame size (`UserError` as `set_background`)."""
        spec = parse_background(spec)
        channels = self._backdrops[0].spec.channels
        if spec.channels != channels:
            raise UserError(f"background {spec}: the output has "
                            f"{channels} channels and this background {spec.channels}; switching between "
                            "transparent and opaque needs a restart")
        with self._lock:
            known = next((b for b in self._backdrops if b.spec == spec), None)
        if known is None:
            known = _backdrop(spec, self.strength)
            if self._size is not None:
                known.open(*self._size)
        return known

    def _show(self, backdrop: _Backdrop) -> None:
        """Composite over `backdrop` from the next frame on (thread-safe)."""
        with self._lock:
            if backdrop not in self._backdrops:
                self._backdrops.append(backdrop)
            self._requested = self._backdrops.index(backdrop)

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
            self.update(edge_lo=new.edge_low, edge_hi=new.edge_high, no_bleed=new.no_bleed,
                        light_wrap=new.light_wrap, light_wrap_px=new.light_wrap_px)

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

    def _wrap(self, backdrop: _Backdrop, out: np.ndarray, alpha: np.ndarray | None,
              mask: np.ndarray | None) -> None:
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
        if alpha is not None:
            person = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
        else:
            person = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        light_wrap(out, wrap_weight(person, sigma, self.light_wrap), light)

    def close(self) -> None:
        for b in self._backdrops:
            b.close()
