"""Chunk planning and dts renumbering, on timestamp lists (no media)."""

from fractions import Fraction

from pipeline.batch.join import renumber_dts
from pipeline.batch.plan import split_chunks


def test_chunks_start_at_keyframes_and_cover_every_frame_once():
    pts = list(range(0, 100))  # 100 frames, time base 1/10 s
    keyframes = [0, 12, 24, 36, 48, 60, 72, 84, 96]
    chunks = split_chunks(Fraction(1, 10), pts, keyframes, chunk_seconds=3.0, warmup_frames=5)
    assert [c.start_pts for c in chunks] == [None, 36, 72]
    assert [c.end_pts for c in chunks] == [36, 72, None]
    assert sum(c.frames for c in chunks) == 100
    assert chunks[0].seek_pts is None and chunks[0].warmup_pts is None
    # chunk 1 primes the matte with the 5 frames before 36, decoded from the keyframe before them
    assert chunks[1].warmup_pts == 31 and chunks[1].seek_pts == 24
    assert chunks[2].warmup_pts == 67 and chunks[2].seek_pts == 60


def test_a_file_without_a_later_keyframe_is_not_split():
    assert split_chunks(Fraction(1, 25), list(range(50)), [0], chunk_seconds=1.0, warmup_frames=5) == []


def test_warmup_reaching_the_start_decodes_from_the_start():
    chunks = split_chunks(Fraction(1, 1), list(range(20)), [0, 10], chunk_seconds=5, warmup_frames=50)
    assert chunks[1].warmup_pts == 0 and chunks[1].seek_pts is None


def test_dts_renumbering_is_what_one_encoder_would_write():
    # x264 with B-pyramid, two GOPs of 5 frames (pts in units of one frame), in decode order
    gop = [0, 4, 2, 1, 3]
    chunk_pts = [gop, [p + 5 for p in gop]]
    dts = renumber_dts(chunk_pts)
    order = [p for c in chunk_pts for p in c]
    assert dts == [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7]  # strictly increasing, 2-frame delay
    assert all(d <= p for d, p in zip(dts, order))
    assert renumber_dts([[0, 1, 2], [3, 4]]) == [0, 1, 2, 3, 4]  # intra-only: dts = pts
