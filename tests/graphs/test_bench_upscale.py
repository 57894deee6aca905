"""`python -m tools.bench --upscale`: whole `litecam upscale` runs, checked and compared with bicubic."""

import json
from pathlib import Path

import av
import pytest

from pipeline.stages.upscale.catalogue import MODEL_DIR
from tools.bench.__main__ import main
from tools.bench.common import looped_640x360


def test_looped_clip_and_upscale_runs_keep_every_frame_and_the_audio(tmp_path, tiny_video, capsys):
    pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")
    if not (MODEL_DIR / "xlsr_x2.onnx").is_file():
        pytest.skip("the shipped xlsr_x2.onnx is not in this checkout")
    clip = looped_640x360(tiny_video, 2, tmp_path / "clip.mp4")
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (640, 360) and container.streams.audio
        assert sum(1 for _ in container.decode(video)) == 40  # 20 frames, twice
    out = tmp_path / "upscale.json"
    # this checkout stands in for an earlier one: run from its folder, without --sr-detail
    checkout = Path(__file__).resolve().parents[2]
    args = ["--upscale", str(clip), "--upscale-engines", "openvino", "--upscale-earlier", str(checkout)]
    assert main([*args, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 40 and report["audio_packets"] > 0
    assert set(report["median"]) == {"bicubic@auto", "xlsr@openvino", "earlier:xlsr@openvino"}
    for run in report["median"].values():
        assert run["frames_out"] == 40 and run["audio_packets_out"] == report["audio_packets"]
        assert run["fps_once_running"] > 0 and run["cpu_s"] > 0
    assert report["median"]["xlsr@openvino"]["engine"] == "openvino"
    assert report["wall_ratio_vs_baseline"]["bicubic@auto"] == 1.0
    assert report["machine"]["cpu"]
    assert "xlsr@openvino" in capsys.readouterr().out


def test_an_earlier_folder_without_litecam_is_refused(tmp_path, tiny_video):
    with pytest.raises(SystemExit, match="holds no litecam checkout"):
        main(["--upscale", str(tiny_video), "--upscale-earlier", str(tmp_path)])


def test_interleaved_stage_runs_report_both_sides_and_need_an_earlier_checkout(tmp_path, tiny_video):
    pytest.importorskip("openvino", reason="OpenVINO is not installed (a default dependency: pip install .)")
    if not (MODEL_DIR / "xlsr_x2.onnx").is_file():
        pytest.skip("the shipped xlsr_x2.onnx is not in this checkout")
    with pytest.raises(SystemExit, match="--upscale-earlier"):
        main(["--upscale", str(tiny_video), "--upscale-interleaved", "2"])
    checkout = Path(__file__).resolve().parents[2]  # this checkout stands in for an earlier one
    out = tmp_path / "interleaved.json"
    args = ["--upscale", str(tiny_video), "--upscale-engines", "openvino", "--upscale-earlier", str(checkout)]
    assert main([*args, "--upscale-interleaved", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["rounds"] == 2 and report["engine"] == "openvino"
    for side in ("now", "earlier"):
        assert report[side]["cpu_ms_per_frame_median"] > 0 and report[side]["wall_ms_per_frame_median"] > 0
    assert report["cpu_ratio_now_vs_earlier_median"] > 0 and 0 <= report["rounds_now_cheaper"] <= 2
