"""One litecam checkout's upscale stage, for `--upscale-interleaved`: run as a script (not a module of
this checkout), `python upscale_stage_worker.py CHECKOUT VIDEO FRAMES ENGINE`.

Imports `pipeline` from CHECKOUT (its own code and models), decodes the first FRAMES frames of VIDEO
to BGR, opens the stage as `litecam upscale --model xlsr --engine ENGINE` would (×2, strict, 2 threads,
the detail check where the checkout has one) and prints `ready`. Then each line N on stdin processes
the next N frames (cycling through the decoded ones, media times at 30 fps) and prints the process
CPU seconds and wall seconds they took.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from fractions import Fraction
from typing import Any


def main() -> None:
    checkout, video, frame_count, engine = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, checkout)
    os.chdir(checkout)
    import av

    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.upscale.stage import Upscale

    options: dict[str, Any] = {"detail_check": True} if "detail_check" in inspect.signature(Upscale).parameters else {}
    stage = Upscale(2, "xlsr", strict=True, threads=2, engine=engine, **options)
    frames = []
    with av.open(video) as container:
        for decoded in container.decode(video=0):
            frames.append(decoded.to_ndarray(format="bgr24"))
            if len(frames) == frame_count:
                break
    height, width = frames[0].shape[:2]
    stage.open(Caps(width, height, Fraction(30)))
    print("ready", flush=True)
    index = 0
    for line in sys.stdin:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(int(line)):
            pixels = frames[index % len(frames)].copy()
            stage.process(Frame(pixels, pts_ns=index * 1_000_000_000 // 30, seq=index, discont=index == 0))
            index += 1
        print(f"{time.process_time() - cpu0:.6f} {time.perf_counter() - wall0:.6f}", flush=True)
    stage.close()


if __name__ == "__main__":
    main()
