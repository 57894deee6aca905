"""The real MediaPipe selfie models on the synthetic portrait."""

import cv2
import numpy as np
import pytest

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stages.segment import SEGMENTER_MODELS, Segment, SelfieGraph, shrink_to


@pytest.fixture(scope="module")
def segment():
    stage = Segment("landscape", roi=False)
    stage.open(Caps(1280, 720, 30))
    yield stage
    stage.close()


@pytest.fixture(scope="module")
def portrait_frames():
    source = SyntheticSource(1280, 720, 30, frames=60)
    source.open()
    return [source.render(seq) for seq in (0, 30, 59)]


@pytest.mark.parametrize("model", ["general", "landscape"])
def test_mask_covers_the_face_and_not_the_corners(segment, portrait_frames, model):
    for pixels in portrait_frames:
        mask = segment.segment(pixels, model)
        width, height = SEGMENTER_MODELS[model][1]
        assert mask.shape == (height, width) and mask.dtype == np.float32
        full = cv2.resize(mask, (1280, 720), interpolation=cv2.INTER_LINEAR)
        face = full[200:330, 480:600]  # the astronaut's face in the synthetic frame
        assert face.mean() > 0.95
        for corner in (full[:60, :60], full[:60, -60:], full[-60:, -60:]):
            assert corner.mean() < 0.05


@pytest.mark.parametrize("model", ["general", "landscape"])
def test_selfie_graph_gives_the_solution_api_masks_bit_for_bit(portrait_frames, model):
    from mediapipe.python.solutions import selfie_segmentation

    selection, size = SEGMENTER_MODELS[model]
    graph = SelfieGraph(selection)
    solution = selfie_segmentation.SelfieSegmentation(model_selection=selection)
    try:
        for pixels in portrait_frames:
            rgb = cv2.cvtColor(shrink_to(pixels, size), cv2.COLOR_BGR2RGB)
            ours = graph.run(rgb)
            assert ours.dtype == np.float32 and ours.shape == rgb.shape[:2]
            np.testing.assert_array_equal(ours, solution.process(rgb).segmentation_mask)
    finally:
        graph.close()
        solution.close()


def test_a_closed_selfie_graph_is_freed():
    """Nothing in MediaPipe's graph refers back to the wrapper (a cycle through the C++ graph is
    invisible to the collector: ~20 MB kept per wrapper)."""
    import gc
    import weakref

    graph = SelfieGraph(1)
    graph.run(np.zeros((144, 256, 3), np.uint8))
    alive = weakref.ref(graph)
    graph.close()
    del graph
    gc.collect()
    assert alive() is None


def test_process_attaches_mask_and_tier_and_switches_model(segment, portrait_frames):
    frame = Frame(portrait_frames[0], pts_ns=0, seq=0)
    segment.process(frame)
    assert frame.mask.shape == (144, 256) and frame.tiers["segment"] == "landscape"
    segment.set_model("general")
    segment.process(frame)
    assert frame.mask.shape == (256, 256) and frame.tiers["segment"] == "general"
    segment.set_model("landscape")


def test_unknown_model_is_a_user_error():
    from pipeline.errors import UserError

    with pytest.raises(UserError, match="general, landscape"):
        Segment("huge")


def test_half_rate_tier_reuses_every_other_mask_and_reruns_on_discont(segment, portrait_frames):
    segment.set_tier("landscape-half-rate")
    frames = [Frame(portrait_frames[i % 3], pts_ns=i, seq=i, discont=(i == 3)) for i in range(6)]
    masks = [segment.process(f).mask for f in frames]
    segment.set_tier("landscape")
    assert masks[1] is masks[0]  # reused
    assert masks[2] is not masks[1] and masks[3] is not masks[2]  # ran again; discont forces a run
    assert masks[4] is masks[3] and masks[5] is not masks[4]
    assert all(f.tiers["segment"] == "landscape-half-rate" for f in frames)


def test_whole_frame_shrink_leaves_its_halvings_on_the_frame_for_the_next_stages(portrait_frames):
    stage = Segment("landscape", roi=False)
    stage.open(Caps(1280, 720, 30))
    try:
        frame = Frame(portrait_frames[0].copy(), pts_ns=0, seq=0)
        stage.process(frame)
        levels = frame.reductions()
        assert sorted(levels) == [2, 4] and levels[4].shape == (180, 320, 3)
        np.testing.assert_array_equal(frame.mask, stage.segment(portrait_frames[0].copy()))
    finally:
        stage.close()


def test_the_settings_model_is_the_best_tier_offered():
    """A run set to landscape (the video-call presets) holds it from the first frame: the scheduler may
    go down to the half-rate tier under load and back, never up to the general model."""
    from fractions import Fraction

    from pipeline.bus import Bus
    from pipeline.scheduler import DeadlineScheduler, live_config

    assert Segment("general", roi=False).tiers == ("general", "landscape", "landscape-half-rate")
    stage = Segment("landscape", roi=False)
    assert stage.tiers == ("landscape", "landscape-half-rate")
    with pytest.raises(ValueError):
        stage.set_tier("general")
    stage.set_tier("landscape-half-rate")
    scheduler = DeadlineScheduler([stage], live_config(Fraction(30), 2.0), Bus())
    period = 33_333_333
    for seq in range(900):  # 30 s of frames that cost 2 ms: all the slack there is
        now = seq * period
        assert scheduler.admit(now, now, 0)
        scheduler.frame_done(now, {"segment": 2.0}, {"segment": stage.tier}, now + 2_000_000)
        assert stage.tier != "general"
    assert stage.tier == "landscape"  # moved up from half rate, and no further
    stage.set_model("general")  # a live change of the setting raises the ceiling
    assert stage.tiers[0] == "general" and stage.tier == "general"
