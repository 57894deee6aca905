"""The video containers litecam writes: file suffix → FFmpeg muxer name (light: no PyAV import)."""

from __future__ import annotations

OUTPUT_CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".webm": "webm", ".mov": "mov"}
"""Output suffix → muxer: H.264 in .mp4/.mkv, VP9 with alpha in .webm, ProRes 4444 in .mov."""
OUTPUT_FORMATS = tuple(suffix.lstrip(".") for suffix in OUTPUT_CONTAINERS)
"""The same containers by name, as `litecam batch --format` takes them."""
