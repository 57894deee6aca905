"""A run's settings: the run's own parameters and every stage's, gathered from their declarations.

`PARAMS` (key → `pipeline.params.Param`) is the one list: the run's own keys (`RUN_PARAMS`: frame
size and rate, frames in flight, the latency budget, the sinks), then those each stage class declares
in its `params` (`OWNERS`). `Settings` is a dataclass made from it: one field per key, with the
declared default. `validate` checks a table of raw values (a preset's, the control page's) and the
stages' rules across keys (`Stage.check_settings`, e.g. edge_low < edge_high); `LIVE_KEYS` are those a
running graph takes (`pipeline.settings_service`), and `presets_reference()` renders the presets
reference (`docs/presets.md`, checked against the declarations by a test).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.errors import UserError
from pipeline.options import parse_fps, parse_size
from pipeline.params import Param, check_string, integer_in, number_in, one_of
from pipeline.power import POWER_MODES
from pipeline.stage import Stage
from pipeline.stages.autoframe import AutoFrame
from pipeline.stages.background import Background
from pipeline.stages.light import Light
from pipeline.stages.matte import Matte
from pipeline.stages.restore import Restore
from pipeline.stages.segment import Segment
from pipeline.stages.upscale.stage import Upscale

SINK_KINDS = ("virtualcam", "preview", "overlay", "null")
"""Sinks a preset may name for `litecam run` (file and overlay addresses are command-line only)."""


def _size(value: Any, key: str) -> tuple[int, int]:
    if not isinstance(value, str):
        raise ValueError('a string such as "1280x720"')
    return parse_size(value, option=key)


def _fps(value: Any, key: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("a number of frames per second, e.g. 30")
    return parse_fps(value, option=key)


def _sinks(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in SINK_KINDS for v in value):
        raise ValueError(f"a list drawn from {list(SINK_KINDS)}")
    return list(value)


RUN_PARAMS = (
    Param("description", check_string, "", "What the preset is for, in words (for whoever reads the file).", live=True),
    Param(
        "size",
        _size,
        (1280, 720),
        "Frame size of camera, synthetic and image input, WIDTHxHEIGHT (even, 32x32 to 3840x2160).",
        flag="--size",
        metavar="WxH",
    ),
    Param(
        "fps",
        _fps,
        Fraction(30),
        "Frame rate of camera, synthetic and image input, frames per second "
        "(more than 0, at most 120; 29.97 and 30000/1001 work).",
        flag="--fps",
        metavar="N",
    ),
    Param(
        "max_in_flight",
        integer_in(1, 8),
        2,
        "Live: frames allowed inside the graph at once before the head drops new ones.",
    ),
    Param(
        "latency_budget_frames",
        number_in(1, 10, what="a number of frame periods"),
        2.0,
        "Live: a frame's deadline is its capture time plus this many frame periods.",
    ),
    Param(
        "power",
        one_of(POWER_MODES),
        "performance",
        "Live runs: performance, saver (about half the frame rate, 15 fps from a 30 fps camera, and the "
        "person model less often: pipeline/power.py) or auto (saver while the computer runs on battery, "
        "where the system says so).",
        live=True,
        flag="--power",
        metavar="MODE",
        choices=POWER_MODES,
    ),
    Param(
        "sinks",
        _sinks,
        [],
        f"Default sinks of `litecam run`, a list drawn from {', '.join(SINK_KINDS)} "
        "(`--sink` overrides it; none: virtualcam).",
    ),
)
"""The run's own parameters (not any one stage's)."""

OWNERS: tuple[type[Stage], ...] = (Restore, Light, Segment, Matte, Background, AutoFrame, Upscale)
"""The stage classes whose `params` make up the settings, in the graph's order."""

PARAMS: dict[str, Param] = {p.key: p for p in RUN_PARAMS}
OWNER_OF: dict[str, type[Stage]] = {}
"""key → the stage class that declares it (the run's own keys have none)."""
for _owner in OWNERS:
    for _param in _owner.params:
        if _param.key in PARAMS:
            raise AssertionError(f"setting {_param.key!r} declared twice")
        PARAMS[_param.key] = _param
        OWNER_OF[_param.key] = _owner

LIVE_KEYS = frozenset(key for key, p in PARAMS.items() if p.live)
"""Keys a running graph takes; every other key needs a restart."""


def _field(param: Param) -> tuple[str, type, Any]:
    default = param.default
    if isinstance(default, list):
        return param.key, list, dataclasses.field(default_factory=lambda: list(default))
    return param.key, type(default), dataclasses.field(default=default)


if TYPE_CHECKING:

    class Settings:
        """Every setting of a run (a dataclass with one field per key of `PARAMS`)."""

        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

        def __init__(self, **values: Any) -> None: ...

        def __getattr__(self, key: str) -> Any: ...
else:
    Settings = dataclasses.make_dataclass("Settings", [_field(p) for p in PARAMS.values()])
    Settings.__module__ = __name__  # pickled by name (batch workers): pipeline.settings.Settings
    Settings.__doc__ = "Every setting of a run: one field per key of `pipeline.settings.PARAMS`, with its default."


def validate(data: dict, settings: Settings, where: str) -> Settings:
    """`settings` updated with `data` (raw values by key, e.g. a preset's table), every value parsed
    and the stages' cross-key rules checked. `UserError` naming `where`, the key and what is allowed."""
    if not isinstance(data, dict):
        raise UserError(f'{where}: expected a table of settings, e.g. background = "blur"')
    values = {}
    for key, raw in data.items():
        param = PARAMS.get(key)
        if param is None:
            raise UserError(f"{where}: unknown key {key!r}; allowed keys: {', '.join(PARAMS)}")
        try:
            values[key] = param.parse(raw, key)
        except ValueError as exc:
            raise UserError(f"{where}: key {key!r} = {raw!r} is not valid; expected {exc}") from None
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
    updated = dataclasses.replace(settings, **values)
    for owner in OWNERS:
        try:
            owner.check_settings(updated)
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
    return updated


def presets_reference() -> str:
    """The presets reference in Markdown: every key, its default, live or restart, and what it does."""

    def shown(value: Any) -> str:
        if isinstance(value, tuple) and len(value) == 2:
            return f'"{value[0]}x{value[1]}"'
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, list)):
            return repr(value).replace("'", '"')
        return str(value)

    lines = [
        "# Presets reference",
        "",
        "A preset is a TOML file of the keys below (`litecam run --preset NAME|PATH`); the built-in ones are",
        "in `presets/`. Command-line options override the preset, which overrides the defaults. *live*: a",
        "running `litecam run` takes a change (control page, or saving the `--preset` file); *restart*: it",
        "needs a restart. Generated from the parameter declarations (`python -m pipeline.settings > docs/presets.md`).",
        "",
        "| key | default | flag | changes | what it does |",
        "|---|---|---|---|---|",
    ]
    for param in PARAMS.values():
        owner = OWNER_OF.get(param.key)
        what = param.help.replace("|", "\\|").replace("\n", " ")
        if owner is not None:
            what = f"{what} ({owner.name} stage)"
        lines.append(
            f"| `{param.key}` | `{shown(param.default)}` | {f'`{param.flag}`' if param.flag else ''} "
            f"| {'live' if param.live else 'restart'} | {what} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(presets_reference(), end="")
