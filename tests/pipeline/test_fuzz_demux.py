"""A fuzz pass over the demuxing path (tools.fuzz_demux) in a child process, so that a crash
inside FFmpeg would fail the test instead of killing the test run."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_three_hundred_mutated_files_fail_only_with_clean_errors(tiny_video):
    result = subprocess.run(
        [sys.executable, "-m", "tools.fuzz_demux", str(tiny_video), "--count", "300", "--seed", "7"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("300 mutants:") and " 0 other" in summary
    assert "clean UserError" in summary and not summary.startswith("300 mutants: 300 decoded")
