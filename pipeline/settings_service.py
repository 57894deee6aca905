"""Change a running graph's settings without stopping it: one place for every live change.

`SettingsService.apply(values, where)` takes preset keys and values (the same table a preset file
holds), validates them with the preset loader's own rules (`pipeline.presets.apply_values`: types,
ranges, edge_low < edge_high), refuses keys that cannot change while frames flow (the frame size and
rate, the sinks, the upscale factor… `RESTART_KEYS`), and hands each changed value to the stage that
owns it, which applies it at its next frame boundary: a frame is never processed half with the old
and half with the new setting. A background image or video is loaded on the caller's thread while
the stream goes on with the old backdrop. Either everything in one call is applied or nothing is
(`UserError` naming the key and what is allowed). Each change is posted on the bus as a `settings`
message (the CLI prints it, the preview HUD shows it).

`PresetWatcher` re-reads the user's `--preset PATH` when it is saved and applies the difference;
an invalid edit is refused with the usual one-line message (a `warning` on the bus) and the running
settings stay as they were. The preview's `b` key goes through `SettingsService.next_background`.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import tomllib
from pathlib import Path

from pipeline.errors import UserError
from pipeline.periodic import Periodic
from pipeline.presets import PRESET_KEYS, Settings, apply_values, framing_of

LIVE_KEYS = frozenset({"description", "background", "segmenter", "edge_low", "edge_high", "refine", "temporal",
                       "no_bleed", "light_wrap", "light_wrap_px", "sr_model", "pause", "pause_image",
                       "autoframe", "autoframe_min_zoom", "autoframe_max_zoom", "autoframe_dead_zone",
                       "autoframe_max_speed", "autoframe_head_room"})
"""Keys a running graph takes; every other preset key needs a restart."""
RESTART_KEYS = frozenset(PRESET_KEYS) - LIVE_KEYS


class SettingsService:
    """The running settings of one graph, and the only way to change them while it runs.

    `stages`: the graph's stages; changes go to those named `segment`, `refine` (the matte stage),
    `background`, `autoframe` and `upscale`. `bus`: where each change is posted (None: nowhere)."""

    def __init__(self, settings: Settings, stages, bus=None):
        self.settings = settings
        self._stages = {stage.name: stage for stage in stages}
        self.bus = bus
        self._lock = threading.Lock()
        if settings.pause:  # a preset may start paused (`UserError` for a picture that cannot be read)
            self._stages["background"].set_pause(_read_still(settings.pause_image, "pause_image"))

    def apply(self, values: dict, where: str = "settings") -> dict:
        """Validate `values` (preset keys → preset values) and apply them; returns {key: new value}
        for what changed. `UserError` and no change at all when anything is invalid."""
        with self._lock:
            return self._apply(apply_values(values, self.settings, where), where)

    def apply_settings(self, new: Settings, where: str) -> dict:
        """Apply whatever differs between the running settings and `new` (already validated)."""
        with self._lock:
            return self._apply(new, where)

    def choices(self) -> dict:
        """What the keys with a fixed set of values may be set to in this run."""
        upscale = self._stages.get("upscale")
        return {"segmenter": ["general", "landscape"], "sr_model": list(upscale.tiers) if upscale is not None else [],
                "matte": "refine" in self._stages}

    def note_refusal(self, text: str) -> None:
        """Post a refused change (one line) where every change is shown: terminal, HUD, page."""
        if self.bus is not None:
            from pipeline.bus import Message

            self.bus.post(Message("warning", "settings", text))

    def latest_note(self) -> str:
        """The latest change or refusal posted, or ""."""
        notes = [m for m in self.bus.messages() if m.origin == "settings"] if self.bus is not None else []
        return notes[-1].text if notes else ""

    def toggle_pause(self) -> bool:
        """Pause (show the still) or resume (the preview's `p`); returns whether it is paused now."""
        self.apply({"pause": not self.settings.pause}, "key p")
        return self.settings.pause

    def toggle_autoframe(self) -> bool:
        """Auto-framing on or off (the preview's `f`); returns whether it is on now. `UserError` when
        the run started without it (there is no autoframe stage to turn on)."""
        self.apply({"autoframe": not self.settings.autoframe}, "key f")
        return self.settings.autoframe

    def next_background(self) -> str:
        """Switch to the background after the current one in the stage's cycle (the preview's `b`)."""
        self.apply({"background": str(self._stages["background"].next_background())}, "key b")
        return self.settings.background

    def _apply(self, new: Settings, where: str) -> dict:
        old = self.settings
        changed = {f.name: getattr(new, f.name) for f in dataclasses.fields(Settings)
                   if getattr(new, f.name) != getattr(old, f.name)}
        if not changed:
            return {}
        restart = sorted(set(changed) & RESTART_KEYS)
        if restart:
            raise UserError(f"{where}: {', '.join(restart)} cannot change while litecam runs "
                            f"(restart it to change {'it' if len(restart) == 1 else 'them'})")
        matte, upscale = self._stages.get("refine"), self._stages.get("upscale")
        if matte is None and {"refine", "temporal"} & set(changed):
            raise UserError(f"{where}: refine/temporal were both off at start, so there is no matte stage "
                            "to turn on (restart with one of them on)")
        autoframe = self._stages.get("autoframe")
        if autoframe is None and any(key.startswith("autoframe") for key in changed):
            raise UserError(f"{where}: this run started without auto-framing, so there is no autoframe stage "
                            "to change (restart with --autoframe or autoframe = true)")
        if "sr_model" in changed and (upscale is None or new.sr_model not in upscale.tiers):
            offered = ", ".join(upscale.tiers) if upscale is not None else "none: the run has no --scale"
            raise UserError(f"{where}: sr_model {new.sr_model!r} is not offered by this run (offered: {offered})")
        still = None
        if new.pause and {"pause", "pause_image"} & set(changed):  # may still fail: before any change
            still = _read_still(new.pause_image, where)
        if "background" in changed:  # may still fail too (a file that cannot be read)
            self._stages["background"].set_background(new.background)
        if {"pause", "pause_image"} & set(changed):
            self._stages["background"].set_pause(still)
        if "segmenter" in changed:
            self._stages["segment"].set_model(new.segmenter)
        edges = {"edge_lo": new.edge_low, "edge_hi": new.edge_high}
        if {"edge_low", "edge_high", "no_bleed", "light_wrap", "light_wrap_px"} & set(changed):
            self._stages["background"].update(**edges, no_bleed=new.no_bleed, light_wrap=new.light_wrap,
                                              light_wrap_px=new.light_wrap_px)
        if matte is not None and {"edge_low", "edge_high", "refine", "temporal"} & set(changed):
            matte.update(**edges, refine=new.refine, temporal=new.temporal)
        if "sr_model" in changed:
            upscale.set_tier(new.sr_model)
        if autoframe is not None and any(key.startswith("autoframe") for key in changed):
            autoframe.update(enabled=new.autoframe, framing=framing_of(new))
        self.settings = new
        if self.bus is not None:
            from pipeline.bus import Message

            text = ", ".join(f"{key} = {value}" for key, value in changed.items())
            self.bus.post(Message("settings", "settings", f"{where}: {text}", data={"changed": changed}))
        return changed


def _read_still(path: str, where: str):
    """The pause picture: the image at `path`, or the "Be right back" card for ""."""
    import cv2

    from pipeline.stages.background import be_right_back_card

    if not path:
        return be_right_back_card()
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"{where}: pause_image {path!r} could not be read as an image (give a PNG or JPEG, "
                        "or \"\" for the built-in card)")
    return image


