"""Run in a fresh process by `test_warmup.py`: `prepare_kernels()`, then the real effect chains with
every background, matte mode, light wrap and upscale path; prints a JSON object of the kernels that
compiled new signatures after the warm-up (empty when the warm-up covered everything).

python -m tests.kernels.warmup_probe WORK_DIR
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import cv2
import numba
import numpy as np


def dispatchers() -> dict[str, object]:
    import kernels.blur
    import kernels.composite
    import kernels.guided
    import kernels.lightwrap
    import kernels.mask
    import kernels.sr
    import kernels.temporal

    found = {}
    for module in (
        kernels.blur,
        kernels.composite,
        kernels.guided,
        kernels.lightwrap,
        kernels.mask,
        kernels.sr,
        kernels.temporal,
    ):
        for name, obj in vars(module).items():
            if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def signatures() -> dict[str, list[str]]:
    return {name: sorted(map(str, d.signatures)) for name, d in dispatchers().items()}


def run_chains(work: Path) -> None:
    from pipeline.cli import main
    from pipeline.stages.upscale.stage import Upscale
    from tests.conftest import write_test_video

    clip = write_test_video(work / "clip.mp4", frames=6, size=(320, 180))
    picture = work / "backdrop.png"
    cv2.imwrite(str(picture), np.random.default_rng(1).integers(0, 255, (90, 160, 3), dtype=np.uint8))
    wrap = work / "wrap.toml"
    wrap.write_text("light_wrap = 0.6\nrefine = true\n")
    wrap_fast = work / "wrap-fast.toml"
    wrap_fast.write_text("light_wrap = 0.6\nrefine = false\ntemporal = true\n")
    plain = work / "plain.toml"
    plain.write_text("refine = false\ntemporal = false\n")
    backgrounds = ["blur", f"image:{picture}", f"video:{clip}", "color:#203040", "chroma", "none"]
    runs = []
    for preset in ("video-call-720p", "transcode", "low-power", str(wrap), str(wrap_fast), str(plain)):
        for background in backgrounds:
            runs.append(["transcode", str(clip), str(work / "o.mp4"), "--preset", preset, "--background", background])
        runs.append(["transcode", str(clip), str(work / "o.webm"), "--preset", preset, "--background", "transparent"])
    runs.append(["demo", "--out", str(work / "demo.mp4"), "--size", "320x180", "--frames", "4"])
    runs.append(["transcode", str(clip), str(work / "up.mp4"), "--scale", "2"])
    runs.append(["transcode", str(clip), str(work / "up.webm"), "--scale", "2", "--background", "transparent"])
    runs.append(["upscale", str(picture), str(work / "up.png")])
    runs.append(["matte", str(clip), str(work / "mattes")])
    for argv in runs:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            if main(argv) != 0:
                raise SystemExit(f"{argv} failed: {err.getvalue()}")
    stage = Upscale(2, "xlsr", person_only=True, strict=True)
    stage.load()
    frame = np.random.default_rng(2).integers(0, 255, (180, 320, 3), dtype=np.uint8)
    mask = np.zeros((90, 160), np.float32)
    mask[20:80, 50:110] = 1.0
    stage.upscale(frame, mask=mask)
    stage.upscale(np.dstack([frame, frame[:, :, :1]]), mask=mask)


def main() -> None:
    from kernels.warmup import prepare_kernels

    prepare_kernels(report=None)
    before = signatures()
    run_chains(Path(sys.argv[1]))
    after = signatures()
    print(
        json.dumps(
            {
                name: sorted(set(after[name]) - set(before[name]))
                for name in after
                if set(after[name]) - set(before[name])
            }
        )
    )


if __name__ == "__main__":
    main()
