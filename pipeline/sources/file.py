"""A video file or stream URL, decoded with PyAV; audio packets kept for remuxing.

Pixels: every decoded frame is converted to the graph's layout, BGR uint8 (H, W, 3), C-contiguous.
- **Odd sizes** are cropped to even by dropping the last column and/or row (no resampling, so the
  remaining pixels are exactly the decoded ones); `Caps` reports the cropped size. Frames smaller
  than 2×2 are refused with `UserError`.
- **Rotation**: a display matrix (phone video) is honoured: frames are rotated by the multiple of
  90° it names (`VideoFrame.rotation`, counter-clockwise), and `Caps` reports the rotated size.
  Flips and non-right angles in the matrix are ignored (rounded to the nearest 90°).
- **Alpha** in the input (e.g. VP9-with-alpha WebM) is not kept: FFmpeg's native decoders drop it
  and the graph's input layout is BGR.

Timestamps: `media_pts` / `time_base` are the container's pts and the video stream's time base,
kept exactly; `pts_ns = floor(media_pts × time_base × 1e9)` in integer arithmetic. Frames the
decoder returns without a pts get the previous frame's pts plus the frame duration (the frame's own
duration if the container gives one, else one period of the stream's average rate); a first frame
without pts gets the stream's start time, or 0. `seq` counts from 0; `capture_ns` is `clock.now_ns()`
when `read()` returns the frame.

Audio: packets of the first audio stream are demuxed in the same loop as the video and attached,
in demux order, to `frame.audio` of the next video frame the decoder returns; packets demuxed after
the last video frame go onto the last frame (the source holds one frame back for that). No audio
packet is dropped. Empty packets (the demuxer's end-of-stream flush markers) are not audio and are
not attached.

Errors: a missing path, a directory, a zero-byte file, a file PyAV cannot open or whose video it
cannot decode raise `UserError` naming the path. `open()` decodes the first frame, so a file that
opens but does not decode fails before processing starts. A decode or demux error in the middle of
a file also raises `UserError` naming the file and the frame position (how many frames were read),
and so does a file that ends before the frame count its header declares (a truncated MP4 with its
index at the front): frames are not silently dropped. (Not detected: damage that the demuxer skips
over in a container without a frame count, e.g. a corrupt Matroska cluster — FFmpeg resyncs and
no error reaches the caller.) A URL that does not answer fails after `timeout_s`.

`loop=True` (looping background videos): at the end of the file the source seeks back to the start
and goes on; the first frame of each new pass has `discont=True`, and `media_pts`/`pts_ns` keep
increasing (each pass is shifted to start where the previous one ended: its last pts plus that
frame's duration). Audio packet timestamps are shifted by the same amount. `Caps.frame_count` is
None when looping.

A **range** (`start_pts` / `end_pts` / `seek_pts`, in the video stream's time base; used by `litecam
batch --split` to process one chunk): the source seeks to the keyframe at `seek_pts`, decodes from
there, emits only the frames with `start_pts <= pts < end_pts` and stops at the first frame at or
past `end_pts` (decoders return frames in presentation order, so none in the range is missed).
A ranged source carries no audio (the whole file's audio is remuxed once, when the chunks are
joined) and does not loop; its `Caps.frame_count` is None.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from fractions import Fraction

import av
import numpy as np

from pipeline.caps import Caps
from pipeline.clock import SYSTEM_CLOCK
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.media.av_errors import AVError, one_line
from pipeline.media.pixels import frame_to_bgr
from pipeline.stage import Source

_WHAT_WORKS = "try an MP4/MKV/WebM/MOV with H.264, HEVC, VP9, AV1 or MPEG-4 video"
MAX_INPUT_WIDTH, MAX_INPUT_HEIGHT = 4096, 2304
"""Largest frames accepted (4K UHD and DCI 4K fit): 8K would need ~100 MB per frame in flight."""


def _is_url(path: str) -> bool:
    return "://" in path


def check_readable_file(path: str, what: str = "video") -> None:
    """Raise `UserError` unless `path` is an existing, non-empty regular file we may read."""
    if not os.path.exists(path):
        raise UserError(f"{what} file not found: {path} (check the path; give an existing file)")
    if os.path.isdir(path):
        raise UserError(f"{path} is a directory, not a {what} file (give the path of a file inside it)")
    if os.path.getsize(path) == 0:
        raise UserError(f"{what} file is empty (0 bytes): {path} (the file is incomplete; give a complete file)")
    if not os.access(path, os.R_OK):
        raise UserError(f"{what} file is not readable: {path} (check its permissions)")


class FileSource(Source):
    """Frames of a video file or URL (see the module docstring for every rule it follows).

    Named "file-in", not "file": node names are unique in a graph and "file" is the file sink's
    name, so that a transcode (file source → file sink) is a valid graph.
    """

    name = "file-in"

    def __init__(
        self,
        path_or_url: str | os.PathLike,
        *,
        loop: bool = False,
        timeout_s: float = 10.0,
        clock=SYSTEM_CLOCK,
        audio: bool = True,
        start_pts: int | None = None,
        end_pts: int | None = None,
        seek_pts: int | None = None,
    ):
        ranged = start_pts is not None or end_pts is not None or seek_pts is not None
        if ranged and (audio or loop):
            raise ValueError("a ranged FileSource carries no audio and does not loop (audio=False, loop=False)")
        self.path = os.fspath(path_or_url)
        self.start_pts, self.end_pts, self.seek_pts = start_pts, end_pts, seek_pts
        self._ranged = ranged
        self.loop = loop
        self.timeout_s = timeout_s
        self.clock = clock
        self.audio = audio
        self._container: av.container.InputContainer | None = None
        self._gen: Generator[Frame, None, None] | None = None
        self._first: Frame | None = None
        self.frames_read = 0
        self.loops = 0

    # -- opening ------------------------------------------------------------------------------
    def open(self) -> Caps:
        if not _is_url(self.path):
            check_readable_file(self.path)
        try:
            # metadata_errors="replace": broken tag text must not make a playable video unreadable
            if _is_url(self.path):
                self._container = av.open(self.path, timeout=self.timeout_s, metadata_errors="replace")
            else:
                self._container = av.open(self.path, metadata_errors="replace")
        except AVError as exc:
            if _is_url(self.path):
                raise UserError(
                    f"{self.path} could not be opened (av error: {one_line(exc)}); check the URL and "
                    f"that the server answers within {self.timeout_s:g} s"
                ) from exc
            raise UserError(
                f"{self.path} is not a video PyAV can read (av error: {one_line(exc)}); {_WHAT_WORKS}"
            ) from exc
        except OSError as exc:  # pragma: no cover - permissions races etc.
            raise UserError(f"{self.path} could not be opened: {one_line(exc)}") from exc
        try:
            return self._open_streams()
        except BaseException:
            self.close()
            raise

    def _open_streams(self) -> Caps:
        container = self._container
        assert container is not None, "opened by open()"
        if not container.streams.video:
            raise UserError(f"{self.path} has no video stream; {_WHAT_WORKS}")
        video = container.streams.video[0]
        if video.codec_context is None:
            raise UserError(f"{self.path}: its video codec is not one PyAV can decode; {_WHAT_WORKS}")
        ctx = video.codec_context
        if max(ctx.width, ctx.height) > MAX_INPUT_WIDTH or min(ctx.width, ctx.height) > MAX_INPUT_HEIGHT:
            raise UserError(
                f"{self.path}: {ctx.width}x{ctx.height} frames are larger than litecam handles "
                f"(up to {MAX_INPUT_WIDTH}x{MAX_INPUT_HEIGHT}); downscale it first, e.g. "
                f"ffmpeg -i IN -vf scale=1920:-2 OUT"
            )
        video.thread_type = "AUTO"
        self._video = video
        self._audio = container.streams.audio[0] if (self.audio and container.streams.audio) else None
        self._tb = Fraction(video.time_base) if video.time_base else Fraction(1, 90000)
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        self._fps = Fraction(rate)
        self._default_duration = max(1, round(1 / (self._fps * self._tb)))

        # Decode the first frame now: a file that opens but does not decode fails here, before
        # any processing, and the frame tells the real size after rotation and cropping.
        self._gen = self._frames()
        self._first = next(self._gen, None)
        if self._first is None:
            raise UserError(f"{self.path} contains no decodable video frames; {_WHAT_WORKS}")
        h, w = self._first.pixels.shape[:2]
        frames = None if (self.loop or self._ranged) else (video.frames or None)
        return Caps(
            w,
            h,
            self._fps,
            channels=3,
            live=False,
            has_audio=self._audio is not None,
            audio_stream=self._audio,
            video_time_base=self._tb,
            frame_count=frames,
        )

    @property
    def audio_stream(self):
        """The PyAV input audio stream whose packets the frames carry (None without audio)."""
        return self._audio

    # -- reading ------------------------------------------------------------------------------
    def read(self) -> Frame | None:
        frame: Frame | None
        if self._first is not None:
            frame, self._first = self._first, None
        else:
            if self._gen is None:
                return None
            frame = next(self._gen, None)
            if frame is None:
                return None
        frame.capture_ns = self.clock.now_ns()
        return frame

    def close(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None:
            try:
                gen.close()
            except Exception:
                pass
        container, self._container = self._container, None
        if container is not None:
            container.close()

    # -- decoding -----------------------------------------------------------------------------
    def _error(self, exc: BaseException, decoded: int) -> UserError:
        return UserError(
            f"{self.path}: decode error after {decoded} frame(s) of pass {self.loops + 1} "
            f"(av error: {one_line(exc)}); the file is damaged or truncated — "
            f"re-encode or re-download it"
        )

    def _decode_pass(self) -> Iterator[tuple[av.VideoFrame, list]]:
        """One pass over the file: (decoded video frame, audio packets that go with it)."""
        streams = [self._video] + ([self._audio] if self._audio is not None else [])
        audio_index = self._audio.index if self._audio is not None else -1
        held: tuple[av.VideoFrame, list] | None = None
        pending: list = []
        decoded = 0
        packets = 0
        container = self._container
        assert container is not None, "opened by open()"
        try:
            if self.seek_pts is not None:
                container.seek(self.seek_pts, stream=self._video, backward=True, any_frame=False)
            for packet in container.demux(*streams):
                if packet.stream_index == audio_index:
                    if packet.size:
                        pending.append(packet)
                    continue
                if not packet.size:
                    continue  # the demuxer's end marker: the decoder is drained once, below
                packets += 1
                for av_frame in self._video.decode(packet):
                    decoded += 1
                    if held is not None:
                        yield held
                    held, pending = (av_frame, pending), []
            for av_frame in self._video.decode(None):  # drain the frames the decoder still holds
                decoded += 1
                if held is not None:
                    yield held
                held, pending = (av_frame, pending), []
        except AVError as exc:
            raise self._error(exc, decoded) from exc
        if held is not None:
            held[1].extend(pending)
            yield held
        declared = self._video.frames
        if declared and packets < declared and not self._ranged:
            # The index promised more frames than the file holds (e.g. an MP4 with its index at
            # the front, cut short): say so instead of ending early in silence.
            raise UserError(
                f"{self.path} ended after {packets} of the {declared} frames its header declares: "
                f"the file is truncated or damaged; re-encode or re-download it"
            )

    def _to_pixels(self, av_frame: av.VideoFrame) -> np.ndarray:
        pixels: np.ndarray = frame_to_bgr(av_frame)
        turns = round((av_frame.rotation or 0) / 90) % 4
        if turns:
            pixels = np.rot90(pixels, turns)
        h, w = pixels.shape[:2]
        even_h, even_w = h - h % 2, w - w % 2
        if even_h < 2 or even_w < 2:
            raise UserError(f"{self.path}: frame size {w}x{h} is too small (need at least 2x2)")
        if (even_h, even_w) != (h, w):
            pixels = pixels[:even_h, :even_w]
        return np.ascontiguousarray(pixels)

    def _frames(self) -> Generator[Frame, None, None]:
        tb = self._tb
        seq = 0
        offset = 0  # added to this pass's pts so that looping keeps pts increasing
        audio_offset = 0
        next_start: int | None = None  # end of the previous pass (last pts + its duration)
        while True:
            first_in_pass = True
            prev_pts: int | None = None
            prev_duration = self._default_duration
            for av_frame, packets in self._decode_pass():
                pts = av_frame.pts
                duration = av_frame.duration or self._default_duration
                if pts is None:
                    if prev_pts is not None:
                        pts = prev_pts + prev_duration
                    else:
                        start = self._video.start_time
                        pts = start if start is not None else 0
                if self.start_pts is not None and pts < self.start_pts:
                    continue
                if self.end_pts is not None and pts >= self.end_pts:
                    return
                if first_in_pass and next_start is not None:
                    offset = next_start - pts
                    if self._audio is not None and self._audio.time_base is not None:
                        shift = offset * tb / Fraction(self._audio.time_base)
                        audio_offset = round(shift)
                prev_pts, prev_duration = pts, duration
                media_pts = pts + offset
                if audio_offset:
                    for packet in packets:
                        if packet.pts is not None:
                            packet.pts += audio_offset
                        if packet.dts is not None:
                            packet.dts += audio_offset
                frame = Frame(
                    pixels=self._to_pixels(av_frame),
                    pts_ns=(media_pts * tb.numerator * 1_000_000_000) // tb.denominator,
                    seq=seq,
                    discont=first_in_pass and next_start is not None,
                    media_pts=media_pts,
                    time_base=tb,
                    audio=packets,
                )
                first_in_pass = False
                seq += 1
                self.frames_read = seq
                yield frame
            if not self.loop or prev_pts is None:
                return
            next_start = prev_pts + offset + prev_duration
            self.loops += 1
            try:
                assert self._container is not None, "opened by open()"
                self._container.seek(0)
            except AVError as exc:
                raise UserError(
                    f"{self.path}: cannot seek back to the start to loop (av error: {one_line(exc)}); "
                    f"use a seekable file (not a stream) for a looping background"
                ) from exc
            self._video.codec_context.flush_buffers()
