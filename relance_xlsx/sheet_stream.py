"""One worksheet rewritten in streamed passes: memory follows one row, never the sheet.

A whole-sheet lxml tree costs about 12 KB per row (1.3 GB at 100,000 rows, 12 GB at Excel's
limit). Here a first pass keeps everything *but* the rows (the "skeleton": dimension, columns,
filter, merged cells, table parts…), the header row, and the little the status column's
placement needs to know of the rows (which exist, the rightmost value). The second pass writes
the skeleton with each row edited and serialised as soon as it is parsed, then dropped; rows
the edit needs that the sheet lacks are created in order. Both passes read the zip entry
streamed, so neither the compressed nor the decompressed sheet is ever held whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from relance_xlsx.sheet_xml import SheetXml
from relance_xlsx.xlsx_package import MAX_ROW, corrupt, iterparse, serialise

RowEdit = Callable[[int, etree._Element], None]
"""Edits one ``<row>`` (its number, the element) in place before it is written."""

OpenPart = Callable[[], BinaryIO]
"""Opens the worksheet's zip entry afresh: each pass streams it from the start."""

_HEAD_BYTES = 4096  # enough for the XML declaration, which ``serialise`` keeps as it was


class StreamedSheet(SheetXml):
    """The skeleton of a worksheet (no rows) with the facts about its rows the patch needs.

    ``header`` is a copy of the row ``header_row`` (None when the sheet has none); the row
    lookups of ``SheetXml`` that need the rows (``last_used_column``, ``column_has_value``)
    are answered from the first pass or by a further streamed pass.
    """

    def __init__(self, open_part: OpenPart, path: Path, sheet_name: str, header_row: int) -> None:
        self.open_part = open_part
        self.path = path
        self.sheet_name = sheet_name
        self.header_row = header_row
        self.header: etree._Element | None = None
        self.existing = bytearray(MAX_ROW + 1)  # 1 MB: row n present <=> existing[n]
        self.last_row = 0
        last_used = previous_max = 0
        with open_part() as source:
            self.head = source.read(_HEAD_BYTES)
        with open_part() as source:
            parse = iterparse(source, "{*}row")
            for number, row in self._rows(parse):
                if not previous_max:  # the first row tells the namespace
                    self.set_namespace(etree.QName(row).namespace)
                if self.existing[number]:
                    pass  # a duplicate row number: only the first is ever edited, as before
                else:
                    self.existing[number] = 1
                    if number == header_row:
                        self.header = _detached_copy(row)
                self.last_row = previous_max = max(self.last_row, number)
                if number >= header_row:
                    last_used = max(last_used, self.last_value_column(row))
                _drop(row)
            tree = parse.root.getroottree()
        super().__init__(tree, path, sheet_name)
        self._last_used_below_header = last_used

    # ---- what the placement asks of the rows

    def last_used_column(self, first_row: int) -> int:
        """Rightmost column with a value from the header row down (known from the scan)."""
        if first_row != self.header_row:
            raise ValueError(f"scanned from row {self.header_row}, not {first_row}")
        return self._last_used_below_header

    def column_has_value(self, column: int, first_row: int) -> bool:
        """Some row from ``first_row`` down holds a value in ``column``: one more streamed
        pass, only needed when a table's next column lies inside the used area."""
        with self.open_part() as source:
            for number, row in self._rows(iterparse(source, "{*}row")):
                found = number >= first_row and self.has_value_at(row, column)
                _drop(row)
                if found:
                    return True
        return False

    def exists(self, number: int) -> bool:
        return bool(self.existing[number])

    # ---- the rewrite

    def write(self, target: BinaryIO, edit: RowEdit, new_rows: Iterable[int]) -> None:
        """The sheet with every row passed through ``edit``; the numbers of ``new_rows`` (sorted,
        absent from the sheet) become new rows, edited too, each in its sorted place."""
        head, tail = self._split_skeleton()
        target.write(head)
        created = iter(new_rows)
        pending = next(created, None)
        strip = _declarations(self.sheet_data)
        seen = bytearray(MAX_ROW + 1)
        with self.open_part() as source:
            for number, row in self._rows(iterparse(source, "{*}row")):
                while pending is not None and pending < number:
                    target.write(self._new_row(pending, edit, strip))
                    pending = next(created, None)
                if not seen[number]:
                    seen[number] = 1
                    edit(number, row)
                target.write(_row_bytes(row, strip))
                _drop(row)
        while pending is not None:
            target.write(self._new_row(pending, edit, strip))
            pending = next(created, None)
        target.write(tail)

    def _new_row(self, number: int, edit: RowEdit, strip: tuple[bytes, ...]) -> bytes:
        row = self.sheet_data.makeelement(self.row_tag, {"r": str(number)})
        edit(number, row)
        return _row_bytes(row, strip)

    def _split_skeleton(self) -> tuple[bytes, bytes]:
        """The skeleton's bytes before and after its rows' place in ``<sheetData>``."""
        marker = etree.ProcessingInstruction(f"relance-{uuid.uuid4().hex}")
        self.sheet_data.insert(0, marker)
        try:
            data = serialise(self.tree, self.head)
        finally:
            self.sheet_data.remove(marker)
        head, found, tail = data.partition(etree.tostring(marker))
        if not found:  # cannot happen: the marker is ours
            raise RuntimeError("row marker lost in the skeleton")
        return head, tail

    def _rows(self, parse: etree.iterparse) -> Iterator[tuple[int, etree._Element]]:
        """(number, ``<row>``) of the sheet's rows in document order; a row without ``r``
        follows its predecessor, as Excel counts."""
        previous = 0
        try:
            for _event, row in parse:
                parent = row.getparent()
                if parent is None or etree.QName(parent).localname != "sheetData":
                    continue
                ref = row.get("r")
                try:
                    number = int(ref) if ref else previous + 1
                except ValueError:
                    number = 0
                if not 1 <= number <= MAX_ROW:
                    raise corrupt(self.path, f"ligne « {ref} » de la feuille « {self.sheet_name} »")
                previous = number
                yield number, row
        except etree.XMLSyntaxError as exc:
            raise corrupt(self.path, f"feuille « {self.sheet_name} » illisible") from exc


def _drop(row: etree._Element) -> None:
    """Free a row once read or written: memory stays that of one row."""
    row.clear()
    parent = row.getparent()
    if parent is not None:
        parent.remove(row)


def _detached_copy(row: etree._Element) -> etree._Element:
    """A copy of the header row that survives the rows being dropped."""
    copy = etree.fromstring(etree.tostring(row, with_tail=False))
    return copy


def _declarations(parent: etree._Element) -> tuple[bytes, ...]:
    """The namespace declarations lxml repeats on a row serialised alone: the skeleton's
    ancestors already declare them, so they are cut from each row's start tag."""
    found = []
    for prefix, uri in parent.nsmap.items():
        name = b"xmlns" if prefix is None else b"xmlns:" + prefix.encode()
        value = uri.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        found.append(b" " + name + b'="' + value.encode() + b'"')
    return tuple(found)


_START_TAG_END = re.compile(rb"/?>")


def _row_bytes(row: etree._Element, strip: tuple[bytes, ...]) -> bytes:
    """One row as written in the sheet (tail whitespace included), without the repeated
    namespace declarations on its start tag."""
    data = etree.tostring(row, encoding="UTF-8")
    end = _START_TAG_END.search(data)
    if end is None or not strip:
        return data
    start = data[: end.start()]
    for declaration in strip:
        start = start.replace(declaration, b"", 1)
    return start + data[end.start() :]
