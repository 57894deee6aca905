"""The upscaler's catalogue: tiers ranked by measured quality, the live ladder, the checks on
`--scale`/`--model`/`--engine`, the one list of engine names, and that the catalogue stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.errors import UserError
from pipeline.stages.upscale import catalogue
from pipeline.stages.upscale.catalogue import (
    CONTEXT_PX,
    ENGINES,
    RECEPTIVE_RADIUS_PX,
    SCALES,
    SR_SCORES,
    TIERS,
    check_engine,
    check_upscale,
    live_tiers,
    tiers_for,
)
from pipeline.stages.upscale.stage import Upscale
from tests.conftest import REPO


# -- choices ---------------------------------------------------------------------------------------
def test_tiers_rank_by_measured_quality_and_depend_on_the_scale():
    # our ESRT scores above our XLSR on both sets (36.69 / 32.39 against 36.16 / 32.04, both trained
    # on camera and codec degradations); a first, short-trained one (35.09 / 31.49) ranked below both
    assert TIERS == ("esrt", "xlsr", "xlsr-int8", "litesr", "bicubic")
    assert tiers_for(2) == TIERS
    assert tiers_for(3) == ("xlsr", "bicubic")
    for scale in SCALES:
        ranked = tiers_for(scale)
        means = [sum(SR_SCORES[t, scale]) / 2 for t in ranked]
        assert means == sorted(means, reverse=True)


def test_a_retrained_model_that_scores_higher_ranks_higher(monkeypatch):
    monkeypatch.setitem(SR_SCORES, ("litesr", 2), (37.5, 33.0))
    assert tiers_for(2)[0] == "litesr"
    quality = Upscale(2, "bicubic").tier_quality
    assert quality["litesr"] == 1.0 and quality["bicubic"] == 0.5 and 0.5 < quality["esrt"] < 1.0


def test_the_live_ladder_leaves_out_offline_only_and_lossy_int8_tiers(monkeypatch):
    monkeypatch.setattr(catalogue, "cpu_has_int8_dot", lambda: True)
    xlsr_set5, xlsr_set14 = SR_SCORES[("xlsr", 2)]
    assert xlsr_set5 - SR_SCORES[("xlsr-int8", 2)][0] > 0.15  # int8 loses more than the ladder allows
    assert live_tiers(2) == ("xlsr", "litesr", "bicubic")
    monkeypatch.setitem(SR_SCORES, ("xlsr-int8", 2), (xlsr_set5 - 0.05, xlsr_set14 - 0.05))
    assert live_tiers(2) == ("xlsr", "xlsr-int8", "litesr", "bicubic")
    monkeypatch.setattr(catalogue, "cpu_has_int8_dot", lambda: False)
    assert live_tiers(2) == ("xlsr", "litesr", "bicubic")  # without VNNI/AMX int8 is slower than fp32 (measured)
    assert live_tiers(3) == ("xlsr", "bicubic")
    assert Upscale(2, "xlsr").tiers == ("xlsr", "litesr", "bicubic")
    assert Upscale(2, "esrt").tiers == ("esrt", "xlsr", "litesr", "bicubic")  # asked for: offered, ranked
    assert Upscale(2, "xlsr", strict=True).tiers == TIERS


@pytest.mark.parametrize(
    "scale, model, words",
    [
        (3, "esrt", "no ×3 model"),
        (3, "xlsr-int8", "no ×3 model"),
        (4, "xlsr", "×2 or ×3"),
        (1, "bicubic", "×2 or ×3"),
        (2, "edsr", "choose one of"),
    ],
)
def test_impossible_combinations_are_user_errors(scale, model, words):
    with pytest.raises(UserError, match=words):
        check_upscale(scale, model)
    if scale == 1:  # the stage itself takes ×1: it then only enlarges auto-framing's crops
        assert Upscale(1, model).net_scale == 2
        return
    with pytest.raises(UserError):
        Upscale(scale, model)


def test_the_context_around_a_person_covers_the_receptive_radius():
    """`CONTEXT_PX` (person_only's context around the box) is at least `RECEPTIVE_RADIUS_PX` for every
    tier with a bounded receptive field (the exactness of that radius is tested with OpenVINO's bands)."""
    assert all(CONTEXT_PX[t] >= r for t, r in RECEPTIVE_RADIUS_PX.items())


def test_unknown_engines_are_user_errors_naming_the_choices():
    for engine in ENGINES:
        check_engine(engine)
    with pytest.raises(UserError, match="choose one of auto, openvino, openvino-bf16, onnxruntime, numba"):
        check_engine("tensorrt")


def test_the_catalogue_imports_without_numpy_opencv_or_an_engine():
    """The command line and the preset loader import the catalogue to check names: it must not pull in
    the heavy stack (nor may the package's `__init__`)."""
    code = (
        "import sys, pipeline.stages.upscale, pipeline.stages.upscale.catalogue; "
        "print(sorted(m for m in ('numpy', 'cv2', 'onnxruntime', 'openvino', 'numba') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
