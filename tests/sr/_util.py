"""Paths of the super-resolution tests: the repository, ../shared/data/sr, the shipped models."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_SR = REPO.parent / "shared" / "data" / "sr"
MODELS = REPO / "pipeline" / "models"
