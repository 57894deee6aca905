"""The upscaler's catalogue: tiers, model files, measured scores, engine names and the checks on them.

Light on purpose (stdlib, `pipeline.errors`, `pipeline.cpu`): the command line and the preset loader
import it to check `--scale`, `--model` and `--engine` without loading NumPy, OpenCV or any inference
engine.

**Tiers**, best first by measured quality (`SR_SCORES`; this table is not the order):

| tier | model file (`pipeline/models/`) | scales |
|---|---|---|
| `esrt` | `esrt_x2.onnx` | ×2 |
| `xlsr` | `xlsr_x2.onnx`, `xlsr_x3.onnx` | ×2, ×3 |
| `xlsr-int8` | `xlsr_x2_int8.onnx` (INT8 QDQ) | ×2 |
| `litesr` | `litesr_x2.onnx` + `litesr_x2.npz` (its weights, for the Numba engine) | ×2 |
| `bicubic` | none: `cv2.resize(INTER_CUBIC)` | any |

`litesr` is the live tier: luma detail from five narrow 3×3 convolutions added to the bicubic
picture, most of XLSR's quality gain over bicubic at a fraction of its cost.

Model contract (what `tools.export_onnx` writes): input `lr` float32 N×3×H×W RGB in [0, 1] with
dynamic H and W, output `sr` float32 N×3×(sH)×(sW) in [0, 1]. The models are fully convolutional
and take any H×W (ESRT pads to its attention window inside the graph), so `PAD_MULTIPLE` is 1 for
all.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.cpu import cpu_model_and_flags
from pipeline.errors import UserError
from pipeline.params import Param, check_bool, one_of

MODEL_DIR = Path(__file__).resolve().parents[2] / "models"
"""The shipped model files: `pipeline/models/`."""
SCALES = (2, 3)
MODEL_FILES: dict[str, dict[int, str]] = {
    "esrt": {2: "esrt_x2.onnx"},
    "xlsr": {2: "xlsr_x2.onnx", 3: "xlsr_x3.onnx"},
    "xlsr-int8": {2: "xlsr_x2_int8.onnx"},
    "litesr": {2: "litesr_x2.onnx"},
}
"""tier -> scale -> file name in the model folder (bicubic has none)."""
SR_SCORES: dict[tuple[str, int], tuple[float, float]] = {
    ("xlsr", 2): (36.16, 32.04),
    ("xlsr-int8", 2): (35.94, 31.93),
    ("esrt", 2): (36.69, 32.39),
    ("litesr", 2): (35.90, 31.97),
    ("bicubic", 2): (33.68, 30.33),
    ("xlsr", 3): (32.37, 28.97),
    ("bicubic", 3): (30.41, 27.63),
}
"""Measured quality of each tier: PSNR-Y dB on (Set5, Set14) by the standard protocol
(`python -m tools.eval_sr`; the model card and docs/benchmarks.md). The tiers are
ranked by these numbers, not by name: a retrained model ranks higher once its scores are entered."""
OFFLINE_ONLY = frozenset({"esrt"})
"""Tiers never offered to the live scheduler: ESRT costs tens of times XLSR per frame (seconds on a
CPU), so it can never hold a frame period; it is the offline tier (`--model esrt`)."""
INT8_MAX_LOSS_DB = 0.15
"""An INT8 tier joins the live ladder only on a CPU with 8-bit dot-product instructions (VNNI/AMX)
and when it loses at most this much PSNR-Y against its fp32 model on both sets; otherwise it is
slower than fp32 (measured) or visibly worse, and offered offline only."""
PAD_MULTIPLE = {"esrt": 1, "xlsr": 1, "xlsr-int8": 1, "litesr": 1}
"""Input H and W must be multiples of this (edge-replicated up to it; the output is cropped)."""
RECEPTIVE_RADIUS_PX = {"xlsr": 5, "xlsr-int8": 5, "litesr": 5}
"""How far (input pixels, each way) an output pixel sees, for the tiers built of convolutions alone:
the five 3×3 layers on XLSR's longest path, LiteSR's five. Row bands that overlap by this much give
exactly the whole-frame output (an engine's row bands get this halo); ESRT's attention has no such
bound, so it runs in overlapping tiles that match the whole frame closely, not exactly
(`stage.TILE_PX`). `CONTEXT_PX` must be at least this."""
CONTEXT_PX = {"esrt": 16, "xlsr": 8, "xlsr-int8": 8, "litesr": 8}
"""person_only: input pixels of real image the network sees around the box (≥ `RECEPTIVE_RADIUS_PX`;
ESRT's attention windows reach further, so its box interior is close to, not identical with, the
full-frame output)."""
ENGINES = ("auto", "openvino", "openvino-bf16", "onnxruntime", "numba")
"""The upscaler's inference engines, the one list of their names (`--engine`, the preset key
`sr_engine`, `Upscale(engine=...)`); `engines.registry.ENGINE_CLASSES` has a class for each but
`auto`. `auto`: every installed engine that runs the tier (and suits this CPU: bf16 only where it is
native) loads the model and the one measured fastest on this machine, at this frame size, runs it.
`numba` runs LiteSR only."""


def tiers_for(scale: int) -> tuple[str, ...]:
    """The tiers that exist at `scale`, best measured quality first (mean of the Set5 and Set14
    PSNR-Y in `SR_SCORES`); bicubic, the lowest, is last."""
    return tuple(sorted((t for t, s in SR_SCORES if s == scale), key=lambda t: -sum(SR_SCORES[t, scale])))


TIERS = tiers_for(2)
"""All tier names (×2 has them all), best first."""


def cpu_has_int8_dot() -> bool:
    """True on a CPU with VNNI or AMX-INT8 (False where the flags cannot be read)."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_model_and_flags()[1])


