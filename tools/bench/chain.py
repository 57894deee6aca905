"""`--chain VIDEO ...`: the live effect chain on recordings, this litecam against a baseline, in turns.

Each side is a worker process (`chain_worker.py`) running `--preset`'s effect chain (light, segment,
matte, background: no source, no sink) on the same decoded frames scaled to `--width`×`--height`, one
frame per frame period of the file, as a camera delivers them. The baseline is an earlier litecam
checked out in `--chain-earlier DIR` (its own code: the previous behaviour), or else this one with
`--chain-baseline KEY=VALUE` changed (e.g. `mask_reuse=false`: the model on every frame). After a
warm-up second each, the two take turns for `--chain-rounds` rounds of one second of media each
(every other round the baseline first), so slow changes in the machine's load fall on both alike.

Per recording and side: process CPU-ms per frame (the model's own threads included) and effect
CPU-ms per frame (the stages' sum, as the graph counts it: thread CPU, wall time for the segment
stage whose model runs on threads of its own), per stage, and model runs per second (medians over
the rounds); the ratios now / baseline over all rounds (both sides run the same frames in each round)
and per round (median, lowest, highest: a second with more model runs costs more).
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
from pathlib import Path

from tools.bench.common import REPO, Worker, emit, in_turns

SCRIPT = Path(__file__).with_name("chain_worker.py")


def _effect_ms(batch: dict) -> float:
    """The effect milliseconds of one batch: its stages' sum."""
    return sum(batch["stages_ms"].values())


def _summary(batches: list[dict], frames: int, fps: float) -> dict:
    stages = batches[0]["stages_ms"]
    return {
        "process_cpu_ms_per_frame": round(statistics.median(1000 * b["cpu_s"] / frames for b in batches), 2),
        "effect_cpu_ms_per_frame": round(statistics.median(_effect_ms(b) / frames for b in batches), 2),
        "stage_cpu_ms_per_frame": {
            name: round(statistics.median(b["stages_ms"][name] / frames for b in batches), 2) for name in stages
        },
        "model_runs_per_second": round(sum(b["model_runs"] for b in batches) / len(batches) / frames * fps, 1),
    }


def _ratios(now: list[float], baseline: list[float]) -> dict:
    """now / baseline: over all rounds (`overall`: the same frames on both sides), and per round."""
    ratios = [a / b for a, b in zip(now, baseline)]
    return {
        "overall": round(sum(now) / sum(baseline), 3),
        "median": round(statistics.median(ratios), 3),
        "lowest": round(min(ratios), 3),
        "highest": round(max(ratios), 3),
    }


def compare(video: Path, args) -> dict:
    """One recording: the two sides in turns (module docstring)."""
    size = (args.width, args.height)
    earlier = args.chain_earlier
    baseline_checkout = earlier.resolve() if earlier is not None else REPO
    changes = [] if earlier is not None else list(args.chain_baseline)
    sides = {"now": (REPO, []), "baseline": (baseline_checkout, changes)}
    workers = {
        name: Worker(
            [sys.executable, str(SCRIPT), str(checkout), str(video.resolve()), args.preset, *map(str, size), *extra],
            f"{name} chain",
        )
        for name, (checkout, extra) in sides.items()
    }

    def take(name: str) -> dict:
        return json.loads(workers[name].ask(str(frames)))

    try:
        fps = float(workers["now"].wait_ready()[0])
        workers["baseline"].wait_ready()
        frames = max(1, round(fps))  # one second of media per round
        for name in workers:
            take(name)  # warm-up: the first frames, kernels and caches
        taken = in_turns({name: functools.partial(take, name) for name in workers}, args.chain_rounds)
    finally:
        for worker in workers.values():
            worker.close()
    report: dict = {
        "video": str(video),
        "baseline": str(earlier) if earlier is not None else " ".join(changes) or "the same settings",
        "rounds": args.chain_rounds,
        "frames_per_round": frames,
        "now": _summary(taken["now"], frames, fps),
        "baseline_run": _summary(taken["baseline"], frames, fps),
    }
    report["effect_ratio_now_vs_baseline"] = _ratios(
        [_effect_ms(b) for b in taken["now"]], [_effect_ms(b) for b in taken["baseline"]]
    )
    report["process_ratio_now_vs_baseline"] = _ratios(
        [b["cpu_s"] for b in taken["now"]], [b["cpu_s"] for b in taken["baseline"]]
    )
    return report


def run(args) -> int:
    """`--chain`: print and write the comparison for each recording."""
    if args.chain_earlier is not None and not (args.chain_earlier / "pipeline" / "chain.py").is_file():
        raise SystemExit(f"bench: {args.chain_earlier} has no litecam effect chain (no pipeline/chain.py)")
    if args.chain_earlier is not None and args.chain_baseline:
        raise SystemExit("bench: give one baseline, --chain-earlier DIR or --chain-baseline KEY=VALUE, not both")
    if args.chain_earlier is None and not args.chain_baseline:
        raise SystemExit("bench: --chain needs a baseline: give --chain-earlier DIR or --chain-baseline KEY=VALUE")
    for video in args.chain:
        if not video.is_file():
            raise SystemExit(f"bench: {video} is not a file (give recordings, e.g. ../shared/data/video/*.mp4)")
    reports = [compare(video, args) for video in args.chain]
    return emit({"recordings": reports}, args.json)
