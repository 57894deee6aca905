"""tools.eval_seg end to end on a few portraits: the table and JSON it reports, and that ROI
tracking lifts the far-person scores it exists for."""

import json

from tests.conftest import shared_data
from tools import eval_seg


def test_eval_seg_scores_raw_and_refined_and_roi_helps_the_far_person(tmp_path, capsys):
    shared_data("seg", "portraits")

    out = tmp_path / "seg.json"
    assert eval_seg.main(["--limit", "6", "--skip-video", "--models", "landscape", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| landscape | raw |" in table and "| landscape | refined |" in table
    results = json.loads(out.read_text())["results"]["landscape"]
    for method in ("raw", "refined"):
        for score in (
            results["stills"][method]["iou"],
            results["stills"][method]["bf"],
            results["far"][method]["iou"],
            results["far"][method]["bf"],
        ):
            assert 0.0 <= score <= 1.0
        assert results["stills"][method]["iou"] > 0.7  # portraits: the person is found
    assert results["far"]["refined"]["iou"] > results["far"]["raw"]["iou"] + 0.05
