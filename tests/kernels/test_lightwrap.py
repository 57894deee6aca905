"""Light wrap: the weight's shape, the kernel against a plain float reference, and the background
stage using it."""

from fractions import Fraction

import cv2
import numpy as np
import pytest

from kernels.lightwrap import light_wrap, wrap_weight
from pipeline.caps import Caps
from pipeline.errors import UserError
from pipeline.frame import Frame
from pipeline.stages.background import Background


def person_left_half(h=45, w=80):
    p = np.zeros((h, w), np.float32)
    p[:, : w // 2] = 1
    return p


def test_weight_is_zero_on_the_background_and_deep_inside_and_largest_just_inside_the_edge():
    weight = wrap_weight(person_left_half(), sigma=3, strength=0.8)
    row = weight[20].astype(int)
    assert (row[40:] == 0).all()  # background: nothing to wrap
    assert row[0] == 0  # far inside (13 sigma): no background light reaches
    assert row[39] == max(row) > 0.8 * round(0.8 * 255)  # right at the edge: near the full strength
    assert (np.diff(row[25:40]) >= 0).all()  # rising towards the edge
    assert (wrap_weight(person_left_half(), 3, 0.0) == 0).all()
    with pytest.raises(ValueError):
        wrap_weight(person_left_half(), 3, 1.5)


def test_kernel_matches_the_float_reference_and_skips_rows_without_weight():
    rng = np.random.default_rng(1)
    h, w, sh, sw = 180, 320, 45, 80
    out = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    bg_small = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
    weight = wrap_weight(person_left_half(sh, sw), 3, 1.0)
    weight[:10] = 0  # the top rows: nothing to do there
    before = out.copy()
    light_wrap(out, weight, bg_small)
    wf = cv2.resize(weight.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)[..., None] / 256
    bgf = cv2.resize(bg_small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    expected = before + (bgf - before) * wf
    assert np.abs(out.astype(np.float32) - expected).max() <= 2.0
    assert np.array_equal(out[:30], before[:30])  # rows whose weight rows are all zero
    assert np.array_equal(out[:, 170:], before[:, 170:])  # the background side


def test_background_stage_wraps_the_background_light_over_the_edge_only():
    w, h = 320, 180
    pixels = np.full((h, w, 3), 40, np.uint8)  # a dark person...
    mask = np.zeros((45, 80), np.float32)
    mask[:, :40] = 1  # ... on the left half
    caps = Caps(w, h, Fraction(30))

    def run(light_wrap):
        stage = Background("color:#FFFFFF", light_wrap=light_wrap, light_wrap_px=8)
        stage.open(caps)
        return stage.process(Frame(pixels.copy(), pts_ns=0, seq=0, mask=mask.copy())).pixels.copy()

    plain, wrapped = run(0.0), run(0.7)
    assert np.array_equal(plain[:, :100], wrapped[:, :100])  # deep inside: untouched
    assert np.array_equal(plain[:, 170:], wrapped[:, 170:])  # the white background: untouched
    edge = np.s_[:, 150:158]
    assert wrapped[edge].mean() > plain[edge].mean() + 40  # just inside the edge: lit by the white
    with pytest.raises(UserError, match="light wrap"):
        Background("blur", light_wrap=2.0)


def test_transparent_output_gets_no_light_wrap():
    stage = Background("transparent", light_wrap=1.0)
    caps = Caps(64, 36, Fraction(30))
    stage.open(caps)
    mask = np.zeros((9, 16), np.float32)
    mask[:, :8] = 1
    frame = stage.process(Frame(np.full((36, 64, 3), 40, np.uint8), pts_ns=0, seq=0, mask=mask))
    assert frame.pixels.shape == (36, 64, 4) and (frame.pixels[:, :20, :3] == 40).all()
