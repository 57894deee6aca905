"""Unusual but valid videos are processed correctly; impossible ones are refused with one line."""

from fractions import Fraction

import av
import numpy as np
import pytest

from pipeline.cli import main
from tests.cli.test_cli_errors import assert_user_error, litecam


def encode(path, codec, pix_fmt, size, frames=6, rate=25, options=None):
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for i in range(frames):
            x = np.linspace(0, 255, width, dtype=np.float32)
            row = ((x + 20 * i) % 256).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.repeat(row[None, :, None], height, 0).repeat(3, 2), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def frame_count(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize(
    "name, codec, pix_fmt",
    [
        ("ten_bit.mov", "prores_ks", "yuv422p10le"),
        ("ten_bit_h264.mp4", "libx264", "yuv420p10le"),
        ("four_four_four.mp4", "libx264", "yuv444p"),
    ],
)
def test_ten_bit_and_444_inputs_are_converted_and_every_frame_kept(tmp_path, name, codec, pix_fmt):
    source = encode(tmp_path / name, codec, pix_fmt, (128, 96))
    out = tmp_path / "out.mp4"
    assert main(["transcode", str(source), str(out), "--background", "color:#000000"]) == 0
    assert frame_count(out) == 6


def test_eight_k_video_is_refused_before_decoding(tmp_path):
    source = encode(tmp_path / "8k.mp4", "libx264", "yuv420p", (7680, 4320), frames=1, options={"preset": "ultrafast"})
    assert_user_error(litecam("transcode", str(source), str(tmp_path / "o.mp4")), "7680x4320", "downscale")
    assert not (tmp_path / "o.mp4").exists()


def test_one_pixel_video_is_refused(tmp_path):
    source = encode(tmp_path / "dot.mkv", "libx264", "yuv444p", (1, 1), frames=2)
    assert_user_error(litecam("transcode", str(source), str(tmp_path / "o.mp4")), "dot.mkv")
