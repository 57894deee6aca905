"""What a batch does: the input files, their output paths and, with ``--split``, their chunks.

A chunk is a run of frames in presentation order, from one keyframe to the next chunk's keyframe,
so each chunk decodes on its own and chunk files join without re-encoding. Chunk k > 0 is preceded
by up to `warmup_frames` frames that go through the graph but are not written: they prime the
matte's temporal state, so that the first frames of a chunk look like they do in a single-process
transcode (which has seen every frame before them).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from pipeline.errors import UserError
from pipeline.media.av_errors import AVError, one_line
from pipeline.media.containers import OUTPUT_FORMATS
from pipeline.paths import is_same_file
from pipeline.sources.file import check_readable_file

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"}


@dataclass(frozen=True)
class Chunk:
    """Frames with `start_pts <= pts < end_pts` (stream time base; `end_pts` None: to the end).

    The decoder starts at the keyframe `seek_pts` (None: the file's start); frames from
    `warmup_pts` on go through the graph; only those from `start_pts` on are written.
    `frames`: how many frames the chunk writes (its video packets in the file)."""

    index: int
    seek_pts: int | None
    warmup_pts: int | None
    start_pts: int | None
    end_pts: int | None
    frames: int


@dataclass
class FilePlan:
    """One input file: `key` names it in the manifest and progress (its output path relative to the
    output folder); `frames` is its video packet count when known; `chunks` is empty when the
    whole file is one task."""

    key: str
    input: str
    output: str
    frames: int | None
    chunks: list[Chunk] = dataclasses.field(default_factory=list)
    note: str = ""


def find_inputs(inputs: list[str]) -> list[tuple[str, str]]:
    """(absolute input path, output name stem relative to the output folder) for every file given
    and every video file (by suffix) under every folder given, sorted within each folder."""
    found: list[tuple[str, str]] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            videos = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not videos:
                raise UserError(f"folder {spec} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
            found += [(str(p.resolve()), str(p.relative_to(path).with_suffix(""))) for p in videos]
        else:
            check_readable_file(spec)
            found.append((str(path.resolve()), path.stem))
    return found


def plan_outputs(found: list[tuple[str, str]], out_dir: str, fmt: str) -> list[FilePlan]:
    """One `FilePlan` per input; refuses two inputs with the same output, and an output that would
    overwrite an input."""
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
    plans: list[FilePlan] = []
    by_output: dict[str, str] = {}
    inputs = {src for src, _ in found}
    for src, stem in found:
        key = f"{stem}.{fmt}"
        output = os.path.join(os.path.abspath(out_dir), key)
        if output in by_output:
            raise UserError(
                f"{by_output[output]} and {src} would both be written to {output}; "
                f"rename one, or give their folders as inputs to keep the sub-folders apart"
            )
        overwritten = next((i for i in inputs if is_same_file(output, i)), None)
        if overwritten is not None:
            raise UserError(
                f"{overwritten} would be overwritten by the output of {src} ({output}); "
                "litecam never writes over an input: choose another --out-dir or --format"
            )
        by_output[output] = src
        plans.append(FilePlan(key=key, input=src, output=output, frames=None))
    return plans


def scan_packets(path: str) -> tuple[Fraction, list[int], list[int]] | None:
    """(time base, every video packet's pts in presentation order, keyframe pts) read with the
    demuxer alone (no decoding); None when some packet has no pts (it cannot be split exactly)."""
    try:
        with av.open(path, metadata_errors="replace") as container:
            if not container.streams.video:
                return None
            video = container.streams.video[0]
            pts: list[int] = []
            keyframes: list[int] = []
            for packet in container.demux(video):
                if not packet.size:
                    continue
                if packet.pts is None:
                    return None
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
            time_base = Fraction(video.time_base) if video.time_base else Fraction(1, 90000)
            return time_base, sorted(pts), sorted(keyframes)
    except AVError as exc:
        raise UserError(
            f"{path}: cannot read its packets to split it (av error: {one_line(exc)}); "
            f"run without --split or re-encode the file"
        ) from exc


def split_chunks(
    time_base: Fraction, pts: list[int], keyframes: list[int], chunk_seconds: float, warmup_frames: int
) -> list[Chunk]:
    """Cut at the first keyframe at least `chunk_seconds` after the current chunk's start.
    `pts`: every frame's pts in presentation order (unique); `keyframes`: sorted keyframe pts."""
    if len(set(pts)) != len(pts):
        return []
    step = chunk_seconds / time_base
    starts = [pts[0]]
    for key in keyframes:
        if key > starts[-1] and key - starts[-1] >= step:
            starts.append(key)
    if len(starts) < 2:
        return []
    chunks = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else None
        first = bisect.bisect_left(pts, start)
        last = bisect.bisect_left(pts, end) if end is not None else len(pts)
        if i == 0:
            chunks.append(Chunk(0, None, None, None, end, last - first))
            continue
        warm = pts[max(first - warmup_frames, 0)]
        seek_at = bisect.bisect_right(keyframes, warm) - 1
        seek = keyframes[seek_at] if seek_at >= 0 and keyframes[seek_at] > pts[0] else None
        chunks.append(Chunk(i, seek, warm, start, end, last - first))
    return chunks


def settings_signature(settings, fmt: str) -> str:
    """A short hash of everything that changes an output (the effect settings and the format): a
    re-run with another signature redoes a file instead of skipping it. Splitting is not part of
    it: a split file's output is equivalent to a whole one's."""
    fields = {k: str(v) for k, v in dataclasses.asdict(settings).items() if k not in ("description", "sinks")}
    fields["format"] = fmt
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def input_signature(path: str) -> dict:
    """Size and modification time: an input edited since it was processed is processed again."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
