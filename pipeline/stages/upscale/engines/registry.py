"""The engines by name, loading a model on the engine asked for, and `auto`'s race between engines.

`ENGINE_CLASSES` maps each name of `catalogue.ENGINES` but `auto` to its `Engine` class (a test
checks the two agree). `load_engine` loads a tier's model on the engine asked for (falling back to
`FALLBACK_ENGINE` live when that engine cannot run it) or, with `auto`, on every installed engine
that runs it and suits this CPU (`candidates`), keeping the one `race` measures fastest on a frame
of the input's size: on a given CPU the order differs by tier, frame size and thread count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.errors import UserError
from pipeline.stages.upscale.catalogue import (
    PAD_MULTIPLE,
    RECEPTIVE_RADIUS_PX,
)
from pipeline.stages.upscale.engines.base import Engine, engine_failure
from pipeline.stages.upscale.engines.numba_engine import NumbaLiteEngine
from pipeline.stages.upscale.engines.onnxruntime_engine import OnnxRuntimeEngine
from pipeline.stages.upscale.engines.openvino_engine import (
    OpenVinoBf16Engine,
    OpenVinoEngine,
)

ENGINE_CLASSES: dict[str, type[Engine]] = {
    "openvino": OpenVinoEngine,
    "openvino-bf16": OpenVinoBf16Engine,
    "onnxruntime": OnnxRuntimeEngine,
    "numba": NumbaLiteEngine,
}
"""Engine name → class, in `catalogue.ENGINES`' order (which is `auto`'s loading order)."""
FALLBACK_ENGINE = "onnxruntime"
"""The engine used when the one asked for cannot run a model (live), or when no race could be timed."""
CLOSE_RACE = 1.5
"""`auto`: engines whose first timed run is within this factor of the fastest one's are timed twice
more before one is chosen."""


def candidates(tier: str) -> list[tuple[str, type[Engine]]]:
    """(name, class) of each engine `auto` tries for `tier`: those that run it and suit this CPU."""
    return [(name, cls) for name, cls in ENGINE_CLASSES.items() if cls.runs(tier) and cls.suits_this_cpu()]


def race(loaded: dict[str, Engine], height: int, width: int, scale: int) -> tuple[str, dict[str, float]]:
    """(the chosen engine's name, median wall ms of each engine that ran) on one random uint8
    height×width BGR frame, ×`scale`.

    Each engine runs once to warm up and once timed; those within `CLOSE_RACE` of the best run twice
    more and are judged by the median of their three (the clearly slower ones are not worth another
    second of start-up). An engine that raises on the frame (e.g. a fixed input shape) is left out:
    the frames will tell (graph fallback). When none ran, the times are empty and the choice is
    `FALLBACK_ENGINE` if loaded, else the first one loaded."""
    probe = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = np.empty((height * scale, width * scale, 3), np.uint8)

    def timed(model: Engine) -> float:
        start = time.perf_counter()
        model.upscale_into(probe, out)
        return 1000 * (time.perf_counter() - start)

    runs: dict[str, list[float]] = {}
    for name, model in loaded.items():
        try:
            model.upscale_into(probe, out)
        except Exception:
            continue
        runs[name] = [timed(model)]
    if runs:
        best = min(r[0] for r in runs.values())
        for name, measured in runs.items():
            if measured[0] <= CLOSE_RACE * best:
                measured += [timed(loaded[name]), timed(loaded[name])]
    times = {name: float(np.median(r)) for name, r in runs.items()}
    if not times:
        return (FALLBACK_ENGINE if FALLBACK_ENGINE in loaded else next(iter(loaded))), times
    return min(times, key=times.__getitem__), times


def load_engine(
    engine: str,
    tier: str,
    path: Path,
    scale: int,
    threads: int,
    *,
    strict: bool,
    post: Callable[..., None],
    probe_hw: tuple[int, int],
) -> Engine:
    """`tier`'s ×`scale` model file `path` on `engine` (a name of `catalogue.ENGINES`), padded to
    `PAD_MULTIPLE[tier]`, with `RECEPTIVE_RADIUS_PX[tier]` rows of halo where its receptive field is
    bounded (the least that gives the whole frame's output exactly).

    A named engine that cannot run a file that exists: `UserError` when `strict`, else one warning
    through `post(kind, text, **data)` and the model on `FALLBACK_ENGINE`. `auto`: every candidate
    that is installed loads it (one warning for each one, but the fallback, that fails on an
    existing file) and, when more than one did, the `race` on a `probe_hw` (h, w) frame picks one,
    its figures posted as an `info` message. Raises what loading raised when no engine could load
    the file (missing, corrupt, wrong contract: the caller decides)."""
    halo = RECEPTIVE_RADIUS_PX.get(tier)
    args = (path, scale, threads, PAD_MULTIPLE[tier], halo)
    if engine != "auto":
        try:
            return ENGINE_CLASSES[engine](*args)
        except Exception as exc:
            if not path.is_file() or engine == FALLBACK_ENGINE:
                raise  # the file's fault, not the engine's: handled by the caller
            reason = engine_failure(exc)
            if strict:
                raise UserError(
                    f"--engine {engine} cannot run {path} ({reason}); use --engine {FALLBACK_ENGINE} or auto"
                ) from None
            post(
                "warning", f"engine {engine} cannot run {path.name} ({reason}); using {FALLBACK_ENGINE}", engine=engine
            )
            return ENGINE_CLASSES[FALLBACK_ENGINE](*args)
    loaded: dict[str, Engine] = {}
    failure: Exception | None = None
    for name, cls in candidates(tier):
        try:
            loaded[name] = cls(*args)
        except ImportError:
            continue  # not installed: auto uses what is
        except Exception as exc:
            failure = exc
            if name != FALLBACK_ENGINE and path.is_file():
                post(
                    "warning",
                    f"engine {name} cannot run {path.name} ({engine_failure(exc)}); using the others",
                    engine=name,
                )
    if not loaded:
        raise failure or RuntimeError("no inference engine is installed (pip install onnxruntime)")
    if len(loaded) == 1:
        return next(iter(loaded.values()))
    h, w = probe_hw
    chosen, times = race(loaded, h, w, scale)
    if times:
        post(
            "info",
            f"{tier} ×{scale} on {w}x{h}, {threads} thread(s): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in sorted(times.items(), key=lambda kv: kv[1]))
            + f" -> {chosen}",
            tier=tier,
            engine=chosen,
            ms=times,
        )
    return loaded[chosen]
