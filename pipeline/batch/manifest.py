"""The batch manifest, ``litecam-batch.json`` in the output folder: one entry per input file.

An entry: ``input``, ``output``, ``settings`` (signature of the effect settings and format),
``source`` (input size and mtime), ``status`` (``done`` | ``failed`` | ``running`` | ``pending``),
``error`` (the last failure's one-line message), ``attempts`` (task runs, one per chunk for a
split file, plus reruns), ``frames``, ``seconds`` (task time),
``worker`` (host:pid of the last worker) and, for split files, ``chunks`` (total) and
``chunks_done``. A re-run skips entries that are ``done`` with the same settings and source and
whose output exists, and redoes the rest. Only the driver writes it, each time as a whole to a
temporary file renamed over the old one, so a crash leaves the previous or the new version.
"""

from __future__ import annotations

import json
import os

from pipeline.errors import UserError

MANIFEST_NAME = "litecam-batch.json"
VERSION = 1


class Manifest:
    def __init__(self, out_dir: str):
        self.path = os.path.join(out_dir, MANIFEST_NAME)
        self.entries: dict[str, dict] = {}
        if os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    data = json.load(f)
                if data.get("version") != VERSION or not isinstance(data.get("files"), dict):
                    raise ValueError("unknown layout")
                self.entries = data["files"]
            except (OSError, ValueError) as exc:
                raise UserError(
                    f"{self.path} is not a litecam batch manifest ({exc}); move it away to start the batch afresh"
                ) from None

    def is_done(self, key: str, settings: str, source: dict, output: str) -> bool:
        entry = self.entries.get(key)
        return (
            entry is not None
            and entry.get("status") == "done"
            and entry.get("settings") == settings
            and entry.get("source") == source
            and os.path.exists(output)
        )

    def update(self, key: str, **fields) -> dict:
        entry = self.entries.setdefault(key, {})
        entry.update(fields)
        return entry

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": VERSION, "files": self.entries}, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.path)
