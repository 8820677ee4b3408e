"""glibc heap settings for a long-running service (no-ops where the C library is not glibc).

The service's resident memory is mostly its model; what glibc's allocator adds on top depends on
how many heaps ("arenas") it keeps. By default glibc opens up to 8 per core as threads contend
(uvicorn's workers, anyio's thread pool, torch's); under the soak's load a cap of 2 held less
memory and the server answered more requests (``benchmarks/soak.py``; the figures are in
docs/results/2026-11-29-soak.md).
"""

from __future__ import annotations

import contextlib
import ctypes
from functools import lru_cache

_M_ARENA_MAX = -8  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None


def cap_malloc_arenas(arenas: int) -> bool:
    """At most ``arenas`` heaps from now on; call before threads start. 0 keeps glibc's default.
    Returns whether the cap is in force."""
    libc = _glibc()
    if arenas == 0 or libc is None or not hasattr(libc, "mallopt"):
        return False
    return libc.mallopt(_M_ARENA_MAX, arenas) == 1


def map_large_blocks(kb: int) -> bool:
    """Blocks of at least ``kb`` kB in memory maps of their own, unmapped when freed; 0 keeps glibc's
    default. Returns whether the threshold is in force.

    By default glibc raises that threshold to the size of each mapped block freed (up to its
    ``DEFAULT_MMAP_THRESHOLD_MAX``), so after the first batches a forward pass's activations come from
    the heap, and the heap keeps what they leave free: under load most of the resident memory's growth
    was free heap, and a fixed threshold cut that growth to a fraction
    (``docs/results/2026-11-29-footprint.md``)."""
    libc = _glibc()
    if kb == 0 or libc is None or not hasattr(libc, "mallopt"):
        return False
    return libc.mallopt(_M_MMAP_THRESHOLD, kb * 1024) == 1


def return_freed_memory() -> None:
    """Hand freed heap pages back to the system (glibc keeps them otherwise: each model swap would
    raise the resident memory for good)."""
    libc = _glibc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