def live_tiers(scale: int) -> tuple[str, ...]:
    """The ladder the live scheduler may use at `scale`, best first: `tiers_for` without the
    offline-only tiers and without INT8 tiers that fail `INT8_MAX_LOSS_DB` or lack VNNI/AMX here."""

    def offered(tier: str) -> bool:
        if tier in OFFLINE_ONLY:
            return False
        if tier.endswith("-int8"):
            fp32 = SR_SCORES.get((tier.removesuffix("-int8"), scale))
            loss = max(a - b for a, b in zip(fp32, SR_SCORES[tier, scale])) if fp32 else float("inf")
            return loss <= INT8_MAX_LOSS_DB and cpu_has_int8_dot()
        return True

    return tuple(t for t in tiers_for(scale) if offered(t))


def check_upscale(scale: int, model: str) -> None:
    """`UserError` unless `model` exists at `scale` (one line naming what would work)."""
    if scale not in SCALES:
        raise UserError(f"--scale {scale}: the upscaler does ×2 or ×3 (use --scale 2 or --scale 3)")
    if model not in TIERS:
        raise UserError(f"--model {model!r}: choose one of {', '.join(TIERS)}")
    if model not in tiers_for(scale):
        raise UserError(f"--model {model} has no ×{scale} model; at ×{scale} use one of {', '.join(tiers_for(scale))}")


def check_engine(engine: str) -> None:
    """`UserError` unless `engine` is one of `ENGINES`."""
    if engine not in ENGINES:
        raise UserError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")


def _scale(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, *SCALES):
        raise ValueError("1 (no upscaling), 2 or 3 (the upscaler does ×2 or ×3)")
    return value


SCALE = Param(
    "scale",
    _scale,
    1,
    "Enlarge the output this many times after the effects: 1 (no upscale stage), 2 or 3.",
    flag="--scale",
    flag_type=int,
    metavar="N",
)
SR_MODEL = Param(
    "sr_model",
    one_of(TIERS),
    "xlsr",
    "Upscaler for --scale (and auto-framing's zoom): "
    f"{' | '.join(TIERS)}; litesr is the fast live model, esrt the best offline one (x2).",
    live=True,
    flag="--model",
    metavar="NAME",
)
SR_ENGINE = Param(
    "sr_engine",
    one_of(ENGINES),
    "auto",
    "Inference engine of the upscaler: auto (the one measured "
    "fastest on this machine), openvino, openvino-bf16 (CPUs with native bf16), onnxruntime, or "
    "numba (litesr only).",
    flag="--engine",
    metavar="NAME",
    choices=ENGINES,
)
SR_PERSON_ONLY = Param(
    "sr_person_only",
    check_bool,
    True,
    "Live runs with a replaced background: the network "
    "upscales only the person's box, bicubic the rest (blurred or replaced anyway).",
)
SR_DETAIL_CHOICES = ("checked", "full")
SR_DETAIL = Param(
    "sr_detail",
    one_of(SR_DETAIL_CHOICES),
    "checked",
    "How much of the upscaler network's detail to keep: checked (as much as a cross-scale check of "
    "the picture trusts, so soft or compressed footage does not come out worse than bicubic; where it "
    "trusts under a tenth, bicubic alone, without running the network) | full (all of it: a little "
    "sharper on clean, detailed pictures).",
    flag="--sr-detail",
    metavar="HOW",
    choices=SR_DETAIL_CHOICES,
)
PARAMS = (SCALE, SR_MODEL, SR_ENGINE, SR_PERSON_ONLY, SR_DETAIL)
"""The upscale stage's settings (`pipeline.params`), declared here so that they load without the stage."""


def model_path(tier: str, scale: int, model_dir: str | Path | None = None) -> Path:
    """The file of `tier`'s ×`scale` model in `model_dir` (default: `MODEL_DIR`, read at call time)."""
    return Path(model_dir or MODEL_DIR) / MODEL_FILES[tier][scale]
