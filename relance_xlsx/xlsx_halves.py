"""A big xlsx sheet read by calamine on two cores, cut in two halves at a row.

calamine parses a sheet on one core (about half a second for 20,000 rows) and lets go of
Python's lock while it does: two halves of the sheet, each in a small workbook of its own
held in memory (stored, not compressed), parse at the same time. The sheet is decompressed
once, for the far-cell check and for the cut together. The rows come back exactly as one
read of the whole sheet gives them (same width, from A1); anything unusual (no row number at
the cut, a namespace the cut does not know, a half calamine refuses) falls back to that read.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .xlsx_cells import far_ref_in

# Below, the second core saves little; above, the sheet and its halves held in memory would
# cost more than the time saved is worth (a run of 100,000 rows must stay under 500 MB).
SPLIT_MIN_BYTES = 4 << 20
SPLIT_MAX_BYTES = 48 << 20
_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData(?:\s[^>]*)?>")
# Parts a half does not need: the other sheets, pictures, charts, pivot tables.
_LEFT_OUT = (
    "xl/worksheets/", "xl/chartsheets/", "xl/media/", "xl/drawings/", "xl/charts/",
    "xl/pivotCache/", "xl/pivotTables/", "xl/printerSettings/", "xl/embeddings/",
)  # fmt: skip

Rows = list[list[object]]


def read_in_halves(
    archive: zipfile.ZipFile, part: str, name: str, min_bytes: int | None = None,
    whole: Callable[[], Rows] | None = None,
) -> Rows | None:
    """The rows of sheet ``name`` (XML ``part``) from A1, read in two halves at once; None
    when the sheet is small or holds a far cell (see ``xlsx_cells``). A sheet found clear of
    far cells but that cannot be cut is read by ``whole`` (one read of the whole sheet):
    the caller's far-cell check would decompress and scan it a second time."""
    try:
        size = archive.getinfo(part).file_size
    except KeyError:
        return None
    least = SPLIT_MIN_BYTES if min_bytes is None else min_bytes
    if not least <= size <= SPLIT_MAX_BYTES or _cores() < 2:
        return None
    xml = archive.read(part)
    if far_ref_in(xml):
        return None
    cut = _cut(xml)
    if cut is None:
        del xml
        return whole() if whole else None
    first, second = cut
    upper, lower = _book(archive, part, first), _book(archive, part, second)
    del xml, first, second
    try:
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(_read_half, lower, name, False)
            top = _read_half(upper, name, True)
            bottom = later.result()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001 - a half calamine refuses: read the whole sheet
        return whole() if whole else None
    return _join(top, bottom)


def _cores() -> int:
    """The cores this process may use (a container or a job object may allow fewer than the
    machine has; Windows has no affinity call here)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cut(xml: bytes) -> tuple[bytes, bytes] | None:
    """The sheet as two sheets: the rows before the middle one, and the rows from it (the
    sheet's head before them, its tail after the first half's)."""
    opening = _SHEET_DATA.search(xml)
    if opening is None:
        return None
    if _declaration_after(xml, opening.end()):
        return None  # a comment or CDATA section may hold a "<row" that is not one
    prefix = opening.group(1)
    closing = xml.rfind(b"</" + prefix + b"sheetData>")
    if closing < opening.end():
        return None
    middle = xml.find(b"<" + prefix + b"row", (opening.end() + closing) // 2, closing)
    if middle < 0:
        return None
    tag_end = xml.find(b">", middle, closing)
    tag = xml[middle:tag_end]
    after = tag[len(prefix) + 4 : len(prefix) + 5]
    if tag_end < 0 or after not in (b" ", b"\t", b"\n", b"\r") or not re.search(rb"\sr\s*=", tag):
        return None  # a row without its number would be counted from the half's top
    return xml[:middle] + xml[closing:], xml[: opening.end()] + xml[middle:]


def _declaration_after(xml: bytes, start: int) -> bool:
    """A "<!" (comment, CDATA) after ``start``? "!" is rare in a sheet: memchr finds each."""
    at = xml.find(b"!", start)
    for _ in range(1000):  # texts full of "!": do not look further, read the sheet whole
        if at < 0:
            return False
        if xml[at - 1 : at] == b"<":
            return True
        at = xml.find(b"!", at + 1)
    return True


def _book(archive: zipfile.ZipFile, part: str, sheet: bytes) -> bytes:
    """A workbook holding ``sheet`` as ``part``, with the styles, strings and workbook parts
    of the original (the dates' formats and the shared texts are there). The whole sheet
    stays out wherever it lies: under its name twice, calamine might read it instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as book:
        for info in archive.infolist():
            if info.filename != part and not info.filename.startswith(_LEFT_OUT):
                book.writestr(info.filename, archive.read(info))
        book.writestr(part, sheet)
    return buffer.getvalue()


def _read_half(book: bytes, name: str, from_a1: bool) -> tuple[Rows, int, int]:
    """The half's rows, and the row and column they start at (the top half from A1)."""
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_name(
        name
    )
    if from_a1 or sheet.start is None:
        return sheet.to_python(skip_empty_area=False), 0, 0
    row, col = sheet.start
    return sheet.to_python(skip_empty_area=True), row, col


def _join(top: tuple[Rows, int, int], bottom: tuple[Rows, int, int]) -> Rows:
    """The two halves as one dense read from A1: blank rows where the cut left a gap, every
    row as wide as the widest."""
    rows, _, _ = top
    lower, start_row, start_col = bottom
    if not lower:
        return rows
    if start_col:
        pad = [""] * start_col
        lower = [pad + row for row in lower]
    width = max(len(rows[0]) if rows else 0, len(lower[0]))
    for block in (rows, lower):
        if block and len(block[0]) < width:
            for row in block:
                row.extend([""] * (width - len(row)))
    rows.extend([""] * width for _ in range(start_row - len(rows)))
    rows.extend(lower)
    return rows
