"""The frame graph: a source, a chain of stages, and a fan-out to several sinks.

    source ─▶ [flow limiter] ─▶ ring ─▶ stage ─▶ ring ─▶ … ─▶ stage ─┬─▶ ring ─▶ sink
                                                                     └─▶ ring ─▶ sink

Built and checked once (`Graph.__init__` opens everything and checks the caps of each link), then
`run()` starts one thread per source, stage and sink and blocks until the end of the stream, a
stop request, or an error. Internal rings block (back-pressure); each sink ring uses the sink's
own policy. For live sources the flow limiter at the head drops a captured frame when
`max_in_flight` frames are already inside the graph, and marks the next one `discont`: this is the
only place live frames are dropped. Before it, a live graph's `head_filter` (power saver's lower
frame rate, `pipeline.power`) may leave frames out on purpose: skipped, not dropped, no `discont`.
Offline graphs never drop.

An exception in any thread stops the graph: all rings are aborted, every stage is closed, and
`run()` raises `StageError` naming the stage and the frame. One exception to that, for live graphs
only: a stage with tiers that offers `tier_failed(tier, reason)` (e.g. the upscaler, whose model
may load but fail on real frames) is moved to its next tier instead — the graph posts a warning
naming the stage, the frame and the error, the frame is dropped, and the stream goes on. When the
stage has no tier left to fall to, or the graph is offline (a transcode), the error stops the graph.

`run()` turns OpenCV's own thread pool off for the process (`cv2.setNumThreads(1)`): the graph
already runs a thread per stage on the machine's cores, and OpenCV splitting each resize or blur
across its pool on top of that costs CPU, not time — at 720p on the 2-core box, +0.7 CPU-ms per
frame in the segment stage's shrink, +0.4 in the temporal matte and +0.9 in the blur background
for the same wall time.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import cv2

from pipeline.bus import Bus, Message
from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK, thread_cpu_ns
from pipeline.errors import StageError, UserError
from pipeline.frame import Frame
from pipeline.ring import ABORTED, END_OF_STREAM, Overflow, RingBuffer
from pipeline.stage import Sink, Source, Stage, tiered


class HeadFilter(Protocol):
    """What a live graph asks at its head (`Graph.head_filter`; `pipeline.power.PowerGovernor`)."""

    def skip_next(self) -> bool:
        """True: the source skips its next frame (`Source.skip`) instead of reading it."""
        ...

    def tag(self, frame: Frame) -> None:
        """Called with every frame read (before the flow limiter): may note something in `frame.tiers`."""
        ...


class StageCounters:
    """Frames processed and time spent by one node of the graph (wall and thread-CPU, ms)."""

    def __init__(self, name: str):
        self.name = name
        self.processed = 0
        self.dropped = 0
        self.skipped = 0
        """Frames left out on purpose at the head (`Graph.head_filter`), not counted as dropped."""
        self.wall_ms = 0.0
        self.cpu_ms = 0.0
        self.recent_wall_ms: collections.deque[float] = collections.deque(maxlen=120)

    def record(self, wall_ms: float, cpu_ms: float) -> None:
        self.processed += 1
        self.wall_ms += wall_ms
        self.cpu_ms += cpu_ms
        self.recent_wall_ms.append(wall_ms)

    def as_dict(self) -> dict:
        n = max(self.processed, 1)
        return {
            "processed": self.processed,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "wall_ms_per_frame": self.wall_ms / n,
            "cpu_ms_per_frame": self.cpu_ms / n,
        }


class Graph:
    def __init__(
        self,
        source: Source,
        stages: Sequence[Stage],
        sinks: Sequence[Sink],
        *,
        clock=SYSTEM_CLOCK,
        bus: Bus | None = None,
        ring_capacity: int = 2,
        max_in_flight: int = 2,
        scheduler=None,
    ):
        if not sinks:
            raise UserError("a graph needs at least one sink (e.g. --sink file:out.mp4 or --sink null)")
        names = [source.name] + [s.name for s in stages] + [s.name for s in sinks]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise UserError(f"node names must be unique in a graph, repeated: {sorted(duplicates)}")
        self.source = source
        self.stages = list(stages)
        self.sinks = list(sinks)
        self.clock = clock
        self.bus = bus or Bus()
        self.max_in_flight = max_in_flight
        self.scheduler = scheduler
        """A `DeadlineScheduler` (live graphs): admits frames at the head, learns from finished ones."""
        self.counters = {name: StageCounters(name) for name in names}
        self.latency_ms: dict[str, collections.deque[float]] = {s.name: collections.deque(maxlen=10_000) for s in sinks}
        self.head_filter: HeadFilter | None = None
        """Live graphs: asked before each read whether the source skips its next frame (a lower frame
        rate on purpose: `pipeline.power`); a skipped frame is neither a drop nor a reason for `discont`."""
        self.on_frame_done: Callable[[Frame], None] | None = None
        """Called on the fan-out thread after each frame was handed to every sink (QoS hook)."""

        self._stop_requested = threading.Event()
        self._error: StageError | None = None
        self._error_lock = threading.Lock()
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.interrupted = False

        self.caps: list[Caps] = []
        self._opened: list[Stage | Source] = []
        try:
            self._open_all()
        except BaseException:
            self._close_opened("error")
            raise
        self.stage_rings = [RingBuffer(ring_capacity, Overflow.BLOCK, name=f"->{stage.name}") for stage in self.stages]
        self.sink_rings = [
            RingBuffer(sink.ring_capacity, sink.ring_policy, name=f"->{sink.name}") for sink in self.sinks
        ]
        for sink, ring in zip(self.sinks, self.sink_rings):
            ring.on_drop = self._sink_drop_counter(sink.name)

    # -- building -----------------------------------------------------------------------------
    def _open_all(self) -> None:
        self.source.clock = self.clock  # one clock for capture stamps, deadlines and latency
        self.source.bus = self.bus
        caps = self.source.open()
        self._opened.append(self.source)
        self.caps.append(caps)
        self.live = caps.live
        for node in [*self.stages, *self.sinks]:
            node.bus = self.bus
            node.clock = self.clock
        for stage in self.stages:
            caps = stage.open(caps)
            self._opened.append(stage)
            self.caps.append(caps)
        for sink in self.sinks:
            sink.open(caps)
            self._opened.append(sink)
        self.output_caps = caps

    def _close_opened(self, reason: str) -> None:
        for node in reversed(self._opened):
            try:
                node.close(reason) if isinstance(node, Sink) else node.close()
            except Exception as exc:  # closing after a failure must not hide the failure
                self.bus.post(Message("warning", node.name, f"close failed: {exc}"))
        self._opened.clear()

    def _sink_drop_counter(self, name: str) -> Callable[[object], None]:
        def count(_item: object) -> None:
            self.counters[name].dropped += 1

        return count

    # -- running ------------------------------------------------------------------------------
    def run(self) -> dict:
        """Run to the end of the stream (or `stop()`); returns `stats()`. Raises `StageError`."""
        cv2.setNumThreads(1)  # one thread per stage already (module docstring)
        threads = [threading.Thread(target=self._run_source, name=self.source.name, daemon=True)]
        for i, stage in enumerate(self.stages):
            threads.append(threading.Thread(target=self._run_stage, args=(i,), name=stage.name, daemon=True))
        for i, sink in enumerate(self.sinks):
            threads.append(threading.Thread(target=self._run_sink, args=(i,), name=sink.name, daemon=True))
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            try:
                for t in threads:
                    t.join(timeout=0.05)
            except KeyboardInterrupt:
                self.interrupt()
        self._opened.clear()
        if self._error is not None:
            raise self._error
        return self.stats()

    def stop(self) -> None:
        """Ask the source to end the stream; frames already inside the graph are finished."""
        self._stop_requested.set()

    def interrupt(self) -> None:
        """The user's stop (Ctrl-C): the first call drains like `stop()`, a second one aborts at
        once. Either way sinks close with reason 'interrupt' and keep what they have written."""
        already = self.interrupted
        self.interrupted = True
        if already:
            self._abort_rings()
        else:
            self.stop()

    @property
    def in_flight(self) -> int:
        with self._in_flight_lock:
            return self._in_flight

    def _first_ring_put(self, frame: Frame) -> bool:
        if self.stage_rings:
            return self.stage_rings[0].put(frame)
        return self._fan_out(frame)

    def _run_source(self) -> None:
        counters = self.counters[self.source.name]
        seq = None
        mark_discont = False
        try:
            head_filter = self.head_filter if self.live else None
            while not self._stop_requested.is_set():
                if head_filter is not None and head_filter.skip_next():
                    if not self.source.skip():
                        break
                    counters.skipped += 1
                    continue
                t0, c0 = self.clock.now_ns(), thread_cpu_ns()
                frame = self.source.read()
                if frame is None:
                    break
                seq = frame.seq
                counters.record((self.clock.now_ns() - t0) / 1e6, (thread_cpu_ns() - c0) / 1e6)
                if head_filter is not None:
                    head_filter.tag(frame)
                if self.live and not self._admit(frame):
                    counters.dropped += 1
                    mark_discont = True
                    continue
                if mark_discont:
                    frame.discont = True
                    mark_discont = False
                with self._in_flight_lock:
                    self._in_flight += 1
                if not self._first_ring_put(frame):
                    return  # aborted
            self._put_end_of_stream()
        except BaseException as exc:
            self._fail(self.source.name, seq, exc)
        finally:
            self._close_node(self.source)

    def _admit(self, frame: Frame) -> bool:
        """The flow limiter: room in the graph, and (with a scheduler) a deadline it can meet."""
        if self.in_flight >= self.max_in_flight:
            self.bus.post(Message("drop", self.source.name, "graph full", frame.pts_ns))
            return False
        if self.scheduler is not None and not self.scheduler.admit(
            frame.capture_ns, self.clock.now_ns(), self.in_flight
        ):
            self.bus.post(Message("drop", self.source.name, "would miss its deadline", frame.pts_ns))
            return False
        return True

    def _put_end_of_stream(self) -> None:
        if self.stage_rings:
            self.stage_rings[0].put(END_OF_STREAM)
        else:
            for ring in self.sink_rings:
                ring.put(END_OF_STREAM)

    def _run_stage(self, index: int) -> None:
        stage = self.stages[index]
        ring = self.stage_rings[index]
        counters = self.counters[stage.name]
        is_last = index == len(self.stages) - 1
        seq = None
        try:
            while True:
                item = ring.get()
                if item is ABORTED:
                    return
                if item is END_OF_STREAM:
                    for held in getattr(stage, "flush", list)():  # frames a look-ahead stage held back
                        if not self._pass_on(held, index, is_last):
                            return
                    if is_last:
                        for sink_ring in self.sink_rings:
                            sink_ring.put(END_OF_STREAM)
                    else:
                        self.stage_rings[index + 1].put(END_OF_STREAM)
                    return
                seq = item.seq
                t0, c0 = self.clock.now_ns(), thread_cpu_ns()
                try:
                    out = stage.process(item)
                except Exception as exc:
                    if not self._fall_back(stage, seq, exc):
                        raise
                    counters.dropped += 1
                    with self._in_flight_lock:
                        self._in_flight -= 1
                    continue
                wall_ms = (self.clock.now_ns() - t0) / 1e6
                cpu_ms = wall_ms if stage.cpu_runs_elsewhere else (thread_cpu_ns() - c0) / 1e6
                counters.record(wall_ms, cpu_ms)
                if out is None:
                    if getattr(stage, "delay", 0) > 0 and not self.live:
                        continue  # held back for its look-ahead: passed on later, or by flush()
                    raise RuntimeError("process() returned None; stages must pass every frame on")
                out.stage_ms[stage.name] = wall_ms
                if not self._pass_on(out, index, is_last):
                    return
        except BaseException as exc:
            self._fail(stage.name, seq, exc)
        finally:
            self._close_node(stage)

    def _pass_on(self, frame: Frame, index: int, is_last: bool) -> bool:
        """Stage `index`'s output to the next stage's ring, or to the sinks; False once aborted."""
        return self._fan_out(frame) if is_last else self.stage_rings[index + 1].put(frame)

    def _fall_back(self, stage: Stage, seq: int, exc: Exception) -> bool:
        """Live graphs: move a failing tiered stage to its next tier (module docstring); False when
        the error must stop the graph instead."""
        chooser = tiered(stage)
        if not self.live or chooser is None or isinstance(exc, UserError):
            return False
        failed = chooser.tier
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        new = chooser.tier_failed(failed, reason)
        if new is None:
            return False
        self.bus.post(
            Message(
                "warning",
                stage.name,
                f"{stage.name} failed on frame {seq} with tier {failed} ({reason}); frame dropped, going on with {new}",
            )
        )
        return True

    def _fan_out(self, frame: Frame) -> bool:
        """Hand `frame` to every sink ring; the frame then leaves the flow limiter's count."""
        for ring in self.sink_rings:
            if not ring.put(frame) and self._error is not None:
                return False
        with self._in_flight_lock:
            self._in_flight -= 1
        if self.scheduler is not None:
            self.scheduler.frame_done(frame.capture_ns, frame.stage_ms, frame.tiers, self.clock.now_ns())
        if self.on_frame_done is not None:
            self.on_frame_done(frame)
        return self._error is None

    def _run_sink(self, index: int) -> None:
        sink = self.sinks[index]
        ring = self.sink_rings[index]
        counters = self.counters[sink.name]
        latencies = self.latency_ms[sink.name]
        seq = None
        try:
            while True:
                item = ring.get()
                if item is ABORTED or item is END_OF_STREAM:
                    return
                seq = item.seq
                t0, c0 = self.clock.now_ns(), thread_cpu_ns()
                sink.process(item)
                now = self.clock.now_ns()
                counters.record((now - t0) / 1e6, (thread_cpu_ns() - c0) / 1e6)
                if item.capture_ns:
                    latencies.append((now - item.capture_ns) / 1e6)
        except BaseException as exc:
            self._fail(sink.name, seq, exc)
        finally:
            self._close_node(sink)

    def _close_node(self, node: Stage | Source) -> None:
        """Close `node` on its own thread (some resources, e.g. windows, are thread-bound)."""
        try:
            if isinstance(node, Sink):
                if self._error is not None:
                    reason = "error"
                elif self.interrupted or self._stop_requested.is_set():
                    reason = "interrupt"
                else:
                    reason = "eos"
                node.close(reason)
            else:
                node.close()
        except BaseException as exc:
            self._fail(node.name, None, exc)

    def _fail(self, name: str, seq: int | None, exc: BaseException) -> None:
        with self._error_lock:
            if self._error is None:
                if isinstance(exc, UserError):
                    # a user-fixable problem found while running (e.g. disk full): keep its message
                    self._error = exc  # type: ignore[assignment]
                else:
                    self._error = StageError(name, seq, exc)
                    self._error.__cause__ = exc
                self.bus.post(Message("error", name, str(self._error)))
        self._stop_requested.set()
        self._abort_rings()

    def _abort_rings(self) -> None:
        for ring in [*self.stage_rings, *self.sink_rings]:
            ring.abort()

    # -- observing ----------------------------------------------------------------------------
    def stats(self) -> dict:
        return {
            "nodes": {name: c.as_dict() for name, c in self.counters.items()},
            "rings": [r.stats() for r in [*self.stage_rings, *self.sink_rings]],
            "in_flight": self.in_flight,
        }
