"""The background stage on a synthetic frame and mask (no MediaPipe needed)."""

import threading
from fractions import Fraction

import cv2
import numpy as np
import pytest

from kernels.mask import alpha_from_mask
from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.stages.backdrops import BackgroundSpec, cover_fit, parse_background
from pipeline.stages.background import Background

W, H = 64, 48
CAPS = Caps(W, H, Fraction(30))


def make_frame(seq=0):
    """Random pixels; mask: person (1.0) on the left half of the mask, background (0.0) on the right."""
    rng = np.random.default_rng(seq)
    pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    mask = np.zeros((9, 16), np.float32)
    mask[:, :8] = 1.0
    return Frame(pixels=pixels, pts_ns=seq * 33_000_000, seq=seq, mask=mask)


# with a 16-column mask upsampled to 64, columns < 28 are fully person, columns >= 36 fully background
PERSON = np.s_[:, :28]
BACK = np.s_[:, 36:]


def run(stage, frame=None):
    stage.open(CAPS)
    frame = frame or make_frame()
    original = frame.pixels.copy()
    out = stage.process(frame)
    return original, out


def test_blur_keeps_person_pixels_and_blurs_the_background():
    original, out = run(Background("blur:8"))
    assert out.pixels.shape == (H, W, 3)
    np.testing.assert_array_equal(out.pixels[PERSON], original[PERSON])
    # the background of a random frame blurred: much smoother than the input there
    assert out.pixels[BACK].astype(float).std() < original[BACK].astype(float).std() / 3


def test_color_background_fills_background_pixels():
    original, out = run(Background("color:#00B140"))
    np.testing.assert_array_equal(out.pixels[PERSON], original[PERSON])
    assert (out.pixels[BACK] == np.array([0x40, 0xB1, 0x00], np.uint8)).all()  # BGR


def test_image_background_is_cover_cropped(tmp_path):
    # 256x96 image (8:3) onto a 64x48 frame (4:3): scaled by 0.5 to 128x48, centre 64 columns kept;
    # those come from source columns 64..192, which are green; red and blue bands are cropped away
    img = np.zeros((96, 256, 3), np.uint8)
    img[:, :64] = (0, 0, 255)
    img[:, 64:192] = (0, 255, 0)
    img[:, 192:] = (255, 0, 0)
    path = tmp_path / "bands.png"
    cv2.imwrite(str(path), img)
    original, out = run(Background(f"image:{path}"))
    np.testing.assert_array_equal(out.pixels[PERSON], original[PERSON])
    assert (out.pixels[BACK] == (0, 255, 0)).all()


def test_cover_fit_fills_the_frame_from_tall_and_wide_images():
    for shape in [(300, 100, 3), (10, 500, 3), (48, 64, 3), (7, 9, 3)]:
        fitted = cover_fit(np.zeros(shape, np.uint8), W, H)
        assert fitted.shape == (H, W, 3) and fitted.flags.c_contiguous


def test_transparent_outputs_bgra_with_alpha():
    stage = Background("transparent")
    assert stage.open(CAPS).channels == 4
    frame = make_frame()
    original = frame.pixels.copy()
    out = stage.process(frame)
    assert out.pixels.shape == (H, W, 4)
    np.testing.assert_array_equal(out.pixels[..., :3], original)
    assert (out.pixels[PERSON][..., 3] == 255).all()
    assert (out.pixels[BACK][..., 3] == 0).all()


def test_none_passes_pixels_through_untouched():
    stage = Background("none")
    frame = make_frame()
    pixels = frame.pixels
    original = pixels.copy()
    stage.open(CAPS)
    out = stage.process(frame)
    assert out.pixels is pixels and out.alpha is None
    np.testing.assert_array_equal(out.pixels, original)


@pytest.mark.parametrize("spec", ["blur", "color:#123456", "transparent", "none"])
def test_keep_alpha_sets_exactly_alpha_from_mask(spec):
    stage = Background(spec, keep_alpha=True, edge_lo=0.2, edge_hi=0.8)
    frame = make_frame()
    stage.open(CAPS)
    out = stage.process(frame)
    np.testing.assert_array_equal(out.alpha, alpha_from_mask(frame.mask, H, W, 0.2, 0.8))


def test_alpha_is_not_computed_unless_asked():
    stage = Background("blur")
    stage.open(CAPS)
    assert stage.process(make_frame()).alpha is None


def test_input_pixels_are_not_overwritten_and_held_outputs_are_not_reused():
    stage = Background("color:#000000")
    stage.open(CAPS)
    frames = [make_frame(i) for i in range(4)]
    inputs = [f.pixels for f in frames]
    copies = [p.copy() for p in inputs]
    outs = [stage.process(f).pixels for f in frames]
    for p, c in zip(inputs, copies):
        np.testing.assert_array_equal(p, c)
    assert len({id(o) for o in outs}) == 4  # all still held, so four distinct arrays
    np.testing.assert_array_equal(outs[0][PERSON], copies[0][PERSON])


def test_output_arrays_are_reused_once_released():
    stage = Background("color:#000000")
    stage.open(CAPS)
    first = id(stage.process(make_frame(0)).pixels)  # the frame is dropped at once
    assert id(stage.process(make_frame(1)).pixels) == first


