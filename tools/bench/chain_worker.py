"""One litecam checkout's effect chain on a recording, for `--chain`: run as a script (not a module of
this checkout), `python chain_worker.py CHECKOUT VIDEO PRESET WIDTH HEIGHT [KEY=VALUE ...]`.

Imports `pipeline` from CHECKOUT (its own code), decodes VIDEO's frames (at most `MAX_FRAMES`) scaled
to WIDTH×HEIGHT, builds the effect chain PRESET's settings ask for (KEY=VALUE: a settings field
changed, e.g. `mask_reuse=false`) and prints `ready FPS` (the file's frame rate). Then each line N on
stdin runs the next N frames through the chain on this thread, one frame per frame period of the file
(as a camera delivers them: the caches cool between frames), cycling through the decoded frames, and
prints one JSON line: the process CPU seconds they took, each stage's milliseconds (its thread's CPU,
or its wall time for a stage whose work runs on threads of its own, as the graph counts it) and the
model runs among them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from fractions import Fraction

MAX_FRAMES = 300


def main() -> None:
    checkout, video, preset = sys.argv[1], sys.argv[2], sys.argv[3]
    width, height = int(sys.argv[4]), int(sys.argv[5])
    changes = dict(item.split("=", 1) for item in sys.argv[6:])
    sys.path.insert(0, checkout)
    os.chdir(checkout)
    import av
    import cv2

    from pipeline.caps import Caps
    from pipeline.chain import make_effects
    from pipeline.frame import Frame
    from pipeline.presets import load_preset

    settings = load_preset(preset)
    if changes:
        settings = dataclasses.replace(settings, **{key: json.loads(value) for key, value in changes.items()})
    stages, _ = make_effects(settings)
    frames = []
    with av.open(video) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        for decoded in container.decode(stream):
            frames.append(cv2.resize(decoded.to_ndarray(format="bgr24"), (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) == MAX_FRAMES:
                break
    caps = Caps(width, height, Fraction(fps).limit_denominator(1001))
    for stage in stages:
        caps = stage.open(caps) or caps
    segment = next(stage for stage in stages if stage.name == "segment")
    print(f"ready {fps}", flush=True)
    period = 1.0 / fps
    index = 0
    for line in sys.stdin:
        spent = {stage.name: 0.0 for stage in stages}
        runs_before = getattr(segment, "model_runs", 0)
        cpu0 = time.process_time()
        due = time.perf_counter()
        for _ in range(int(line)):
            due += period
            frame = Frame(frames[index % len(frames)].copy(), pts_ns=round(index * period * 1e9), seq=index)
            frame.discont = index == 0
            for stage in stages:
                wall0, thread0 = time.perf_counter(), time.thread_time()
                frame = stage.process(frame)
                by_wall = getattr(stage, "cpu_runs_elsewhere", False)
                spent[stage.name] += 1000 * (time.perf_counter() - wall0 if by_wall else time.thread_time() - thread0)
            index += 1
            time.sleep(max(0.0, due - time.perf_counter()))
        report = {"cpu_s": time.process_time() - cpu0, "stages_ms": spent}
        report["model_runs"] = getattr(segment, "model_runs", 0) - runs_before
        print(json.dumps(report), flush=True)
    for stage in stages:
        stage.close()


if __name__ == "__main__":
    main()
