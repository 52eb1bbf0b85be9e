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

import io
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from relance_xlsx.sheet_xml import SheetXml, inline_cell, widened_spans
from relance_xlsx.xlsx_package import (
    MAX_ROW,
    column_index,
    column_letter,
    corrupt,
    iterparse,
    parse_fragment,
    parse_xml,
    serialise,
)

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
        with open_part() as source:
            self.head = source.read(_HEAD_BYTES)
        scanned = self._scan_bytes() if _utf8(self.head) else None
        self.plain = scanned is not None
        """Rows are copied and patched as bytes: UTF-8, no comment, CDATA, processing
        instruction or DOCTYPE, no prefixed row or cell, nothing but rows in ``sheetData``."""
        if scanned is None:
            scanned = self._scan_parsed()
        tree, self._last_used_below_header = scanned
        super().__init__(tree, path, sheet_name)
        if isinstance(self.header, bytes):
            context = b"<w" + b"".join(_declarations(self.sheet_data)) + b">"
            self.header = parse_fragment(context + self.header + b"</w>")[0]

    def _scan_parsed(self) -> tuple[etree._ElementTree, int]:
        """Pass 1 with lxml, for any well-formed sheet: the skeleton and the last used column."""
        last_used = 0
        with self.open_part() as source:
            parse = iterparse(source, "{*}row")
            for number, row in self._rows(parse):
                if not self.last_row:  # the first row tells the namespace
                    self.set_namespace(etree.QName(row).namespace)
                self._saw(number, row)
                if number >= self.header_row:
                    last_used = max(last_used, self.last_value_column(row))
                _drop(row)
            return parse.root.getroottree(), last_used

    def _saw(self, number: int, row: etree._Element | bytes) -> None:
        if not self.existing[number]:  # a duplicate number: only the first is ever edited
            self.existing[number] = 1
            if number == self.header_row:
                self.header = _detached_copy(row)
        self.last_row = max(self.last_row, number)

    def _scan_bytes(self) -> tuple[etree._ElementTree, int] | None:
        """Pass 1 on the bytes, about ten times faster; None when the sheet is not ``plain``
        (then ``_scan_parsed`` does it)."""
        skeleton: list[bytes] = []
        context = b""
        last_used = previous = 0
        first = True
        for kind, data in _chunks(self.open_part, hazards=True):
            if kind is _ROW:
                start_end = data.index(b">") + 1
                number = _row_number(data, start_end, previous, self)
                previous = number
                self._saw(number, data)
                if number >= self.header_row:
                    column = _last_value_column(data, start_end)
                    if column is None:  # not plain to tell: that row is parsed
                        row = parse_fragment(context + data + b"</w>")[0]
                        self.set_namespace(etree.QName(row).namespace)
                        column = self.last_value_column(row)
                    last_used = max(last_used, column)
                first = False
            elif kind is _HEAD:
                skeleton.append(data)
                context = _context(data)
            elif kind is _GAP:
                if first:
                    skeleton.append(data)
            elif kind is _TAIL:
                skeleton.append(data)
            else:  # a hazard, or something else than rows in sheetData
                return None
        try:
            tree = parse_xml(b"".join(skeleton))
        except etree.XMLSyntaxError as exc:
            raise corrupt(self.path, f"feuille « {self.sheet_name} » illisible") from exc
        return tree, last_used

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

    def write(self, target: BinaryIO, edits: RowEdits) -> None:
        """The sheet with its rows edited by ``edits``; the numbers of ``edits.new_rows``
        become new rows, each in its sorted place."""
        head, tail = self._split_skeleton()
        target = io.BufferedWriter(_Unclosed(target), _WRITE_BUFFER)  # few large compressions
        target.write(head)
        rows = _Pending(edits.new_rows)
        strip = _declarations(self.sheet_data)
        if self.plain:
            self._write_bytes(target, edits, rows, strip)
        else:
            self._write_parsed(target, edits, rows, strip)
        for number in rows.until(MAX_ROW + 1):
            target.write(self._new_row(number, edits.edit, strip))
        target.write(tail)
        target.flush()

    def _write_parsed(
        self, target: BinaryIO, edits: RowEdits, rows: _Pending, strip: tuple[bytes, ...]
    ) -> None:
        """Rows parsed one by one with lxml: any well-formed sheet."""
        seen = bytearray(MAX_ROW + 1)
        with self.open_part() as source:
            for number, row in self._rows(iterparse(source, "{*}row")):
                for new in rows.until(number):
                    target.write(self._new_row(new, edits.edit, strip))
                if not seen[number]:
                    seen[number] = 1
                    edits.edit(number, row)
                target.write(_row_bytes(row, strip))
                _drop(row)

    def _write_bytes(
        self, target: BinaryIO, edits: RowEdits, rows: _Pending, strip: tuple[bytes, ...]
    ) -> None:
        """Rows copied as bytes; a status cell after a row's last cell is appended as bytes,
        any other edit parses that one row. About ten times faster than parsing every row."""
        seen = bytearray(MAX_ROW + 1)
        context = b"<w" + b"".join(strip) + b">"
        previous = 0
        first = True
        for kind, data in _chunks(self.open_part):
            if kind is not _ROW:  # whitespace between rows, or after the last one
                if kind is _GAP and not first:
                    target.write(data)
                continue
            first = False
            start_end = data.index(b">") + 1
            number = previous = _row_number(data, start_end, previous, self)
            for new in rows.until(number):
                target.write(self._new_row(new, edits.edit, strip))
            if seen[number] or not edits.touched(number):
                seen[number] = 1
                target.write(data)
                continue
            seen[number] = 1
            appended = _patch_row(data, start_end, number, edits)
            if appended is None:  # not the usual shape: this row goes through lxml
                row = parse_fragment(context + data + b"</w>")[0]
                edits.edit(number, row)
                appended = _row_bytes(row, strip)
            target.write(appended)

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


