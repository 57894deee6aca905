import threading

import pytest

from pipeline.clock import ManualClock
from pipeline.errors import GraphError, StageError, UserError
from pipeline.graph import Graph
from pipeline.ring import Overflow
from pipeline.stage import Stage
from tests.graphs.helpers import AddOne, Collect, CountingSource, FailAt


def test_every_frame_reaches_every_sink_in_order_offline():
    sinks = [Collect("a"), Collect("b")]
    stats = Graph(CountingSource(50), [AddOne("one"), AddOne("two")], sinks).run()
    for sink in sinks:
        assert [f.seq for f in sink.frames] == list(range(50))
        assert [int(f.pixels[0, 0, 0]) for f in sink.frames] == [(s + 2) % 256 for s in range(50)]
        assert sink.closed_with == "eos"
    assert stats["nodes"]["counting"]["dropped"] == 0
    assert stats["nodes"]["one"]["processed"] == 50


def test_graph_without_stages_fans_out_from_the_source():
    sink = Collect()
    Graph(CountingSource(5), [], [sink]).run()
    assert len(sink.frames) == 5


def test_run_turns_opencvs_own_thread_pool_off():
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        seen = []

        class ReadThreads(AddOne):
            def process(self, frame):
                seen.append(cv2.getNumThreads())
                return super().process(frame)

        Graph(CountingSource(3), [ReadThreads("threads")], [Collect()]).run()
        assert seen == [1, 1, 1]
    finally:
        cv2.setNumThreads(threads)


def test_stage_exception_is_raised_from_run_naming_stage_and_frame():
    failing = FailAt(seq=7)
    sink = Collect()
    graph = Graph(CountingSource(1000), [AddOne(), failing], [sink])
    with pytest.raises(StageError) as info:
        graph.run()
    assert info.value.stage == "fails" and info.value.seq == 7
    assert "stage 'fails' failed at frame 7: ValueError: boom" in str(info.value)
    assert failing.closed and sink.closed_with == "error"
    assert len(sink.frames) <= 7


def test_user_error_inside_a_stage_keeps_its_message():
    class DiskFull(Stage):
        name = "disk"

        def process(self, frame):
            raise UserError("output disk is full")

    with pytest.raises(UserError, match="output disk is full"):
        Graph(CountingSource(3), [DiskFull()], [Collect()]).run()


def test_sink_exception_stops_the_graph():
    class BadSink(Collect):
        def process(self, frame):
            if frame.seq == 3:
                raise OSError("device gone")

    with pytest.raises(StageError, match="stage 'collect' failed at frame 3: OSError"):
        Graph(CountingSource(10_000), [AddOne()], [BadSink()]).run()


def test_open_failure_closes_what_was_opened():
    class Refuses(Stage):
        name = "refuses"

        def open(self, caps):
            raise GraphError("refuses 8x8 input")

    sink, stage = Collect(), FailAt(0)
    with pytest.raises(GraphError, match="refuses"):
        Graph(CountingSource(3), [stage, Refuses()], [sink])
    assert stage.closed


def test_stop_drains_frames_in_flight_and_closes_sinks_with_interrupt():
    sink = Collect()
    graph = Graph(CountingSource(10**9), [AddOne()], [sink])
    stopper = threading.Timer(0.2, graph.stop)
    stopper.start()
    graph.run()
    seqs = [f.seq for f in sink.frames]
    assert seqs == list(range(len(seqs))) and len(seqs) > 0  # nothing lost before the stop
    assert sink.closed_with == "interrupt"


def test_live_head_drops_when_graph_is_full_and_marks_discont():
    clock = ManualClock()
    gate = threading.Event()
    sink = Collect(gate=gate)
    sink.ring_capacity = 1
    graph = Graph(CountingSource(40, live=True, tick_clock=clock), [AddOne()], [sink], clock=clock, max_in_flight=1)
    threading.Timer(0.3, gate.set).start()
    stats = graph.run()
    dropped = stats["nodes"]["counting"]["dropped"]
    assert dropped > 0 and dropped + len(sink.frames) == 40
    # the first frame after every gap is marked discont
    seqs = [f.seq for f in sink.frames]
    for previous, frame in zip(seqs, sink.frames[1:]):
        assert frame.discont == (frame.seq != previous + 1)


def test_offline_graph_never_drops_even_with_slow_sink():
    gate = threading.Event()
    sink = Collect(gate=gate)
    threading.Timer(0.2, gate.set).start()
    stats = Graph(CountingSource(30), [AddOne()], [sink], max_in_flight=1).run()
    assert len(sink.frames) == 30 and stats["nodes"]["counting"]["dropped"] == 0


def test_side_branch_drops_oldest_while_file_branch_keeps_all():
    gate = threading.Event()
    slow_preview = Collect("preview", gate=gate)
    slow_preview.ring_policy, slow_preview.ring_capacity = Overflow.DROP_OLDEST, 1
    keeper = Collect("file")
    threading.Timer(0.3, gate.set).start()
    stats = Graph(CountingSource(200), [], [keeper, slow_preview]).run()
    assert len(keeper.frames) == 200
    assert stats["nodes"]["preview"]["dropped"] == 200 - len(slow_preview.frames) > 0


def test_latency_is_capture_to_sink_on_the_graph_clock():
    clock = ManualClock(start_ns=10_000_000_000)

    class Aged(CountingSource):
        def read(self):
            frame = super().read()
            if frame is not None:
                frame.capture_ns -= 5_000_000  # captured 5 ms before it was read
            return frame

    graph = Graph(Aged(5), [], [Collect()], clock=clock)
    graph.run()
    assert list(graph.latency_ms["collect"]) == [5.0] * 5


def test_graph_needs_a_sink_and_unique_names():
    with pytest.raises(UserError, match="at least one sink"):
        Graph(CountingSource(1), [], [])
    with pytest.raises(UserError, match="unique"):
        Graph(CountingSource(1), [AddOne("x")], [Collect("x")])


class HoldTwo(Stage):
    """Holds two frames back (an offline look-ahead) and passes each on two calls later."""

    name = "hold"
    delay = 2

    def __init__(self):
        self.held = []

    def process(self, frame):
        self.held.append(frame)
        return self.held.pop(0) if len(self.held) > self.delay else None

    def flush(self):
        out, self.held = self.held, []
        return out


def test_a_look_ahead_stage_passes_every_frame_on_in_order_offline_and_is_an_error_live():
    sink = Collect()
    Graph(CountingSource(10), [HoldTwo(), AddOne()], [sink]).run()
    assert [f.seq for f in sink.frames] == list(range(10))  # the last two came from flush()
    assert [int(f.pixels[0, 0, 0]) for f in sink.frames] == [i + 1 for i in range(10)]
    with pytest.raises(StageError, match="returned None"):  # live, a frame held back would be late
        Graph(CountingSource(5, live=True), [HoldTwo()], [Collect()]).run()
