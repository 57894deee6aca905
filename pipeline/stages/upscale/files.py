"""`litecam upscale` on still images: one image, or every image of a folder, through a stage's function.

Lives in the upscale package (it drives the stage outside a graph); reading and writing the files is
`pipeline.media.images`. Videos go through a graph instead (`pipeline.commands.cmd_upscale`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from pipeline.errors import UserError
from pipeline.media.images import IMAGE_SUFFIXES, read_image, write_image
from pipeline.paths import check_writable_file, make_folder, refuse_overwriting_inputs

Enlarge = Callable[[np.ndarray], np.ndarray]
"""uint8 (H, W, 3|4) BGR(A) → the picture to write (`Upscale.upscale`, `Restore.restore`)."""


def upscale_files(enlarge: Enlarge, source: Path, out: Path, suffixes: Collection[str] = IMAGE_SUFFIXES) -> int:
    """Run `enlarge` (its model loaded) on one image (to `out`, format by its extension) or every image
    of a folder (to `out/STEM.png`, `out` created). Returns the number of images written. Any size and BGR(A).

    Everything is checked before the first image is written: a folder with no images, two images
    that would write the same `STEM.png`, an output that is (or would overwrite) an input, an
    unwritable output; each is a `UserError`. An image of a folder that cannot be read (corrupt, too
    large) is skipped and the others are written; then `UserError` names every one skipped.
    `suffixes`: the extensions taken as images."""
    if source.is_dir():
        images = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not images:
            raise UserError(f"folder {source} holds no images ({', '.join(sorted(suffixes))})")
        stems = [p.stem for p in images]
        clash = sorted({s for s in stems if stems.count(s) > 1})
        if clash:
            raise UserError(
                f"folder {source}: images {clash} share a name but not an extension; "
                "the outputs would overwrite each other (STEM.png)"
            )
        if out.exists() and not out.is_dir():
            raise UserError(f"upscale output {out} exists and is not a folder (a folder input needs a folder output)")
        targets = [(p, out / f"{p.stem}.png") for p in images]
        refuse_overwriting_inputs([dst for _, dst in targets], images)
        make_folder(out, "output folder")
    else:
        if out.suffix.lower() not in suffixes:
            raise UserError(
                f"upscale output {out}: an image input needs an image output ({', '.join(sorted(suffixes))})"
            )
        refuse_overwriting_inputs([out], [source])
        check_writable_file(out, "upscale output")
        targets = [(source, out)]
    skipped = []
    for src, dst in targets:
        try:
            image = read_image(src)
        except UserError as exc:
            if len(targets) == 1:
                raise
            skipped.append(str(exc))
            continue
        write_image(dst, enlarge(image))
    if skipped:
        raise UserError(
            f"wrote {len(targets) - len(skipped)} of {len(targets)} images to {out}; skipped {len(skipped)}: "
            + "; ".join(skipped[:3])
            + (" …" if len(skipped) > 3 else "")
        )
    return len(targets)
