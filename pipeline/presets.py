"""Presets: named TOML files of settings, validated on load.

`--preset NAME` reads the built-in `presets/NAME.toml` (the `presets` package, shipped in the wheel and
read with `importlib.resources`); `--preset PATH` reads any file. Command-line options
override the preset, which overrides the declared defaults (`pipeline.settings`). A bad key or value
raises `UserError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path
from typing import Any

from pipeline.errors import UserError
from pipeline.settings import Settings, validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the same parser, as a package
    import tomli as tomllib

BUILTIN_PRESETS = importlib.resources.files("presets")
"""The built-in presets' folder inside the installed package (a checkout's `presets/` when editable)."""


def available_presets() -> list[str]:
    """Names of the built-in presets."""
    return sorted(
        entry.name.removesuffix(".toml") for entry in BUILTIN_PRESETS.iterdir() if entry.name.endswith(".toml")
    )


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
    return validate(read_preset_table(path), base or Settings(), where=f"preset {path}")


MAX_PRESET_BYTES = 64 * 1024
"""Largest preset file read (the built-in ones are under 1 KB)."""


def read_preset_table(path) -> dict[str, Any]:
    """The table of a preset file (`path`: a `Path` or a packaged `Traversable`), at most
    `MAX_PRESET_BYTES` of UTF-8 TOML in a regular file (not a device such as /dev/zero, nor a FIFO);
    `UserError` naming the file otherwise."""
    if isinstance(path, Path) and not path.is_file():
        raise UserError(f"preset {path} is not a regular file (give a .toml file)")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise UserError(f"preset {path} could not be read: {exc.strerror or exc}") from None
    if len(data) > MAX_PRESET_BYTES:
        raise UserError(f"preset {path} is larger than {MAX_PRESET_BYTES // 1024} KB; a preset is a short TOML file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"preset {path}: not valid TOML ({exc})") from None
