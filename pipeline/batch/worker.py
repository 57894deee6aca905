"""One batch task: the offline transcode graph over a whole file or one chunk of it.

`run_task` runs in a worker process (a pool process or a Ray worker). It reports through
`report(message)`, a callable that must be cheap and never raise:
``("start", task_id, "host:pid")`` once, then ``("frames", task_id, n)`` with the frames written
since the last report, about twice a second. It returns a result dict: ``ok``, ``frames``,
``seconds``, ``cpu_s``, and on failure ``error`` (one line) and ``kind`` (``input``: the file or
the settings are at fault, retrying will not help; ``stage``: a stage failed on a frame;
``internal``: any other exception). Only a crash of the process itself (killed, out of memory)
escapes as an exception, raised by the backend.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from pipeline.batch.plan import Chunk
from pipeline.errors import StageError, UserError
from pipeline.periodic import Periodic
from pipeline.settings import Settings
from pipeline.sinks.encoder import remove_if_present


@dataclass(frozen=True)
class TaskSpec:
    """`output`: the final output (whole file) or the chunk's file; `frames`: how many frames the
    task must write (None when the file does not say), checked so that no frame goes missing."""

    task_id: str
    input: str
    output: str
    settings: Settings
    chunk: Chunk | None = None
    frames: int | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_task(spec: TaskSpec, report) -> dict:
    from pipeline.chain import offline_stages
    from pipeline.graph import Graph
    from pipeline.sinks.encoder import FileSink
    from pipeline.sources.file import FileSource

    report(("start", spec.task_id, worker_name()))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    chunk = spec.chunk
    sink = None
    try:
        if chunk is None:
            source = FileSource(spec.input)
            sink = FileSink(spec.output)
        else:
            source = FileSource(
                spec.input, audio=False, seek_pts=chunk.seek_pts, start_pts=chunk.warmup_pts, end_pts=chunk.end_pts
            )
            sink = FileSink(spec.output, audio=False, write_from_pts=chunk.start_pts)
        graph = Graph(source, offline_stages(spec.settings), [sink])
        with _FrameReporter(spec.task_id, sink, report):
            graph.run()
        if spec.frames is not None and sink.frames_written != spec.frames:
            remove_if_present(spec.output)
            raise UserError(
                f"{spec.input}: wrote {sink.frames_written} of the {spec.frames} frames "
                f"expected{_chunk_text(chunk)}; the file may be damaged"
            )
    except UserError as exc:
        return _failed(spec, exc, "input", wall0, cpu0, sink)
    except StageError as exc:
        return _failed(spec, exc, "stage", wall0, cpu0, sink)
    except Exception as exc:  # a bug, not the input's fault: one line in the manifest, the batch goes on
        return _failed(spec, exc, "internal", wall0, cpu0, sink)
    return {
        "ok": True,
        "frames": sink.frames_written,
        "seconds": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }


def _chunk_text(chunk: Chunk | None) -> str:
    return f" in chunk {chunk.index}" if chunk is not None else ""


def _failed(spec: TaskSpec, exc: Exception, kind: str, wall0: float, cpu0: float, sink) -> dict:
    return {
        "ok": False,
        "error": " ".join(str(exc).split()),
        "kind": kind,
        "frames": sink.frames_written if sink is not None else 0,
        "seconds": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
    }


class _FrameReporter(Periodic):
    """Sends the sink's newly written frame count every `interval_s` while the graph runs."""

    def __init__(self, task_id: str, sink, report, interval_s: float = 0.5):
        self.task_id, self.sink, self.report, self.interval_s = task_id, sink, report, interval_s
        self._sent = 0

    def tick(self) -> None:
        written = self.sink.frames_written
        if written > self._sent:
            self.report(("frames", self.task_id, written - self._sent))
            self._sent = written
