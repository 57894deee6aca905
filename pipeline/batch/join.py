"""Join a split file's chunk files into one output, without re-encoding: the video packets are
copied in order and the source's audio is remuxed (or re-encoded where the container needs it)
exactly as `FileSink` does in a single-process transcode.

Timestamps: every packet keeps its pts (the source's, so they equal a single-process transcode's).
Decode timestamps are renumbered across the whole file, because each chunk's encoder started its
own B-frame delay before its first frame and those dts would collide with the previous chunk's:
with `d` the reorder depth (how many packets come before their presentation rank, at most) and
`s` every pts in presentation order, packet i gets dts ``s[i - d]`` — what an encoder with that
delay writes in the middle of a stream — and the first `d` packets step back from ``s[0]`` by the
first frame interval. Intra-only codecs (ProRes) and VP9 have d = 0: dts = pts.
"""

from __future__ import annotations

import os
from fractions import Fraction

import av

from pipeline.errors import UserError
from pipeline.media.av_errors import AVError, one_line
from pipeline.media.containers import OUTPUT_CONTAINERS
from pipeline.sinks.encoder import AudioTrack, partial_path, remove_if_present


def _decode_order_pts(path: str) -> list[int]:
    with av.open(path) as container:
        return [p.pts for p in container.demux(container.streams.video[0]) if p.size and p.pts is not None]


def renumber_dts(chunk_pts: list[list[int]]) -> list[int]:
    """The dts of every packet of the joined stream (decode order), from each chunk's pts in
    decode order (module docstring)."""
    order = [p for pts in chunk_pts for p in pts]
    ranked = sorted(order)
    rank = {p: i for i, p in enumerate(ranked)}
    delay = max((i - rank[p] for i, p in enumerate(order)), default=0)
    step = ranked[1] - ranked[0] if len(ranked) > 1 else 1
    return [ranked[i - delay] if i >= delay else ranked[0] - (delay - i) * step for i in range(len(order))]


def join_chunks(chunk_paths: list[str], source_path: str, output: str, expected_frames: int, audio: bool = True) -> int:
    """Write `output` (through a hidden partial file renamed at the end) from the chunk files in
    order plus the audio of `source_path`; returns the number of video packets written, which
    must be `expected_frames` (else `UserError`, and nothing is left behind)."""
    chunk_pts = [_decode_order_pts(p) for p in chunk_paths]
    total = sum(map(len, chunk_pts))
    if total != expected_frames:
        raise UserError(
            f"{source_path}: its chunks hold {total} frames, expected {expected_frames} (the "
            f"decoder and the packet scan disagree); process this file without --split"
        )
    dts = iter(renumber_dts(chunk_pts))
    fmt = OUTPUT_CONTAINERS[os.path.splitext(output)[1].lower()]
    partial = partial_path(output)
    try:
        with (
            av.open(chunk_paths[0]) as first,
            av.open(source_path, metadata_errors="replace") as source,
            av.open(partial, "w", format=fmt) as out,
        ):
            template = first.streams.video[0]
            video = out.add_stream_from_template(template)
            video.time_base = template.time_base
            video.codec_context.codec_tag = template.codec_context.codec_tag  # e.g. ProRes 4444 'ap4h', not 'apch'
            for key, value in template.metadata.items():  # e.g. Matroska's alpha_mode for VP9 alpha
                video.metadata[key] = value
            source_audio = source.streams.audio[0] if (audio and source.streams.audio) else None
            track = AudioTrack(out, source_audio) if source_audio is not None else None
            audio_packets = _audio_packets(source, source_audio)
            pending = next(audio_packets, None)
            for path in chunk_paths:
                with av.open(path) as chunk:
                    stream = chunk.streams.video[0]
                    tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
                    for packet in chunk.demux(stream):
                        if not packet.size:
                            continue
                        packet.dts = next(dts)
                        now = packet.dts * tb
                        while track is not None and pending is not None and _time(pending) <= now:  # interleaved
                            track.write(pending)
                            pending = next(audio_packets, None)
                        packet.stream = video
                        out.mux(packet)
            while track is not None and pending is not None:
                track.write(pending)
                pending = next(audio_packets, None)
            if track is not None:
                track.finish()
        os.replace(partial, output)
    except (OSError, AVError) as exc:
        remove_if_present(partial)
        raise UserError(f"could not join the chunks of {source_path} into {output}: {one_line(exc)}") from exc
    except BaseException:
        remove_if_present(partial)
        raise
    return total


def _audio_packets(container, stream):
    if stream is None:
        return iter(())
    return (p for p in container.demux(stream) if p.size)


def _time(packet) -> Fraction:
    ts = packet.dts if packet.dts is not None else packet.pts
    return (ts if ts is not None else 0) * Fraction(packet.time_base)
