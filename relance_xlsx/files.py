"""Writing the tool's own output files atomically: a reader never sees half a file.

A plain temporary name beside the target (not ``mkstemp``, which would make the file
private to its owner on a shared folder), then ``os.replace`` in one step.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces ``target`` when the block succeeds."""
    target = Path(target)
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """``target.write_bytes(data)``, all or nothing."""
    with atomic_target(target) as tmp:
        tmp.write_bytes(data)
