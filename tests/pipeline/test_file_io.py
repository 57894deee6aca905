"""PyAV media in and out: FileSource / ImageSource → Graph → FileSink / NullSink, on real media.

All media are made here with PyAV into tmp_path and kept tiny (64×48, about a second). One module
(over 500 lines) on purpose: the round trips share their media-making helpers and fixtures.
"""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipeline.caps import Caps
from pipeline.clock import ManualClock
from pipeline.errors import StageError, UserError
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.media.pixels import frame_to_bgr
from pipeline.sinks.encoder import FileSink, partial_path
from pipeline.sinks.null import NullSink
from pipeline.sources.file import FileSource
from pipeline.sources.image import ImageSource
from pipeline.stage import Source, Stage

SHARED_VIDEO = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "video"
W, H = 64, 48


# -- making media -----------------------------------------------------------------------------
def gradient(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A moving RGB gradient, frame i."""
    x = np.arange(w, dtype=np.int32)[None, :]
    y = np.arange(h, dtype=np.int32)[:, None]
    r = (x * 4 + i * 8) % 256
    g = (y * 5 + i * 3) % 256
    b = ((x + y) * 2 + i * 5) % 256
    return np.ascontiguousarray(np.stack(np.broadcast_arrays(r, g, b), axis=-1).astype(np.uint8))


def make_clip(
    path: Path,
    *,
    frames: int = 30,
    fps: int = 25,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    audio: str | None = None,
    audio_seconds: float | None = None,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    size: tuple[int, int] = (W, H),
    rotation: int | None = None,
) -> Path:
    """Encode a test clip; `pts`/`time_base` give irregular (VFR) timestamps; `audio` a sine track."""
    w, h = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        if codec == "libx264":
            vs.codec_context.options = {"preset": "ultrafast"}
        if time_base is not None:
            vs.time_base = time_base
            vs.codec_context.time_base = time_base
        if rotation is not None:
            vs.set_display_rotation(rotation)
        astream = None
        if audio is not None:
            rate = 48000
            astream = out.add_stream(audio, rate=rate)
            astream.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(gradient(i, w, h), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            else:
                frame.pts = i
                frame.time_base = Fraction(1, fps)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        if astream is not None:
            seconds = audio_seconds if audio_seconds is not None else frames / fps
            total = int(seconds * rate)
            t = np.arange(total) / rate
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 960
            for start in range(0, total, chunk):
                part = samples[start : start + chunk]
                af = av.AudioFrame.from_ndarray(part[None, :], format="flt", layout="mono")
                af.sample_rate = rate
                af.pts = start
                af.time_base = Fraction(1, rate)
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


def probe(path: Path) -> dict:
    """Plain PyAV read-back: video frame times, audio packet count and audio duration (seconds)."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        times = [Fraction(f.pts) * Fraction(vs.time_base) for f in c.decode(vs)]
    audio_packets, audio_end, audio_start = 0, None, None
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            tb = Fraction(a.time_base)
            for p in c.demux(a):
                if not p.size:
                    continue
                audio_packets += 1
                start = p.pts * tb
                end = (p.pts + (p.duration or 0)) * tb
                audio_start = start if audio_start is None else min(audio_start, start)
                audio_end = end if audio_end is None else max(audio_end, end)
    return {
        "times": times,
        "frames": len(times),
        "audio_packets": audio_packets,
        "audio_seconds": (audio_end - audio_start) if audio_packets else Fraction(0),
        "audio_frame_s": Fraction(1024, 48000),
    }


def transcode(src: Path, dst: Path, **sink_kwargs) -> FileSink:
    source = FileSource(src)
    sink = FileSink(dst, **sink_kwargs)
    Graph(source, stages=[], sinks=[sink]).run()
    return sink


class ArraySource(Source):
    """Frames from a list of arrays at `fps` (BGR or BGRA), pts = seq × period."""

    name = "arrays"

    def __init__(self, arrays: list[np.ndarray], fps: int = 25):
        self.arrays, self.fps, self.i = arrays, fps, 0

    def open(self) -> Caps:
        h, w, c = self.arrays[0].shape
        return Caps(w, h, Fraction(self.fps), channels=c, frame_count=len(self.arrays))

    def read(self) -> Frame | None:
        if self.i >= len(self.arrays):
            return None
        i, self.i = self.i, self.i + 1
        return Frame(self.arrays[i].copy(), pts_ns=i * 1_000_000_000 // self.fps, seq=i)


def bgra_half_transparent(i: int) -> np.ndarray:
    bgr = gradient(i)
    alpha = np.full((H, W, 1), 255, np.uint8)
    alpha[:, : W // 2] = 0
    return np.ascontiguousarray(np.concatenate([bgr, alpha], axis=2))


# -- round trips ------------------------------------------------------------------------------
def test_mp4_round_trip_keeps_every_frame_its_pts_and_the_audio(tmp_path):
    src = make_clip(tmp_path / "in.mp4", audio="aac")
    sink = transcode(src, tmp_path / "out.mp4")
    a, b = probe(src), probe(tmp_path / "out.mp4")
    assert b["frames"] == a["frames"] == 30 == sink.frames_written
    assert b["times"] == a["times"]
    assert b["audio_packets"] == a["audio_packets"] == sink.audio_packets > 0
    assert abs(b["audio_seconds"] - a["audio_seconds"]) <= a["audio_frame_s"]
    assert not os.path.exists(partial_path(str(tmp_path / "out.mp4")))


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov"])
def test_variable_frame_rate_pts_are_preserved(tmp_path, ext):
    steps = [40, 33, 50, 20, 67, 40, 41, 100, 17, 40] * 2
    pts = list(np.cumsum([0] + steps[:-1]))
    src = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts=[int(p) for p in pts], time_base=Fraction(1, 1000))
    out = tmp_path / f"out{ext}"
    transcode(src, out)
    a, b = probe(src), probe(out)
    assert a["times"] == [Fraction(int(p), 1000) for p in pts]
    assert b["times"] == a["times"]


def test_source_timestamps_are_exact_and_seq_counts_from_zero(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=10, fps=25)
    source = FileSource(src)
    caps = source.open()
    frames = list(iter(source.read, None))
    source.close()
    assert caps.fps == 25 and caps.frame_count == 10 and (caps.width, caps.height) == (W, H)
    tb = caps.video_time_base
    assert [f.seq for f in frames] == list(range(10))
    for f in frames:
        assert f.time_base == tb
        assert f.pts_ns == f.media_pts * tb.numerator * 10**9 // tb.denominator
        assert f.pixels.dtype == np.uint8 and f.pixels.shape == (H, W, 3) and f.pixels.flags.c_contiguous
    assert [f.pts_ns for f in frames] == [i * 40_000_000 for i in range(10)]


def test_every_audio_packet_is_attached_even_after_the_last_video_frame(tmp_path):
    src = make_clip(tmp_path / "in.mkv", frames=10, audio="libopus", audio_seconds=1.5)  # audio outlasts video
    with av.open(str(src)) as c:
        demuxed = sum(1 for p in c.demux(c.streams.audio[0]) if p.size)
    source = FileSource(src)
    caps = source.open()
    frames = list(iter(source.read, None))
    source.close()
    assert caps.has_audio and caps.audio_stream is not None
    attached = [p for f in frames for p in f.audio]
    assert len(attached) == demuxed
    audio_tb = Fraction(caps.audio_stream.time_base)
    assert max(p.pts for p in attached) * audio_tb > Fraction(1)  # the audio after the last frame is kept


def test_opus_audio_is_remuxed_into_mkv_and_reencoded_for_webm(tmp_path):
    src = make_clip(tmp_path / "in.mkv", audio="libopus")
    transcode(src, tmp_path / "out.mkv")
    a, b = probe(src), probe(tmp_path / "out.mkv")
    assert b["frames"] == a["frames"] and b["audio_packets"] == a["audio_packets"]
    src_aac = make_clip(tmp_path / "in.mp4", audio="aac")
    sink = transcode(src_aac, tmp_path / "out.webm")  # AAC cannot go into WebM: re-encoded to Opus
    a, b = probe(src_aac), probe(tmp_path / "out.webm")
    assert b["frames"] == a["frames"]
    with av.open(str(tmp_path / "out.webm")) as c:
        assert c.streams.audio[0].codec_context.name == "opus"
    assert abs(b["audio_seconds"] - a["audio_seconds"]) <= Fraction(1, 25)
    assert sink.audio_packets == a["audio_packets"]


def test_audio_false_writes_video_only(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=5, audio="aac")
    transcode(src, tmp_path / "out.mp4", audio=False)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert not c.streams.audio


# -- alpha -------------------------------------------------------------------------------------
def _decode_alpha(path: Path, decoder: str | None) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        if decoder is None:
            frames = list(c.decode(vs))
        else:
            ctx = av.CodecContext.create(decoder, "r")
            frames = []
            for p in c.demux(vs):
                frames.extend(ctx.decode(p if p.size else None))
        for f in frames:
            out.append(f.to_ndarray(format="bgra"))
    return out


@pytest.mark.parametrize("ext, decoder", [(".webm", "libvpx-vp9"), (".mov", None)])
def test_transparent_output_keeps_alpha(tmp_path, ext, decoder):
    arrays = [bgra_half_transparent(i) for i in range(8)]
    out = tmp_path / f"alpha{ext}"
    Graph(ArraySource(arrays), stages=[], sinks=[FileSink(out)]).run()
    decoded = _decode_alpha(out, decoder)
    assert len(decoded) == 8
    for frame in decoded:
        assert frame[:, : W // 2 - 2, 3].max() <= 8
        assert frame[:, W // 2 + 2 :, 3].min() >= 247
    with av.open(str(out)) as c:
        name = c.streams.video[0].codec_context.name
    assert name == ("vp9" if ext == ".webm" else "prores")


def test_transparent_frames_to_mp4_are_refused_at_open(tmp_path):
    out = tmp_path / "alpha.mp4"
    with pytest.raises(UserError, match=r"\.webm.*\.mov"):
        Graph(ArraySource([bgra_half_transparent(0)]), stages=[], sinks=[FileSink(out)])
    assert list(tmp_path.iterdir()) == []


# -- stopping and failing ------------------------------------------------------------------------
def test_interrupted_graph_leaves_a_playable_file_with_every_frame_so_far(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=10)
    out = tmp_path / "out.mp4"
    source = FileSource(src, loop=True)  # endless: only stop() ends it
    sink = FileSink(out)
    graph = Graph(source, stages=[], sinks=[sink])
    reached = threading.Event()
    read = source.read

    def read_and_watch():
        frame = read()
        if frame is not None and frame.seq == 15:
            reached.set()
        return frame

    source.read = read_and_watch
    stopper = threading.Thread(target=lambda: (reached.wait(10), graph.stop()))
    stopper.start()
    graph.run()
    stopper.join()
    assert sink.final_path == str(out)
    info = probe(out)
    assert info["frames"] == sink.frames_written >= 16
    assert info["times"] == [Fraction(i, 25) for i in range(info["frames"])]
    assert not os.path.exists(partial_path(str(out)))


def test_sink_closed_with_interrupt_finalises_the_file(tmp_path):
    out = tmp_path / "out.mkv"
    sink = FileSink(out)
    sink.open(Caps(W, H, Fraction(25)))
    for i in range(5):
        sink.process(Frame(gradient(i), pts_ns=i * 40_000_000, seq=i))
    assert os.path.exists(partial_path(str(out))) and not out.exists()
    sink.close("interrupt")
    assert probe(out)["frames"] == 5
    assert probe(out)["times"] == [Fraction(i, 25) for i in range(5)]


def test_graph_error_leaves_no_file_and_no_partial(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=20)

    class Boom(Stage):
        name = "boom"

        def process(self, frame):
            if frame.seq == 7:
                raise ValueError("boom")
            return frame

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(StageError, match="boom.*frame 7"):
        Graph(FileSource(src), stages=[Boom()], sinks=[FileSink(out_dir / "out.mp4")]).run()
    assert list(out_dir.iterdir()) == []


def test_no_frames_written_makes_no_file(tmp_path):
    sink = FileSink(tmp_path / "out.mp4")
    sink.open(Caps(W, H, Fraction(25)))
    sink.close("eos")
    assert list(tmp_path.iterdir()) == []


def test_two_file_sinks_share_frames_and_audio_packets(tmp_path):
    src = make_clip(tmp_path / "in.mp4", audio="aac")
    a, b = FileSink(tmp_path / "a.mp4", name="file-a"), FileSink(tmp_path / "b.mkv", name="file-b")
    Graph(FileSource(src), stages=[], sinks=[a, b]).run()
    ref = probe(src)
    mp4, mkv = probe(tmp_path / "a.mp4"), probe(tmp_path / "b.mkv")
    assert mp4["frames"] == mkv["frames"] == ref["frames"]
    assert mp4["audio_packets"] == mkv["audio_packets"] == ref["audio_packets"]
    assert mp4["times"] == ref["times"]
    # Matroska cannot store the AAC priming packet's negative pts: the muxer shifts the whole
    # file (video and audio alike) to start at 0, so the frame times keep their spacing exactly.
    shift = mkv["times"][0] - ref["times"][0]
    assert 0 <= shift <= ref["audio_frame_s"]
    assert [t - shift for t in mkv["times"]] == ref["times"]


def test_one_sink_failing_to_open_removes_the_other_sinks_partial_file(tmp_path):
    good = FileSink(tmp_path / "good.mp4", name="good")
    with pytest.raises(UserError, match="does not exist"):
        Graph(ArraySource([gradient(0)]), stages=[], sinks=[good, FileSink(tmp_path / "no" / "x.mp4", name="bad")])
    assert list(tmp_path.iterdir()) == []


def test_non_increasing_timestamps_are_moved_one_tick_and_counted(tmp_path):
    from pipeline.bus import Bus

    sink = FileSink(tmp_path / "out.mp4")
    sink.bus = Bus()
    sink.open(Caps(W, H, Fraction(25)))
    for i, pts_ns in enumerate([0, 40_000_000, 40_000_000, 80_000_000]):
        sink.process(Frame(gradient(i), pts_ns=pts_ns, seq=i))
    sink.close("eos")
    assert sink.pts_adjusted == 1 and len(sink.bus.messages("warning")) == 1
    assert probe(tmp_path / "out.mp4")["frames"] == 4


def test_audio_packet_without_any_timestamp_is_skipped_and_counted(tmp_path):
    from pipeline.bus import Bus

    src = make_clip(tmp_path / "in.mp4", frames=3, audio="aac")
    source = FileSource(src)
    caps = source.open()
    frames = list(iter(source.read, None))
    sink = FileSink(tmp_path / "out.mp4")
    sink.bus = Bus()
    sink.open(caps)
    first = frames[0].audio[0]
    first.pts = first.dts = None
    for frame in frames:
        sink.process(frame)
    sink.close("eos")
    source.close()
    total = sum(len(f.audio) for f in frames)
    assert sink.audio_skipped == 1 and sink.audio_packets == total - 1
    assert probe(tmp_path / "out.mp4")["audio_packets"] == total - 1
    assert "without timestamp" in sink.bus.messages("warning")[0].text


# -- unwritable output -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, pattern",
    [
        ("missing/out.mp4", "does not exist"),
        ("adir", "is a folder"),
        ("out.xyz", "unknown output extension"),
        ("afile/out.mp4", "is not a folder"),
    ],
)
def test_unwritable_output_is_refused_at_open_before_any_frame(tmp_path, name, pattern):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_bytes(b"x")
    source = ArraySource([gradient(0)])
    with pytest.raises(UserError, match=pattern) as info:
        Graph(source, stages=[], sinks=[FileSink(tmp_path / name)])
    assert name.split("/")[0] in str(info.value)
    assert source.i == 0  # nothing was read


def test_read_only_folder_is_refused_at_open(tmp_path):
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root ignores permission bits: use sysfs
        if not os.path.isdir("/sys/kernel"):
            pytest.skip("running as root and no /sys to stand in for a read-only folder")
        with pytest.raises(UserError, match="cannot write /sys/kernel/out.mp4"):
            FileSink("/sys/kernel/out.mp4").open(Caps(W, H, Fraction(25)))
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(UserError, match="not writable"):
            FileSink(ro / "out.mp4").open(Caps(W, H, Fraction(25)))
    finally:
        ro.chmod(0o755)


# -- bad input --------------------------------------------------------------------------------
def _bad_input(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "directory":
        (tmp_path / "dir.mp4").mkdir()
        return tmp_path / "dir.mp4"
    if kind == "zero-byte":
        (tmp_path / "empty.mp4").write_bytes(b"")
        return tmp_path / "empty.mp4"
    if kind == "garbage":
        (tmp_path / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(20_000))
        return tmp_path / "garbage.mp4"
    if kind == "truncated":
        good = make_clip(tmp_path / "good.mp4", frames=30).read_bytes()
        (tmp_path / "truncated.mp4").write_bytes(good[: len(good) // 2])
        return tmp_path / "truncated.mp4"
    if kind == "audio-only":
        with av.open(str(tmp_path / "audio.m4a"), "w") as out:
            a = out.add_stream("aac", rate=48000)
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
            af.sample_rate, af.pts = 48000, 0
            for p in [*a.encode(af), *a.encode(None)]:
                out.mux(p)
        return tmp_path / "audio.m4a"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "directory", "zero-byte", "garbage", "truncated", "audio-only"])
def test_bad_input_is_a_one_line_user_error_naming_the_path(tmp_path, kind):
    path = _bad_input(tmp_path, kind)
    source = FileSource(path)
    with pytest.raises(UserError) as info:
        source.open()
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    source.close()


def _damaged(tmp_path: Path, kind: str) -> Path:
    if kind == "corrupt-middle":
        data = bytearray(make_clip(tmp_path / "good.mp4", frames=60, size=(160, 120)).read_bytes())
        rng = np.random.default_rng(1)
        for k in range(int(len(data) * 0.4), int(len(data) * 0.6), 97):
            data[k] = int(rng.integers(0, 256))
        path = tmp_path / "corrupt.mp4"
    else:  # index at the front (faststart), then cut: the demuxer just stops early
        good = make_clip(tmp_path / "good.mp4", frames=60, size=(160, 120))
        with av.open(str(good)) as i, av.open(str(tmp_path / "fs.mp4"), "w", options={"movflags": "faststart"}) as o:
            stream = o.add_stream_from_template(i.streams.video[0])
            for packet in i.demux(i.streams.video[0]):
                if packet.size:
                    packet.stream = stream
                    o.mux(packet)
        data = (tmp_path / "fs.mp4").read_bytes()
        data = data[: len(data) * 2 // 3]
        path = tmp_path / "truncated-faststart.mp4"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "kind, pattern",
    [("corrupt-middle", r"decode error after \d+ frame"), ("truncated-faststart", r"ended after \d+ of the 60 frames")],
)
def test_damage_after_the_start_stops_the_graph_with_a_user_error_not_a_silent_drop(tmp_path, kind, pattern):
    path = _damaged(tmp_path, kind)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UserError, match=pattern) as info:
        Graph(FileSource(path), stages=[], sinks=[FileSink(out / "out.mp4")]).run()
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert list(out.iterdir()) == []  # the failed transcode leaves nothing behind


def test_unanswering_url_fails_within_the_timeout():
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers
    port = server.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(UserError, match="could not be opened"):
            FileSource(f"http://127.0.0.1:{port}/x.mp4", timeout_s=0.5).open()
        assert time.monotonic() - t0 < 5
    finally:
        server.close()


# -- looping, odd sizes, rotation -------------------------------------------------------------
def test_looping_source_keeps_pts_increasing_and_marks_each_new_pass_discont(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=6, audio="aac")
    source = FileSource(src, loop=True)
    caps = source.open()
    frames = [source.read() for _ in range(20)]
    source.close()
    assert caps.frame_count is None
    pts = [f.pts_ns for f in frames]
    assert pts == [i * 40_000_000 for i in range(20)]
    assert [f.discont for f in frames] == [i > 0 and i % 6 == 0 for i in range(20)]
    assert np.array_equal(frames[0].pixels, frames[6].pixels)
    audio_pts = [p.pts for f in frames for p in f.audio]
    assert audio_pts == sorted(audio_pts) and len(set(audio_pts)) == len(audio_pts)


def test_odd_frame_size_is_cropped_to_even(tmp_path):
    src = make_clip(tmp_path / "odd.mkv", frames=3, codec="ffv1", pix_fmt="yuv444p", size=(65, 49))
    source = FileSource(src)
    caps = source.open()
    frame = source.read()
    source.close()
    assert (caps.width, caps.height) == (64, 48) and frame.pixels.shape == (48, 64, 3)
    with av.open(str(src)) as c:
        full = frame_to_bgr(next(c.decode(video=0)))
    assert np.array_equal(frame.pixels, full[:48, :64])


def test_display_matrix_rotation_is_honoured(tmp_path):
    src = make_clip(tmp_path / "rot.mp4", frames=2, rotation=90)
    source = FileSource(src)
    caps = source.open()
    frame = source.read()
    source.close()
    assert (caps.width, caps.height) == (H, W) and frame.pixels.shape == (W, H, 3)
    with av.open(str(src)) as c:
        raw = frame_to_bgr(next(c.decode(video=0)))
    assert np.array_equal(frame.pixels, np.rot90(raw, 1))


# -- image source and null sink ---------------------------------------------------------------
def test_image_source_repeats_the_image_at_the_target_rate(tmp_path):
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), gradient(0, 65, 49))
    source = ImageSource(path, fps=Fraction(30000, 1001), frame_count=4)
    sink = NullSink()
    Graph(source, stages=[], sinks=[sink]).run()
    assert sink.frames == 4 and sink.close_reason == "eos"
    assert (sink.caps.width, sink.caps.height) == (64, 48)
    assert sink.last_pts_ns == 3 * 10**9 * 1001 // 30000


def test_live_image_source_paces_on_its_clock(tmp_path):
    path = tmp_path / "card.png"
    cv2.imwrite(str(path), gradient(0))
    clock = ManualClock(start_ns=1_000)
    source = ImageSource(path, fps=25, frame_count=3, clock=clock, live=True)
    assert source.open().live
    frames = [source.read() for _ in range(3)]
    assert source.read() is None
    assert [f.pts_ns for f in frames] == [1_000, 40_001_000, 80_001_000]
    assert clock.now_ns() == 80_001_000
    frames[0].pixels[:] = 0
    assert frames[1].pixels.any()  # each frame has its own pixels


@pytest.mark.parametrize(
    "kind, pattern",
    [
        ("missing", "not found"),
        ("garbage", "not an image"),
        ("alpha", "alpha"),
        ("16bit", "16 bits"),
        ("grey", "greyscale"),
        ("zero", "empty"),
    ],
)
def test_image_source_rejects_what_it_cannot_show_exactly(tmp_path, kind, pattern):
    path = tmp_path / f"{kind}.png"
    if kind == "garbage":
        path.write_bytes(b"not a png at all")
    elif kind == "alpha":
        cv2.imwrite(str(path), np.zeros((8, 8, 4), np.uint8))
    elif kind == "16bit":
        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint16))
    elif kind == "grey":
        cv2.imwrite(str(path), np.zeros((8, 8), np.uint8))
    elif kind == "zero":
        path.write_bytes(b"")
    with pytest.raises(UserError, match=pattern) as info:
        ImageSource(path, fps=25).open()
    assert str(path) in str(info.value)


