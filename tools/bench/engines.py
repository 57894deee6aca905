"""The upscaler's tiers on each inference engine: median wall and thread-CPU ms per 640×360 frame.

    .venv/bin/python -m tools.bench.engines                       # every tier, engine, 1 and 2 threads
    .venv/bin/python -m tools.bench.engines --repeat 9 --tiers xlsr

One synthetic-portrait frame (the built-in synthetic source), its `landscape` segmentation mask, and
for each scale, tier, engine that runs the tier (`--engines`), thread count (`--threads`) and
person_only off and on, an `Upscale` stage (strict: a missing model is an error) run once to warm up
and `--repeat` times timed. Prints a Markdown table: wall ms and thread-CPU ms (the calling thread
only, so with 2 threads it misses the engine's worker threads), and the person box with person_only.
Bicubic runs once, on one thread. These figures set `Upscale.tier_cost_hint`'s ratios.
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np

from pipeline.caps import Caps
from pipeline.stages.upscale.catalogue import MODEL_DIR, SCALES, tiers_for
from pipeline.stages.upscale.engines.registry import ENGINE_CLASSES
from pipeline.stages.upscale.stage import Upscale


def main(argv=None) -> None:
    """Parse the options and print the table (one row per measured combination, as it is measured)."""
    from pipeline.sources.synthetic import SyntheticSource
    from pipeline.stages.segment import Segment

    ap = argparse.ArgumentParser(prog="python -m tools.bench.engines", description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=str(MODEL_DIR))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--tiers", default="", help="tiers to time, comma-separated (default: all)")
    ap.add_argument(
        "--engines",
        default=",".join(ENGINE_CLASSES),
        help="engines to time, comma-separated (each only on the tiers it runs)",
    )
    args = ap.parse_args(argv)
    src = SyntheticSource(640, 360, 25, frames=1)
    src.open()
    pixels = src.render(0)
    seg = Segment("landscape", roi=False)
    seg.open(Caps(640, 360, Fraction(25)))
    mask = seg.segment(pixels)
    seg.close()
    print("| scale | tier | engine | threads | person_only | wall ms (median) | thread-CPU ms (median) | box |")
    print("|---:|---|---|---:|---|---:|---:|---|")
    for scale in SCALES:
        for tier in tiers_for(scale):
            if args.tiers and tier not in args.tiers.split(","):
                continue
            engines = [e for e in args.engines.split(",") if ENGINE_CLASSES[e].runs(tier)]
            for engine in ("onnxruntime",) if tier == "bicubic" else engines:
                for threads in [int(t) for t in args.threads.split(",")]:
                    for person_only in (False,) if tier == "bicubic" else (False, True):
                        if tier == "bicubic" and threads > 1:
                            continue
                        stage = Upscale(
                            scale,
                            tier,
                            threads=threads,
                            model_dir=args.model_dir,
                            person_only=person_only,
                            engine=engine,
                            strict=True,
                        )
                        stage.open(Caps(640, 360, Fraction(25)))
                        stage.upscale(pixels, mask=mask)
                        wall, cpu = [], []
                        for _ in range(args.repeat):
                            t0, c0 = time.perf_counter(), time.thread_time()
                            stage.upscale(pixels, mask=mask)
                            wall.append((time.perf_counter() - t0) * 1e3)
                            cpu.append((time.thread_time() - c0) * 1e3)
                        print(
                            f"| ×{scale} | {tier} | {stage.engines.get(tier, '')} | {threads} | "
                            f"{'yes' if person_only else 'no'} | {np.median(wall):.1f} | {np.median(cpu):.1f} | "
                            f"{stage.last_box if person_only else ''} |",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
