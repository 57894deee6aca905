"""Helpers for the super-resolution tests: load tools/sr_data.py (tools/ is not a package)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_SR = REPO.parent / "shared" / "data" / "sr"
MODELS = REPO / "pipeline" / "models"


def load_sr_data():
    if "sr_data" in sys.modules:
        return sys.modules["sr_data"]
    spec = importlib.util.spec_from_file_location("sr_data", REPO / "tools" / "sr_data.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["sr_data"] = mod
    spec.loader.exec_module(mod)
    return mod
