"""Output paths, checked before anything is written: never onto an input, and one clear line
(`UserError`, exit status 2) when a location cannot be written.

Every command that writes files runs these checks on all of its outputs (videos, images, mattes,
`--stats` files, batch outputs) against all of its inputs (the video or images read, a background
image or video) before it builds a graph, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import UserError

PathLike = str | os.PathLike


def is_same_file(a: PathLike, b: PathLike) -> bool:
    """True when `a` and `b` name one file: the same inode where both exist (so symbolic and hard
    links, `..` and bind mounts count), else the same fully resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(outputs: Iterable[PathLike], inputs: Iterable[PathLike]) -> None:
    """`UserError` when any output is one of the inputs (or a link to one)."""
    inputs = [i for i in inputs if i is not None and not is_url(i)]
    for output in outputs:
        for source in inputs:
            if is_same_file(output, source):
                how = "" if os.fspath(output) == os.fspath(source) else " (the same file by another path or a link)"
                raise UserError(
                    f"output {output} is the input {source}{how}; litecam never writes over an "
                    "input: choose another output path"
                )


def make_folder(folder: PathLike, what: str) -> None:
    """Create `folder` (and its parents) if missing; `UserError` naming it when that is impossible or
    it is not writable. `what` names it for the user, e.g. "output folder"."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the {what} {folder}: {exc.strerror or exc} (choose a folder you can write to)"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"the {what} {folder} is not writable (choose a folder you can write to)")


def check_writable_file(path: PathLike, what: str = "") -> None:
    """`UserError` unless `path` can be created or replaced: its folder exists, is a folder and is
    writable, and `path` is not a folder. Nothing is created. `what` names the file for the user
    (e.g. "--stats file"); the path alone names it otherwise."""
    name = f"{what} {path}" if what else f"{path}"
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise UserError(f"{name} is a folder; give a file name inside it")
    if not os.path.isdir(folder):
        reason = "is not a folder" if os.path.exists(folder) else "does not exist (create it first)"
        raise UserError(f"cannot write {name}: folder {folder} {reason}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {name}: folder {folder} is not writable (choose another path)")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UserError(f"cannot write {name}: the file exists and is read-only")


def is_url(path: PathLike) -> bool:
    return "://" in os.fspath(path)


def background_inputs(background: str) -> list[Path]:
    """The media files a `--background` spec reads (image:PATH, video:PATH), as inputs to protect."""
    kind, _, arg = background.partition(":")
    return [Path(arg)] if kind in ("image", "video") and arg else []
