"""Still image files: the suffixes litecam reads as images, and reading/writing one 8-bit image.

`IMAGE_SUFFIXES` is the one list of image extensions (lower case, with the dot) for the command
line (`--input`, `litecam upscale`, `litecam matte`) and the folder readers. `read_image` gives an
8-bit BGR or BGRA array (greyscale becomes BGR); `write_image` writes under a temporary name and
renames, so a crash never leaves a half-written image. OpenCV and NumPy are imported inside the
functions: importing the suffixes costs nothing (the command line imports them at start-up).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import UserError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
"""File extensions read as still images (compare with `Path.suffix.lower()`)."""


def read_image(path: Path):
    """An 8-bit BGR or BGRA image, uint8 (H, W, 3|4) C-contiguous (greyscale becomes BGR);
    `UserError` naming the file otherwise (unreadable, corrupt, or more than 8 bits per channel)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"image {path} could not be read (corrupt, or not an image)")
    if image.dtype != np.uint8:
        raise UserError(
            f"image {path} has {image.dtype.itemsize * 8} bits per channel; "
            "8-bit images only (convert it to an 8-bit PNG or JPEG)"
        )
    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def write_image(path: Path, image) -> None:
    """Write uint8 (H, W, 3|4) BGR(A) `image` to `path`, format by its extension: under a temporary
    name (`.STEM.partialSUFFIX`), then renamed (never a half-written image); JPEG drops alpha.
    `UserError` when it cannot be written."""
    import cv2

    if path.suffix.lower() in (".jpg", ".jpeg") and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        ok = cv2.imwrite(str(partial), image)
    except cv2.error:
        ok = False
    if not ok:
        partial.unlink(missing_ok=True)
        raise UserError(f"could not write {path} (not writable, disk full, or an extension OpenCV cannot write)")
    os.replace(partial, path)