def test_null_sink_counts_every_frame(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=12)
    sink = NullSink()
    Graph(FileSource(src), stages=[], sinks=[sink]).run()
    assert sink.frames == 12


# -- the shared data set ----------------------------------------------------------------------
def _shared_videos() -> list:
    if not SHARED_VIDEO.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_VIDEO} is absent (../shared/data)"))]
    return [pytest.param(p, id=p.name) for p in sorted(SHARED_VIDEO.iterdir()) if p.suffix in (".mp4", ".avi")]


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("path", _shared_videos())
def test_shared_videos_decode_every_frame(path):
    with av.open(str(path)) as c:
        c.streams.video[0].thread_type = "AUTO"
        expected = sum(1 for _ in c.decode(video=0))
    source = FileSource(path)
    caps = source.open()
    count, last = 0, None
    for frame in iter(source.read, None):
        assert frame.seq == count and (last is None or frame.pts_ns > last)
        count, last = count + 1, frame.pts_ns
    source.close()
    assert count == expected > 0
    assert frame.pixels.shape == (caps.height, caps.width, 3)


@pytest.mark.needs_shared_data
@pytest.mark.skipif(not (SHARED_VIDEO / "talking_head_410x412.mp4").exists(), reason="../shared/data is absent")
def test_shared_talking_head_transcode_keeps_frames_pts_and_audio(tmp_path):
    src = SHARED_VIDEO / "talking_head_410x412.mp4"
    transcode(src, tmp_path / "out.mp4")
    a, b = probe(src), probe(tmp_path / "out.mp4")
    assert b["frames"] == a["frames"] and b["times"] == a["times"]
    assert b["audio_packets"] == a["audio_packets"]
    assert abs(b["audio_seconds"] - a["audio_seconds"]) <= Fraction(1024, 44100)


def test_a_pass_through_transcode_keeps_the_brightness_of_a_real_recording(tmp_path):
    """Decoding to BGR and encoding back with FFmpeg's default conversion darkened the picture by
    about 2 grey levels (pipeline.media.pixels); the exact conversion keeps the luma within 0.3 level
    and the picture within the codec's loss."""
    from tests.conftest import shared_data

    clip = shared_data("video", "talking_head_410x412.mp4")
    out = tmp_path / "out.mp4"
    Graph(FileSource(str(clip)), [], [FileSink(str(out))]).run()
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0)))
    shifts, psnrs = [], []
    for before, after in pairs[:60]:
        y0, y1 = before.to_ndarray(format="gray").astype(np.float64), after.to_ndarray(format="gray")
        shifts.append(float((y1 - y0).mean()))
        psnrs.append(10 * np.log10(255**2 / np.mean((y1 - y0) ** 2)))
    assert len(pairs) >= 60 and abs(np.mean(shifts)) < 0.3, np.mean(shifts)
    assert np.mean(psnrs) > 42, np.mean(psnrs)
