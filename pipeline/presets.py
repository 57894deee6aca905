"""Presets: named TOML files of settings, validated on load.

`--preset NAME` reads the built-in `presets/NAME.toml` (the `presets` package, shipped in the wheel and
read with `importlib.resources`); `--preset PATH` reads any file. Command-line options
override the preset, which overrides the defaults in `Settings`. A bad key or value raises
`UserError` naming the file, the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import importlib.resources
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import UserError
from pipeline.options import SR_ENGINES, parse_fps, parse_size

BUILTIN_PRESETS = importlib.resources.files("presets")
"""The built-in presets' folder inside the installed package (a checkout's `presets/` when editable)."""


@dataclass
class Settings:
    """Every tunable of a run. Units: sizes in pixels, rates in frames per second."""

    description: str = ""
    size: tuple[int, int] = (1280, 720)
    fps: Fraction = Fraction(30)
    segmenter: str = "landscape"
    background: str = "blur"
    edge_low: float = 0.25
    """Model probability at or below which a pixel is fully background (alpha 0)."""
    edge_high: float = 0.75
    """Model probability at or above which a pixel is fully person (alpha 255)."""
    max_in_flight: int = 2
    """Live graphs: frames allowed inside the graph at once before the head drops new ones."""
    latency_budget_frames: float = 2.0
    """Live graphs: a frame's deadline is its capture time plus this many frame periods."""
    sinks: list[str] = field(default_factory=list)
    """Default sinks for `litecam run` (e.g. ["virtualcam", "preview"])."""
    refine: bool = True
    """Matte stage: snap the mask's edge to the frame's edges with a fast guided filter."""
    temporal: bool = True
    """Matte stage: motion-adaptive smoothing + hysteresis of the mask (no flicker, no ghosting)."""
    no_bleed: bool = True
    """Blur background: blur it with the person masked out (no halo of the person's colours),
    from the refined alpha or else the (smoothed) model mask."""
    light_wrap: float = 0.0
    """Background stage: 0..1, how strongly the new background's light spills over the person's
    edges (0 = off; opaque backgrounds only)."""
    light_wrap_px: float = 12.0
    """How far the light wrap reaches into the person, full-resolution pixels (Gaussian sigma)."""
    roi: bool = True
    """Segment stage: run the model on a crop around the person, tracked from frame to frame
    (`pipeline.roi`), so a person far from the camera is segmented at a useful resolution."""
    scale: int = 1
    """Super-resolution factor after the effects: 1 (no upscale stage), 2 or 3."""
    sr_model: str = "xlsr"
    """Upscaler tier for `scale` 2/3: esrt, xlsr, xlsr-int8, litesr or bicubic (`pipeline.stages.upscale`)."""
    sr_engine: str = "auto"
    """Inference engine of the upscaler: auto (the one measured fastest here), openvino, openvino-bf16
    (CPUs with native bf16), onnxruntime, or numba (runs the litesr model only)."""
    pause: bool = False
    """Live: show a still picture instead of the camera ("be right back"); frames keep flowing."""
    pause_image: str = ""
    """The still shown while paused: an image file (cover-fitted to the frame), or "" for a
    "Be right back" card."""
    sr_person_only: bool = True
    """Live runs with a replaced background: the network upscales only the person's box, bicubic the
    rest (which is blurred or replaced anyway). Offline runs always upscale the whole frame."""
    autoframe: bool = False
    """Auto-framing: pan and zoom to keep the person framed (`pipeline.stages.autoframe`); the crop is
    enlarged to the output size by the upscaler (the network from a 1.5× zoom on)."""
    autoframe_min_zoom: float = 1.0
    """Auto-framing: the widest view, frame size / crop size (1 = the whole frame)."""
    autoframe_max_zoom: float = 2.0
    """Auto-framing: the closest view (2 = half the frame's width)."""
    autoframe_dead_zone: float = 0.05
    """Auto-framing: how far (a fraction of the crop) the person may move before the camera follows."""
    autoframe_max_speed: float = 0.5
    """Auto-framing: the fastest pan, frame widths per second (zoom: this × max_zoom per second)."""
    autoframe_head_room: float = 0.08
    """Auto-framing: space above the head, a fraction of the crop's height."""


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def _probability(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a number from 0 to 1")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError("a number from 0 to 1")
    return float(value)


def _reach(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise ValueError("a number of pixels, more than 0 and at most 100")
    return float(value)


def _in_flight(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
        raise ValueError("an integer from 1 to 8")
    return value


def _budget_frames(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 10:
        raise ValueError("a number of frame periods from 1 to 10")
    return float(value)


def _size(value: Any, key: str) -> tuple[int, int]:
    if not isinstance(value, str):
        raise ValueError('a string such as "1280x720"')
    return parse_size(value, option=key)


def _fps(value: Any, key: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("a number of frames per second, e.g. 30")
    return parse_fps(value, option=key)


def _segmenter(value: Any, key: str) -> str:
    from pipeline.stages.segment import check_segmenter

    return check_segmenter(_string(value, key))


def _background(value: Any, key: str) -> str:
    from pipeline.stages.background import parse_background

    parse_background(_string(value, key))
    return value


SINK_KINDS = ("virtualcam", "preview", "overlay", "null")


def _sinks(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in SINK_KINDS for v in value):
        raise ValueError(f"a list drawn from {list(SINK_KINDS)}")
    return list(value)


def _scale(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2, 3):
        raise ValueError("1 (no upscaling), 2 or 3")
    return value


def _sr_model(value: Any, key: str) -> str:
    tiers = ("esrt", "xlsr", "xlsr-int8", "litesr", "bicubic")  # pipeline.stages.upscale.TIERS, without its imports
    if value not in tiers:
        raise ValueError(f"one of {', '.join(tiers)}")
    return value


def _sr_engine(value: Any, key: str) -> str:
    if value not in SR_ENGINES:
        raise ValueError(f"one of {', '.join(SR_ENGINES)}")
    return value


def _autoframe_number(value: Any, key: str) -> float:
    from pipeline.stages.autoframe import LIMITS

    lo, hi = LIMITS[key.removeprefix("autoframe_")]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ValueError(f"a number from {lo} to {hi}")
    return float(value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


PRESET_KEYS: dict[str, Callable[[Any, str], Any]] = {
    "description": _string,
    "size": _size,
    "fps": _fps,
    "segmenter": _segmenter,
    "background": _background,
    "edge_low": _probability,
    "edge_high": _probability,
    "max_in_flight": _in_flight,
    "latency_budget_frames": _budget_frames,
    "sinks": _sinks,
    "refine": _bool,
    "temporal": _bool,
    "no_bleed": _bool,
    "light_wrap": _probability,
    "light_wrap_px": _reach,
    "roi": _bool,
    "scale": _scale,
    "sr_model": _sr_model,
    "sr_engine": _sr_engine,
    "sr_person_only": _bool,
    "pause": _bool,
    "pause_image": _string,
    "autoframe": _bool,
    "autoframe_min_zoom": _autoframe_number,
    "autoframe_max_zoom": _autoframe_number,
    "autoframe_dead_zone": _autoframe_number,
    "autoframe_max_speed": _autoframe_number,
    "autoframe_head_room": _autoframe_number,
}
assert set(PRESET_KEYS) == {f.name for f in dataclasses.fields(Settings)}


def available_presets() -> list[str]:
    """Names of the built-in presets."""
    return sorted(entry.name.removesuffix(".toml") for entry in BUILTIN_PRESETS.iterdir()
                  if entry.name.endswith(".toml"))


def is_user_preset(name_or_path: str) -> bool:
    """True for a path to the user's own file (ending in .toml, containing '/', or existing), False
    for the name of a built-in preset."""
    return Path(name_or_path).suffix == ".toml" or "/" in name_or_path or Path(name_or_path).exists()


def resolve_preset(name_or_path: str):
    """The preset file: a user's path (`is_user_preset`), else a built-in preset by name (a
    `Traversable` inside the package)."""
    path = Path(name_or_path)
    if is_user_preset(name_or_path):
        if not path.is_file():
            raise UserError(f"preset file {name_or_path} not found (or not a file)")
        return path
    candidate = BUILTIN_PRESETS / f"{name_or_path}.toml"
    if not candidate.is_file():
        raise UserError(f"preset {name_or_path!r} not found; available: {', '.join(available_presets())}")
    return candidate


def load_preset(name_or_path: str, base: Settings | None = None) -> Settings:
    """Settings from a preset file, on top of `base` (defaults if None)."""
    path = resolve_preset(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"preset {path}: not valid TOML ({exc})") from None
    return apply_values(data, base or Settings(), where=f"preset {path}")


def apply_values(data: dict, settings: Settings, where: str) -> Settings:
    """Validate `data` (a preset's table) and return `settings` updated with it."""
    values = {}
    for key, raw in data.items():
        parser = PRESET_KEYS.get(key)
        if parser is None:
            raise UserError(f"{where}: unknown key {key!r}; allowed keys: {', '.join(PRESET_KEYS)}")
        try:
            values[key] = parser(raw, key)
        except ValueError as exc:
            raise UserError(f"{where}: key {key!r} = {raw!r} is not valid; expected {exc}") from None
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
    updated = dataclasses.replace(settings, **values)
    if updated.edge_low >= updated.edge_high:
        raise UserError(
            f"{where}: edge_low ({updated.edge_low}) must be below edge_high ({updated.edge_high})"
        )
    if updated.autoframe_min_zoom > updated.autoframe_max_zoom:
        raise UserError(f"{where}: autoframe_min_zoom ({updated.autoframe_min_zoom}) must not exceed "
                        f"autoframe_max_zoom ({updated.autoframe_max_zoom})")
    return updated


def framing_of(settings: Settings):
    """The auto-framing rules the settings ask for (`pipeline.stages.autoframe.Framing`)."""
    from pipeline.stages.autoframe import Framing

    return Framing(min_zoom=settings.autoframe_min_zoom, max_zoom=settings.autoframe_max_zoom,
                   dead_zone=settings.autoframe_dead_zone, max_speed=settings.autoframe_max_speed,
                   head_room=settings.autoframe_head_room)
