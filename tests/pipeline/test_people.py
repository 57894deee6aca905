"""people = main: only the main person is kept, on drawn masks and on real recordings with a bystander
walking behind the caller (composed from ../shared/data/video/webcam by tools.eval_people)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.people import MainPerson
from tests.conftest import shared_data

W, H = 320, 180


def person(mask: np.ndarray, x: int, width: int, top: int = 40) -> np.ndarray:
    """A drawn person (head and shoulders, probability 1 with a soft edge) standing at column `x`."""
    drawn = np.zeros_like(mask, np.uint8)
    cv2.ellipse(drawn, (x, top + width // 3), (width // 4, width // 3), 0, 0, 360, 255, -1)
    cv2.rectangle(drawn, (x - width // 2, top + width // 2), (x + width // 2, H), 255, -1)
    soft = cv2.GaussianBlur(drawn, (5, 5), 0).astype(np.float32) / 255
    return np.maximum(mask, soft)


def empty() -> np.ndarray:
    return np.zeros((H, W), np.float32)


def test_the_largest_most_central_person_is_kept_and_the_others_go():
    keep = MainPerson()
    mask = person(person(empty(), 160, 100), 40, 50)
    kept = keep.keep(mask)
    assert kept[100:, 120:200].min() > 0.9  # the caller, whole
    assert kept[:, :70].max() == 0  # the bystander at the side, soft edge included
    assert keep.others == 1
    np.testing.assert_allclose(kept[:, 100:], mask[:, 100:], atol=0.06)  # the caller's faintest rim at most


def test_a_bystander_walking_behind_the_caller_stays_out_while_they_overlap():
    keep = MainPerson()
    leaked, visible = [], []
    for x in range(0, 300, 12):  # walks from the left edge to the right one, passing behind the caller
        bystander = person(empty(), x, 60, top=60)
        caller = person(empty(), 160, 110)
        kept = keep.keep(np.maximum(caller, bystander))
        # the bystander's own pixels, apart from the few along the caller's outline
        outline = cv2.dilate((caller >= 0.2).astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
        only_bystander = (bystander >= 0.5) & ~outline
        leaked.append(np.count_nonzero(kept[only_bystander] >= 0.5))
        visible.append(np.count_nonzero(only_bystander))
        assert kept[caller >= 0.5].min() >= 0.5  # the caller is never cut
    shares = [a / b for a, b in zip(leaked, visible) if b > 100]
    assert sum(leaked) < 0.1 * sum(visible)  # pixels shown of the bystander over the whole walk
    assert sum(share > 0.2 for share in shares) <= 2  # coming out from behind: at most two frames


def test_a_raised_arm_is_the_callers_again_within_a_few_frames():
    keep = MainPerson()
    caller = person(empty(), 160, 100)
    for _ in range(10):
        keep.keep(caller)
    raised = caller.copy()
    cv2.rectangle(raised, (205, 20), (225, 100), 1.0, -1)  # an arm raised at once: +17 % of their area
    shown = [keep.keep(raised)[30, 215] for _ in range(15)]
    assert shown[-1] == 1.0 and shown.index(1.0) <= 7  # back within 0.25 s at 30 fps, and it stays


def test_a_hand_the_mask_cut_off_stays_and_a_new_frame_chooses_afresh():
    keep = MainPerson()
    caller = person(empty(), 160, 100)
    keep.keep(caller)
    hand = caller.copy()
    cv2.circle(hand, (224, 100), 6, 1.0, -1)  # a hand beside the body, apart from it in the mask
    assert keep.keep(hand)[100, 224] == 1.0
    keep.reset()
    other = person(empty(), 250, 120)
    assert keep.keep(other)[150, 250] == 1.0  # someone else entirely: they are the main person now


def test_nobody_big_enough_leaves_the_mask_as_it_is():
    mask = empty()
    mask[10:14, 10:14] = 0.9
    np.testing.assert_array_equal(MainPerson().keep(mask), mask)


def test_people_main_on_real_recordings_keeps_the_caller_and_hides_the_bystander():
    from tools import eval_people

    shared_data("video", "webcam")
    caller, passer = (eval_people.EVAL_CLIPS[0], eval_people.EVAL_CLIPS[1])
    row = eval_people.score_pair(caller, passer, "landscape")
    everyone, main = row["all"], row["main"]
    assert everyone["bystander_shown"] > 0.3  # the bystander is really there to be hidden
    assert main["iou_mean"] >= 0.93 and main["iou_mean"] > everyone["iou_mean"] + 0.02
    assert main["bystander_shown"] < everyone["bystander_shown"] / 2
    assert main["flicker"] <= everyone["flicker"]


def test_people_main_in_a_room_people_walk_through_keeps_one_person_and_never_jumps():
    from tools import eval_people

    shared_data("video", "people_one_by_one_768x432.mp4")
    room = eval_people.score_room("landscape", 200)
    assert room["frames"] == 200
    assert room["frames_with_more_than_one_region"] <= 4  # a person region split for a frame or two at most
    assert room["kept_person_jumps"] == 0


@pytest.mark.parametrize("people", ["main", "all"])
def test_the_segment_stage_reports_people_main_and_takes_the_change_live(people):
    from fractions import Fraction

    from pipeline.caps import Caps
    from pipeline.frame import Frame
    from pipeline.settings import Settings
    from pipeline.stages.segment import Segment

    segment = Segment("landscape", roi=False, people="all")
    segment.open(Caps(W, H, Fraction(30)))
    try:
        segment.settings_change(Settings(people=people), {"people"})()
        frame = segment.process(Frame(np.full((H, W, 3), 90, np.uint8), pts_ns=0, seq=0, discont=True))
        assert segment.people == people
        assert frame.tiers.get("people") == ("main" if people == "main" else None)
    finally:
        segment.close()


def test_the_hud_shows_people_and_light_beside_the_stages():
    from pipeline.frame import Frame
    from pipeline.sinks.preview import PreviewSink

    frame = Frame(np.zeros((36, 64, 3), np.uint8), pts_ns=0, seq=3)
    frame.stage_ms.update(light=0.4, segment=5.0)
    frame.tiers.update(light="auto: gain 2.10 lift 3.0", segment="landscape", people="main (1 other hidden)")
    lines = PreviewSink().hud_lines(frame)
    assert any(line.startswith("light") and "[auto: gain 2.10" in line for line in lines)
    assert "people     main (1 other hidden)" in lines
