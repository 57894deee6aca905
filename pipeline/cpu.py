"""The CPU this runs on: its model name and feature flags (read once from /proc/cpuinfo on Linux;
elsewhere the platform's processor name and no flags). Used to decide what is fast here (e.g. INT8
only with VNNI/AMX) and to name the machine beside every benchmark figure."""

from __future__ import annotations

import functools
import platform


@functools.cache
def cpu_model_and_flags() -> tuple[str, frozenset[str]]:
    first: dict[str, str] = {}  # the first CPU's "model name" and "flags" lines
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                first.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return (
        first.get("model name") or platform.processor() or platform.machine(),
        frozenset(first.get("flags", "").split()),
    )
