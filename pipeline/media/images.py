"""Still image files: the suffixes litecam reads as images, and reading/writing one 8-bit image.

`IMAGE_SUFFIXES` is the one list of image extensions (lower case, with the dot) for the command
line (`--input`, `litecam upscale`, `litecam matte`) and the folder readers. Every image litecam
decodes (inputs, backgrounds, uploads, the pause picture) goes through `decode_image`, which reads the
size its header declares first and refuses one over `MAX_IMAGE_PIXELS` before any pixel is decoded
(a 1 MB PNG may declare 30000×30000: 2.7 GB once decoded). `read_image` gives an 8-bit BGR or BGRA
array (greyscale becomes BGR); `write_image` writes under a temporary name and renames, so a crash
never leaves a half-written image. OpenCV, NumPy and Pillow are imported inside the functions:
importing the suffixes costs nothing (the command line imports them at start-up).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import UserError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
"""File extensions read as still images (compare with `Path.suffix.lower()`)."""
MAX_IMAGE_PIXELS = 50_000_000
"""Largest image decoded, width × height: 8K (7680×4320) and 48-megapixel photos fit."""


def header_size(data: bytes, what: str) -> tuple[int, int]:
    """(width, height) that the encoded image `data` declares, read from its header alone (Pillow
    decodes no pixel here). `UserError` naming `what` for data that is not a PNG, JPEG, WebP, BMP or
    TIFF image, or that declares more than `MAX_IMAGE_PIXELS` pixels."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    width: int | None
    height: int | None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise UserError(f"{what} is not an image litecam reads (give a PNG, JPEG, WebP, BMP or TIFF file)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # Pillow's own, higher limit
        width = height = None
    if width is None or height is None or width * height > MAX_IMAGE_PIXELS:
        size = f"{width}x{height} pixels" if width and height else "a size"
        raise UserError(
            f"{what} declares {size} more than litecam decodes ({MAX_IMAGE_PIXELS // 1_000_000} megapixels); "
            "give a smaller image"
        )
    return width, height


def decode_image(data: bytes, what: str, flags: int | None = None):
    """The image `data` decoded by OpenCV (`flags`: default `cv2.IMREAD_UNCHANGED`) after
    `header_size` accepted its declared size; `UserError` naming `what` when it cannot be decoded."""
    import cv2
    import numpy as np

    header_size(data, what)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED if flags is None else flags)
    if image is None or image.size == 0:
        raise UserError(f"{what} could not be read (corrupt, or not an image)")
    return image


def read_image_file(path: str | os.PathLike, what: str = "image", flags: int | None = None):
    """`decode_image` of the file at `path` (`UserError` naming it when it cannot be read)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{what} {path} could not be read: {exc.strerror or exc}") from None
    return decode_image(data, f"{what} {path}", flags)


def read_image(path: Path):
    """An 8-bit BGR or BGRA image, uint8 (H, W, 3|4) C-contiguous (greyscale becomes BGR);
    `UserError` naming the file otherwise (unreadable, corrupt, or more than 8 bits per channel)."""
    import cv2
    import numpy as np

    image = read_image_file(path)
    if image.dtype != np.uint8:
        raise UserError(
            f"image {path} has {image.dtype.itemsize * 8} bits per channel; "
            "8-bit images only (convert it to an 8-bit PNG or JPEG)"
        )
    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)


def write_image(path: Path, image) -> None:
    """Write uint8 (H, W) grey or (H, W, 3|4) BGR(A) `image` to `path`, format by its extension: under a temporary
    name (`.STEM.partialSUFFIX`), then renamed (never a half-written image); JPEG drops alpha.
    `UserError` when it cannot be written."""
    import cv2

    if path.suffix.lower() in (".jpg", ".jpeg") and image.ndim == 3 and image.shape[2] == 4:
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
