"""The thumbnail sink: the latest output frame, small, with its tiers, stage times and frame rate,
for the control page (`pipeline.control`)."""

from __future__ import annotations

import collections
import threading
import time

import cv2
import numpy as np

from pipeline.frame import Frame
from pipeline.ring import Overflow
from pipeline.stage import Sink
from pipeline.stats import RecentRate

THUMBNAIL_WIDTH = 320
"""Width of the thumbnail, pixels (the height keeps the frame's aspect)."""


class ThumbnailSink(Sink):
    """Keeps a small copy of the latest output frame, its tiers and stage times, and the frame rate,
    for the control page (never blocks the graph: a one-frame ring that drops the oldest)."""

    name = "thumbnail"
    ring_policy = Overflow.DROP_OLDEST
    ring_capacity = 1

    def __init__(self, width: int = THUMBNAIL_WIDTH):
        self.width = width
        self._lock = threading.Lock()
        self._pixels: np.ndarray | None = None
        """The latest frame's pixels (kept, not copied: no stage writes into a frame once it is out)."""
        self._info: dict = {}
        self._arrivals = RecentRate(31)
        self._process_cpu_s: collections.deque[float] = collections.deque(maxlen=31)

    def process(self, frame: Frame) -> None:
        """Cheap per frame: a reference and a few numbers; the thumbnail is made when asked for."""
        self._arrivals.add(self.clock.now_ns())
        self._process_cpu_s.append(time.process_time())  # the whole process: every stage and thread
        cpu = list(self._process_cpu_s)
        with self._lock:
            self._pixels = frame.pixels
            self._info = {
                "seq": frame.seq,
                "tiers": dict(frame.tiers),
                "stage_ms": {k: round(v, 2) for k, v in frame.stage_ms.items()},
                "fps": round(self._arrivals.per_second(), 1),
                "cpu_ms_per_frame": round(1000 * (cpu[-1] - cpu[0]) / (len(cpu) - 1), 1) if len(cpu) > 1 else 0.0,
            }

    def jpeg(self) -> bytes | None:
        """The latest frame, `width` pixels wide, as a JPEG (alpha shown over mid grey); None before any."""
        with self._lock:
            pixels = self._pixels
        if pixels is None:
            return None
        height = max(1, round(pixels.shape[0] * self.width / pixels.shape[1]))
        small = cv2.resize(pixels, (self.width, height), interpolation=cv2.INTER_AREA)
        if small.shape[2] == 4:
            alpha = small[:, :, 3:4].astype(np.uint16)
            small = ((small[:, :, :3] * alpha + 128 * (255 - alpha)) // 255).astype(np.uint8)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 75])
        return data.tobytes() if ok else None

    def info(self) -> dict:
        with self._lock:
            return dict(self._info)
