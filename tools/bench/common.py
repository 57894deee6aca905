"""Helpers shared by the benchmark modes: the machine a figure was taken on, percentiles, resident
memory, the report writer, media packet counts, the looped 640×360 test clip, and worker processes
timed in turns."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from pipeline.cpu import cpu_model_and_flags

REPO = Path(__file__).resolve().parents[2]
SHARED_VIDEO = REPO.parent / "shared" / "data" / "video"
"""The clips beside the repository (../shared/data/video): the default inputs of --batch and --upscale."""

ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
"""The CPU features that decide which kernels and engines are fast; named beside every figure."""


def machine() -> dict:
    """The machine a figure was taken on: CPU model, the ISA features above it has, cores, Python."""
    model, flags = cpu_model_and_flags()
    return {
        "cpu": model,
        "isa": [f for f in ISA_FLAGS if f in flags],
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
    }


def percentile(values, q: float) -> float:
    """The `q`-th percentile of `values` (NaN when there are none)."""
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def resident_mb() -> float:
    """This process's resident memory now, MiB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(report: dict, json_path: Path | None, summary=lambda report: report) -> int:
    """Name the machine in `report`, print `summary(report)` as JSON, write the whole report to
    `json_path` (when given); the exit status."""
    report["machine"] = machine()
    print(json.dumps(summary(report), indent=2))
    if json_path:
        json_path.write_text(json.dumps(report, indent=2))
        print(f"wrote {json_path}")
    return 0


def packet_counts(path: Path) -> tuple[int, int]:
    """(video packets, audio packets) of a media file, empty (flush) packets left out: a file's frame
    count without decoding it, and whether its audio came through."""
    import av

    with av.open(str(path)) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        streams = [container.streams.video[0]] + ([audio] if audio else [])
        counts = {"video": 0, "audio": 0}
        for packet in container.demux(*streams):
            if packet.size:
                counts[packet.stream.type] += 1
    return counts["video"], counts["audio"]


def looped_640x360(source: Path, loops: int, out: Path) -> Path:
    """`source` scaled to 640×360 (area) and played `loops` times over, audio kept (re-encoded AAC,
    the same samples each loop): a longer 640×360 clip, so set-up is a small part of a timing. Made
    once; an existing `out` is reused."""
    import av

    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.mp4")
    with av.open(str(source)) as src:
        video_in = src.streams.video[0]
        audio_in = src.streams.audio[0] if src.streams.audio else None
        frames = [
            cv2.resize(f.to_ndarray(format="bgr24"), (640, 360), interpolation=cv2.INTER_AREA)
            for f in src.decode(video_in)
        ]
        rate = video_in.average_rate
        samples = []
        if audio_in is not None:
            src.seek(0)
            samples = [f.to_ndarray() for f in src.decode(audio_in)]
            layout, sample_rate, sample_format = audio_in.layout.name, audio_in.rate, audio_in.format.name
    with av.open(str(partial), "w") as dst:
        video = dst.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.codec_context.options = {"crf": "18", "preset": "veryfast"}
        audio = dst.add_stream("aac", rate=sample_rate, layout=layout) if samples else None
        for _ in range(loops):
            for image in frames:
                # cv2.resize is typed as returning any dtype; `image` is the uint8 BGR it was given
                frame_in = av.VideoFrame.from_ndarray(image, format="bgr24")  # type: ignore[arg-type]
                for packet in video.encode(frame_in):
                    dst.mux(packet)
            for chunk in samples:
                assert audio is not None  # samples only come with an audio stream
                frame = av.AudioFrame.from_ndarray(chunk, format=sample_format, layout=layout)
                frame.sample_rate = sample_rate
                for packet in audio.encode(frame):
                    dst.mux(packet)
        for stream in (video, audio) if audio else (video,):
            for packet in stream.encode():
                dst.mux(packet)
    partial.replace(out)
    return out


class Worker:
    """A benchmark worker process (a script run with `command`) that prints a line starting with
    `ready` once loaded, then answers each line it is sent with one line. `label` names it in errors.
    Started at once; `wait_ready` waits for its first line (start several, then wait for each)."""

    def __init__(self, command: list[str], label: str):
        self.label = label
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self) -> list[str]:
        """The words after `ready` on the worker's first line (SystemExit if it did not start)."""
        assert self.proc.stdout is not None
        words = self.proc.stdout.readline().split()
        if not words or words[0] != "ready":
            raise SystemExit(f"bench: the {self.label} did not start (exit status {self.proc.wait()})")
        return words[1:]

    def ask(self, line: str) -> str:
        """Send `line`, return the worker's answer (SystemExit if it stopped)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{line}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            self.stopped()
        return answer

    def stopped(self) -> None:
        """Say the worker stopped, with its exit status."""
        raise SystemExit(f"bench: the {self.label} stopped (exit status {self.proc.wait()})")

    def close(self) -> None:
        """End its input and wait for it to exit."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


Taken = TypeVar("Taken")


def in_turns(sides: dict[str, Callable[[], Taken]], rounds: int) -> dict[str, list[Taken]]:
    """Each of two sides' measurement `rounds` times, taking turns: the first side first in even
    rounds, the second in odd ones, so slow changes in the machine's load fall on both alike."""
    first, second = sides
    taken: dict[str, list[Taken]] = {name: [] for name in sides}
    for turn in range(rounds):
        for name in (first, second) if turn % 2 == 0 else (second, first):
            taken[name].append(sides[name]())
    return taken
