"""The matte stage: refined alpha, temporal behaviour, and one alpha shared by compositor and matte."""

from fractions import Fraction

import cv2
import numpy as np
import pytest

from kernels import reference as ref
from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.graph import Graph
from pipeline.sinks.matte import MatteSink
from pipeline.stage import Sink, Source, Stage
from pipeline.stages.background import Background
from pipeline.stages.matte import Matte, guide_factor

W, H = 192, 108


def person_frame(x_px: float, seq: int = 0, noise_seed: int | None = None):
    """A bright ellipse ('person') at horizontal offset x_px on a textured background, with a model-like
    soft low-resolution mask (64x36) of it."""
    yy, xx = np.mgrid[0:H, 0:W]
    inside = ((xx - W / 2 - x_px) / (W * 0.2)) ** 2 + ((yy - H * 0.7) / (H * 0.45)) ** 2 < 1
    rng = np.random.default_rng(seq if noise_seed is None else noise_seed)
    pixels = (40 + 30 * np.sin(xx / 5.0)[..., None] + rng.integers(0, 3, (H, W, 3))).astype(np.uint8)
    pixels[inside] = (200, 180, 170)
    mask = cv2.resize(cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 4), (64, 36), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(pixels), np.clip(mask, 0, 1).astype(np.float32), inside


def test_guide_is_the_frame_halved_while_it_stays_at_least_mask_size():
    assert guide_factor(1280, 720, 256, 144) == 4  # 320x180
    assert guide_factor(640, 480, 256, 256) == 2
    assert guide_factor(200, 100, 256, 144) == 1


def test_refined_alpha_is_full_resolution_and_follows_the_person():
    pixels, mask, inside = person_frame(0)
    alpha = Matte().alpha(pixels, mask, discont=True)
    assert alpha.shape == (H, W) and alpha.dtype == np.uint8
    assert np.count_nonzero((alpha >= 128) != inside) < 0.02 * inside.size


def test_a_frame_without_mask_names_the_fix():
    stage = Matte()
    stage.open(Caps(W, H, Fraction(30)))
    with pytest.raises(RuntimeError, match="segment stage"):
        stage.process(Frame(np.zeros((H, W, 3), np.uint8), pts_ns=0, seq=0))


def test_still_frames_with_a_jittering_mask_give_a_steady_alpha():
    pixels, mask, _ = person_frame(0, noise_seed=0)
    stage = Matte()
    rng = np.random.default_rng(5)
    alphas = []
    for seq in range(12):
        jitter = np.clip(mask + rng.normal(0, 0.12, mask.shape).astype(np.float32), 0, 1)
        alphas.append(stage.alpha(pixels, jitter, discont=seq == 0).astype(int))
    raw = [
        ref.alpha_reference(
            np.clip(mask + np.random.default_rng(s).normal(0, 0.12, mask.shape), 0, 1).astype(np.float32),
            H,
            W,
            0.25,
            0.75,
        ).astype(int)
        for s in range(12)
    ]
    flicker = np.mean([np.abs(a - b).mean() for a, b in zip(alphas[4:], alphas[5:])])
    raw_flicker = np.mean([np.abs(a - b).mean() for a, b in zip(raw[4:], raw[5:])])
    assert flicker < 0.5 * raw_flicker


def test_a_fast_moving_person_is_not_left_behind():
    stage = Matte()
    for seq, x in enumerate(range(-60, 61, 12)):  # 12 px per frame: a fast sweep
        pixels, mask, inside = person_frame(x, seq)
        alpha = stage.alpha(pixels, mask, discont=seq == 0)
        raw = ref.alpha_reference(mask, H, W, 0.5, 0.5) >= 128
        err = np.count_nonzero((alpha >= 128) != inside)
        assert err <= np.count_nonzero(raw != inside) + 0.005 * inside.size, seq


def test_discont_resets_the_temporal_state():
    stage = Matte()
    a, mask_a, _ = person_frame(-50)
    b, mask_b, inside_b = person_frame(50)
    stage.alpha(a, mask_a, discont=True)
    stage.alpha(a, mask_a)
    fresh = Matte().alpha(b, mask_b, discont=True)
    assert np.array_equal(stage.alpha(b, mask_b, discont=True), fresh)


class _Frames(Source):
    name = "frames"

    def __init__(self, n):
        self.n, self.i = n, 0

    def open(self):
        return Caps(W, H, Fraction(30), frame_count=self.n)

    def read(self):
        if self.i >= self.n:
            return None
        pixels, _, _ = person_frame(8 * self.i - 20, self.i)
        self.i += 1
        return Frame(pixels, pts_ns=self.i, seq=self.i - 1)


class _FakeSegment(Stage):
    """Stands in for MediaPipe: the mask of the frame's ellipse."""

    name = "segment"

    def process(self, frame):
        frame.mask = person_frame(8 * frame.seq - 20, frame.seq)[1]
        return frame


class _Keep(Sink):
    name = "keep"

    def __init__(self):
        self.frames = []

    def process(self, frame):
        self.frames.append((frame.seq, frame.pixels.copy()))


@pytest.mark.parametrize("refine", [True, False])
@pytest.mark.parametrize("background", ["transparent", "color:#00FF00"])
def test_matte_output_is_exactly_the_alpha_the_compositor_blends_with(tmp_path, background, refine):
    keep = _Keep()
    graph = Graph(
        _Frames(6),
        [_FakeSegment(), Matte(refine=refine), Background(background, keep_alpha=True)],
        [MatteSink(tmp_path, 0.25, 0.75), keep],
    )
    graph.run()
    assert len(keep.frames) == 6
    for seq, out in keep.frames:
        written = cv2.imread(str(tmp_path / f"{seq:06d}.png"), cv2.IMREAD_UNCHANGED)
        pixels, _, _ = person_frame(8 * seq - 20, seq)
        if background == "transparent":
            assert np.array_equal(out[:, :, 3], written)
        else:
            green = np.empty_like(pixels)
            green[:] = (0, 255, 0)
            assert np.array_equal(out, ref.blend_reference(pixels, green, written))


