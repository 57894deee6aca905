"""Where batch tasks run. Both backends have the same semantics:

- `submit(spec)` queues a task; `poll(timeout_s)` returns ``[(spec, outcome)]`` for the tasks that
  ended, where outcome is `run_task`'s result dict or a `WorkerLost` (the process running it died:
  killed, out of memory, its machine gone). A task whose worker is lost is not retried by the
  backend: the driver decides (``--retries``) and records it in the manifest.
- `messages()` returns the progress messages workers sent since the last call.
- `close()` stops everything still running (Ctrl-C) and releases the workers.

`LocalBackend`: a pool of `workers` processes on this machine (spawned, so no thread or lock of the
driver is inherited). `RayBackend`: Ray tasks (one CPU each by default) on the cluster that
`address` names; see docs/batch.md for what each machine of a cluster needs.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipeline.batch.worker import TaskSpec, run_task
from pipeline.errors import UserError


class WorkerLost:
    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"WorkerLost({self.reason!r})"


# -- local process pool ---------------------------------------------------------------------------
_progress_queue: Any = None


def _init_pool_worker(progress_queue) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the workers


def _report_to_queue(message) -> None:
    if _progress_queue is None:
        return
    try:
        _progress_queue.put_nowait(message)
    except Exception:  # progress is best-effort: never fail a task over it
        pass


def _pool_task(spec: TaskSpec) -> dict:
    return run_task(spec, _report_to_queue)


class LocalBackend:
    def __init__(self, workers: int):
        self.workers = workers
        self.description = f"local process pool, {workers} worker{'s' if workers > 1 else ''}"
        self._ctx = multiprocessing.get_context("spawn")
        self._queue = self._ctx.Queue()
        self._futures: dict = {}  # future -> spec
        self._pids: dict[str, int] = {}  # task_id -> pid of the worker that started it
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=self._ctx, initializer=_init_pool_worker, initargs=(self._queue,)
        )

    def submit(self, spec: TaskSpec) -> None:
        self._futures[self._pool.submit(_pool_task, spec)] = spec

    def messages(self) -> list:
        out = []
        while True:
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                break
            if message[0] == "start":
                self._pids[message[1]] = int(message[2].rsplit(":", 1)[1])
            out.append(message)
        return out

    def poll(self, timeout_s: float) -> list:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout_s, return_when=FIRST_COMPLETED)
        ended, broken = [], False
        for future in done:
            spec = self._futures.pop(future)
            try:
                ended.append((spec, future.result()))
            except BrokenProcessPool:
                broken = True
                self._futures[future] = spec  # sorted out below with the others
        if broken:
            ended += self._recover()
        return ended

    def _recover(self) -> list:
        """A worker died and took the pool down: the tasks it was running are lost; every other
        task is resubmitted to a new pool (one that had started is redone from its beginning)."""
        self.messages()  # learn which worker started which task
        processes = dict(self._pool._processes or {})  # noqa: SLF001 - the pool's own record of its workers
        self._pool.shutdown(wait=True, cancel_futures=True)
        # The pool SIGTERMs its other workers when one dies: the culprit is the one that ended
        # otherwise (SIGKILL from the OOM killer or a user, a crash). If none did (someone sent it
        # SIGTERM), every task that had started is charged, so a task that kills its worker every
        # time cannot be retried for ever.
        ended = {pid: proc.exitcode for pid, proc in processes.items() if proc.exitcode is not None}
        dead = {pid for pid, code in ended.items() if code != -signal.SIGTERM} or set(ended)
        specs = list(self._futures.values())
        self._futures.clear()
        self._pool = self._new_pool()
        lost = []
        for spec in specs:
            pid = self._pids.get(spec.task_id)
            if pid in dead:
                lost.append((spec, WorkerLost(f"worker process {pid} died (killed or out of memory)")))
            else:
                self.submit(spec)
        return lost

    def close(self) -> None:
        for proc in list((self._pool._processes or {}).values()):  # noqa: SLF001 - stop running tasks now
            if proc.is_alive():
                proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._queue.close()


# -- Ray ------------------------------------------------------------------------------------------
class RayBackend:
    def __init__(self, address: str | None, cpus_per_task: float = 1.0):
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise UserError(
                "--cluster ray needs Ray: pip install 'litecam[cluster]' (or use --cluster local)"
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except ConnectionError as exc:
                raise UserError(
                    f"--cluster {address}: no Ray cluster answers there ({exc}); "
                    f"start one with 'ray start --head' or use --cluster local"
                ) from None
        self.description = f"Ray cluster, {ray.cluster_resources().get('CPU', 0):g} CPUs"
        self._queue = Queue()
        self._remote = ray.remote(num_cpus=cpus_per_task, max_retries=0)(_ray_task)
        self._refs: dict = {}

    def submit(self, spec: TaskSpec) -> None:
        self._refs[self._remote.remote(spec, self._queue)] = spec

    def messages(self) -> list:
        waiting = self._queue.qsize()
        return self._queue.get_nowait_batch(waiting) if waiting else []

    def poll(self, timeout_s: float) -> list:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout_s)
        ended = []
        for ref in ready:
            spec = self._refs.pop(ref)
            try:
                ended.append((spec, self._ray.get(ref)))
            except self._ray.exceptions.RayError as exc:
                ended.append((spec, WorkerLost(" ".join(str(exc).split())[:300])))
        return ended

    def close(self) -> None:
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        self._queue.shutdown()


def _ray_task(spec: TaskSpec, progress_queue) -> dict:
    def report(message) -> None:
        try:
            progress_queue.put_nowait(message)
        except Exception:  # progress is best-effort: never fail a task over it
            pass

    return run_task(spec, report)


def make_backend(cluster: str, workers: int | None):
    """`auto`: Ray when it is installed and a cluster is running (RAY_ADDRESS set, or `ray start`
    on this machine), else the local pool; `local`; `ray` (join or start a Ray instance here);
    `ray://HOST:PORT` (Ray client)."""
    workers = workers or os.cpu_count() or 1
    if cluster == "local":
        return LocalBackend(workers)
    if cluster == "ray":
        return RayBackend(None)
    if cluster.startswith("ray://"):
        return RayBackend(cluster)
    if cluster == "auto":
        if _ray_cluster_running():
            try:
                return RayBackend("auto")
            except UserError as exc:  # e.g. a stale record of a cluster that has gone
                print(f"litecam: batch: {exc}; using the local pool", file=sys.stderr)
        return LocalBackend(workers)
    raise UserError(f"--cluster {cluster!r}: choose auto, local, ray or ray://HOST:PORT")


def _ray_cluster_running() -> bool:
    try:
        import ray
    except ImportError:
        return False
    if ray.is_initialized() or os.environ.get("RAY_ADDRESS"):
        return True
    return os.path.exists("/tmp/ray/ray_current_cluster")
