"""Region-of-interest tracking: crop choice, hysteresis, re-acquisition, the mask pasting, and the
real model on a person far from the camera."""

import cv2
import numpy as np
import pytest

from pipeline.caps import Caps
from pipeline.frame import Frame
from pipeline.roi import RoiTracker, contains, crop_around, paste_crop_mask, person_box
from pipeline.sources.synthetic import SyntheticSource
from pipeline.stages.segment import Segment, roi_mask_size

W, H = 1280, 720


def mask_with_box(x, y, w, h, size=(320, 180)):
    """A whole-frame mask (stretched to W×H) with the person filling frame box (x, y, w, h)."""
    mw, mh = size
    mask = np.zeros((mh, mw), np.float32)
    mask[y * mh // H : (y + h) * mh // H, x * mw // W : (x + w) * mw // W] = 1
    return mask


def test_person_box_is_in_frame_pixels_and_none_when_empty():
    assert person_box(mask_with_box(400, 200, 160, 320), W, H) == (400, 200, 160, 320)
    assert person_box(np.zeros((180, 320), np.float32), W, H) is None


def test_crop_has_the_models_aspect_a_margin_and_stays_inside_the_frame():
    crop = crop_around((600, 300, 100, 200), W, H, aspect=1.0, margin=0.1, min_height=0.3)
    x, y, w, h = crop
    assert w == h == 240  # 200 + 2 × 20 margin, squared
    assert (x, y) == (530, 280)  # centred on the person
    # near the bottom-right corner: shifted inside, same size
    x, y, w, h = crop_around((1200, 600, 60, 100), W, H, 16 / 9, 0.1, 0.3)
    assert x + w <= W and y + h <= H and abs(w / h - 16 / 9) < 0.02
    # a small person still gets a crop at least 30 % of the frame tall
    assert crop_around((600, 300, 10, 20), W, H, 1.0, 0.1, 0.3)[3] == round(0.3 * H)
    # a person filling the frame: no crop (the whole frame is the better input)
    assert crop_around((100, 0, 1000, 720), W, H, 16 / 9, 0.1, 0.3) is None


def test_contains_ignores_the_sides_on_frame_borders():
    assert contains((0, 0, 400, 400), (10, 10, 100, 100), 20, W, H)  # left/top are frame borders
    assert not contains((100, 100, 400, 400), (110, 110, 100, 100), 20, W, H)
    assert contains((100, 100, 400, 400), (130, 130, 100, 100), 20, W, H)


def test_tracker_holds_the_crop_for_small_moves_and_follows_big_ones():
    tracker = RoiTracker(W, H, aspect=1.0)
    assert tracker.needs_full_frame(False, 0)  # nothing known yet
    first = tracker.acquire(mask_with_box(600, 300, 100, 200), 0)
    tracker.update(mask_with_box(600, 300, 100, 200))
    assert tracker.crop == first and not tracker.needs_full_frame(False, 1)
    tracker.update(mask_with_box(604, 300, 100, 200))  # a few pixels: the crop stays (no jitter)
    assert tracker.crop == first
    tracker.update(mask_with_box(680, 300, 100, 200))  # near the crop's edge: it follows
    assert tracker.crop != first and contains(tracker.crop, (680, 300, 100, 200), 30, W, H)
    tracker.update(np.zeros((180, 320), np.float32))  # lost
    assert tracker.crop is None and tracker.needs_full_frame(False, 2)


def test_tracker_reacquires_on_the_whole_frame_at_fixed_media_times_and_on_discont():
    tracker = RoiTracker(W, H, aspect=1.0, reacquire_ns=100)
    mask = mask_with_box(600, 300, 100, 200)
    pattern = []
    for pts in range(0, 350, 40):  # 0, 40, ... 320: windows of 100 start at 0, 120, 200, 320
        full = tracker.needs_full_frame(False, pts)
        pattern.append(full)
        if full:
            tracker.acquire(mask, pts)
        tracker.update(mask)
    assert pattern == [True, False, False, True, False, True, False, False, True]
    assert tracker.needs_full_frame(True, 330)


def test_crops_after_an_acquisition_do_not_depend_on_earlier_frames():
    """What makes chunked batch output equal a single pass: two trackers with different pasts
    agree from the first acquisition they share."""
    moving = [mask_with_box(300 + 15 * t, 300, 100, 200) for t in range(40)]
    fresh, long = RoiTracker(W, H, 1.0, reacquire_ns=10), RoiTracker(W, H, 1.0, reacquire_ns=10)
    crops = {"fresh": [], "long": []}
    for t, mask in enumerate(moving):
        for name, tracker in (("fresh", fresh), ("long", long)):
            if name == "fresh" and t < 13:
                continue  # starts later, mid-window
            if tracker.needs_full_frame(False, t):
                tracker.acquire(mask, t)
            tracker.update(mask)
            crops[name].append(tracker.crop)
    assert crops["long"][20:] == crops["fresh"][7:]


def test_paste_maps_pixel_centres_exactly():
    """A crop mask that is a linear ramp in frame x lands in the whole-frame mask with the ramp's
    value at each out pixel's centre (bilinear is exact on linear data)."""
    crop = (320, 180, 480, 360)
    mw, mh = 256, 192
    frame_x = crop[0] + (np.arange(mw) + 0.5) * crop[2] / mw  # centre of each crop-mask column
    ramp = np.tile(((frame_x - 300) / 600).astype(np.float32), (mh, 1))
    out = np.full((180, 320), -1, np.float32)
    paste_crop_mask(ramp, crop, W, H, out)
    out_x = (np.arange(320) + 0.5) * W / 320
    inside = (out_x >= crop[0]) & (out_x < crop[0] + crop[2])
    rows = slice(45, 135)  # out rows whose centres lie inside the crop's 180..540
    assert (out[:, ~inside] == -1).all() and (out[:44] == -1).all() and (out[136:] == -1).all()
    inner = inside & (out_x > frame_x[0]) & (out_x < frame_x[-1])
    np.testing.assert_allclose(
        out[rows][:, inner], np.tile((out_x[inner] - 300) / 600, (90, 1)), atol=2e-4
    )  # warpAffine places samples to 1/32 px: 1/32 of a step of 0.003
    assert (out[rows][:, inside] >= ramp.min() - 1e-6).all()  # the edge columns replicate


def test_mask_size_is_the_matte_guide_size():
    assert roi_mask_size(1280, 720) == (320, 180)
    assert roi_mask_size(640, 480) == (320, 240)
    assert roi_mask_size(1920, 1080) == (480, 270)


@pytest.fixture(scope="module")
def far_scene():
    """The synthetic portrait's person (cut out with the model's own mask on the full-size frame)
    pasted at 40 % size on a smooth backdrop, and that pasted mask as ground truth."""
    source = SyntheticSource(W, H, 30, frames=1)
    source.open()
    pixels = source.render(0)
    seg = Segment("general", roi=False)
    seg.open(Caps(W, H, 30))
    person = cv2.resize(seg.segment(pixels), (W, H)) >= 0.5
    seg.close()
    small_w, small_h = int(W * 0.4), int(H * 0.4)
    x0, y0 = 700, H - small_h
    yy, xx = np.mgrid[0:H, 0:W]
    canvas = np.dstack(
        [90 + 50 * np.sin(xx / 41.0), 130 + 40 * np.cos(yy / 29.0), 110 + 30 * np.sin((xx + yy) / 57.0)]
    ).astype(np.uint8)
    small = cv2.resize(pixels, (small_w, small_h), interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(person.astype(np.uint8), (small_w, small_h), interpolation=cv2.INTER_NEAREST) > 0
    region = canvas[y0:, x0 : x0 + small_w]
    region[small_mask] = small[small_mask]
    gt = np.zeros((H, W), bool)
    gt[y0:, x0 : x0 + small_w] = small_mask
    return canvas, gt


def iou(a, b):
    return np.count_nonzero(a & b) / max(1, np.count_nonzero(a | b))


@pytest.mark.parametrize("model", ["general", "landscape"])
def test_roi_segments_a_far_person_better_and_keeps_tracking(far_scene, model):
    canvas, gt = far_scene
    seg = Segment(model, roi=True)
    seg.open(Caps(W, H, 30))
    try:
        whole = iou(cv2.resize(seg.segment(canvas), (W, H)) >= 0.5, gt)
        masks = [seg.process(Frame(canvas, pts_ns=i * 33_000_000, seq=i, discont=i == 0)).mask for i in range(4)]
        assert all(m.shape == (180, 320) for m in masks)
        tracked = [iou(cv2.resize(m, (W, H)) >= 0.5, gt) for m in masks]
        crop = seg._tracker.crop
    finally:
        seg.close()
    assert crop is not None and contains(crop, person_box(gt.astype(np.float32), W, H), 0, W, H)
    assert min(tracked) > whole + 0.03, (whole, tracked)
    # a still scene gives the model the same crop every frame: the same mask
    np.testing.assert_array_equal(masks[2], masks[3])
