"""Pixels in and out of video frames without the colour shift of FFmpeg's default conversion.

FFmpeg's scaler (swscale), which PyAV uses to turn a decoded YUV frame into BGR and back, takes a fast
path by default: truncating arithmetic and no chroma interpolation. A decode and re-encode through it
darkens a picture by about 2 grey levels (0.5 on the way in, 1.2 on the way out, measured on a
720p frame) and costs a few dB of PSNR. `EXACT` asks for rounded arithmetic and full chroma
interpolation on both sides: the round trip is then within 0.1 level of the picture. For 4:2:0 in
BT.601 limited range, by far the most common video, OpenCV's I420 conversions are as unbiased and
cheaper (no more than the default path), and are used instead.
"""

from __future__ import annotations

from typing import Any, cast

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

EXACT = (
    Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT | Interpolation.FULL_CHR_H_INP
)
"""swscale flags for an unbiased conversion between YUV and BGR (module docstring)."""


OPENCV_COLORSPACES = frozenset({2, 5, 6})
"""AVColorSpace values OpenCV's I420 conversion matches: unspecified (swscale's default, BT.601 too),
BT.470BG and SMPTE 170M (both BT.601)."""


def _opencv_matches(av_frame: av.VideoFrame) -> bool:
    """Whether OpenCV's I420 conversion (BT.601, limited range, correctly rounded) fits this frame."""
    return (
        av_frame.format.name == "yuv420p"
        and av_frame.colorspace in OPENCV_COLORSPACES
        and av_frame.color_range != 2  # not full range (JPEG)
        and av_frame.width % 2 == 0
        and av_frame.height % 2 == 0
    )


def frame_to_bgr(av_frame: av.VideoFrame) -> np.ndarray:
    """uint8 BGR (h, w, 3) of a decoded frame: OpenCV's conversion for BT.601 limited-range 4:2:0
    (the common case, cheaper), else swscale with `EXACT`."""
    if _opencv_matches(av_frame):
        return cv2.cvtColor(av_frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return av_frame.to_ndarray(format="bgr24", interpolation=EXACT)


def bgr_to_frame(pixels: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """A video frame in the encoder's `pix_fmt` from uint8 BGR (h, w, 3) or BGRA (h, w, 4) pixels, BT.601
    limited range: OpenCV's conversion for yuv420p from BGR (cheaper), else swscale with `EXACT`."""
    if pix_fmt == "yuv420p" and pixels.shape[2] == 3:
        planes = cast("np.ndarray[Any, np.dtype[np.uint8]]", cv2.cvtColor(pixels, cv2.COLOR_BGR2YUV_I420))
        return av.VideoFrame.from_ndarray(planes, format="yuv420p")
    source = av.VideoFrame.from_ndarray(pixels, format="bgra" if pixels.shape[2] == 4 else "bgr24")
    return source.reformat(format=pix_fmt, interpolation=EXACT)
