"""Giving the memory a big stage freed back to the system, so the next stage does not pile up
on top of it.

Python's small objects live in arenas of their own; what calamine (Rust), pandas and big
lists free goes back to the C library's heap, which keeps it: the process's size only grows,
and a million-row run's next stages would sit on top of the reader's garbage. glibc's
``malloc_trim`` hands the free pages back. Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

# Blocks from this size get pages of their own, handed back when freed: the column arrays a
# million-row table copies at each stage (8 MB each) then never pile up in the heap. glibc
# would otherwise raise this threshold to the size of the first big block freed.
_OWN_PAGES_FROM = 512 * 1024
_M_MMAP_THRESHOLD = -3


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@cache
def keep_big_blocks_apart() -> bool:
    """Big blocks (``_OWN_PAGES_FROM``) in pages of their own, for the process's life (glibc
    only; set once). True if done."""
    libc = _libc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, _OWN_PAGES_FROM) == 1


def resident_mb() -> float | None:
    """The process's resident memory in MB (Linux), None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def give_back_freed_memory() -> bool:
    """Return the C heap's free pages to the system (milliseconds). True if done."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


__all__ = ["give_back_freed_memory", "keep_big_blocks_apart", "resident_mb"]
