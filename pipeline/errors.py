"""Error classes of the graph.

`UserError` is a problem the user can fix (bad path, no camera, bad preset): the CLI prints its
message on one line and exits with status 2, no traceback. `StageError` is raised from
`Graph.run()` when a stage fails; it names the stage and the frame.
"""

from __future__ import annotations


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