class PresetWatcher(Periodic):
    """Apply the user's preset file again whenever it is saved (checked every `interval_s`).

    The new settings are the defaults, then the file, then `overrides` (the command line's, which
    keep winning); what differs from the running settings goes through `service`. An invalid file
    or change is posted as a `warning` naming the file and the problem; nothing changes then."""

    def __init__(self, path: str | os.PathLike, service: SettingsService, overrides: dict,
                 interval_s: float = 0.5):
        self.path, self.service, self.overrides, self.interval_s = Path(path), service, dict(overrides), interval_s
        self.applied = 0
        """Saved versions applied so far (each refused one is counted in `refused`)."""
        self.refused = 0
        self._seen = self._stamp()

    def _stamp(self):
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def tick(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        self._seen = stamp
        try:
            try:
                table = tomllib.loads(self.path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                raise UserError(f"preset {self.path}: not valid TOML ({exc})") from None
            new = apply_values(table, Settings(), where=f"preset {self.path}")
            new = dataclasses.replace(new, **self.overrides)
            self.service.apply_settings(new, f"preset {self.path}")
            self.applied += 1
        except UserError as exc:
            self.refused += 1
            self.service.note_refusal(f"{exc}; the running settings are unchanged")

    def final_tick(self) -> None:
        pass
