from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import UserError
from pipeline.options import parse_color, parse_fps, parse_size
from pipeline.presets import available_presets, load_preset
from pipeline.settings import PARAMS, Settings, validate


def test_shipped_presets_load():
    assert {"video-call-720p", "stream-overlay", "transcode", "low-power"} <= set(available_presets())
    for name in available_presets():
        assert isinstance(load_preset(name), Settings)
    assert load_preset("low-power").size == (640, 360)


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "text, needles",
    [
        ('colour = "red"\n', ["unknown key 'colour'", "allowed keys"]),
        ('fps = "fast"\n', ["fps"]),
        ("edge_low = 2.0\n", ["edge_low", "0 to 1"]),
        ("edge_low = 0.8\nedge_high = 0.2\n", ["edge_low", "below edge_high"]),
        ("max_in_flight = 0\n", ["max_in_flight", "1 to 8"]),
        ('segmenter = "huge"\n', ["huge", "general"]),
        ('sinks = ["tv"]\n', ["sinks"]),
        ('size = "640x481"\n', ["size", "even"]),
        ("size = [640, 480]\n", ["size", "1280x720"]),
        ("light_wrap = 1.5\n", ["light_wrap", "0 to 1"]),
        ("light_wrap_px = 0\n", ["light_wrap_px", "pixels"]),
        ('roi = "yes"\n', ["roi", "true or false"]),
        ("this is not toml", ["not valid TOML"]),
    ],
)
def test_bad_presets_name_file_key_and_what_is_allowed(tmp_path, text, needles):
    with pytest.raises(UserError) as info:
        load_preset(write(tmp_path, text))
    message = str(info.value)
    assert "p.toml" in message
    for needle in needles:
        assert needle in message


def test_missing_preset_lists_available():
    with pytest.raises(UserError, match="available: .*video-call-720p"):
        load_preset("nope")


# -- property-based: the parsers accept exactly their documented forms, or raise UserError ------
@given(st.integers(-10, 5000), st.integers(-10, 3000))
def test_size_parser_accepts_exactly_even_sizes_in_range(width, height):
    text = f"{width}x{height}"
    valid = 32 <= width <= 3840 and 32 <= height <= 2160 and width % 2 == 0 and height % 2 == 0
    if valid:
        assert parse_size(text) == (width, height)
    else:
        with pytest.raises(UserError):
            parse_size(text)


@given(st.text(max_size=12))
def test_parsers_never_raise_anything_but_user_error(text):
    for parser in (parse_size, parse_fps, parse_color):
        try:
            parser(text)
        except UserError:
            pass


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_fps_in_range(value):
    if 0 < value <= 120 and Fraction(value).limit_denominator(1001) > 0:
        assert 0 < parse_fps(value) <= 120
    else:
        with pytest.raises(UserError):
            parse_fps(value)


@settings(max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from(sorted(PARAMS) + ["bogus"]),
        st.one_of(
            st.integers(-5, 5),
            st.floats(allow_nan=False),
            st.text(max_size=8),
            st.booleans(),
            st.lists(st.text(max_size=5), max_size=2),
        ),
    )
)
def test_preset_values_either_validate_or_raise_user_error(data):
    try:
        result = validate(data, Settings(), where="preset test")
    except UserError:
        return
    assert 0 <= result.edge_low < result.edge_high <= 1
    assert 1 <= result.max_in_flight <= 8


def test_color_is_returned_in_bgr_order():
    assert parse_color("#102030") == (0x30, 0x20, 0x10)


def test_user_files_and_built_in_names_are_told_apart(tmp_path):
    from pipeline.presets import is_user_preset

    assert not is_user_preset("video-call-720p")  # a built-in name: never watched for edits
    assert is_user_preset("mine.toml") and is_user_preset("presets/x") and is_user_preset(str(tmp_path))


# -- the declarations are the one source ----------------------------------------------------------
def test_the_presets_reference_is_generated_from_the_declarations():
    from pathlib import Path

    from pipeline.settings import presets_reference

    doc = Path(__file__).resolve().parents[2] / "docs" / "presets.md"
    assert doc.read_text(encoding="utf-8") == presets_reference(), (
        "docs/presets.md is stale: run python -m pipeline.settings > docs/presets.md"
    )


def test_every_live_key_reaches_a_stage_that_takes_it():
    from pipeline.settings import LIVE_KEYS, OWNER_OF, OWNERS
    from pipeline.stage import Stage

    run_keys = {"description", "power"}  # live, no stage's: it names the preset; the power governor takes power
    for key in LIVE_KEYS - run_keys:
        owner = OWNER_OF[key]
        assert owner.settings_change is not Stage.settings_change, f"{owner.name} declares {key} but takes no change"
    readers = {key for owner in OWNERS for key in owner.reads}
    assert readers <= set(OWNER_OF), "a stage reads a key nobody declares"


def test_stage_defaults_are_the_declared_defaults():
    import inspect

    from pipeline.settings import PARAMS
    from pipeline.stages.autoframe import Framing
    from pipeline.stages.background import Background
    from pipeline.stages.matte import Matte
    from pipeline.stages.segment import Segment

    framing = Framing()
    for name in ("min_zoom", "max_zoom", "dead_zone", "max_speed", "head_room"):
        assert getattr(framing, name) == PARAMS[f"autoframe_{name}"].default
    defaults = {
        kind: {n: p.default for n, p in inspect.signature(kind).parameters.items()}
        for kind in (Background, Matte, Segment)
    }
    assert defaults[Segment]["model"] == PARAMS["segmenter"].default
    assert defaults[Segment]["roi"] == PARAMS["roi"].default
    for kind in (Background, Matte):
        assert (defaults[kind]["edge_lo"], defaults[kind]["edge_hi"]) == (
            PARAMS["edge_low"].default,
            PARAMS["edge_high"].default,
        )


def test_command_line_flags_come_from_the_declarations():
    from pipeline.cli import build_parser
    from pipeline.commands import command_line_overrides
    from pipeline.settings import PARAMS

    flagged = {p.flag: key for key, p in PARAMS.items() if p.flag}
    args = build_parser().parse_args(
        [
            "transcode",
            "in.mp4",
            "out.mp4",
            "--size",
            "640x360",
            "--fps",
            "25",
            "--segmenter",
            "general",
            "--background",
            "blur:4",
            "--scale",
            "2",
            "--model",
            "litesr",
            "--engine",
            "onnxruntime",
            "--sr-detail",
            "full",
            "--autoframe",
            "--restore",
            "--restore-model",
            "quality",
            "--people",
            "main",
            "--light",
            "auto",
        ]
    )
    overrides = command_line_overrides(args)
    assert set(overrides) == set(flagged.values()) - {"power"}  # a live run's only
    assert command_line_overrides(build_parser().parse_args(["run", "--power", "saver"])) == {"power": "saver"}
    assert overrides["size"] == (640, 360) and overrides["scale"] == 2 and overrides["autoframe"] is True
    with pytest.raises(UserError, match="--model 'huge': expected one of"):
        command_line_overrides(build_parser().parse_args(["transcode", "a.mp4", "b.mp4", "--model", "huge"]))
