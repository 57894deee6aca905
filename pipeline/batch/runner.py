"""The `litecam batch` driver: plans the work, skips what the manifest says is done, runs the
tasks on a backend, joins split files, shows progress and prints the summary.

Exit status: 0 when every file is done (or was already), 2 when files failed only because of
their input or the settings (each named with its one-line reason), 1 when a task failed otherwise
(a stage error, or a worker lost more times than ``--retries`` allows), 130 on Ctrl-C. What
finished is in the manifest either way, and a re-run does the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, field

import av

from kernels.warmup import prepare_kernels
from pipeline.batch import plan as planning
from pipeline.batch.backends import WorkerLost, make_backend
from pipeline.batch.join import join_chunks
from pipeline.batch.manifest import Manifest
from pipeline.batch.worker import TaskSpec
from pipeline.errors import UserError
from pipeline.paths import background_inputs, make_folder, refuse_overwriting_inputs
from pipeline.periodic import ProgressLine
from pipeline.settings import Settings
from pipeline.sinks.encoder import partial_path, remove_if_present

WORK_DIR = ".litecam-batch"
"""Hidden folder in the output folder holding the chunk files of split inputs until they are joined."""


@dataclass
class BatchOptions:
    out_dir: str
    fmt: str = "mp4"
    split: bool = False
    chunk_seconds: float = 30.0
    """--split: a chunk ends at the first keyframe at least this many seconds after its start."""
    warmup_frames: int = 50
    """--split: frames before each chunk run through the graph, unwritten, to prime the matte."""
    cluster: str = "auto"
    workers: int | None = None
    retries: int = 1
    """Times a task whose worker died is run again within the same batch run."""


@dataclass
class _FileState:
    plan: planning.FilePlan
    tasks_left: set = field(default_factory=set)
    chunk_paths: list = field(default_factory=list)
    frames_done: int = 0
    seconds: float = 0.0
    failed: bool = False


def run_batch(inputs: list[str], settings: Settings, options: BatchOptions, *, out=None, err=None) -> int:
    """Run the batch; the summary goes to `out`, progress and messages to `err` (default: the
    process's stdout and stderr); returns the exit status (module docstring)."""
    out, err = out or sys.stdout, err or sys.stderr
    if options.chunk_seconds <= 0 or options.warmup_frames < 0 or options.retries < 0:
        raise UserError("--chunk-seconds must be > 0, --warmup-frames and --retries >= 0")
    if options.workers is not None and options.workers < 1:
        raise UserError(f"--workers must be at least 1, got {options.workers}")
    plans = planning.plan_outputs(planning.find_inputs(inputs), options.out_dir, options.fmt)
    refuse_overwriting_inputs([p.output for p in plans], background_inputs(settings.background))
    out_dir = os.path.abspath(options.out_dir)
    make_folder(out_dir, "output folder (--out-dir)")
    prepare_kernels(report=err)  # compiled once here, local workers then load them from the cache
    manifest = Manifest(out_dir)
    batch = _Batch(plans, settings, options, out_dir, manifest, err)
    return batch.run(out)


class _Batch:
    def __init__(self, plans, settings, options: BatchOptions, out_dir: str, manifest: Manifest, err):
        self.settings, self.options, self.out_dir, self.manifest, self.err = settings, options, out_dir, manifest, err
        self.signature = planning.settings_signature(settings, options.fmt)
        self.files: dict[str, _FileState] = {}
        self.skipped: list[planning.FilePlan] = []
        self.tasks: list[TaskSpec] = []
        self.task_file: dict[str, str] = {}
        self.task_frames: dict[str, int] = {}  # frames reported by each task's current attempt
        self.attempts: dict[str, int] = {}
        for p in plans:
            self._plan_file(p)
        live = [s for s in self.files.values() if not s.failed]
        self.frames_total = sum(s.plan.frames or 0 for s in live)
        self.frames_known = all(s.plan.frames for s in live)
        self.frames_done = 0

    # -- planning -----------------------------------------------------------------------------
    def _plan_file(self, p: planning.FilePlan) -> None:
        source = planning.input_signature(p.input)
        if self.manifest.is_done(p.key, self.signature, source, p.output):
            self.skipped.append(p)
            return
        state = _FileState(p)
        attempts = self.manifest.entries.get(p.key, {}).get("attempts", 0)
        os.makedirs(os.path.dirname(p.output), exist_ok=True)
        self.files[p.key] = state
        if self.options.split:
            try:
                self._plan_chunks(p)
            except UserError as exc:  # this file cannot be read: it fails alone, the others go on
                state.failed = True
                self._record_plan(p, source, attempts, status="failed", error=str(exc), error_kind="input")
                print(f"litecam: batch: {p.key}: failed: {exc}", file=self.err)
                return
        if not p.chunks:
            p.frames = p.frames or _declared_frames(p.input)
            self._add_task(state, TaskSpec(p.key, p.input, p.output, self.settings))
        else:
            work = self._work_dir(p, source)
            os.makedirs(work, exist_ok=True)
            for chunk in p.chunks:
                path = os.path.join(work, f"chunk-{chunk.index:05d}.{self.options.fmt}")
                state.chunk_paths.append(path)
                if os.path.exists(path):  # finished by an earlier run (chunk files appear only when complete)
                    state.frames_done += chunk.frames
                    continue
                self._add_task(
                    state, TaskSpec(f"{p.key}#{chunk.index}", p.input, path, self.settings, chunk, chunk.frames)
                )
        self._record_plan(
            p,
            source,
            attempts,
            status="pending",
            error=None,
            frames=p.frames,
            chunks=len(p.chunks) or None,
            note=p.note or None,
            chunks_done=(len(p.chunks) - len(state.tasks_left)) if p.chunks else None,
        )

    def _record_plan(self, p: planning.FilePlan, source, attempts: int, **fields) -> None:
        """Write file `p`'s manifest entry: what it is made from and with, plus `fields` (its status…)."""
        self.manifest.update(
            p.key, input=p.input, output=p.output, settings=self.signature, source=source, attempts=attempts, **fields
        )

    def _plan_chunks(self, p: planning.FilePlan) -> None:
        scan = planning.scan_packets(p.input)
        if scan is None:
            p.note = "not split: some packets have no timestamps"
            return
        time_base, pts, keyframes = scan
        p.frames = len(pts)
        p.chunks = planning.split_chunks(
            time_base, pts, keyframes, self.options.chunk_seconds, self.options.warmup_frames
        )
        if not p.chunks:
            p.note = (
                f"not split: no keyframe {self.options.chunk_seconds:g} s or more after the start "
                f"(or repeated timestamps)"
            )

    def _work_dir(self, p: planning.FilePlan, source: dict) -> str:
        ident = f"{p.key}|{self.signature}|{source}|{self.options.chunk_seconds}|{self.options.warmup_frames}"
        return os.path.join(self.out_dir, WORK_DIR, hashlib.sha256(ident.encode()).hexdigest()[:16])

    def _add_task(self, state: _FileState, spec: TaskSpec) -> None:
        state.tasks_left.add(spec.task_id)
        self.tasks.append(spec)
        self.task_file[spec.task_id] = state.plan.key
        self.task_frames[spec.task_id] = 0
        self.attempts[spec.task_id] = 0

    # -- running ------------------------------------------------------------------------------
    def run(self, out) -> int:
        for p in self.skipped:
            print(f"litecam: batch: {p.key}: already done (manifest), skipped", file=self.err)
        self.start = time.monotonic()
        self.frames_done = sum(s.frames_done for s in self.files.values())
        self._save()
        for state in list(self.files.values()):
            if not state.tasks_left and not state.failed:  # every chunk was already there: only the join is left
                self._finish_file(state)
        if self.tasks and any(s.tasks_left for s in self.files.values()):
            backend = make_backend(self.options.cluster, self.options.workers)
            print(
                f"litecam: batch: {len(self.files)} file(s), {len(self.tasks)} task(s) on {backend.description}",
                file=self.err,
            )
            interrupted = False
            with ProgressLine(self._progress_text, stream=self.err, final_off_terminal=True):
                try:
                    for spec in self.tasks:
                        backend.submit(spec)
                    while any(s.tasks_left for s in self.files.values()):
                        for message in backend.messages():
                            self._on_message(message)
                        for spec, outcome in backend.poll(0.25):
                            self._on_outcome(backend, spec, outcome)
                except KeyboardInterrupt:
                    interrupted = True
                finally:
                    backend.close()
            if interrupted:
                for spec in self.tasks:  # the stopped tasks' hidden partial files
                    remove_if_present(partial_path(spec.output))
                for state in self.files.values():
                    if state.tasks_left and not state.failed:
                        self.manifest.update(state.plan.key, status="pending", error="interrupted")
                self._save()
                print(self._summary(), file=out)
                print(
                    "litecam: batch interrupted: finished work is kept; run the same command again to do the rest",
                    file=self.err,
                )
                return 130
        self._save()
        print(self._summary(), file=out)
        return self._exit_status()

    def _on_message(self, message) -> None:
        kind, task_id = message[0], message[1]
        key = self.task_file.get(task_id)
        if key is None:
            return
        if kind == "start":
            if self.files[key].failed:  # another chunk of a failed file: it stays failed
                return
            self.manifest.update(key, status="running", worker=message[2])
            self._save()
        elif kind == "frames":
            if task_id not in self.files[key].tasks_left:  # a late report of a task already counted
                return
            self.task_frames[task_id] += message[2]
            self.files[key].frames_done += message[2]
            self.frames_done += message[2]

    def _forget_frames(self, task_id: str) -> None:
        """A task's reported frames no longer count (its attempt failed)."""
        state = self.files[self.task_file[task_id]]
        state.frames_done -= self.task_frames[task_id]
        self.frames_done -= self.task_frames[task_id]
        self.task_frames[task_id] = 0

    def _on_outcome(self, backend, spec: TaskSpec, outcome) -> None:
        for message in backend.messages():  # its last frame counts arrive before its result is handled
            self._on_message(message)
        state = self.files[self.task_file[spec.task_id]]
        key = state.plan.key
        self.attempts[spec.task_id] += 1
        entry = self.manifest.entries[key]
        entry["attempts"] = entry.get("attempts", 0) + 1
        if isinstance(outcome, WorkerLost):
            self._forget_frames(spec.task_id)
            remove_if_present(partial_path(spec.output))
            if self.attempts[spec.task_id] <= self.options.retries:
                print(f"litecam: batch: {spec.task_id}: {outcome.reason}; running it again", file=self.err)
                backend.submit(spec)
                return
            self._fail(state, spec.task_id, f"worker lost: {outcome.reason}", "crash")
            return
        state.seconds += outcome["seconds"]
        if not outcome["ok"]:
            self._forget_frames(spec.task_id)
            self._fail(state, spec.task_id, outcome["error"], outcome["kind"])
            return
        # the task's own count is the truth (progress reports are best-effort)
        self._forget_frames(spec.task_id)
        state.frames_done += outcome["frames"]
        self.frames_done += outcome["frames"]
        state.tasks_left.discard(spec.task_id)
        if state.plan.chunks:
            entry["chunks_done"] = len(state.plan.chunks) - len(state.tasks_left)
        if not state.tasks_left and not state.failed:
            self._finish_file(state)
        self._save()

    def _fail(self, state: _FileState, task_id: str, error: str, kind: str) -> None:
        state.tasks_left.discard(task_id)
        state.failed = True
        self.manifest.update(state.plan.key, status="failed", error=error, error_kind=kind)
        print(f"litecam: batch: {task_id}: failed: {error}", file=self.err)
        self._save()

    def _finish_file(self, state: _FileState) -> None:
        p = state.plan
        try:
            if p.chunks:
                assert p.frames is not None, "a split file's packets were counted by the plan"
                frames = join_chunks(state.chunk_paths, p.input, p.output, p.frames)
                shutil.rmtree(os.path.dirname(state.chunk_paths[0]), ignore_errors=True)
                _remove_if_empty(os.path.join(self.out_dir, WORK_DIR))
            else:
                frames = state.frames_done
        except UserError as exc:
            self._fail(state, p.key, str(exc), "input")
            return
        self.manifest.update(
            p.key,
            status="done",
            error=None,
            error_kind=None,
            frames=frames,
            seconds=round(state.seconds, 3),
            worker=None,
        )
        self._save()

    def _save(self) -> None:
        try:
            self.manifest.save()
        except OSError as exc:
            raise UserError(f"cannot write the batch manifest {self.manifest.path}: {exc.strerror or exc}") from None

    # -- reporting ----------------------------------------------------------------------------
    def _progress_text(self) -> str:
        states = self.files.values()
        done = sum(1 for s in states if not s.tasks_left and not s.failed)
        failed = sum(1 for s in states if s.failed)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        fps = self.frames_done / elapsed
        text = f"batch: files {done}/{len(self.files)}" + (f" ({failed} failed)" if failed else "")
        if self.frames_known and self.frames_total:
            left = self.frames_total - self.frames_done
            eta = f"ETA {left / fps:4.0f} s" if fps > 0 else "ETA    ? s"
            text += (
                f" | frames {self.frames_done}/{self.frames_total} ({100 * self.frames_done / self.frames_total:3.0f}%)"
            )
            return text + f" | {fps:5.1f} fps | {eta}"
        return text + f" | frames {self.frames_done} | {fps:5.1f} fps"

    def _summary(self) -> str:
        rows = ["| file | status | frames | chunks | task s | fps | note |", "|---|---|---:|---:|---:|---:|---|"]
        for p in self.skipped:
            entry = self.manifest.entries[p.key]
            done = f"already in {os.path.basename(p.output)}"
            rows.append(f"| {p.key} | skipped (done) | {entry.get('frames') or ''} | | | | {done} |")
        for key, state in self.files.items():
            entry = self.manifest.entries[key]
            frames = entry.get("frames") if entry.get("status") == "done" else state.frames_done
            fps = f"{frames / state.seconds:.1f}" if state.seconds and frames else ""
            note = entry.get("error") or state.plan.note or ""
            chunks = len(state.plan.chunks) or ""
            rows.append(
                f"| {key} | {entry.get('status')} | {frames or 0} | {chunks} | {state.seconds:.1f} | {fps} | {note} |"
            )
        wall = time.monotonic() - self.start
        rows.append(
            f"\n{self.frames_done} frames in {wall:.1f} s ({self.frames_done / max(wall, 1e-9):.1f} fps); "
            f"manifest: {self.manifest.path}"
        )
        return "\n".join(rows)

    def _exit_status(self) -> int:
        kinds = {self.manifest.entries[k].get("error_kind") for k, s in self.files.items() if s.failed}
        if not kinds:
            return 0
        return 2 if kinds == {"input"} else 1


def _declared_frames(path: str) -> int | None:
    try:
        with av.open(path, metadata_errors="replace") as container:
            return container.streams.video[0].frames or None if container.streams.video else None
    except Exception:  # the worker reports what is wrong with it, in one line
        return None


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass
