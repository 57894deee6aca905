"""Shared fixtures: small real media made with PyAV, and the location of ../shared/data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data lives beside the repository, in ../shared/data)")
    return path


def write_test_video(
    path: Path,
    frames: int = 20,
    size=(160, 120),
    fps: int = 25,
    audio: bool = True,
    portrait: bool = True,
    keyint: int | None = None,
    source=None,
) -> Path:
    """An H.264 MP4 (+ AAC sine) of the synthetic portrait, or of a moving gradient, or of `source`'s
    `render(i)` (an opened source of that size); `keyint`: a keyframe exactly every `keyint` frames
    (x264's B-frames kept), else x264's own choice."""
    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if keyint:
            video.codec_context.options = {"x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"}
        if audio:
            sound = container.add_stream("aac", rate=48000)
            sound.layout = "mono"
        src = source
        if portrait and src is None:
            from pipeline.sources.synthetic import SyntheticSource

            src = SyntheticSource(width, height, fps, frames=frames)
            src.open()
        for i in range(frames):
            if src is not None:
                pixels = src.render(i)
            else:
                x = np.linspace(0, 255, width, dtype=np.float32)
                pixels = np.repeat(((x + 8 * i) % 256).astype(np.uint8)[None, :, None], height, 0).repeat(3, 2)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio:
            samples_total = int(48000 * frames / fps)
            t = np.arange(samples_total) / 48000
            wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for start in range(0, samples_total, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(wave[:, start : start + 1024]), format="fltp", layout="mono"
                )
                chunk.sample_rate = 48000
                chunk.pts = start
                chunk.time_base = Fraction(1, 48000)
                container.mux(sound.encode(chunk))
            container.mux(sound.encode())
    return path


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory) -> Path:
    """20 frames of the synthetic portrait at 160×120, 25 fps, with an AAC sine track."""
    return write_test_video(tmp_path_factory.mktemp("media") / "tiny.mp4")
