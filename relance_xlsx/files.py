"""Files at the edges: what a workbook file is, whether it can be written, and writing
the tool's own outputs atomically (a reader never sees half a file).

Atomic writes use a plain temporary name beside the target (not ``mkstemp``, which would
make the file private to its owner on a shared folder), then ``os.replace`` in one step.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# A password-protected xlsx is an OLE compound file holding an "EncryptedPackage" stream.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), b"EncryptedPackage")
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


# An encrypted .xls (BIFF8) keeps its OLE container: its workbook stream opens with the BOF
# record of the workbook globals, then a FILEPASS record (0x002F) before anything else.
_BIFF8_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"
_FILEPASS = b"\x2f\x00"


def is_encrypted_workbook(data: bytes) -> bool:
    """An OLE file with an encrypted package (xlsx) or a FILEPASS record (xls): a workbook
    saved with a password."""
    if data[: len(OLE_MAGIC)] != OLE_MAGIC:
        return False
    if any(m in data for m in _ENCRYPTED_MARKERS):
        return True
    start = data.find(_BIFF8_BOF)
    while start != -1:
        if data[start + 20 : start + 22] == _FILEPASS:
            return True
        start = data.find(_BIFF8_BOF, start + 1)
    return False


# A zip bomb is a small file whose parts inflate to gigabytes: parsing it would take
# minutes and all the memory. A 1,000,000-row export is under 1 GB once unzipped and
# compresses about ten times; a part of 64 MB or more that inflates over 100 times, or
# 4 GB in all, is no export. Declared sizes are enough: zipfile and calamine both stop
# with an error at a part that inflates past its declared size.
MAX_UNZIPPED = 4 * 1024**3
MAX_RATIO = 100
RATIO_FROM = 64 * 1024**2


def zip_bomb_message(path: Path, archive: zipfile.ZipFile) -> str | None:
    """The French refusal of a zip that declares too much once decompressed, else None."""
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if total <= MAX_UNZIPPED and not any(
        i.file_size >= RATIO_FROM and i.file_size > MAX_RATIO * max(i.compress_size, 1)
        for i in infos
    ):
        return None
    size = path.stat().st_size
    return (
        f"Impossible de lire « {path.name} » : le fichier déclare {_decimal(total / 1e9)} Go "
        f"une fois décompressé, pour {_decimal(size / 1e6)} Mo sur le disque. Ce n'est pas "
        "un export de factures : il est endommagé ou piégé (« bombe zip »), il n'a pas été "
        "ouvert.\nOuvrez-le dans Excel pour vérifier, enregistrez-le de nouveau au format "
        ".xlsx, puis relancez."
    )


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def is_writable(path: Path) -> bool:
    """Writable for the user: the permission bits too, because os.access is always true for
    root (folders on Windows have no meaningful write bit, only os.access counts there)."""
    path = Path(path)
    folder = path.is_dir()
    if not os.access(path, os.W_OK | (os.X_OK if folder else 0)):
        return False
    if folder and os.name == "nt":
        return True
    return bool(path.stat().st_mode & WRITE_BITS)


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


def save_workbook_atomic(workbook: Any, target: Path, sync: bool = False) -> None:
    """An openpyxl workbook saved all or nothing. Built in memory first: a zip left half
    written on a full disk would complain from the garbage collector (« Exception ignored
    in: ZipFile.__del__ »), a traceback the user must never see."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    with atomic_target(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(buffer.getbuffer())
            if sync:
                fh.flush()
                os.fsync(fh.fileno())


_LEFTOVER = re.compile(r"^\.(?:relance-(\d+)-.+|.+\.(\d+)\.[0-9a-f]{8}\.tmp)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_leftovers(*folders: Path) -> list[Path]:
    """Remove what a killed run left in these folders: its staging folders
    (``.relance-<pid>-…``) and half-written files (``.<name>.<pid>.<hex>.tmp``), once the
    process that made them is gone. A run still going keeps its own. Returns what went."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            m = _LEFTOVER.match(entry.name)
            if m is None or _alive(int(m.group(1) or m.group(2))):
                continue
            try:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            except OSError:
                continue
            removed.append(entry)
    return removed


# --- a full disk ----------------------------------------------------------------------------

MB = 1024 * 1024


def is_disk_full(exc: BaseException) -> bool:
    """No room left: the system's « No space left on device » (or a quota), or SQLite's own
    words (it reports a full disk as « database or disk is full »)."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.Error) and "disk is full" in str(exc)


def mount_point(path: Path) -> Path:
    """The disk a path is on, as the user sees it: its mount point (or drive)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def disk_full_words(folder: Path, needed: int) -> str:
    """« disque plein sur « /chemin » (il faut environ N Mo pour « dossier », il en reste
    M Mo) »: the disk named by its mount point, the folder written when it is elsewhere."""
    disk = mount_point(folder)
    text = f"disque plein sur « {disk} » (il faut environ {max(1, -(-needed // MB))} Mo"
    if Path(os.path.abspath(folder)) != disk:
        text += f" pour « {folder} »"
    try:
        free = shutil.disk_usage(disk).free
    except OSError:
        return text + ")"
    return text + f", il en reste {free // MB} Mo)"
