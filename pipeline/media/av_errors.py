"""PyAV's error type and a one-line rendering of any error, for the messages of file sources and sinks."""

from __future__ import annotations

import av

try:  # PyAV >= 14 exposes FFmpegError at top level; older releases only in av.error
    AVError: type[BaseException] = av.FFmpegError
except AttributeError:  # pragma: no cover
    AVError = av.error.FFmpegError


def one_line(exc: BaseException) -> str:
    """The error's message on one line (whitespace runs collapsed), or its type's name when it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__
