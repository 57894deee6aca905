"""Writes the graph's frames to a video file with PyAV: every frame, with its timestamp.

Container and codec follow the extension and whether the frames carry alpha (`caps.channels`):

| extension | BGR input                         | BGRA input (transparent)                     |
|-----------|-----------------------------------|----------------------------------------------|
| `.mp4`    | H.264 (libx264, yuv420p)          | refused (`UserError`: use .webm or .mov)     |
| `.mkv`    | H.264 (libx264, yuv420p)          | refused (`UserError`: use .webm or .mov)     |
| `.webm`   | VP9 (libvpx-vp9, yuv420p)         | VP9 with alpha (libvpx-vp9, yuva420p)        |
| `.mov`    | H.264 (libx264, yuv420p)          | ProRes 4444 (prores_ks, yuva444p10le)        |

VP9 alpha is stored as a Matroska BlockAdditional: decode it with the `libvpx-vp9` decoder to get
the alpha back (FFmpeg's native `vp9` decoder drops it). ProRes 4444 alpha decodes with the native
decoder.

Checked in `open()`, before any frame is processed (each a one-line `UserError`): the extension, the
output folder (exists, is a folder, writable), that the path is not a folder, alpha vs container,
even frame size. The output goes to a hidden partial file in the same folder
(`.NAME.partial.EXT`), opened in `open()` so that an unwritable location fails at once, and is
renamed to the final path by `close()`:
- reason 'eos' or 'interrupt': the encoder is flushed, the container finalised and the file renamed
  into place, so Ctrl-C leaves a playable file with every frame processed so far;
- reason 'error': the container is closed and the partial file deleted (no broken output);
- a failure while finalising (e.g. disk full) deletes the partial file and raises `UserError`;
- no frame written at all: the partial file is deleted and nothing is written (a warning is posted).

Timestamps: when the frames carry `media_pts` / `time_base` (a `FileSource`) and `caps.video_time_base`
is that time base, the output stream uses that time base and every frame is written with exactly
its `media_pts` (variable frame rate preserved; a container with a fixed time base — Matroska/WebM
use 1 ms — rounds to its own tick). Otherwise pts come from `pts_ns`, relative to the first frame, in
a 1/90000 time base. A pts that does not increase (a broken input) is moved to the previous pts + 1
tick, counted in `pts_adjusted` and posted once as a warning — the frame is still written.
Matroska/WebM cannot store negative timestamps: when remuxed audio starts before 0 (AAC priming,
typically -1024 samples) the muxer shifts the whole file, video and audio alike, so that it starts
at 0 — spacing and A/V sync stay exact, absolute times move by that pre-roll. MP4/MOV keep them
exactly (edit list).

Audio (`audio=True` and `caps.has_audio`): the packets in `frame.audio` are remuxed unchanged
(same codec, same timestamps, same time base) into a stream made with
`add_stream_from_template(caps.audio_stream)`. When the container cannot hold that codec (e.g. AAC
into WebM) the audio is decoded and re-encoded (Opus for WebM, AAC otherwise), keeping its
timestamps. Packets are copied before muxing, so several sinks may share a frame. A packet with
neither pts nor dts cannot be placed: it is skipped, counted in `audio_skipped` and posted as a
warning. `audio_packets` counts packets written (remux) or taken in (re-encode).
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import av

from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.media.av_errors import AVError, one_line
from pipeline.media.containers import OUTPUT_CONTAINERS
from pipeline.media.pixels import bgr_to_frame
from pipeline.paths import check_writable_file
from pipeline.ring import Overflow
from pipeline.stage import Sink

# codec -> (pixel format without alpha, pixel format with alpha or None)
_CODECS = {
    "libx264": ("yuv420p", None),
    "libvpx-vp9": ("yuv420p", "yuva420p"),
    "prores_ks": ("yuv422p10le", "yuva444p10le"),
}

NS_TIME_BASE = Fraction(1, 90000)
ENCODER_THREADS = 4
"""Encoder threads, whatever the machine, so the CPUs a process may use do not change the encoding."""


def default_codec(ext: str, alpha: bool) -> str:
    if ext == ".webm":
        return "libvpx-vp9"
    if ext == ".mov" and alpha:
        return "prores_ks"
    return "libx264"


def remove_if_present(path: str) -> None:
    """Delete `path`; a file that is already gone (or cannot be removed) is not an error."""
    try:
        os.remove(path)
    except OSError:
        pass


def partial_path(path: str) -> str:
    folder, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    return os.path.join(folder, f".{stem}.partial{ext}")


class AudioTrack:
    """The output's audio: packets of the input stream `template` remuxed unchanged (same codec,
    timestamps and time base), or — when `container` cannot hold that codec (e.g. AAC into WebM) —
    decoded and re-encoded (Opus for WebM, AAC otherwise) keeping their timestamps. Used by
    `FileSink` and by the chunk joiner of `litecam batch`, so both write the same audio."""

    def __init__(self, container, template):
        self._container = container
        in_ctx = template.codec_context
        codec_id_name = getattr(in_ctx.codec, "canonical_name", in_ctx.name)  # "mp3", not "mp3float"
        self._decoder = None
        if codec_id_name in container.supported_codecs:
            self.stream = container.add_stream_from_template(template)
            return
        target = "libopus" if container.format.name == "webm" else "aac"
        decoder = av.CodecContext.create(in_ctx.name, "r")
        decoder.sample_rate = in_ctx.sample_rate
        decoder.layout = in_ctx.layout
        if in_ctx.extradata:
            decoder.extradata = in_ctx.extradata
        rate = in_ctx.sample_rate
        if target == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        stream = container.add_stream(target, rate=rate)
        stream.layout = in_ctx.layout if in_ctx.layout.nb_channels <= 2 else "stereo"
        self.stream = stream
        self._decoder = decoder
        self._in_time_base = Fraction(template.time_base)

    def write(self, packet) -> bool:
        """Remux (or decode for re-encoding) one input packet; False when it has neither pts nor
        dts and cannot be placed (the caller counts and reports it)."""
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:
            return False
        if self._decoder is not None:
            for af in self._decoder.decode(packet):
                self._encode(af)
            return True
        copy = av.Packet(bytes(packet))  # a copy: several sinks may share the input packet
        copy.pts = pts
        copy.dts = packet.dts if packet.dts is not None else pts
        copy.time_base = packet.time_base
        if packet.duration:
            copy.duration = packet.duration
        copy.is_keyframe = packet.is_keyframe
        copy.stream = self.stream
        self._container.mux(copy)
        return True

    def finish(self) -> None:
        """Flush the re-encoder (nothing to do when remuxing)."""
        if self._decoder is not None:
            for af in self._decoder.decode(None):
                self._encode(af)
            self._encode(None)

    def _encode(self, af) -> None:
        if af is not None and af.pts is not None:
            # keep the input's timing: express the frame's pts in samples of the output rate
            out_tb = Fraction(1, self.stream.codec_context.sample_rate)
            af.pts = round(af.pts * Fraction(af.time_base or self._in_time_base) / out_tb)
            af.time_base = out_tb
        for out in self.stream.encode(af):
            self._container.mux(out)


class FileSink(Sink):
    """Encode every frame to `path` (see the module docstring for codecs, timestamps and audio).

    `codec` overrides the codec the extension chooses (one of `libx264`, `libvpx-vp9`, `prores_ks`;
    e.g. `prores_ks` for an opaque ProRes 422 HQ .mov); `crf` is the constant-rate quality (libx264
    default 20, VP9 default 32; ignored by ProRes); `preset` is libx264's speed preset;
    `audio=False` drops the audio track; `name` makes several file sinks in one graph distinct.
    `write_from_pts`: frames whose `media_pts` is below it are taken but not written (the warm-up
    frames that prime a `litecam batch` chunk's temporal matte state); counted in `frames_skipped`.
    """

    name = "file"
    ring_policy = Overflow.BLOCK
    ring_capacity = 4

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        codec: str | None = None,
        crf: int | None = None,
        preset: str = "veryfast",
        audio: bool = True,
        name: str = "file",
        write_from_pts: int | None = None,
    ):
        self.path = os.fspath(path)
        self.write_from_pts = write_from_pts
        self.frames_skipped = 0
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.audio = audio
        self.name = name
        self.frames_written = 0
        self.audio_packets = 0
        self.audio_skipped = 0
        self.pts_adjusted = 0
        self.final_path: str | None = None
        """Set by `close()` when the file was finalised and renamed into place."""
        self._container: Any = None
        """The PyAV output container (`av.open(..., "w")`), from `open()` until `close()`."""
        self._partial: str | None = None

    # -- opening ------------------------------------------------------------------------------
    def _check_location(self) -> None:
        path = self.path
        if os.path.isdir(path):
            raise UserError(f"output {path} is a folder; give a file name such as {os.path.join(path, 'out.mp4')}")
        ext = os.path.splitext(path)[1].lower()
        if ext not in OUTPUT_CONTAINERS:
            raise UserError(
                f"cannot write {path}: unknown output extension '{ext or '(none)'}'; "
                f"use one of {', '.join(OUTPUT_CONTAINERS)}"
            )
        check_writable_file(path)

    def open(self, caps: Caps) -> Caps:
        self._check_location()
        ext = os.path.splitext(self.path)[1].lower()
        alpha = caps.channels == 4
        if alpha and ext in (".mp4", ".mkv"):
            raise UserError(
                f"cannot write transparent video to {self.path}: H.264 has no alpha channel; "
                f"use a .webm (VP9 with alpha) or .mov (ProRes 4444) output"
            )
        codec = self.codec or default_codec(ext, alpha)
        if codec not in _CODECS:
            raise UserError(f"unknown video codec '{codec}' for {self.path}; use one of {', '.join(_CODECS)}")
        pix_fmt, alpha_fmt = _CODECS[codec]
        if alpha and alpha_fmt is None:
            raise UserError(
                f"codec {codec} has no alpha channel for transparent output {self.path}; "
                f"use libvpx-vp9 (.webm) or prores_ks (.mov)"
            )
        if caps.width % 2 or caps.height % 2 or caps.width < 2 or caps.height < 2:
            raise UserError(f"cannot encode {caps.width}x{caps.height} to {self.path}: width and height must be even")
        self._caps = caps
        self._alpha = alpha

        self._partial = partial_path(self.path)
        try:
            # PyAV opens the output file only when the first packet is muxed (after the encoder's
            # look-ahead): create it now so that an unwritable location fails before any frame.
            with open(self._partial, "wb"):
                pass
            self._container = av.open(self._partial, "w", format=OUTPUT_CONTAINERS[ext])
        except (OSError, AVError) as exc:
            self._partial_cleanup()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(exc)
            raise UserError(f"cannot write {self.path}: {reason} (choose another output path)") from exc
        try:
            self._add_video(codec, alpha_fmt if alpha and alpha_fmt else pix_fmt, caps)
            self._add_audio(caps)
        except UserError:
            self._abandon()
            raise
        except (AVError, ValueError) as exc:
            self._abandon()
            raise UserError(f"cannot set up {codec} for {self.path}: {one_line(exc)}") from exc
        self._time_base: Fraction | None = None
        self._use_media_pts = False
        self._first_pts_ns: int | None = None
        self._last_pts: int | None = None
        return caps

    def _add_video(self, codec: str, pix_fmt: str, caps: Caps) -> None:
        fps = Fraction(caps.fps) if caps.fps else Fraction(30)
        assert self._container is not None, "opened before the streams are added"
        stream = self._container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = caps.width, caps.height, pix_fmt
        options: dict[str, str] = {}
        if codec == "libx264":
            options = {"preset": self.preset, "crf": str(20 if self.crf is None else self.crf)}
        elif codec == "libvpx-vp9":
            options = {
                "crf": str(32 if self.crf is None else self.crf),
                "b": "0",
                "deadline": "realtime",
                "cpu-used": "8",
                "row-mt": "1",
            }
            if pix_fmt == "yuva420p":
                options["auto-alt-ref"] = "0"  # alt-ref frames are not allowed with alpha
        elif codec == "prores_ks":
            options = {"profile": "4444" if pix_fmt.startswith("yuva") else "hq"}
        # A fixed thread count: x264 (and libvpx) pick theirs from the CPUs the process may use, and
        # their output differs with it, so the same input would encode differently in a worker pinned
        # to one core (a Ray task) than in the main process. 4 keeps 2-8 core machines busy enough.
        # (x264 was still seen to vary now and then under load, even on one thread: not bit-exact.)
        options["threads"] = str(ENCODER_THREADS)
        stream.codec_context.options = options
        # Frames are converted from BGR with swscale's default matrix, BT.601 limited range: tag the
        # stream with exactly that so players (which assume BT.709 for untagged HD) show true colours.
        ctx = stream.codec_context
        ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = 6, 6, 6, 1
        self._vstream = stream

    def _add_audio(self, caps: Caps) -> None:
        self._audio_track = None
        if self.audio and caps.has_audio and caps.audio_stream is not None:
            self._audio_track = AudioTrack(self._container, caps.audio_stream)

    # -- writing ------------------------------------------------------------------------------
    def _start(self, frame: Frame) -> None:
        caps_tb = self._caps.video_time_base
        if (
            frame.media_pts is not None
            and frame.time_base is not None
            and (caps_tb is None or caps_tb == frame.time_base)
        ):
            self._time_base = Fraction(frame.time_base)
            self._use_media_pts = True
        else:
            self._time_base = NS_TIME_BASE
        self._first_pts_ns = frame.pts_ns
        self._vstream.time_base = self._time_base
        self._vstream.codec_context.time_base = self._time_base

    def _pts_of(self, frame: Frame) -> int:
        tb, first_pts_ns = self._time_base, self._first_pts_ns
        assert tb is not None and first_pts_ns is not None, "set by _start() at the first frame"
        if self._use_media_pts and frame.media_pts is not None and frame.time_base == tb:
            pts = frame.media_pts
        elif self._use_media_pts:  # a frame without media pts in a media-timed stream: absolute time
            pts = round(Fraction(frame.pts_ns, 1_000_000_000) / tb)
        else:
            pts = round(Fraction(frame.pts_ns - first_pts_ns, 1_000_000_000) / tb)
        if self._last_pts is not None and pts <= self._last_pts:
            if self.pts_adjusted == 0:
                self.post("warning", f"{self.path}: timestamps do not increase at frame {frame.seq}; moved by one tick")
            self.pts_adjusted += 1
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def process(self, frame: Frame) -> None:
        if self.write_from_pts is not None and frame.media_pts is not None and frame.media_pts < self.write_from_pts:
            self.frames_skipped += 1
            return
        if self._time_base is None:
            self._start(frame)
        try:
            vf = bgr_to_frame(frame.pixels, self._vstream.pix_fmt)
            vf.pts = self._pts_of(frame)
            vf.time_base = self._time_base
            assert self._container is not None, "opened by open()"
            for packet in self._vstream.encode(vf):
                self._container.mux(packet)
            self.frames_written += 1
            for packet in frame.audio:
                self._write_audio(packet, frame.seq)
        except OSError as exc:  # disk full, file size limit, output folder removed: the user's to fix
            raise UserError(
                f"writing {self.path} failed at frame {frame.seq} ({exc.strerror or exc}: disk full, "
                f"a file size limit, or the folder removed?); the partial output was removed"
            ) from None

    def _write_audio(self, packet, seq: int) -> None:
        if self._audio_track is None:
            return
        if not self._audio_track.write(packet):
            if self.audio_skipped == 0:
                self.post("warning", f"{self.path}: audio packet without timestamp near frame {seq} skipped")
            self.audio_skipped += 1
            return
        self.audio_packets += 1

    # -- closing ------------------------------------------------------------------------------
    def close(self, reason: str = "eos") -> None:
        if self._container is None:
            return
        if reason == "error":
            self._abandon()
            return
        if self.frames_written == 0:
            self.post("warning", f"{self.path}: no frame was written; no file made")
            self._abandon()
            return
        try:
            for packet in self._vstream.encode(None):
                self._container.mux(packet)
            if self._audio_track is not None:
                self._audio_track.finish()
            container, self._container = self._container, None
            container.close()
            assert self._partial is not None, "set by open()"
            os.replace(self._partial, self.path)
        except (OSError, AVError) as exc:
            self._abandon()
            raise UserError(f"could not finish writing {self.path}: {one_line(exc)}; no file was written") from exc
        self._partial = None
        self.final_path = self.path

    def _abandon(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except Exception:
                pass
        self._partial_cleanup()

    def _partial_cleanup(self) -> None:
        if self._partial is not None:
            remove_if_present(self._partial)
            self._partial = None
