"""Parameter declarations: each setting of a run, declared once by the part of the pipeline that owns it.

A `Param` names a preset key, how a value is checked (`parse`), its default, whether a running graph
takes a change (`live`) or needs a restart, its help text and, where the command line overrides it,
its flag. Stages declare theirs as a class attribute `params` (GStreamer's param specs and Holoscan's
`spec.param` are the models); the run's own (frame size, rate, sinks…) are in `pipeline.settings`.
From these declarations come the `Settings` type, preset validation, the CLI flags, the live/restart
split, the routing of live changes and the presets reference (`docs/presets.md`).

Parsers take the raw value (a TOML/JSON value, or the command line's text where `Param.flag_type` is
`str`) and the name to report it under, and return the clean value or raise `ValueError` whose message
says what is allowed ("a number from 0 to 1"); a parser may raise `UserError` for a full message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Parser = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Param:
    """One setting. `default` is the clean value (what `parse` returns); `choices`, where set, are the
    only values allowed (shown in help and docs); `flag` is the command-line option that overrides the
    preset (None: presets and the control page only); `flag_type` converts the flag's text before
    `parse` (`bool` flags are switches that set True)."""

    key: str
    parse: Parser
    default: Any
    help: str
    live: bool = False
    flag: str | None = None
    flag_type: type = str
    metavar: str | None = None
    choices: tuple[Any, ...] | None = None


def check_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def check_string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def number_in(lo: float, hi: float, *, low_open: bool = False, what: str = "a number") -> Parser:
    """A parser for an int or float in [lo, hi] (or (lo, hi] with `low_open`), returned as float."""
    allowed = f"{what} more than {lo} and at most {hi}" if low_open else f"{what} from {lo} to {hi}"

    def parse(value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(allowed)
        if not (lo < value <= hi if low_open else lo <= value <= hi):
            raise ValueError(allowed)
        return float(value)

    return parse


def integer_in(lo: int, hi: int) -> Parser:
    """A parser for an int in [lo, hi]."""

    def parse(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"an integer from {lo} to {hi}")
        return value

    return parse


def one_of(choices: Sequence[Any]) -> Parser:
    """A parser for one of `choices` (compared with ==, so types must match)."""

    def parse(value: Any, key: str) -> Any:
        if isinstance(value, bool) or value not in choices:
            raise ValueError(f"one of {', '.join(map(str, choices))}")
        return value

    return parse
