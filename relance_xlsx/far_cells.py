"""Guarding calamine against a far cell in an .xls or .ods sheet.

calamine builds a dense grid from A1 to a sheet's last cell: one stray value in IV65536 of a
10-row .xls asks for 16 million cells and over 1 GB. Before calamine reads such a file, the
cells' positions are scanned here (the .xls cell records, the .ods rows and cells with their
repeat counts), without building anything; a sheet whose area is too large and mostly empty
is refused with its far cell named. (An .xlsx sheet is read cell by cell instead: see
xlsx_cells.py.)
"""

from __future__ import annotations

import struct
import sys
import zipfile
from array import array
from collections.abc import Iterator

from lxml import etree

from .xlsx_cells import too_sparse

_END_OF_CHAIN = 0xFFFFFFFA  # sector numbers from here on mark ends and free sectors
# BIFF8 records that hold a cell: FORMULA, LABELSST, NUMBER, RK, LABEL, BOOLERR, RSTRING,
# BLANK, and the multi-cell MULRK and MULBLANK (their last column ends the record).
_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0204, 0x0205, 0x00D6, 0x0201}
_MULTI = {0x00BD, 0x00BE}
_BOF, _EOF, _SHEET = 0x0809, 0x000A, 0x0085


def cell_ref(row: int, col: int) -> str:
    """``(65535, 255)`` -> ``"IV65536"`` (0-based row and column)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def xls_far_cell(data: bytes) -> tuple[str, str] | None:
    """(sheet name, far cell) of the first .xls sheet too large to read densely, else None.
    A file whose container cannot be followed is left to calamine (it says "endommagé")."""
    try:
        stream = _ole_stream(data, ("Workbook", "Book"))
    except (IndexError, struct.error, ValueError):
        return None
    if stream is None:
        return None
    names: dict[int, str] = {}
    sheet, max_row, max_col, cells, pos = None, -1, -1, 0, 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4 : pos + 4 + size]
        if kind == _SHEET and len(body) >= 8:
            names[struct.unpack_from("<I", body)[0]] = _sheet_name(body)
        elif kind == _BOF:
            sheet, max_row, max_col, cells = names.get(pos, ""), -1, -1, 0
        elif kind in _CELLS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            max_row, max_col, cells = max(max_row, row), max(max_col, col), cells + 1
        elif kind in _MULTI and len(body) >= 6:
            row, first = struct.unpack_from("<HH", body)
            col = struct.unpack_from("<H", body, len(body) - 2)[0]
            max_row, max_col = max(max_row, row), max(max_col, col)
            cells += max(col - first + 1, 1)
        elif kind == _EOF and sheet is not None:
            if too_sparse(max_row + 1, max_col + 1, cells):
                return sheet, cell_ref(max_row, max_col)
            sheet = None
        pos += 4 + size
    return None


def _sheet_name(body: bytes) -> str:
    """A BOUNDSHEET record's sheet name (8-bit or UTF-16)."""
    count, flags = body[6], body[7] if len(body) > 7 else 0
    if flags & 1:
        return body[8 : 8 + 2 * count].decode("utf-16-le", "replace")
    return body[8 : 8 + count].decode("latin-1")


def _u32s(data: bytes) -> array:
    values = array("I", data[: len(data) - len(data) % 4])
    if sys.byteorder == "big":  # pragma: no cover - the files are little-endian
        values.byteswap()
    return values


def _ole_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The named stream of an OLE compound file (the container of an .xls)."""
    sector = 1 << struct.unpack_from("<H", data, 30)[0]
    mini = 1 << struct.unpack_from("<H", data, 32)[0]
    n_fat, first_dir = struct.unpack_from("<II", data, 44)
    cutoff, first_minifat, _n_minifat, first_difat = struct.unpack_from("<IIII", data, 56)
    if not 128 <= sector <= 65536 or n_fat > len(data) // sector + 1:
        raise ValueError("en-tête OLE incohérent")

    def read(sid: int) -> bytes:
        return data[(sid + 1) * sector : (sid + 2) * sector]

    difat = list(_u32s(data[76:512]))
    seen: set[int] = set()
    nxt = first_difat
    while nxt < _END_OF_CHAIN and nxt not in seen and len(difat) < n_fat + 109:
        seen.add(nxt)
        block = _u32s(read(nxt))
        difat.extend(block[:-1])
        nxt = block[-1] if len(block) else _END_OF_CHAIN
    fat = array("I")
    for sid in difat[:n_fat]:
        if sid < _END_OF_CHAIN:
            fat.extend(_u32s(read(sid)))

    def chain(start: int, table: array) -> Iterator[int]:
        visited: set[int] = set()
        while start < _END_OF_CHAIN and start < len(table) and start not in visited:
            visited.add(start)
            yield start
            start = table[start]

    directory = b"".join(read(s) for s in chain(first_dir, fat))
    entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        return None
    for entry in entries:
        length = struct.unpack_from("<H", entry, 64)[0]
        name = entry[: max(length - 2, 0)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name not in names:
            continue
        start, size = struct.unpack_from("<II", entry, 116)
        if size >= cutoff:
            return b"".join(read(s) for s in chain(start, fat))[:size]
        root_start = struct.unpack_from("<I", entries[0], 116)[0]
        ministream = b"".join(read(s) for s in chain(root_start, fat))
        minifat = _u32s(b"".join(read(s) for s in chain(first_minifat, fat)))
        return b"".join(
            ministream[s * mini : (s + 1) * mini] for s in chain(start, minifat)
        )[:size]
    return None


_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TAGS = {f"{{{_TABLE}}}{t}" for t in ("table", "table-row", "table-cell", "covered-table-cell")}


def ods_far_cell(archive: zipfile.ZipFile) -> tuple[str, str] | None:
    """(sheet name, far cell) of the first .ods sheet too large to read densely, else None.
    Rows and cells repeated N times (how .ods stores empty areas) count N times; only cells
    with a value count for the area, as for calamine."""
    try:
        stream = archive.open("content.xml")
    except KeyError:
        return None
    repeat_rows, repeat_cols = f"{{{_TABLE}}}number-rows-repeated", (
        f"{{{_TABLE}}}number-columns-repeated"
    )
    sheet, row, col, max_row, max_col, rows_here, cells = "", 0, 0, -1, -1, 1, 0
    with stream:
        for event, el in etree.iterparse(stream, events=("start", "end"), tag=_TAGS):
            local = el.tag.rsplit("}", 1)[1]
            if local == "table":
                if event == "start":
                    sheet, row, max_row, max_col = el.get(f"{{{_TABLE}}}name", ""), 0, -1, -1
                    cells = 0
                    continue
                if too_sparse(max_row + 1, max_col + 1, cells):
                    return sheet, cell_ref(max_row, max_col)
            elif local == "table-row":
                if event == "start":
                    col, rows_here = 0, _count(el.get(repeat_rows))
                    continue
                row += rows_here
            elif event == "end":
                cols_here = _count(el.get(repeat_cols))
                if el.get(f"{{{_OFFICE}}}value-type") or "".join(el.itertext()).strip():
                    max_row = max(max_row, row + rows_here - 1)
                    max_col = max(max_col, col + cols_here - 1)
                    cells += rows_here * cols_here
                col += cols_here
            if event == "end":
                el.clear(keep_tail=True)
    return None


def _count(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1
