"""`kernels.warmup.prepare_kernels` compiles every kernel the pipeline calls, with the very argument
types it passes, so that no frame of a run (and no timing) pays for compilation."""

import json
import subprocess
import sys

import pytest

from tests.cli.test_cli_errors import REPO


@pytest.mark.slow
def test_no_kernel_compiles_after_the_warm_up(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.kernels.warmup_probe", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    compiled_late = json.loads(result.stdout.strip().splitlines()[-1])
    assert compiled_late == {}, compiled_late
