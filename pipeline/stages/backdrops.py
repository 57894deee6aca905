"""The backgrounds a person is composited over: one `Backdrop` per mode, and the `--background` spec.

Modes (`parse_background` reads them; `make_backdrop` builds the backdrop of one):

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

Each backdrop is opened once at the frame size (`open`), then composites every frame (`composite`
from the model mask, `composite_alpha` from a matte stage's alpha) with the fused kernels of
`kernels.composite`; `wrap_light` gives the light that the background stage's light wrap spills.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kernels.blur import blur_factor, downscaled_blur, halve, renormalised_blur, small_sigma
from kernels.composite import (
    composite_color_with_alpha,
    composite_full_with_alpha,
    composite_over_color,
    composite_over_full,
    composite_over_small,
    composite_rgba,
    composite_rgba_with_alpha,
    composite_small_with_alpha,
)
from pipeline.errors import UserError
from pipeline.media.images import read_image_file

if TYPE_CHECKING:
    from pipeline.stages.background import Background

DEFAULT_STRENGTH = 12.0
"""Blur sigma in full-resolution pixels when `blur` is given without `:N`."""
MAX_STRENGTH = 100.0
"""The strongest blur, sigma in full-resolution pixels: already a complete blur of a 720p frame, at the
cost of the default one; far larger sigmas only cost time (20 ms a frame at 1000)."""
ALLOWED_FORMS = (
    f"blur | blur:N (0 < N <= {MAX_STRENGTH:g}) | image:PATH | video:PATH | color:#RRGGBB | chroma | transparent | none"
)
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
            assert self.bgr is not None, "a colour background has its colour"
            b, g, r = self.bgr
            return f"color:#{r:02X}{g:02X}{b:02X}"
        return self.mode


def be_right_back_card(width: int = 1280, height: int = 720) -> np.ndarray:
    """The still shown while paused when no image is given: "Be right back" on dark grey, BGR."""
    card = np.full((height, width, 3), 40, np.uint8)
    scale = width / 640
    text = "Be right back"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, round(2 * scale)))
    cv2.putText(
        card,
        text,
        ((width - tw) // 2, (height + th) // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (235, 235, 235),
        max(1, round(2 * scale)),
        cv2.LINE_AA,
    )
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
        if not (math.isfinite(strength) and 0 < strength <= MAX_STRENGTH):
            raise bad(f"blur strength must be more than 0 and at most {MAX_STRENGTH:g} (sigma in pixels), got {arg!r}")
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
    return np.ascontiguousarray(image[y0 : y0 + height, x0 : x0 + width])


def person_free_blur(
    frame: np.ndarray, person: np.ndarray, strength: float, levels: dict[int, np.ndarray] | None = None
) -> np.ndarray:
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
    coverage: np.ndarray
    if person.dtype == np.uint8:
        coverage = halve(person, factor).astype(np.float32) * np.float32(1 / 255)
    else:
        coverage = cv2.resize(np.asarray(person, np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    return renormalised_blur(small, coverage, small_sigma(strength, width, height, sw, sh))


def _blurred_small(image: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(
        cv2.resize(image, size, interpolation=cv2.INTER_AREA), (0, 0), sigma, borderType=cv2.BORDER_REPLICATE
    )


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# -- one class per mode: prepare(size) once, then composite each frame ------------------------------
class Backdrop:
    """One background mode, opened at the frame size, compositing frames over itself."""

    def __init__(self, spec: BackgroundSpec):
        self.spec = spec

    def open(self, width: int, height: int) -> None:
        pass

    def composite(
        self, stage: Background, frame: np.ndarray, mask: np.ndarray, out: np.ndarray, alpha: np.ndarray | None
    ) -> None:
        """`frame` (BGR) over this background into `out`, the person from the model `mask` (and
        `alpha`, when given, receives the alpha used)."""
        raise NotImplementedError

    def composite_alpha(self, stage: Background, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> None:
        """`frame` over this background into `out` with a full-resolution uint8 `alpha` (a matte stage's)."""
        raise NotImplementedError

    def wrap_light(self, size: tuple[int, int], sigma: float) -> np.ndarray | None:
        """The background the last frame was composited over, shrunk to `size` (w, h) and blurred
        (Gaussian `sigma`, small-image pixels): the light that light wrap spills over the person's
        edges. None where there is no opaque background (transparent, none)."""
        return None

    def close(self) -> None:
        pass


class _Blur(Backdrop):
    def __init__(self, spec, strength):
        super().__init__(spec)
        self.strength = spec.strength if spec.strength is not None else strength
        self.last: np.ndarray | None = None
        """The last frame's blurred background (small)."""

    def _small(self, stage, frame, person):
        self.last = (
            person_free_blur(frame, person, self.strength, stage.levels)
            if stage.no_bleed
            else downscaled_blur(frame, self.strength, levels=stage.levels)
        )
        return self.last

    def composite(self, stage, frame, mask, out, alpha):
        composite_over_small(frame, mask, self._small(stage, frame, mask), stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_small_with_alpha(frame, alpha, self._small(stage, frame, alpha), out)

    def wrap_light(self, size, sigma):  # already blurred: only resized
        return cv2.resize(self.last, size, interpolation=cv2.INTER_LINEAR)


class _Image(Backdrop):
    def __init__(self, spec):
        super().__init__(spec)
        path = spec.path
        if not os.path.isfile(path):
            raise UserError(f"background image not found: {path} (give an existing PNG/JPEG/WebP file)")
        image = read_image_file(path, "background image")
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


class _Video(Backdrop):
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


class _Color(Backdrop):
    def composite(self, stage, frame, mask, out, alpha):
        composite_over_color(frame, mask, self.spec.bgr, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_color_with_alpha(frame, alpha, self.spec.bgr, out)

    def wrap_light(self, size, sigma):
        return np.full((size[1], size[0], 3), self.spec.bgr, np.uint8)


class _Transparent(Backdrop):
    def composite(self, stage, frame, mask, out, alpha):
        composite_rgba(frame, mask, stage.edge_lo, stage.edge_hi, out, alpha)

    def composite_alpha(self, stage, frame, alpha, out):
        composite_rgba_with_alpha(frame, alpha, out)


class _None(Backdrop):
    pass


def make_backdrop(spec: BackgroundSpec, strength: float) -> Backdrop:
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