def test_missing_mask_raises_a_clear_error():
    stage = Background("blur")
    stage.open(CAPS)
    frame = make_frame()
    frame.mask = None
    with pytest.raises(RuntimeError, match="segment stage"):
        stage.process(frame)


def test_refuses_bgra_input():
    with pytest.raises(GraphError):
        Background("blur").open(CAPS.with_(channels=4))


def test_cycle_switches_at_the_next_frame_and_wraps():
    stage = Background("color:#FF0000", cycle=["color:#00FF00", "transparent", "none"])
    assert [str(s) for s in stage.backgrounds] == ["color:#FF0000", "color:#00FF00", "none"]
    stage.open(CAPS)
    assert (stage.process(make_frame()).pixels[BACK] == (0, 0, 255)).all()
    assert str(stage.cycle()) == "color:#00FF00"
    assert (stage.process(make_frame()).pixels[BACK] == (0, 255, 0)).all()
    stage.cycle()
    assert stage.process(make_frame()).alpha is None and stage.current.mode == "none"
    stage.cycle()
    stage.process(make_frame())
    assert str(stage.current) == "color:#FF0000"


def test_cycle_is_thread_safe():
    stage = Background("blur", cycle=["color:#000000", "none"])
    threads = [threading.Thread(target=lambda: [stage.cycle() for _ in range(300)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stage.open(CAPS)
    stage.process(make_frame())
    assert stage.current == stage.backgrounds[(4 * 300) % 3]


def test_missing_image_is_a_user_error_naming_the_path(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(UserError, match="nope.png"):
        Background(f"image:{path}")


def test_unreadable_image_is_a_user_error(tmp_path):
    path = tmp_path / "junk.png"
    path.write_bytes(b"not an image")
    with pytest.raises(UserError, match="junk.png"):
        Background(f"image:{path}")


def test_missing_video_is_a_user_error_naming_the_path(tmp_path):
    with pytest.raises(UserError, match="missing.mp4"):
        Background(f"video:{tmp_path / 'missing.mp4'}")


def test_video_background_loops_and_is_cover_cropped(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "bg.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 48, "yuv420p"
        for i in range(3):
            img = np.zeros((48, 96, 3), np.uint8)
            img[:] = (0, 0, 60 + 60 * i)  # BGR: red rising each frame
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    stage = Background(f"video:{path}")
    stage.open(CAPS)
    reds = []
    for i in range(7):  # more than the 3 frames of the file: it loops
        out = stage.process(make_frame(i))
        assert out.pixels.shape == (H, W, 3)
        reds.append(int(np.median(out.pixels[BACK][..., 2])))
    stage.close()
    assert reds[0] < reds[1] < reds[2]
    assert reds[3] == pytest.approx(reds[0], abs=4) and reds[6] == pytest.approx(reds[0], abs=4)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("blur", BackgroundSpec("blur")),
        ("blur:7.5", BackgroundSpec("blur", strength=7.5)),
        ("BLUR:3", BackgroundSpec("blur", strength=3.0)),
        ("image:/a/b c.png", BackgroundSpec("image", path="/a/b c.png")),
        ("video:C:/x.mp4", BackgroundSpec("video", path="C:/x.mp4")),
        ("color:#00B140", BackgroundSpec("color", bgr=(0x40, 0xB1, 0x00))),
        ("color:ff0000", BackgroundSpec("color", bgr=(0, 0, 255))),
        ("transparent", BackgroundSpec("transparent")),
        (" none ", BackgroundSpec("none")),
    ],
)
def test_parse_background_accepts_the_documented_forms(text, expected):
    assert parse_background(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "blurry",
        "blur:",
        "blur:0",
        "blur:-3",
        "blur:nan",
        "blur:x",
        "image:",
        "video:",
        "color:",
        "color:#12345",
        "color:#GG0000",
        "color:red",
        "transparent:1",
        "none:x",
    ],
)
def test_parse_background_rejects_bad_input_naming_the_allowed_forms(text):
    with pytest.raises(UserError, match="allowed: blur"):
        parse_background(text)


def test_spec_round_trips_through_str():
    for text in ["blur", "blur:7.5", "image:/x.png", "video:/y.mp4", "color:#00B140", "transparent", "none"]:
        assert str(parse_background(text)) == text


def test_bad_edges_and_strength_are_user_errors():
    with pytest.raises(UserError):
        Background("blur", edge_lo=0.8, edge_hi=0.2)
    with pytest.raises(UserError):
        Background("blur", strength=0)


def test_undecodable_video_is_a_user_error_before_processing(tmp_path):
    path = tmp_path / "junk.mp4"
    path.write_bytes(b"\x00" * 4096)
    stage = Background(f"video:{path}")
    with pytest.raises(UserError, match="junk.mp4"):
        stage.open(CAPS)


# -- property-based: --background accepts exactly its documented forms -----------------------------
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.text(max_size=24))
def test_parse_background_accepts_or_raises_user_error_only(text):
    from pipeline.errors import UserError
    from pipeline.stages.backdrops import parse_background

    try:
        spec = parse_background(text)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert spec.mode in {"blur", "image", "video", "color", "chroma", "transparent", "none"}
