"""Parsers for the command-line values shared by every command.

Each parser returns a clean value or raises `UserError` naming the option, the bad value and the
allowed form, so the CLI and the preset loader reject bad input with one line.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from pipeline.errors import UserError

MIN_SIDE_PX = 32
MAX_WIDTH_PX = 3840
MAX_HEIGHT_PX = 2160
MAX_FPS = 120

_SIZE_RE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")


def parse_size(text: str, option: str = "--size") -> tuple[int, int]:
    """'1280x720' -> (1280, 720); even sides from 32 up to 3840×2160."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise UserError(f"{option} {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720")
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE_PX <= width <= MAX_WIDTH_PX and MIN_SIDE_PX <= height <= MAX_HEIGHT_PX):
        raise UserError(
            f"{option} {width}x{height}: width must be {MIN_SIDE_PX}..{MAX_WIDTH_PX} and "
            f"height {MIN_SIDE_PX}..{MAX_HEIGHT_PX}, e.g. 1280x720"
        )
    if width % 2 or height % 2:
        raise UserError(f"{option} {width}x{height}: width and height must be even (video encoders need it)")
    return width, height


_FPS_RE = re.compile(r"^\s*(\d{1,6}(\.\d{1,9})?|\.\d{1,9}|\d{1,9}/\d{1,9})\s*$")
"""A frame rate as text: a decimal (at most 6 + 9 digits) or a fraction of integers; short on purpose,
so that no value can make the exact parse slow (an exponent such as 1e999999999 is refused)."""


def parse_fps(text: str | float, option: str = "--fps") -> Fraction:
    """'30', '29.97' or '30000/1001' (or a number) -> a Fraction in (0, 120]."""
    expected = f"{option} {str(text)[:40]!r}: expected a number of frames per second, e.g. 30 or 29.97"
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not math.isfinite(text) or not 0 < text <= MAX_FPS:
            raise UserError(f"{option} {str(text)[:40]}: must be more than 0 and at most {MAX_FPS}")
        value = Fraction(text).limit_denominator(1001)
    elif isinstance(text, str) and _FPS_RE.match(text):
        try:
            value = Fraction(text.strip()).limit_denominator(1001)
        except ZeroDivisionError:
            raise UserError(expected) from None
    else:
        raise UserError(expected)
    if not 0 < value <= MAX_FPS:
        raise UserError(f"{option} {text}: must be more than 0 and at most {MAX_FPS}")
    return value


def parse_color(text: str, option: str = "color") -> tuple[int, int, int]:
    """'#RRGGBB' -> (B, G, R), the graph's channel order."""
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", str(text).strip())
    if not match:
        raise UserError(f"{option} {text!r}: expected a colour as #RRGGBB, e.g. #00b140")
    rgb = match.group(1)
    r, g, b = (int(rgb[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r