_WRITE_BUFFER = 1 << 20


class _Unclosed(io.RawIOBase):
    """The zip entry seen as a raw stream by a buffer, which must not close it."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.target.write(data)
        return len(data)


@dataclass(frozen=True)
class RowEdits:
    """What the rewrite does to the rows.

    ``edit`` changes a parsed row; only the rows ``touched`` says are edited (the others are
    copied as they are). ``column`` and ``text`` are the fast path of the usual case, done on
    the row's bytes: ``text(number)`` is the inline string ``edit`` would write in ``column``
    ("" for none), or None when the row must go through ``edit``.
    """

    edit: RowEdit
    touched: Callable[[int], bool]
    column: int
    text: Callable[[int], str | None]
    new_rows: Sequence[int] = ()


class _Pending:
    """The rows to create, handed out in order as the existing rows go by."""

    def __init__(self, numbers: Sequence[int]) -> None:
        self.numbers = iter(numbers)
        self.next = next(self.numbers, None)

    def until(self, number: int) -> Iterator[int]:
        while self.next is not None and self.next < number:
            yield self.next
            self.next = next(self.numbers, None)


# What rows as bytes cannot take: comments, CDATA, DOCTYPE (``<!``), processing instructions
# (``<?``, the declaration aside), prefixed sheetData, rows or cells.
_HAZARD = re.compile(rb"<!|<\?|<[A-Za-z_][\w.-]*:(?:sheetData|row|c|extLst)[\s/>]")
_OVERLAP = 64  # a hazard split across two reads is still seen


class _Watch:
    """The sheet's stream as lxml reads it in pass 1, searched for ``_HAZARD`` on the way."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.offset = 0
        self.tail = b""
        self.hazard = False

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if not self.hazard and data:
            window = self.tail + data
            base = self.offset - len(self.tail)
            for match in _HAZARD.finditer(window):
                if match.group() == b"<?" and base + match.start() <= 3:
                    continue  # the XML declaration (after a BOM at most)
                self.hazard = True
                break
            self.tail = window[-_OVERLAP:]
        self.offset += len(data)
        return data


