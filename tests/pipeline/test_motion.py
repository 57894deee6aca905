"""mask_reuse: the person model runs only when the picture changed (pipeline.motion.MotionGate), on
drawn frames and on real recordings against running it on every frame (tools.eval_reuse)."""

from __future__ import annotations

import numpy as np

from pipeline.motion import MotionGate
from tests.conftest import shared_data


def pts(i: int) -> int:
    """Media time of frame `i` at 30 fps, ns."""
    return i * 1_000_000_000 // 30


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 200, (360, 640, 3), dtype=np.uint8)


def run_pattern(gate: MotionGate, frames: list[np.ndarray], discont_at: tuple[int, ...] = ()) -> list[bool]:
    runs = []
    for i, pixels in enumerate(frames):
        run = gate.decide(pixels, pts(i), i in discont_at)
        if run:
            gate.ran(pts(i))
        runs.append(run)
    return runs


def test_a_still_picture_runs_the_model_at_the_minimum_rate_only():
    still = picture()
    runs = run_pattern(MotionGate(max_gap_s=0.2), [still] * 30)
    assert runs[0] and sum(runs) == 5  # frames 0, 6, 12, 18, 24: every 0.2 s of media time
    assert [i for i, r in enumerate(runs) if r] == [0, 6, 12, 18, 24]


def test_motion_in_one_cell_a_cut_and_a_discont_run_it_at_once():
    still = picture()
    moved = still.copy()
    moved[100:160, 300:360] = 0  # a dark sleeve moves into one part of the picture
    cut = picture(seed=5)
    runs = run_pattern(MotionGate(), [still, still, moved, moved, cut, cut, cut], discont_at=(6,))
    assert runs == [True, False, True, False, True, False, True]


def test_motion_inside_the_person_does_not_run_it_and_across_their_edge_does():
    still = picture()
    mask = np.zeros((180, 320), np.float32)
    mask[40:, 80:240] = 1.0  # the person: frame x 160..480, y 80..360
    talking = still.copy()
    talking[150:250, 250:350] = 0  # inside them, far from their edge (a face, a hand on the chest)
    arm = still.copy()
    arm[150:250, 130:190] = 0  # the same change across their left edge
    gate = MotionGate(max_gap_s=10)
    assert gate.decide(still, pts(0), True)
    gate.ran(pts(0), mask)
    assert not gate.decide(talking, pts(1), False) and gate.change == 0
    assert gate.decide(arm, pts(2), False)
    without_mask = MotionGate(max_gap_s=10)
    without_mask.decide(still, pts(0), True)
    without_mask.ran(pts(0))
    assert without_mask.decide(talking, pts(1), False)


def test_noise_alone_does_not_run_it():
    rng = np.random.default_rng(1)
    still = picture().astype(np.int16)
    noisy = [np.clip(still + rng.normal(0, 3, still.shape), 0, 255).astype(np.uint8) for _ in range(5)]
    gate = MotionGate(max_gap_s=10)
    assert run_pattern(gate, noisy) == [True, False, False, False, False] and gate.change < 2


def test_segment_with_mask_reuse_counts_runs_and_shows_the_rate():
    from fractions import Fraction

    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.stages.segment import Segment

    segment = Segment("landscape", roi=False, mask_reuse=True)
    segment.open(Caps(640, 360, Fraction(30)))
    try:
        still = picture()
        frames = [segment.process(Frame(still, pts_ns=pts(i), seq=i, discont=i == 0)) for i in range(30)]
        assert segment.model_runs == 5
        assert all(f.mask is not None for f in frames) and frames[-1].tiers["model"] == "5 runs/s"
    finally:
        segment.close()


def test_on_real_recordings_reuse_keeps_the_masks_of_every_frame_inference():
    from tools import eval_reuse
    from tools.eval_people import read_clip

    shared_data("video", "webcam")
    clip = eval_reuse.call_recordings("eval")[0]
    frames = [eval_reuse.cv2.resize(f, eval_reuse.SIZE) for f in read_clip(eval_reuse.VIDEO / clip, 45)]
    row = eval_reuse.score("clip", frames)
    assert row["model_share"] < 0.9  # the model really skipped frames
    assert row["iou_mean"] >= 0.99 and row["iou_worst"] >= 0.95
    assert row["flicker_reuse"] <= row["flicker_every"] + 0.05
