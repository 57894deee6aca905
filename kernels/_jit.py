"""The one Numba configuration shared by every kernel in `kernels/`.

* `jit` — the decorator for kernels: `numba.njit` (nopython mode), `nogil=True` so the stage threads
  really overlap on two cores, `cache=True` so the compiled code is kept on disk between runs
  (first import after a change costs a few seconds of JIT, later ones a few milliseconds),
  `boundscheck=False`. Kernels are serial: the pipeline already runs one thread per stage on a
  2-core machine, so `parallel=True` would only fight the segmentation thread for the same cores.
* `fastmath` is deliberately **off** by default. The compositing kernels work in integer
  fixed point (bit-exact regardless of flags); where a kernel uses floats, strict IEEE semantics keep
  its results identical between the scalar and vectorised paths and between kernels that share a
  helper — e.g. the alpha the compositor uses must be bit-identical to `alpha_from_mask`.
  Pass `jit(fastmath=True)` explicitly for a kernel where that guarantee does not matter.
* `inline` — the decorator for small per-pixel and per-run helpers shared by several kernels
  (inlined at the Numba IR level: no call overhead, and every caller runs the very same arithmetic).
  Per-row helpers (e.g. `mask.row_runs`) are plain `jit` functions instead: a call per row costs
  ~50 ns, and compiling them once rather than into every kernel cuts the first (cold-cache) JIT
  of all kernels from ~14 s to ~10 s on the 2-core machine.

* `u16_mul`, `u16_add`, `u16_shr8` — uint16 arithmetic that stays 16 bits wide. Numba types every
  integer product and sum as 64-bit, and AVX2 has no 64-bit lane multiply, so a fixed-point blend
  written with NumPy scalars is left scalar by LLVM's vectoriser; these intrinsics emit the 16-bit
  instructions themselves (16 lanes per AVX2 register): the background interpolation of the
  compositor runs ~4x faster. They wrap modulo 2**16, so callers state why their sums cannot.

Cache caveat (Numba): a cached kernel is recompiled when *its own* file changes, not when a helper it
inlines from another file does. After editing a helper in `mask.py`, delete the cache
(`rm -f kernels/__pycache__/*.nbi kernels/__pycache__/*.nbc`) or the composite kernels keep the old
helper — and `alpha_out` would no longer match `alpha_from_mask` (the tests would catch it).

`kernels/` imports nothing from `pipeline/`: these are pure array functions.
"""

from __future__ import annotations

import numba
from numba.core import types
from numba.extending import intrinsic

_DEFAULTS = dict(nogil=True, cache=True, boundscheck=False, fastmath=False)


def jit(fn=None, **overrides):
    """`numba.njit` with the project's defaults; usable as `@jit` or `@jit(fastmath=True)`."""
    options = {**_DEFAULTS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def inline(fn):
    """A small helper that is always inlined into the kernels that call it."""
    return numba.njit(inline="always", **_DEFAULTS)(fn)


_U16_BINARY = types.uint16(types.uint16, types.uint16)


@intrinsic
def u16_mul(typingctx, a, b):
    """a * b in uint16 (modulo 2**16)."""
    return _U16_BINARY, lambda context, builder, sig, args: builder.mul(args[0], args[1])


@intrinsic
def u16_add(typingctx, a, b):
    """a + b in uint16 (modulo 2**16)."""
    return _U16_BINARY, lambda context, builder, sig, args: builder.add(args[0], args[1])


@intrinsic
def u16_shr8(typingctx, a):
    """a >> 8 for uint16 a."""
    return types.uint16(types.uint16), lambda context, builder, sig, args: builder.lshr(args[0], args[0].type(8))