def _utf8(head: bytes) -> bool:
    """The sheet is UTF-8 (no UTF-16 BOM, no other declared encoding): bytes can be copied."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    declared = re.match(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*encoding\s*=\s*[\"']([^\"']*)", head)
    return declared is None or declared.group(1).lower().replace(b"-", b"") == b"utf8"


_ROW_START = re.compile(rb"<row[\s/>]")
_ROOT_TAG = re.compile(rb"<(?![?!])[^>]*>")
_XMLNS = re.compile(rb"""\sxmlns(?::[\w.-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")
_VALUE = re.compile(rb"<v>[^<]|<t(?:\s[^>]*)?>[^<]")
_SHEET_DATA = re.compile(rb"<sheetData(?=[\s/>])[^>]*?(/?)>")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_TAG = re.compile(rb"<c(?=[\s/>])([^>]*)>")
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']([A-Z]{1,3})[0-9]+["']""")
_OLD_VALUE = re.compile(rb"""\s(?:t|cm|vm|ph)\s*=\s*(?:"[^"]*"|'[^']*')""")
_STYLE = re.compile(rb"""\ss\s*=""")
_SPANS = re.compile(rb"""\sspans\s*=\s*["']([^"']*)["']""")
_READ = 1 << 16


_HEAD, _GAP, _ROW, _OTHER, _TAIL = "head", "gap", "row", "other", "tail"


def _chunks(open_part: OpenPart, *, hazards: bool = False) -> Iterator[tuple[str, bytes]]:
    """The sheet's bytes as (kind, bytes): ``_HEAD`` up to the ``<sheetData>`` start tag,
    then ``_GAP`` (whitespace) and ``_ROW`` (one row) pieces, then ``_TAIL`` from
    ``</sheetData>`` on (only with ``hazards``, which also reports a ``_HAZARD`` or anything
    but a row in ``sheetData`` as ``_OTHER`` and stops). Memory: a chunk and one row."""
    with open_part() as source:
        reader = _Watch(source) if hazards else source
        buffer = b""
        head: list[bytes] = []
        while (found := _SHEET_DATA.search(buffer)) is None:
            more = reader.read(_READ)
            if not more or getattr(reader, "hazard", False):
                yield _OTHER, b""
                return
            head.append(buffer[: -_OVERLAP] if len(buffer) > _OVERLAP else b"")
            buffer = buffer[-_OVERLAP:] + more
        head.append(buffer[: found.start()])
        if found.group(1):  # <sheetData/>: rows may still be created
            yield _HEAD, b"".join(head) + found.group()[:-2] + b">"
            rest = buffer[found.end() :]
            if hazards:
                yield _TAIL, b"</sheetData>" + rest + reader.read()
            return
        yield _HEAD, b"".join(head) + found.group()
        buffer, pos = buffer[found.end() :], 0
        while True:
            if getattr(reader, "hazard", False):
                yield _OTHER, b""
                return
            lt = buffer.find(b"<", pos)
            if lt < 0 or len(buffer) - lt < 12:  # need more to tell what comes
                more = reader.read(_READ)
                if not more:
                    yield _OTHER, b""  # truncated
                    return
                buffer, pos = buffer[pos:] + more, 0
                continue
            if lt > pos:
                yield _GAP, buffer[pos:lt]
            if buffer.startswith(b"</sheetData", lt):
                if hazards:
                    yield _TAIL, buffer[lt:] + reader.read()
                    if reader.hazard:
                        yield _OTHER, b""
                return
            if not _ROW_START.match(buffer, lt):
                yield _OTHER, b""
                return
            end = _row_end(buffer, lt)
            while end < 0:
                more = reader.read(_READ)
                if not more:
                    yield _OTHER, b""
                    return
                buffer, lt = buffer[lt:] + more, 0
                end = _row_end(buffer, lt)
            yield _ROW, buffer[lt:end]
            pos = end


def _context(head: bytes) -> bytes:
    """A start tag with the root's namespace declarations, to parse one row alone."""
    root = _ROOT_TAG.search(head)
    declarations = _XMLNS.findall(root.group()) if root else []
    return b"<w" + b"".join(declarations) + b">"


def _row_number(data: bytes, start_end: int, previous: int, sheet: StreamedSheet) -> int:
    """The row's ``r``, or the one after ``previous`` without it; 1..1,048,576 or refused."""
    found = _ROW_NUMBER.search(data, 0, start_end)
    ref = (found[1] or found[2] or b"") if found else b""
    number = previous + 1 if not ref else int(ref) if ref.isdigit() else 0
    if not 1 <= number <= MAX_ROW:
        shown = ref.decode("utf-8", "replace")
        raise corrupt(sheet.path, f"ligne « {shown} » de la feuille « {sheet.sheet_name} »")
    return number


