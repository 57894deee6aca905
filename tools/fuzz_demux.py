"""Fuzz the container demuxing/decoding path: mutated copies of a real clip must either decode or
fail with one clean `UserError` — never another exception, a hang or a crash.

    .venv/bin/python -m tools.fuzz_demux SEED_VIDEO --count 300 [--seed 0]

Mutations (seeded, reproducible): random byte flips, overwritten runs, truncation, a duplicated or
deleted chunk, and the header zeroed. Prints one line per failure and a summary; exit status 1 if
any mutated file raised something other than `UserError`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from pipeline.errors import UserError
from pipeline.sources.file import FileSource

MAX_FRAMES = 400
"""A mutated file is read at most this far (its header may declare absurd lengths)."""


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.choice(["flip", "run", "truncate", "duplicate", "delete", "header"])
    if kind == "flip":
        for _ in range(rng.randint(1, 40)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == "run":
        start = rng.randrange(len(buf))
        length = rng.randint(1, 4096)
        buf[start : start + length] = bytes(rng.randrange(256) for _ in range(min(length, len(buf) - start)))
    elif kind == "truncate":
        del buf[rng.randrange(1, len(buf)) :]
    elif kind == "duplicate":
        start = rng.randrange(len(buf))
        chunk = buf[start : start + rng.randint(1, 8192)]
        at = rng.randrange(len(buf))
        buf[at:at] = chunk
    elif kind == "delete":
        start = rng.randrange(len(buf))
        del buf[start : start + rng.randint(1, 8192)]
    else:
        buf[:32] = bytes(32)
    return bytes(buf)


def read_all(path: Path) -> int:
    source = FileSource(path, audio=True)
    try:
        source.open()
        count = 0
        while count < MAX_FRAMES and source.read() is not None:
            count += 1
        return count
    finally:
        source.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_video", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = args.seed_video.read_bytes()
    rng = random.Random(args.seed)
    outcomes = {"decoded": 0, "user_error": 0, "other": 0}
    slowest_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.count):
            path = Path(tmp) / f"mutant{i:04d}{args.seed_video.suffix}"
            path.write_bytes(mutate(data, rng))
            t0 = time.monotonic()
            try:
                read_all(path)
                outcomes["decoded"] += 1
            except UserError as exc:
                outcomes["user_error"] += 1
                if "\n" in str(exc):
                    outcomes["other"] += 1
                    print(f"mutant {i}: UserError spans lines: {exc!r}")
            except Exception as exc:  # the bug this tool looks for
                outcomes["other"] += 1
                print(f"mutant {i}: {type(exc).__name__}: {exc}")
            slowest_s = max(slowest_s, time.monotonic() - t0)
    print(
        f"{args.count} mutants: {outcomes['decoded']} decoded, {outcomes['user_error']} clean UserError, "
        f"{outcomes['other']} other; slowest {slowest_s:.2f} s"
    )
    return 1 if outcomes["other"] else 0


if __name__ == "__main__":
    sys.exit(main())
