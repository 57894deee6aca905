"""Check that `litecam transcode` loses nothing: for every video given (default: all of
../shared/data/video), transcode it with the full effect chain and compare output with input —
frame count, every frame's timestamp (within one tick of the output time base) and audio duration
(within one video frame). Prints a Markdown table; exit status 1 if any file loses anything.

    .venv/bin/python -m tools.verify_transcode [VIDEO ...] [--preset transcode] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

from pipeline.cli import main as litecam

REPO = Path(__file__).resolve().parent.parent


def probe(path: Path) -> dict:
    """Frame timestamps (seconds, exact), time base, frame rate and audio duration (s) of a file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        time_base = video.time_base
        assert time_base is not None  # set for every demuxed stream when the file is opened
        times = [Fraction(f.pts) * time_base for f in container.decode(video) if f.pts is not None]
        rate = video.average_rate or video.guessed_rate
    with av.open(str(path)) as container:
        audio_s = 0.0
        if container.streams.audio:
            audio_s = float(sum(p.duration * p.time_base for p in container.demux(audio=0) if p.size and p.duration))
    return {"times": times, "time_base": time_base, "rate": rate, "audio_s": audio_s}


def verify(path: Path, preset: str, out_dir: Path) -> dict:
    out = out_dir / f"{path.stem}.mp4"
    started = time.monotonic()
    status = litecam(["transcode", str(path), str(out), "--preset", preset])
    seconds = time.monotonic() - started
    source, result = probe(path), probe(out)
    tick = result["time_base"]
    # timestamps compared relative to the first frame (a container may start at a non-zero time)
    shift_in, shift_out = source["times"][0], result["times"][0]
    worst_tick = max(
        (abs((a - shift_in) - (b - shift_out)) / tick for a, b in zip(source["times"], result["times"])), default=0
    )
    frame_s = float(1 / source["rate"]) if source["rate"] else 0.04
    row = {
        "file": path.name,
        "status": status,
        "seconds": round(seconds, 1),
        "frames_in": len(source["times"]),
        "frames_out": len(result["times"]),
        "worst_timestamp_error_ticks": float(worst_tick),
        "audio_in_s": round(source["audio_s"], 4),
        "audio_out_s": round(result["audio_s"], 4),
    }
    row["ok"] = (
        status == 0
        and row["frames_in"] == row["frames_out"]
        and worst_tick <= 1
        and abs(source["audio_s"] - result["audio_s"]) <= frame_s
    )
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--preset", default="transcode")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    videos = args.videos or sorted((REPO.parent / "shared" / "data" / "video").glob("*.*"))
    if not videos:
        print("no videos given and ../shared/data/video is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows = [verify(path, args.preset, Path(tmp)) for path in videos]
    print("\n| file | frames in → out | worst timestamp error (ticks) | audio in → out (s) | transcode s | ok |")
    print("|---|---|---:|---|---:|---|")
    for r in rows:
        print(
            f"| {r['file']} | {r['frames_in']} → {r['frames_out']} | {r['worst_timestamp_error_ticks']:.2f} | "
            f"{r['audio_in_s']} → {r['audio_out_s']} | {r['seconds']} | {'yes' if r['ok'] else 'NO'} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