@pytest.mark.parametrize("person", ["alpha", "mask"])
def test_no_bleed_blur_keeps_the_persons_colour_out_of_the_background(person):
    """From the refined full-resolution alpha, or from a low-resolution model mask (the live
    presets' temporal-only path)."""
    from kernels.blur import downscaled_blur
    from pipeline.stages.backdrops import person_free_blur

    frame = np.full((72, 128, 3), 40, np.uint8)
    frame[:, :64] = (0, 0, 250)  # a red 'person' on the left half
    if person == "alpha":
        cover = np.zeros((72, 128), np.uint8)
        cover[:, :64] = 255
    else:
        cover = np.zeros((18, 32), np.float32)
        cover[:, :16] = 1.0
    plain = cv2.resize(downscaled_blur(frame, 12.0), (128, 72), interpolation=cv2.INTER_LINEAR)
    clean = cv2.resize(person_free_blur(frame, cover, 12.0), (128, 72), interpolation=cv2.INTER_LINEAR)
    next_to_person = np.s_[:, 66:74, 2]
    assert plain[next_to_person].mean() > 100  # the halo
    assert abs(clean[next_to_person].astype(int) - 40).max() <= 3


@pytest.mark.parametrize("refine", [True, False])
def test_the_blur_background_reuses_the_mattes_reductions_with_the_same_result(refine):
    pixels, mask, _ = person_frame(0)

    def composite(share: bool):
        matte = Matte(refine=refine)
        matte.open(Caps(W, H, Fraction(30)))
        frame = matte.process(Frame(pixels.copy(), pts_ns=0, seq=0, mask=mask.copy(), discont=True))
        if not share:
            frame.pixels = frame.pixels.copy()  # a new array: its cache starts empty
        filled = sorted(frame.reductions())
        bg = Background("blur:12")
        bg.open(Caps(W, H, Fraction(30)))
        return bg.process(frame).pixels, filled

    shared, filled = composite(True)
    fresh, empty = composite(False)
    assert filled and not empty  # the matte left its guide's levels on the frame
    assert np.array_equal(shared, fresh)


def test_frame_reductions_are_forgotten_when_the_pixels_are_replaced():
    frame = Frame(np.zeros((8, 8, 3), np.uint8), pts_ns=0, seq=0)
    frame.reductions()[2] = np.zeros((4, 4, 3), np.uint8)
    assert 2 in frame.reductions()
    frame.pixels = np.ones((8, 8, 3), np.uint8)
    assert frame.reductions() == {}


def test_the_compositor_uses_the_given_alpha_with_no_bleed_blur():
    pixels, mask, _ = person_frame(0)
    frame = Frame(pixels, pts_ns=0, seq=0, mask=mask)
    stage = Matte()
    stage.open(Caps(W, H, Fraction(30)))
    alpha = stage.process(frame).alpha.copy()
    bg = Background("blur", keep_alpha=True)
    bg.open(Caps(W, H, Fraction(30)))
    out = bg.process(frame)
    assert out.alpha is not None and np.array_equal(out.alpha, alpha)
    person = alpha == 255
    assert np.array_equal(out.pixels[person], pixels[person])


@pytest.mark.parametrize("spec", ["blur", "color:#102030", "chroma", "transparent", "none"])
def test_every_mode_takes_the_matte_alpha_and_passes_it_on_only_with_keep_alpha(spec):
    pixels, mask, _ = person_frame(0)
    matte = Matte()
    alpha = matte.alpha(pixels, mask, discont=True)
    for keep in (False, True):
        bg = Background(spec, keep_alpha=keep)
        caps = bg.open(Caps(W, H, Fraction(30)))
        out = bg.process(Frame(pixels.copy(), pts_ns=0, seq=0, mask=mask, alpha=alpha.copy()))
        assert out.pixels.shape == (H, W, caps.channels)
        assert (out.alpha is not None) == keep and (not keep or np.array_equal(out.alpha, alpha))
        if spec == "transparent":
            assert np.array_equal(out.pixels[:, :, 3], alpha)


def test_temporal_only_smooths_the_model_mask_in_place_and_sets_no_alpha():
    stage = Matte(refine=False)
    stage.open(Caps(W, H, Fraction(30)))
    pixels, mask, _ = person_frame(0, noise_seed=0)
    stage.process(Frame(pixels, pts_ns=0, seq=0, mask=mask, discont=True))
    jitter = np.clip(mask + 0.3, 0, 1).astype(np.float32)
    out = stage.process(Frame(pixels, pts_ns=1, seq=1, mask=jitter))
    assert out.alpha is None and out.mask.shape == mask.shape and out.mask.dtype == np.float32
    # a still frame: the new mask enters with weight 0.3, then the band is pushed to the state's side
    e = mask + 0.3 * (jitter - mask)
    b = stage.band
    state = np.where(e >= 0.5 + b, True, np.where(e <= 0.5 - b, False, mask >= 0.5))
    want = np.where(state, np.maximum(e, 0.5 + b), np.minimum(e, 0.5 - b))
    np.testing.assert_allclose(out.mask, want, atol=1e-5)
