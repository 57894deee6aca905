"""Reading outputs back for the batch tests: what a transcode wrote, packet by packet and frame by frame."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.cli import main as litecam


@dataclass
class Probe:
    frame_pts: list[int]
    video_packets: list[tuple[int, int]]  # (pts, dts) in decode order
    audio_packets: list[tuple[int, int, bytes]]
    time_base: object
    frames: list[np.ndarray]


def probe(path: Path, pixel_format: str = "bgr24") -> Probe:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [(f.pts, f.to_ndarray(format=pixel_format)) for f in container.decode(video)]
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        packets = [(p.pts, p.dts) for p in container.demux(video) if p.size]
        audio = container.streams.audio
        sound = [(p.pts, p.dts, bytes(p)) for p in container.demux(audio[0]) if p.size] if audio else []
        time_base = video.time_base
    return Probe([pts for pts, _ in frames], packets, sound, time_base, [f for _, f in frames])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def transcode(src: Path, dst: Path, *options: str) -> Path:
    assert litecam(["transcode", str(src), str(dst), *options]) == 0
    return dst


def assert_same_timing(single: Probe, batch: Probe) -> None:
    """Frame for frame and timestamp for timestamp: what a single-process transcode wrote."""
    assert len(batch.frame_pts) == len(single.frame_pts)
    assert batch.time_base == single.time_base
    assert batch.frame_pts == single.frame_pts
    # the same presentation and decode timestamps (the order of B-frames may differ: each chunk's
    # encoder chose its own GOP structure)
    assert sorted(p for p, _ in batch.video_packets) == sorted(p for p, _ in single.video_packets)
    assert [d for _, d in batch.video_packets] == [d for _, d in single.video_packets]
    assert batch.audio_packets == single.audio_packets


def read_manifest(out_dir: Path) -> dict:
    return json.loads((out_dir / "litecam-batch.json").read_text())["files"]
