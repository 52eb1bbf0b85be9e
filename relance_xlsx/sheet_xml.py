"""One worksheet's XML: the few lookups and edits the status column needs, built in one pass.

Strings are written inline (``t="inlineStr"``) so that ``xl/sharedStrings.xml`` stays untouched;
everything the patch does not touch is kept as parsed (lxml keeps unknown elements, namespaces
and attributes), so only the status column's cells, the row ``spans`` hints, the ``dimension``
and the column width change.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from lxml import etree

from relance_xlsx.errors import InputError
from relance_xlsx.xlsx_package import (
    CellRange,
    column_letter,
    corrupt,
    ref_column,
    serialise,
    split_ref,
)

MAX_CELL_CHARS = 32_767  # Excel refuses longer cell texts

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
# Characters XML 1.0 forbids (and the two non-characters Excel chokes on).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel decodes "_x0041_" as "A" inside strings; a literal one must be escaped as "_x005F_x0041_".
_EXCEL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")


@lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """Drop characters XML 1.0 forbids, escape Excel's ``_xHHHH_`` and cap the length.

    Cached: a run writes the same few status texts on thousands of rows.
    """
    text = _ILLEGAL_XML.sub("", text)
    text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
    return text[:MAX_CELL_CHARS]


@lru_cache(maxsize=4096)
def _needs_preserve(text: str) -> bool:
    """XML parsers may drop leading/trailing or repeated whitespace without xml:space."""
    return text != text.strip() or "\n" in text or "\t" in text or "  " in text


@lru_cache(maxsize=4096)
def _inline_value(text: str) -> bytes:
    """The type and content of an inline-string cell holding ``text``, after its attributes."""
    escaped = (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )
    space = ' xml:space="preserve"' if _needs_preserve(text) else ""
    return f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'.encode()


def inline_cell(attributes: bytes, text: str) -> bytes:
    """``<c r="Q5" t="inlineStr"><is><t>…</t></is></c>`` as ``SheetXml.set_text`` makes it,
    written without a tree (the streamed write-back's usual case). ``attributes``: the
    cell's others (`` r="Q5" s="3"``), without its old type."""
    return b"<c" + attributes + _inline_value(text)


class SheetXml:
    """One worksheet's XML and the few lookups the patch needs, built in one pass."""

    def __init__(self, tree: etree._ElementTree, path: Path, sheet_name: str) -> None:
        self.tree = tree
        self.root = tree.getroot()
        qname = etree.QName(self.root)
        if qname.localname != "worksheet":
            raise InputError(
                f"La feuille « {sheet_name} » du classeur « {path.name} » n'est pas une feuille "
                f"de calcul (graphique ou macro) : choisissez la feuille qui contient le tableau."
            )
        ns = qname.namespace
        self.set_namespace(ns)
        sheet_data = self.root.find(f"{{{ns}}}sheetData")
        if sheet_data is None:
            raise corrupt(path, f"la feuille « {sheet_name} » n'a pas de données")
        self.sheet_data = sheet_data
        self.rows: dict[int, etree._Element] = {}
        previous = 0
        for row in sheet_data.iterchildren(self.row_tag):
            ref = row.get("r")
            number = int(ref) if ref else previous + 1
            previous = number
            self.rows.setdefault(number, row)
        self.row_numbers = sorted(self.rows)
        self._last_used: dict[int, int] = {}

    def set_namespace(self, ns: str | None) -> None:
        """The tags of the sheet's elements (transitional or strict namespace)."""
        self.ns = ns
        self.c_tag, self.row_tag = f"{{{ns}}}c", f"{{{ns}}}row"
        self.v_tag, self.f_tag, self.is_tag = f"{{{ns}}}v", f"{{{ns}}}f", f"{{{ns}}}is"
        self.t_tag = f"{{{ns}}}t"

    # ---- cells

    def cells(self, row: etree._Element) -> Iterator[tuple[int, etree._Element]]:
        """(column, cell) in document order; a cell without ``r`` follows its predecessor."""
        column = 0
        for cell in row.iterchildren(self.c_tag):
            ref = cell.get("r")
            column = ref_column(ref) if ref else column + 1
            yield column, cell

    def has_value(self, cell: etree._Element) -> bool:
        """A formula, a value or a non-empty inline string; a bare styled cell is empty."""
        for child in cell:
            tag = child.tag
            if tag == self.f_tag:
                return True
            if tag == self.v_tag and child.text:
                return True
            if tag == self.is_tag and "".join(child.itertext()):
                return True
        return False

    def last_value_column(self, row: etree._Element) -> int:
        """Rightmost column holding a value; reads from the end, the usual case is 1 cell."""
        for cell in row.iterchildren(self.c_tag, reversed=True):
            if self.has_value(cell):
                ref = cell.get("r")
                if ref:
                    return ref_column(ref)
                break  # implicit positions: count from the start
        else:
            return 0
        return max((col for col, cell in self.cells(row) if self.has_value(cell)), default=0)

    def last_used_column(self, first_row: int) -> int:
        """Rightmost column with a value from ``first_row`` down (cached until an edit)."""
        cached = self._last_used.get(first_row)
        if cached is None:
            start = bisect_right(self.row_numbers, first_row - 1)
            cached = max(
                (self.last_value_column(self.rows[n]) for n in self.row_numbers[start:]),
                default=0,
            )
            self._last_used[first_row] = cached
        return cached

    def has_value_at(self, row: etree._Element, column: int) -> bool:
        """Whether ``row`` holds a value at ``column``; reads from the end of the row."""
        for cell in row.iterchildren(self.c_tag, reversed=True):
            ref = cell.get("r")
            if not ref:  # implicit positions: only a scan from the start knows them
                return any(col == column and self.has_value(c) for col, c in self.cells(row))
            col = ref_column(ref)
            if col <= column:
                return col == column and self.has_value(cell)
        return False

    def column_has_value(self, column: int, first_row: int) -> bool:
        """Some row from ``first_row`` down holds a value in ``column``."""
        start = bisect_right(self.row_numbers, first_row - 1)
        return any(self.has_value_at(self.rows[n], column) for n in self.row_numbers[start:])

    def merged_ranges(self) -> list[CellRange]:
        found = []
        for merge in self.root.iterfind(f"{{{self.ns}}}mergeCells/{{{self.ns}}}mergeCell"):
            try:
                found.append(CellRange.parse(merge.get("ref", "")))
            except ValueError:
                continue
        return found

    def table_rel_ids(self) -> list[str]:
        """Relationship ids of the sheet's Excel tables (``<tableParts>``)."""
        return [
            value
            for part in self.root.iterfind(f"{{{self.ns}}}tableParts/{{{self.ns}}}tablePart")
            for key, value in part.attrib.items()
            if etree.QName(key).localname == "id"
        ]

    def cell_text(self, cell: etree._Element, shared: Mapping[int, str]) -> str:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            node = cell.find(self.is_tag)
            if node is None:
                return ""
            rph = f"{{{self.ns}}}rPh"
            return "".join(t.text or "" for t in node.iter(self.t_tag) if t.getparent().tag != rph)
        value = cell.findtext(self.v_tag) or ""
        if kind == "s":
            try:
                return shared.get(int(value), "")
            except ValueError:
                return ""
        return value

    # ---- edits

    def row(self, number: int) -> etree._Element:
        """The ``<row>`` for ``number``, created in sorted position when missing."""
        existing = self.rows.get(number)
        if existing is not None:
            return existing
        new = self.sheet_data.makeelement(self.row_tag, {"r": str(number)})
        position = bisect_right(self.row_numbers, number)
        if position < len(self.row_numbers):
            self.rows[self.row_numbers[position]].addprevious(new)
        else:
            self.sheet_data.append(new)
        self.rows[number] = new
        self.row_numbers.insert(position, number)
        return new

    def cell(self, row: etree._Element, row_number: int, column: int) -> etree._Element:
        """The ``<c>`` at ``column``, created in sorted position when missing.

        Scans from the end of the row: the status column is usually the last one.
        """
        if len(row):
            last = row[-1]
            ref = last.get("r") if last.tag == self.c_tag else None
            if ref and ref_column(ref) < column:  # the usual case: append
                return etree.SubElement(row, self.c_tag, r=f"{column_letter(column)}{row_number}")
        after = None
        for cell in row.iterchildren(self.c_tag, reversed=True):
            ref = cell.get("r")
            if not ref:  # implicit positions: only a scan from the start knows them
                return self._cell_forward(row, row_number, column)
            col = ref_column(ref)
            if col == column:
                return cell
            if col < column:
                after = cell
                break
        new = row.makeelement(self.c_tag, {"r": f"{column_letter(column)}{row_number}"})
        if after is not None:
            after.addnext(new)
        else:
            row.insert(0, new)  # before any cell, and before the row's extLst
        return new

    def _cell_forward(self, row: etree._Element, row_number: int, column: int) -> etree._Element:
        last = None
        for col, cell in self.cells(row):
            if col == column:
                return cell
            if col > column:
                break
            last = cell
        new = row.makeelement(self.c_tag, {"r": f"{column_letter(column)}{row_number}"})
        if last is not None:
            last.addnext(new)
        else:
            row.insert(0, new)
        return new

    def set_text(self, cell: etree._Element, text: str) -> None:
        """Make ``cell`` an inline string (its style ``s`` is kept)."""
        if self._last_used:
            self._last_used.clear()
        if len(cell):
            for child in list(cell):
                cell.remove(child)
        keys = cell.keys()
        for attribute in ("t", "cm", "vm", "ph"):  # type and metadata of the old value
            if attribute in keys:
                del cell.attrib[attribute]
        if not text:
            return
        cell.set("t", "inlineStr")
        node = etree.SubElement(etree.SubElement(cell, self.is_tag), self.t_tag)
        node.text = text
        if _needs_preserve(text):
            node.set(_XML_SPACE, "preserve")

    def widen_dimension(self, column: int, first_row: int, last_row: int) -> None:
        dimension = self.root.find(f"{{{self.ns}}}dimension")
        if dimension is None:
            return
        ref = dimension.get("ref", "")
        try:
            parts = [split_ref(part) for part in ref.split(":")]
        except ValueError:
            return
        cols = [c for c, _ in parts] + [column]
        rows = [r for _, r in parts] + [first_row, last_row]
        dimension.set(
            "ref",
            f"{column_letter(min(cols))}{min(rows)}:{column_letter(max(cols))}{max(rows)}",
        )

    def ensure_width(self, column: int, width: float) -> None:
        """Give the new column a width, unless a ``<col>`` range already covers it."""
        col_tag = f"{{{self.ns}}}col"
        cols = self.root.find(f"{{{self.ns}}}cols")
        if cols is None:
            cols = self.root.makeelement(f"{{{self.ns}}}cols", {})
            self.sheet_data.addprevious(cols)  # CT_Worksheet order: cols right before sheetData
        after = None
        for col in cols.iterchildren(col_tag):
            low, high = int(col.get("min", "0")), int(col.get("max", "0"))
            if low <= column <= high:
                return
            if high < column:
                after = col
        new = cols.makeelement(
            col_tag,
            {"min": str(column), "max": str(column), "width": f"{width:g}", "customWidth": "1"},
        )
        if after is None:
            cols.insert(0, new)
        else:
            after.addnext(new)

    def serialise(self, original: bytes) -> bytes:
        return serialise(self.tree, original)


def widen_spans(row: etree._Element, column: int) -> None:
    """Keep the optional ``spans`` hint covering the new cell."""
    spans = row.get("spans")
    if not spans:
        return
    widened = widened_spans(spans, column)
    if widened is None:
        del row.attrib["spans"]  # a broken hint is worse than none
    elif widened != spans:
        row.set("spans", widened)


@lru_cache(maxsize=1024)
def widened_spans(spans: str, column: int) -> str | None:
    """``"1:12"`` (or several ranges ``"1:3 5:12"``) stretched to ``column``; None if broken."""
    try:
        ranges = [[int(x) for x in part.split(":")] for part in spans.split()]
        low, high = ranges[0][0], ranges[-1][-1]
    except (ValueError, IndexError):
        return None
    if low <= column <= high:
        return spans
    if column < low:
        ranges[0][0] = column
    else:
        ranges[-1][-1] = column
    return " ".join(":".join(map(str, r)) for r in ranges)
