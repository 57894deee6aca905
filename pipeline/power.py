"""Power modes of a live run: `performance`, `saver`, and `auto` (saver while the computer runs on battery).

Saver spends less CPU per second of video with two levers:

* **frame rate**: every `k`-th captured frame goes through the effects, `k = round(source fps /
  SAVER_FPS)` (at least 1): a 30 or 60 fps camera gives 15 fps, a 24 or 25 fps one 12 or 12.5. The
  frames left out are skipped at the head on purpose, evenly spaced: not drops (no `discont`, so the
  temporal stages and the mask reuse carry on), and counted apart from them.
* **model rate**: the segment stage reuses the person mask while the picture stays still (mask
  reuse on, whatever the settings say), runs the model at least every `SAVER_MAX_GAP_S` instead of
  `pipeline.motion`'s 0.2 s, and at most every `SAVER_MIN_GAP_S` unless the picture changed twice as
  much as it takes to run it (a cut, a fast move): at 15 fps, a moderate move runs it on every other frame.

Not lowered: the output size (a virtual camera's size is fixed while apps read from it), and the
model's view of the person (the finer look at a crop around them stays: the whole frame alone saved
little and spoilt the mask of a small, moving person). What saver costs in mask quality against the
model on every frame: `python -m tools.eval_reuse --power saver` (docs/benchmarks.md, "Power saver").

`auto` reads where the power comes from every `CHECK_INTERVAL_S`: Linux `/sys/class/power_supply`,
macOS `pmset -g batt`, Windows `GetSystemPowerStatus`. Where it cannot be read (a desktop without a
battery, a VM, another OS), `auto` stays on performance and says so. The mode in use and why is shown
on every frame (`frame.tiers["power"]`: the preview's HUD and the control page).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from pipeline.bus import Bus, Message
from pipeline.frame import Frame
from pipeline.periodic import Periodic

POWER_MODES = ("performance", "saver", "auto")
SAVER_FPS = 15
"""Saver's frame rate: the camera's rate divided by a whole number to come near this."""
SAVER_MAX_GAP_S = 0.5
"""Saver: the longest media time between two model runs (mask reuse's minimum model rate)."""
SAVER_MIN_GAP_S = 0.1
"""Saver: the shortest media time between two model runs, except on a large change (module docstring)."""
CHECK_INTERVAL_S = 5.0
"""`auto`: how often the power source is read again."""
LINUX_POWER_SUPPLY = Path("/sys/class/power_supply")

PowerSource = str | None
"""'battery', 'mains', or None: not known here."""


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def linux_power_source(root: Path = LINUX_POWER_SUPPLY) -> PowerSource:
    """From the kernel's power supply class: 'mains' when an AC or USB supply is online, 'battery'
    when a battery discharges (or no supply is online while a battery is there), None when nothing
    says (no such folder, no battery: a desktop or a VM)."""
    try:
        supplies = sorted(root.iterdir())
    except OSError:
        return None
    battery_seen = discharging = False
    for supply in supplies:
        kind = _read_text(supply / "type")
        if kind in ("Mains", "USB", "USB_C", "USB_PD") and _read_text(supply / "online") == "1":
            return "mains"
        if kind == "Battery" and _read_text(supply / "scope") != "Device":  # not a mouse's or headset's
            battery_seen = True
            discharging = discharging or _read_text(supply / "status") == "Discharging"
    if discharging or battery_seen and any(_read_text(s / "online") == "0" for s in supplies):
        return "battery"
    return None


def pmset_power_source(text: str) -> PowerSource:
    """From the first line of macOS `pmset -g batt` ("Now drawing from 'AC Power'")."""
    if "'Battery Power'" in text:
        return "battery"
    if "'AC Power'" in text:
        return "mains"
    return None


def windows_power_source() -> PowerSource:  # pragma: no cover - Windows only
    """From `GetSystemPowerStatus`: its AC line status is 0 offline, 1 online, 255 unknown."""
    import ctypes
    from ctypes import wintypes

    class SystemPowerStatus(ctypes.Structure):
        _fields_ = [
            ("ACLineStatus", wintypes.BYTE),
            ("BatteryFlag", wintypes.BYTE),
            ("BatteryLifePercent", wintypes.BYTE),
            ("SystemStatusFlag", wintypes.BYTE),
            ("BatteryLifeTime", wintypes.DWORD),
            ("BatteryFullLifeTime", wintypes.DWORD),
        ]

    status = SystemPowerStatus()
    if not ctypes.windll.kernel32.GetSystemPowerStatus(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return {0: "battery", 1: "mains"}.get(status.ACLineStatus & 0xFF)


def read_power_source() -> PowerSource:
    """Where this computer's power comes from now, on Linux, macOS and Windows; None elsewhere or
    when the system does not say."""
    if sys.platform.startswith("linux"):
        return linux_power_source()
    if sys.platform == "darwin":
        try:
            result = subprocess.run(["pmset", "-g", "batt"], capture_output=True, text=True, timeout=2)
        except (OSError, subprocess.SubprocessError):
            return None
        return pmset_power_source(result.stdout)
    if sys.platform == "win32":
        return windows_power_source()
    return None


def saver_step(source_fps: Fraction | float) -> int:
    """Saver keeps one captured frame in this many (at least 1)."""
    return max(1, round(float(source_fps) / SAVER_FPS))


class PowerGovernor(Periodic):
    """Decides whether a live run saves power, and tells the parts that do it.

    `mode`: one of `POWER_MODES`; `stages`: the graph's stages (those with `set_power_saving(on)` are
    told on every switch); `source_fps`: the rate the source delivers; `read_source`: where the
    power comes from (`read_power_source`; tests pass their own). Use as a context manager while
    the graph runs (`auto` re-reads the power source every `CHECK_INTERVAL_S`); it is the graph's
    head filter (`skip_next`, `tag`). Switches are posted on `bus` as `settings` messages."""

    interval_s = CHECK_INTERVAL_S

    def __init__(
        self,
        mode: str,
        stages,
        source_fps: Fraction | float,
        bus: Bus | None = None,
        read_source: Callable[[], PowerSource] = read_power_source,
    ):
        self._stages = [stage for stage in stages if hasattr(stage, "set_power_saving")]
        self.step = saver_step(source_fps)
        self.bus = bus
        self._read_source = read_source
        self._lock = threading.Lock()
        """Guards `saving`, `label` and the frame count, which the head reads on every frame."""
        self._deciding = threading.Lock()
        """One decision at a time (a page change and the battery check may come together), so the
        stages are told the last one; the head never waits on it (reading the battery may be slow)."""
        self._count = 0
        self.mode = mode
        self.saving = False
        self.label = ""
        """What the HUD and the page show: the mode in use and, for auto, why."""
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Use `mode` now (a live settings change); reads the power source for `auto`."""
        if mode not in POWER_MODES:
            raise ValueError(f"power mode {mode!r}: choose one of {', '.join(POWER_MODES)}")
        self.mode = mode
        self._decide(announce=False)

    def tick(self) -> None:
        if self.mode == "auto":
            self._decide(announce=True)

    def final_tick(self) -> None:
        pass

    def _decide(self, announce: bool) -> None:
        with self._deciding:
            self._decide_now(announce)

    def _decide_now(self, announce: bool) -> None:
        if self.mode == "auto":
            source = self._read_source()
            saving = source == "battery"
            why = {"battery": "on battery", "mains": "on mains power", None: "power source not readable here"}[source]
            label = f"auto: {'saver' if saving else 'performance'} ({why})"
        else:
            saving, label = self.mode == "saver", self.mode
        with self._lock:
            switched, self.saving, self.label = saving != self.saving, saving, label
            if switched:
                self._count = 0
        if switched:
            for stage in self._stages:
                stage.set_power_saving(saving)
            if announce and self.bus is not None:
                self.bus.post(Message("settings", "power", label))

    def skip_next(self) -> bool:
        """The head filter (`pipeline.graph.HeadFilter`): True for a frame saver leaves out."""
        with self._lock:
            self._count += 1
            return self.saving and (self._count - 1) % self.step != 0

    def tag(self, frame: Frame) -> None:
        """Show the mode on every frame: `frame.tiers["power"]`."""
        frame.tiers["power"] = self.label
