import threading

import pytest

from pipeline.ring import ABORTED, END_OF_STREAM, Overflow, RingBuffer


def test_block_policy_waits_for_room_and_keeps_order():
    ring = RingBuffer(2, Overflow.BLOCK)
    assert ring.put(1) and ring.put(2)
    assert not ring.put(3, timeout_s=0.01)  # full: the put times out instead of dropping
    assert ring.dropped == 0
    released = []
    producer = threading.Thread(target=lambda: released.append(ring.put(3)))
    producer.start()
    assert ring.get() == 1
    producer.join(timeout=2)
    assert released == [True]
    assert [ring.get(), ring.get()] == [2, 3]
    assert ring.processed == 3


def test_drops_oldest_when_full():
    ring = RingBuffer(2, Overflow.DROP_OLDEST)
    dropped = []
    ring.on_drop = dropped.append
    for item in range(5):
        assert ring.put(item)
    assert dropped == [0, 1, 2]
    assert ring.dropped == 3
    assert [ring.get(), ring.get()] == [3, 4]


def test_drops_newest_when_full():
    ring = RingBuffer(2, Overflow.DROP_NEWEST)
    assert ring.put(0) and ring.put(1)
    assert not ring.put(2)
    assert ring.dropped == 1
    assert [ring.get(), ring.get()] == [0, 1]


@pytest.mark.parametrize("policy", list(Overflow))
def test_end_of_stream_is_never_dropped(policy):
    ring = RingBuffer(1, policy)
    ring.put("frame")
    assert ring.put(END_OF_STREAM)
    assert ring.get() == "frame"
    assert ring.get() is END_OF_STREAM
    assert ring.processed == 1  # the end-of-stream value is not counted as a frame


def test_never_holds_more_than_capacity():
    ring = RingBuffer(3, Overflow.DROP_OLDEST)
    for item in range(100):
        ring.put(item)
    assert len(ring) == 3 and ring.high_water == 3


def test_abort_wakes_blocked_consumer_and_producer():
    ring = RingBuffer(1, Overflow.BLOCK)
    ring.put("x")
    results = []
    producer = threading.Thread(target=lambda: results.append(ring.put("y")))
    producer.start()
    ring.abort()
    producer.join(timeout=2)
    assert results == [False]
    empty = RingBuffer(1)
    consumer = threading.Thread(target=lambda: results.append(empty.get()))
    consumer.start()
    empty.abort()
    consumer.join(timeout=2)
    assert results[-1] is ABORTED


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)
