"""`litecam matte`: the person mask as 8-bit PNGs, exactly the alpha the compositor uses.

The alpha is `frame.alpha` when a matte stage set it (the refined alpha: the compositor blends with
that very array), else `kernels.mask.alpha_from_mask` with the run's edge settings, which the
composite kernels compute bit-identically. Each PNG is written
under a temporary name and renamed, so a crash never leaves a half-written image.
"""

from __future__ import annotations

from pathlib import Path

from kernels.mask import alpha_from_mask
from pipeline.caps import Caps
from pipeline.errors import GraphError
from pipeline.frame import Frame
from pipeline.media.images import write_image
from pipeline.paths import make_folder
from pipeline.stage import Sink


class MatteSink(Sink):
    """Writes `000000.png`, `000001.png`, … (or `single_name` for a one-image input)."""

    name = "matte"

    def __init__(self, out_dir: Path, edge_lo: float, edge_hi: float, single_name: str | None = None):
        self.out_dir, self.edge_lo, self.edge_hi, self.single_name = Path(out_dir), edge_lo, edge_hi, single_name

    def open(self, caps: Caps) -> Caps:
        make_folder(self.out_dir, "matte folder")
        return caps

    def process(self, frame: Frame) -> None:
        alpha = frame.alpha
        if alpha is None:
            if frame.mask is None:
                raise GraphError("the matte sink needs frame.mask: put a segment stage before it")
            alpha = alpha_from_mask(frame.mask, frame.height, frame.width, self.edge_lo, self.edge_hi)
        write_image(self.out_dir / (self.single_name or f"{frame.seq:06d}.png"), alpha)
