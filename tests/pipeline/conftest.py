"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.upscale_helpers import write_fake_models


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """Every upscale model file, throwaway (`write_fake_models`), for the upscale stage and engine tests."""
    return write_fake_models(tmp_path_factory.mktemp("models"))
