"""Error classes of the graph.

`UserError` is a problem the user can fix (bad path, no camera, bad preset): the CLI prints its
message on one line and exits with status 2, no traceback. `StageError` is raised from
`Graph.run()` when a stage fails; it names the stage and the frame.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def terminal_safe(text: str) -> str:
    """`text` with every control character (newlines, escape sequences…) written as an escape such as
    `\\x1b`: a value the user or a web page supplied cannot forge lines or move the cursor when printed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class UserError(Exception):
    """A problem with the user's input: one line naming the thing and what would work."""

    exit_status = 2


class GraphError(UserError):
    """A graph that can never work (incompatible links), refused when it is built."""


class StageError(RuntimeError):
    """A stage raised while the graph ran; `stage` and `seq` name where it happened."""

    def __init__(self, stage: str, seq: int | None, cause: BaseException):
        where = f"frame {seq}" if seq is not None else "start-up/shutdown"
        super().__init__(f"stage '{stage}' failed at {where}: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.seq = seq
        self.cause = cause