def _last_value_column(data: bytes, start_end: int) -> int | None:
    """The column of the row's last cell when it plainly holds a value (0: no cell), or None
    when only a parse can tell (an empty last cell, a cell without reference)."""
    last = _last_cell(data, start_end)
    if last is None:
        return 0
    if last.group(1).endswith(b"/"):
        return None
    end = data.find(b"</c>", last.end())
    content = data[last.end() : end]
    ref = _CELL_REF.search(last.group(1))
    if ref is None or not (b"<f" in content or _VALUE.search(content)):
        return None
    return column_index(ref.group(1).decode())


def _row_end(buffer: bytes, start: int) -> int:
    """End of the ``<row>`` starting at ``start`` (self-closed or not), -1 if not all read."""
    close = buffer.find(b">", start)
    if close < 0:
        return -1
    if buffer[close - 1] == ord("/"):
        return close + 1
    end = buffer.find(b"</row>", close)
    return -1 if end < 0 else end + len(b"</row>")


def _patch_row(data: bytes, start_end: int, number: int, edits: RowEdits) -> bytes | None:
    """The row with its status cell added after its last cell, or that last cell replaced
    when it is the status column's, as bytes; None when the row is not of that usual shape
    (self-closed, ``extLst``, cells without references or beyond the column, a formula),
    or when ``edits`` wants the row parsed."""
    if data[start_end - 2] == ord("/") or b"<extLst" in data:
        return None
    text = edits.text(number)
    if text is None:
        return None
    close = len(data) - len(b"</row>")
    last = _last_cell(data, start_end)
    cut = close  # where the row's cells are cut to put the status cell
    attributes = b' r="' + f"{column_letter(edits.column)}{number}".encode() + b'"'
    if last is not None:
        ref = _CELL_REF.search(last.group(1))
        column = column_index(ref.group(1).decode()) if ref else 0
        if not 0 < column <= edits.column:
            return None
        if column == edits.column:  # the status cell of an earlier run: replaced
            end = last.end() if last.group(1).endswith(b"/") else data.find(b"</c>", last.end())
            if end < 0 or b"<f" in data[last.end() : end]:
                return None  # a formula: the parsed edit refuses it in French
            end = end if last.group(1).endswith(b"/") else end + len(b"</c>")
            if data[end:close].strip():
                return None
            cut = last.start()
            attributes = _OLD_VALUE.sub(b"", last.group(1).rstrip(b"/"))
            if not text:
                empty = b"<c" + attributes + b"/>" if _STYLE.search(attributes) else b""
                return data[:cut] + empty + data[end:]
            return _widened_start(data, start_end, edits.column) + data[start_end:cut] + (
                inline_cell(attributes, text) + data[end:]
            )
    if not text:
        return data
    cell = inline_cell(attributes, text)
    return _widened_start(data, start_end, edits.column) + data[start_end:cut] + cell + data[cut:]


def _last_cell(data: bytes, start_end: int) -> re.Match[bytes] | None:
    """The start tag of the row's last ``<c>``, searched from the end."""
    end = len(data)
    while (at := data.rfind(b"<c", start_end, end)) >= 0:
        found = _CELL_TAG.match(data, at)
        if found is not None:
            return found
        end = at
    return None


def _widened_start(data: bytes, start_end: int, column: int) -> bytes:
    """The row's start tag with its ``spans`` hint covering ``column`` (dropped if broken)."""
    start = data[:start_end]
    spans = _SPANS.search(start)
    if spans is None:
        return start
    widened = widened_spans(spans.group(1).decode(), column)
    if widened is None:
        return start[: spans.start()] + start[spans.end() :]
    return start[: spans.start(1)] + widened.encode() + start[spans.end(1) :]


def _drop(row: etree._Element) -> None:
    """Free a row once read or written: memory stays that of one row."""
    row.clear()
    parent = row.getparent()
    if parent is not None:
        parent.remove(row)


def _detached_copy(row: etree._Element | bytes) -> etree._Element | bytes:
    """A copy of the header row that survives the rows being dropped (bytes: parsed once
    the skeleton tells its namespaces)."""
    if isinstance(row, bytes):
        return row
    return etree.fromstring(etree.tostring(row, with_tail=False))


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
