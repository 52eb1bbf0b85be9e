"""Guarding calamine against what an xlsx sheet's cells claim.

calamine builds a dense grid from the first to the last cell of a sheet: one stray value in
XFD1048576 of a 20-row export asks for 17 billion cells and the process dies of an
allocation failure that no ``except`` can catch. Before calamine reads a sheet, its cell
references are scanned (streamed, bounded memory); a sheet whose area is too large is read
here instead, cell by cell, into ragged rows (memory follows the cells, not the area).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta

from lxml import etree

MAX_DENSE_CELLS = 4_000_000  # 20,000 rows x 200 columns: beyond, read cell by cell
SPARSE = 4  # ... when the area is over 4 times its cells: a full sheet is read by calamine
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(rb""" r=["']([A-Z]{1,3})([0-9]{1,7})["']""")
# A reference that may make the area too large: 3 letters, 6+ digits, 2 letters and 5 digits,
# or columns FA-ZZ with 4 digits. Anything else stays under 702 x 99,999 on the narrow side
# and under MAX_DENSE_CELLS on the wide one, so one fast search clears most sheets.
_FAR_REF = re.compile(
    rb""" r=["'](?:[A-Z]{3}[0-9]|[A-Z]{1,2}[0-9]{6}|[A-Z]{2}[0-9]{5}|[F-Z][A-Z][0-9]{4})"""
)
# Every far reference has two letters or six digits: a sheet of up to 26 columns and
# 99,999 rows (most exports) is cleared by this search, about twice as fast as _FAR_REF's.
_MAYBE_FAR_REF = re.compile(rb"""r=["'][A-Z](?:[A-Z]|[0-9]{6})""")
_DATE_FORMAT_IDS = {14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47}
_DATE_TOKENS = re.compile(r"[dmyhs]", re.IGNORECASE)
_EXCEL_EPOCH = datetime(1899, 12, 30)


def column_index(letters: bytes | str) -> int:
    """0-based index of a column's letters (A -> 0, XFD -> 16383)."""
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode("ascii"):
        n = n * 26 + ord(ch) - 64
    return n - 1


def duplicated_parts(archive: zipfile.ZipFile) -> list[str]:
    """Part names stored twice: which one a reader takes is undefined (a smuggling trick)."""
    seen: set[str] = set()
    twice: list[str] = []
    for name in archive.namelist():
        key = name.lower()
        if key in seen:
            twice.append(name)
        seen.add(key)
    return twice


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name of its XML, from the workbook and its relationships."""
    try:
        book = etree.fromstring(archive.read("xl/workbook.xml"))
        rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, etree.XMLSyntaxError):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    parts = {}
    for sheet in book.iter(f"{_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        if not target:
            continue
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target)
        )
        parts[sheet.get("name", "")] = part
    return parts


def far_ref_in(data: bytes) -> bool:
    """A far reference in this piece of sheet XML? One quick search, the exact one only
    where it finds a candidate."""
    return _MAYBE_FAR_REF.search(data) is not None and _FAR_REF.search(data) is not None


def _has_far_ref(archive: zipfile.ZipFile, part: str) -> bool:
    """A far reference? Searched chunk by chunk (~0.08 s for a 20,000-row sheet of 16
    columns)."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 22):
            if far_ref_in(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def too_sparse(rows: int, cols: int, cells: int) -> bool:
    """An area calamine must not build: large and mostly empty (a stray far cell). A sheet
    full of cells costs memory in proportion to them whoever reads it, and calamine reads
    it many times faster than the cell-by-cell reader."""
    return rows * cols > MAX_DENSE_CELLS and rows * cols > SPARSE * cells


def sheet_extent(archive: zipfile.ZipFile, part: str) -> tuple[int, int, int]:
    """(rows, columns) the sheet's cells span from A1, and the number of cells, read in
    chunks (bounded memory)."""
    max_row = max_col = cells = 0
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b"<")
            scan, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            found = _CELL_REF.findall(scan)
            cells += len(found)
            for letters, row in found:
                r = int(row)
                if r > max_row:
                    max_row = r
                c = column_index(letters) + 1
                if c > max_col:
                    max_col = c
    for letters, row in _CELL_REF.findall(tail):
        max_row, max_col = max(max_row, int(row)), max(max_col, column_index(letters) + 1)
        cells += 1
    return max_row, max_col, cells


def oversized(archive: zipfile.ZipFile, part: str) -> bool:
    """A sheet calamine must not read densely (a missing part is calamine's to report)."""
    try:
        return _has_far_ref(archive, part) and too_sparse(*sheet_extent(archive, part))
    except KeyError:
        return False


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    try:
        stream = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return []
    out = []
    with stream:
        for _, si in etree.iterparse(stream, tag=f"{_NS}si"):
            out.append("".join(t.text or "" for t in si.iter(f"{_NS}t")))
            si.clear()
    return out


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles that show a date."""
    try:
        styles = etree.fromstring(archive.read("xl/styles.xml"))
    except (KeyError, etree.XMLSyntaxError):
        return set()
    custom = {
        int(f.get("numFmtId", "0")): f.get("formatCode", "")
        for f in styles.iter(f"{_NS}numFmt")
    }
    dated = set()
    xfs = styles.find(f"{_NS}cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else []):
        fmt = int(xf.get("numFmtId", "0"))
        code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", custom.get(fmt, ""))
        if fmt in _DATE_FORMAT_IDS or (fmt in custom and _DATE_TOKENS.search(code)):
            dated.add(i)
    return dated


def _value(cell: etree._Element, strings: list[str], dated: set[int]) -> object:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{_NS}t"))
    v = cell.find(f"{_NS}v")
    text = v.text if v is not None and v.text is not None else ""
    if kind == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            return ""
    if kind == "b":
        return text == "1"
    if kind in ("str", "e") or not text:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if int(cell.get("s", "0") or 0) in dated and 0 < number < 2958466:
        moment = _EXCEL_EPOCH + timedelta(days=number)
        return moment.date() if number == int(number) else moment
    return number


def read_sparse_sheet(archive: zipfile.ZipFile, part: str) -> list[list[object]]:
    """The sheet as ragged rows from A1: an empty row is an empty tuple, a row only as long
    as its last cell, so a stray far cell costs one long row, not a grid."""
    strings, dated = _shared_strings(archive), _date_styles(archive)
    cells: dict[int, dict[int, object]] = {}
    with archive.open(part) as stream:
        for cell in _cells(stream):
            ref = cell.get("r", "")
            m = re.fullmatch(r"([A-Z]{1,3})([0-9]{1,7})", ref)
            if m:
                value = _value(cell, strings, dated)
                if value not in ("", None):
                    cells.setdefault(int(m.group(2)) - 1, {})[column_index(m.group(1))] = value
            cell.clear()
    if not cells:
        return []
    empty: list[object] = []
    rows: list[list[object]] = [empty] * (max(cells) + 1)
    for r, by_col in cells.items():
        row: list[object] = [""] * (max(by_col) + 1)
        for c, value in by_col.items():
            row[c] = value
        rows[r] = row
    return rows


def _cells(stream: object) -> Iterator[etree._Element]:
    yield from (el for _, el in etree.iterparse(stream, tag=f"{_NS}c", huge_tree=False))
