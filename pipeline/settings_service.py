"""Change a running graph's settings without stopping it: one place for every live change.

`SettingsService.apply(values, where)` takes preset keys and values (the same table a preset file
holds), validates them with the preset loader's own rules (`pipeline.settings.validate`: types,
ranges, edge_low < edge_high), refuses keys that cannot change while frames flow (those not declared
`live`: the frame size and rate, the sinks, the upscale factor…), and hands the changed keys to each
stage that declares or reads them (`Stage.params`, `Stage.reads`). Each stage first prepares its part
(`Stage.settings_change`: a background image or video is loaded on the caller's thread while the
stream goes on with the old backdrop), then every part is applied, at each stage's next frame
boundary: a frame is never processed half with the old and half with the new setting, and either
everything in one call is applied or nothing is (`UserError` naming the key and what is allowed).
Each change is posted on the bus as a `settings` message (the CLI prints it, the preview HUD shows it).

`PresetWatcher` re-reads the user's `--preset PATH` when it is saved and applies the difference;
an invalid edit is refused with the usual one-line message (a `warning` on the bus) and the running
settings stay as they were. The preview's `b` key goes through `SettingsService.next_background`.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

from pipeline.errors import UserError
from pipeline.periodic import Periodic
from pipeline.presets import read_preset_table
from pipeline.settings import LIVE_KEYS, OWNER_OF, PARAMS, Settings, validate
from pipeline.stages.background import read_pause_still


class SettingsService:
    """The running settings of one graph, and the only way to change them while it runs.

    `stages`: the graph's stages (those with settings get their changes: see the module docstring);
    the stage named `background` must be among them. `bus`: where each change is posted (None: nowhere).
    `power`: the run's `pipeline.power.PowerGovernor`, which takes a change of `power` (None: a
    change of it is refused, the run has no power modes)."""

    def __init__(self, settings: Settings, stages, bus=None, power=None):
        self.settings = settings
        self._stages = {stage.name: stage for stage in stages}
        self.bus = bus
        self.power = power
        self._lock = threading.Lock()
        if settings.pause:  # a preset may start paused (`UserError` for a picture that cannot be read)
            self._stages["background"].set_pause(read_pause_still(settings.pause_image))

    def apply(self, values: dict, where: str = "settings") -> dict:
        """Validate `values` (preset keys → preset values) and apply them; returns {key: new value}
        for what changed. `UserError` and no change at all when anything is invalid."""
        with self._lock:
            return self._apply(validate(values, self.settings, where), where)

    def apply_settings(self, new: Settings, where: str) -> dict:
        """Apply whatever differs between the running settings and `new` (already validated)."""
        with self._lock:
            return self._apply(new, where)

    def choices(self) -> dict:
        """What the keys with a fixed set of values may be set to in this run."""
        upscale = self._stages.get("upscale")
        return {
            "segmenter": list(PARAMS["segmenter"].choices or ()),
            "people": list(PARAMS["people"].choices or ()),
            "sr_model": list(upscale.tiers) if upscale is not None else [],
            "matte": "refine" in self._stages,
            "restore": "restore" in self._stages,
            "light": "light" in self._stages,
            "power": list(PARAMS["power"].choices or ()) if self.power is not None else [],
        }

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
        changed = {key: getattr(new, key) for key in PARAMS if getattr(new, key) != getattr(old, key)}
        if not changed:
            return {}
        restart = sorted(set(changed) - LIVE_KEYS)
        if restart:
            raise UserError(
                f"{where}: {', '.join(restart)} cannot change while litecam runs "
                f"(restart it to change {'it' if len(restart) == 1 else 'them'})"
            )
        present = {type(stage) for stage in self._stages.values()}
        for key in changed:
            owner = OWNER_OF.get(key)
            if owner is not None and not any(issubclass(kind, owner) for kind in present):
                raise UserError(f"{where}: {key}: {owner.absent_hint}")
        applies = []
        if "power" in changed:
            if self.power is None:
                raise UserError(f"{where}: power: only a live run (litecam run) has power modes")
            applies.append(lambda: self.power.set_mode(new.power))
        for stage in self._stages.values():
            keys = set(changed) & ({p.key for p in stage.params} | stage.reads)
            if keys:
                try:
                    applies.append(stage.settings_change(new, keys))
                except UserError as exc:
                    raise UserError(f"{where}: {exc}") from None
        for apply in applies:
            apply()
        self.settings = new
        if self.bus is not None:
            from pipeline.bus import Message

            text = ", ".join(f"{key} = {value}" for key, value in changed.items())
            self.bus.post(Message("settings", "settings", f"{where}: {text}", data={"changed": changed}))
        return changed


class PresetWatcher(Periodic):
    """Apply the user's preset file again whenever it is saved (checked every `interval_s`).

    The new settings are the defaults, then the file, then `overrides` (the command line's, which
    keep winning); what differs from the running settings goes through `service`. An invalid file
    or change is posted as a `warning` naming the file and the problem; nothing changes then. A save
    is applied once the file has stayed the same for one check (an editor that truncates, then
    writes, is never read half-way), never when it is empty; a deleted file is reported once."""

    def __init__(self, path: str | os.PathLike, service: SettingsService, overrides: dict, interval_s: float = 0.5):
        self.path, self.service, self.overrides, self.interval_s = Path(path), service, dict(overrides), interval_s
        self.applied = 0
        """Saved versions applied so far (each refused one is counted in `refused`)."""
        self.refused = 0
        self._seen = self._stamp()
        """The file's (mtime, size) when last applied or refused; None while it is missing."""
        self._pending: tuple[int, int] | None = None
        """A new (mtime, size) seen at the last check, applied if the next check sees it again."""

    def _stamp(self):
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def tick(self) -> None:
        stamp = self._stamp()
        if stamp is None:
            if self._seen is not None:
                self._seen = self._pending = None
                self.service.note_refusal(f"preset {self.path} was deleted; the running settings stay as they are")
            return
        if stamp == self._seen:
            return
        if stamp != self._pending:  # still being written, perhaps: look again at the next check
            self._pending = stamp
            return
        self._seen, self._pending = stamp, None
        if stamp[1] == 0 and self.path.is_file():
            self.refused += 1
            self.service.note_refusal(f"preset {self.path} is empty; the running settings are unchanged")
            return
        try:
            new = validate(read_preset_table(self.path), Settings(), where=f"preset {self.path}")
            new = dataclasses.replace(new, **self.overrides)
            self.service.apply_settings(new, f"preset {self.path}")
            self.applied += 1
        except UserError as exc:
            self.refused += 1
            self.service.note_refusal(f"{exc}; the running settings are unchanged")

    def final_tick(self) -> None:
        pass
