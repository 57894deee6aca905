"""`litecam upscale` (image, folder, video) and --scale/--model on transcode and run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pipeline.cli import main
from pipeline.stages.upscale import catalogue
from tests.cli.test_commands import probe
from tests.pipeline.upscale_helpers import make_fake_model, portrait

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_models(tmp_path_factory, monkeypatch) -> Path:
    """Throwaway xlsr ×2/×3 models standing in for the shipped ones (see tests/pipeline/upscale_helpers.py)."""
    folder = tmp_path_factory.getbasetemp() / "cli-models"
    if not (folder / "xlsr_x3.onnx").exists():  # the files, not the folder: a skip may leave it empty
        folder.mkdir(exist_ok=True)
        make_fake_model(folder / "xlsr_x2.onnx", 2)
        make_fake_model(folder / "xlsr_x3.onnx", 3)
    monkeypatch.setattr(catalogue, "MODEL_DIR", folder)
    return folder


def one_error_line(capsys, *needles) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("litecam: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_upscale_an_image_writes_the_format_of_the_output_extension(tmp_path, fake_models, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), portrait(80, 48))
    assert main(["upscale", str(src), str(tmp_path / "x2.png")]) == 0
    assert cv2.imread(str(tmp_path / "x2.png")).shape == (96, 160, 3)
    assert main(["upscale", str(src), str(tmp_path / "x3.jpg"), "--scale", "3"]) == 0
    assert cv2.imread(str(tmp_path / "x3.jpg")).shape == (144, 240, 3)
    assert (tmp_path / "x3.jpg").read_bytes()[:2] == b"\xff\xd8"  # really a JPEG
    assert main(["upscale", str(src), str(tmp_path / "b.png"), "--model", "bicubic"]) == 0
    expected = cv2.resize(cv2.imread(str(src)), (160, 96), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(cv2.imread(str(tmp_path / "b.png")), expected)
    assert "wrote" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*partial*"))


def test_upscale_a_folder_gives_pngs_with_the_same_stems(tmp_path, fake_models):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), portrait(64, 48))
    cv2.imwrite(str(folder / "b.png"), portrait(40, 30))
    bgra = np.dstack([portrait(32, 32), np.full((32, 32), 128, np.uint8)])
    cv2.imwrite(str(folder / "c.png"), bgra)
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "big"
    assert main(["upscale", str(folder), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert cv2.imread(str(out / "a.png")).shape == (96, 128, 3)
    assert cv2.imread(str(out / "b.png")).shape == (60, 80, 3)
    c = cv2.imread(str(out / "c.png"), cv2.IMREAD_UNCHANGED)
    assert c.shape == (64, 64, 4) and (c[..., 3] == 128).all()  # alpha kept (bicubic of a flat alpha)


def test_upscale_a_video_keeps_every_frame_and_the_audio(tmp_path, tiny_video, fake_models, capsys):
    out = tmp_path / "x2.mp4"
    assert main(["upscale", str(tiny_video), str(out), "--threads", "1"]) == 0
    in_pts, in_tb, in_audio, _ = probe(tiny_video)
    out_pts, out_tb, out_audio, _ = probe(out)
    assert len(out_pts) == len(in_pts) == 20
    assert [p * out_tb for p in out_pts] == [p * in_tb for p in in_pts]
    assert out_audio == in_audio > 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 240)
    summary = capsys.readouterr().out
    assert re.search(
        r"20 frames, x2 xlsr on (onnxruntime|openvino|openvino-bf16): [\d.]+ fps over [\d.]+ s, "
        r"after [\d.]+ s of set-up",
        summary,
    ), summary


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--model", "esrt", "--scale", "3"], "no ×3 model"),
        (["--model", "xlsr-int8", "--scale", "3"], "no ×3 model"),
        (["--model", "fsrcnn"], "choose one of"),
    ],
)
def test_upscale_refuses_impossible_choices(tmp_path, capsys, args, needle):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), portrait(32, 32))
    assert main(["upscale", str(src), str(tmp_path / "o.png"), *args]) == 2
    one_error_line(capsys, needle)


def test_upscale_refuses_a_scale_it_has_no_model_for(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--scale", "4"])
    assert exit_info.value.code == 2
    assert "--scale: 4 is out of range: 1 to 3" in capsys.readouterr().err


def test_upscale_input_and_output_errors(tmp_path, tiny_video, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), portrait(32, 32))
    assert main(["upscale", str(tmp_path / "nope.png"), str(tmp_path / "o.png"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "nope.png", "not found")
    assert main(["upscale", str(src), str(tmp_path / "no-dir" / "o.png"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "no-dir")
    assert main(["upscale", str(src), str(tmp_path / "o.mp4"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "image output")
    assert main(["upscale", str(tiny_video), str(tmp_path / "o.png"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "video output")
    assert main(["upscale", str(tiny_video), str(tmp_path / "no-dir" / "o.mp4"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "no-dir")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["upscale", str(empty), str(tmp_path / "out"), "--model", "bicubic"]) == 2
    one_error_line(capsys, "no images")


def test_upscale_with_a_missing_model_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(catalogue, "MODEL_DIR", tmp_path / "models")
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), portrait(32, 32))
    assert main(["upscale", str(src), str(tmp_path / "o.png"), "--model", "xlsr"]) == 2
    one_error_line(capsys, "xlsr_x2.onnx", "--model bicubic")
    assert not (tmp_path / "o.png").exists()


def test_upscale_error_exits_2_in_a_real_process(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "upscale",
            str(tmp_path / "x.png"),
            str(tmp_path / "o.png"),
            "--model",
            "esrt",
            "--scale",
            "3",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "esrt" in result.stderr


def test_transcode_with_scale_adds_the_upscale_stage(tmp_path, tiny_video):
    out = tmp_path / "x2.mp4"
    assert (
        main(
            [
                "transcode",
                str(tiny_video),
                str(out),
                "--background",
                "color:#00ff00",
                "--scale",
                "2",
                "--model",
                "bicubic",
            ]
        )
        == 0
    )
    out_pts, _, out_audio, _ = probe(out)
    assert len(out_pts) == 20 and out_audio > 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 240)


def test_transcode_and_run_refuse_impossible_scale_model_pairs(tmp_path, tiny_video, capsys):
    assert main(["transcode", str(tiny_video), str(tmp_path / "o.mp4"), "--scale", "3", "--model", "esrt"]) == 2
    one_error_line(capsys, "no ×3 model")
    assert main(["run", "--input", "synthetic", "--sink", "null", "--scale", "4"]) == 2
    one_error_line(capsys, "×2 or ×3")
    assert not (tmp_path / "o.mp4").exists()


def test_presets_take_scale_and_sr_model(tmp_path):
    from pipeline.errors import UserError
    from pipeline.presets import load_preset

    good = tmp_path / "big.toml"
    good.write_text('scale = 2\nsr_model = "xlsr-int8"\n')
    settings = load_preset(str(good))
    assert (settings.scale, settings.sr_model) == (2, "xlsr-int8")
    for text, needle in [("scale = 4\n", "scale"), ('sr_model = "edsr"\n', "sr_model")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(UserError, match=needle):
            load_preset(str(bad))


def test_engine_and_person_only_settings_reach_the_upscale_stage(tmp_path):
    import dataclasses

    from pipeline.chain import make_upscale
    from pipeline.errors import UserError
    from pipeline.presets import load_preset
    from pipeline.settings import Settings

    preset = tmp_path / "sr.toml"
    preset.write_text('scale = 2\nsr_engine = "onnxruntime"\nsr_person_only = true\n')
    settings = load_preset(str(preset))
    (live,) = make_upscale(settings, strict=False)
    (offline,) = make_upscale(settings, strict=True)
    assert live.engine == offline.engine == "onnxruntime"
    assert live.person_only and not offline.person_only  # a transcode upscales every pixel
    (unreplaced,) = make_upscale(dataclasses.replace(settings, background="none"), strict=False)
    assert not unreplaced.person_only  # nothing hides the bicubic background there
    assert Settings().sr_engine == "auto"
    assert live.detail is not None and offline.detail is not None  # sr_detail = "checked", the default
    (full,) = make_upscale(dataclasses.replace(settings, sr_detail="full"), strict=True)
    assert full.detail is None
    bad = tmp_path / "bad.toml"
    bad.write_text('sr_engine = "tensorrt"\n')
    with pytest.raises(UserError, match="sr_engine"):
        load_preset(str(bad))


def test_upscale_sr_detail_full_keeps_all_of_the_network_and_is_refused_with_scale_1(tmp_path, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), cv2.imdecode(cv2.imencode(".jpg", portrait(96, 64), [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1))
    assert main(["upscale", str(src), str(tmp_path / "c.png"), "--model", "litesr"]) == 0
    assert main(["upscale", str(src), str(tmp_path / "f.png"), "--model", "litesr", "--sr-detail", "full"]) == 0
    checked, full = (cv2.imread(str(tmp_path / name)) for name in ("c.png", "f.png"))
    assert checked.shape == full.shape == (128, 192, 3) and not np.array_equal(checked, full)
    capsys.readouterr()
    assert main(["upscale", str(src), str(tmp_path / "x.png"), "--scale", "1", "--sr-detail", "full"]) == 2
    one_error_line(capsys, "--sr-detail full", "--scale 2 or 3")
    assert not (tmp_path / "x.png").exists()


def test_upscale_says_when_bicubic_alone_enlarged_a_picture_the_network_would_hardly_help(tmp_path, capsys):
    """A Big Buck Bunny frame at 640×360 (flat cartoon shading): the check keeps bicubic alone, the
    output is OpenCV's bicubic and the summary says so; `--sr-detail full` runs the network."""
    from tests.conftest import shared_data
    from tools import eval_real

    shared_data("video", "bigbuckbunny_1280x720.mp4")
    frame = eval_real.read_frames(eval_real.VIDEO / "bigbuckbunny_1280x720.mp4", 1)[0]
    soft = cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)
    src = tmp_path / "bunny.png"
    cv2.imwrite(str(src), soft)
    capsys.readouterr()
    run = ["upscale", str(src), "--engine", "onnxruntime"]
    assert main([*run[:2], str(tmp_path / "c.png"), *run[2:]]) == 0
    assert "bicubic alone on 1" in capsys.readouterr().out
    bicubic = cv2.resize(soft, (1280, 720), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(cv2.imread(str(tmp_path / "c.png")), bicubic)
    assert main([*run[:2], str(tmp_path / "f.png"), *run[2:], "--sr-detail", "full"]) == 0
    assert "bicubic alone" not in capsys.readouterr().out
    assert not np.array_equal(cv2.imread(str(tmp_path / "f.png")), bicubic)


def test_upscale_scale_1_restores_at_the_same_size_and_refuses_a_model(tmp_path, tiny_video, capsys):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), cv2.imdecode(cv2.imencode(".jpg", portrait(96, 64), [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1))
    assert main(["upscale", str(src), str(tmp_path / "r.png"), "--scale", "1"]) == 0
    restored = cv2.imread(str(tmp_path / "r.png"))
    assert restored.shape == (64, 96, 3) and not np.array_equal(restored, cv2.imread(str(src)))
    assert "x1 restore" in capsys.readouterr().out
    assert main(["upscale", str(tiny_video), str(tmp_path / "r.mp4"), "--scale", "1"]) == 0
    out_pts, _, out_audio, _ = probe(tmp_path / "r.mp4")
    assert len(out_pts) == 20 and out_audio > 0
    assert main(["upscale", str(src), str(tmp_path / "m.png"), "--scale", "1", "--model", "xlsr"]) == 2
    one_error_line(capsys, "--model xlsr", "--scale 1")
    assert not (tmp_path / "m.png").exists()
    assert main(["upscale", str(src), str(tmp_path / "q.png"), "--scale", "1", "--restore-model", "quality"]) == 0
    quality = cv2.imread(str(tmp_path / "q.png"))
    assert quality.shape == restored.shape and not np.array_equal(quality, restored)
    assert "x1 restore, quality" in capsys.readouterr().out
    assert main(["upscale", str(src), str(tmp_path / "x.png"), "--restore-model", "quality"]) == 2
    one_error_line(capsys, "--restore-model quality", "--scale 1")
    with pytest.raises(SystemExit) as exited:
        main(["upscale", str(src), str(tmp_path / "x.png"), "--scale", "1", "--restore-model", "best"])
    assert exited.value.code == 2 and not (tmp_path / "x.png").exists()


def test_transcode_with_restore_keeps_every_frame_the_size_and_the_audio(tmp_path, tiny_video):
    out = tmp_path / "restored.mp4"
    assert main(["transcode", str(tiny_video), str(out), "--background", "none", "--restore"]) == 0
    out_pts, _, out_audio, _ = probe(out)
    assert len(out_pts) == 20 and out_audio > 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (160, 120)
    quality = tmp_path / "quality.mp4"
    assert (
        main(
            ["transcode", str(tiny_video), str(quality), "--background", "none", "--restore"]
            + ["--restore-model", "quality"]
        )
        == 0
    )
    quality_pts, _, quality_audio, _ = probe(quality)
    assert len(quality_pts) == 20 and quality_audio > 0


def test_a_live_run_refuses_the_offline_restore_network(tmp_path, capsys):
    out = tmp_path / "live.mp4"
    command = ["run", "--input", "synthetic", "--sink", f"file:{out}", "--restore", "--restore-model", "quality"]
    assert main(command) == 2
    one_error_line(capsys, "--restore-model quality", "offline", "--restore-model fast")
    assert not out.exists()
