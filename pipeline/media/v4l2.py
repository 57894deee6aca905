"""Linux video device nodes (`/dev/video*`): capture cameras and v4l2loopback outputs alike."""

from __future__ import annotations

import glob
import os


def list_video_nodes() -> list[str]:
    """Video device nodes on Linux (v4l2 capture devices and loopback devices alike), sorted."""
    return sorted(glob.glob("/dev/video*"))


def node_name(node: str) -> str:
    """The card label the driver gives `node` (e.g. "Integrated Camera"), or "?" if it cannot be read."""
    try:
        with open(f"/sys/class/video4linux/{node.rsplit('/', 1)[-1]}/name") as label:
            return label.read().strip()
    except OSError:
        return "?"


def is_loopback_node(node: str) -> bool:
    """True for v4l2loopback devices (outputs, not cameras)."""
    base = node.rsplit("/", 1)[-1]
    driver = os.path.realpath(f"/sys/class/video4linux/{base}/device/driver")
    name = node_name(node)
    return "v4l2loopback" in driver or "loopback" in name.lower() or "litecam" in name
