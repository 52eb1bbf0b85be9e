"""Excel tables and the sheet's AutoFilter: take the status column in.

A status column left outside the user's Excel table (``xl/tables/tableN.xml``) or AutoFilter
does not move with its row when the user sorts from the filter arrows. So the column goes right
after the table (or filter) holding the invoices when that column is free, and exactly these
ranges are widened to take it in: the table's ``ref``, its ``autoFilter``, its
``tableColumns``; or the sheet's ``autoFilter`` and its ``_xlnm._FilterDatabase`` name. Nothing
else changes: a pivot cache built on the table keeps its own parts and refreshes by name.

When the table cannot grow (next column taken, header row elsewhere, linked to a query), the
column goes after the last used one, as on a plain sheet, and the user is told why in French.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection
from dataclasses import dataclass

from lxml import etree

from relance_xlsx.parsing import header_key
from relance_xlsx.sheet_xml import SheetXml
from relance_xlsx.xlsx_package import (
    MAX_COLUMN,
    CellRange,
    SheetParts,
    column_letter,
    parse_xml,
    relationships,
    serialise,
)

_CONTROL = re.compile("[\x00-\x1f]")


@dataclass
class ExcelTable:
    """One table part of the sheet, parsed once; ``tree`` is patched in place when widened."""

    part: str
    tree: etree._ElementTree
    original: bytes
    area: CellRange
    name: str
    header_rows: int  # headerRowCount: 0 when the table shows no header row
    totals_rows: int  # totalsRowCount: 1 when a totals row ends the table
    kind: str  # tableType: "worksheet", or "queryTable"/"xml" for linked tables
    column_names: tuple[str, ...]

    @property
    def totals_row(self) -> int | None:
        return self.area.last_row if self.totals_rows else None


@dataclass(frozen=True)
class Placement:
    """Where the status column goes and which range grows to take it in."""

    column: int
    table: ExcelTable | None = None  # the table to widen to ``column``
    sheet_filter: bool = False  # widen the sheet's autoFilter to ``column``
    skip_rows: frozenset[int] = frozenset()  # a totals row: no status written there
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Why:
    """Why a range was not widened, and what the user can do about it (French)."""

    reason: str  # completes « … n'a pas été élargi car … »
    remedy: str = ""  # completes « pour l'y inclure, … »


@dataclass(frozen=True)
class _Frame:
    """The table or the sheet filter the invoices sit in."""

    area: CellRange
    label: str  # for messages: « tableau Excel « Factures » (A3:G13) »
    refusal: _Why | None  # why it cannot grow at all
    table: ExcelTable | None

    @property
    def noun(self) -> str:
        return "tableau" if self.table is not None else "filtre"


# --------------------------------------------------------------------------- reading


def load_tables(zf: zipfile.ZipFile, sheet: SheetXml, sheet_part: str) -> list[ExcelTable]:
    """The sheet's tables, through its ``<tableParts>`` and relationships."""
    wanted = set(sheet.table_rel_ids())
    if not wanted:
        return []
    names = {name.lower(): name for name in zf.namelist()}
    tables = []
    for rel_id, rel_type, target in relationships(zf, sheet_part):
        part = names.get(target.lower())
        if rel_id in wanted and rel_type.endswith("/table") and part is not None:
            table = _read_table(part, zf.read(part))
            if table is not None:
                tables.append(table)
    return tables


def _read_table(part: str, data: bytes) -> ExcelTable | None:
    """None for a table we cannot understand: it is then left alone."""
    try:
        tree = parse_xml(data)
        root = tree.getroot()
        area = CellRange.parse(root.get("ref", ""))
        header_rows = int(root.get("headerRowCount", "1"))
        totals_rows = int(root.get("totalsRowCount", "0"))
    except (etree.XMLSyntaxError, ValueError):
        return None
    columns = root.find(f"{{{etree.QName(root).namespace}}}tableColumns")
    names = () if columns is None else tuple(c.get("name", "") for c in columns)
    return ExcelTable(
        part=part,
        tree=tree,
        original=data,
        area=area,
        name=root.get("displayName") or root.get("name") or "?",
        header_rows=header_rows,
        totals_rows=totals_rows,
        kind=root.get("tableType", "worksheet"),
        column_names=names,
    )


def _table_frame(table: ExcelTable, header_row: int) -> _Frame:
    width = table.area.last_col - table.area.first_col + 1
    refusal = None
    if table.kind != "worksheet":
        refusal = _Why("il est alimenté par une source de données externe (requête ou XML)")
    elif not table.header_rows:
        refusal = _Why(
            "il n'a pas de ligne d'en-tête",
            "affichez sa ligne d'en-tête (Création de tableau > Ligne d'en-tête) puis relancez",
        )
    elif table.area.first_row != header_row:
        refusal = _header_row_elsewhere(table.area.first_row, header_row, "tableau")
    elif len(table.column_names) != width:
        refusal = _Why("sa définition est incohérente (nombre de colonnes)")
    return _Frame(
        area=table.area,
        label=f"tableau Excel « {table.name} » ({table.area.ref})",
        refusal=refusal,
        table=table,
    )


def _header_row_elsewhere(found: int, header_row: int, noun: str) -> _Why:
    return _Why(
        f"sa ligne d'en-tête est la ligne {found}, alors que les en-têtes des factures sont "
        f"ligne {header_row}",
        f"faites commencer le {noun} à la ligne {header_row} puis relancez",
    )


def _filter_frame(sheet: SheetXml, header_row: int) -> _Frame | None:
    element = sheet.root.find(f"{{{sheet.ns}}}autoFilter")
    try:
        area = CellRange.parse(element.get("ref", "")) if element is not None else None
    except ValueError:
        area = None
    if area is None or not area.first_row <= header_row + 1 <= area.last_row + 1:
        return None
    refusal = None
    if area.first_row != header_row:
        refusal = _header_row_elsewhere(area.first_row, header_row, "filtre")
    label = f"filtre automatique de la feuille ({area.ref})"
    return _Frame(area=area, label=label, refusal=refusal, table=None)


def _invoice_frame(
    sheet: SheetXml, tables: list[ExcelTable], header_row: int, data_columns: Collection[int]
) -> _Frame | None:
    """The table holding the invoice header row (the one with most invoice columns, else the
    leftmost), or failing that the sheet's AutoFilter over that row."""
    near = [t for t in tables if t.area.first_row <= header_row + 1 <= t.area.last_row + 1]
    scored = [
        (sum(t.area.first_col <= c <= t.area.last_col for c in data_columns), t) for t in near
    ]
    if data_columns:
        scored = [(score, t) for score, t in scored if score]
    if scored:
        _score, table = min(scored, key=lambda st: (-st[0], st[1].area.first_col))
        return _table_frame(table, header_row)
    frame = _filter_frame(sheet, header_row)
    if frame is not None and data_columns:
        if not any(frame.area.first_col <= c <= frame.area.last_col for c in data_columns):
            return None
    return frame


# --------------------------------------------------------------------------- deciding


def place_column(
    sheet: SheetXml,
    tables: list[ExcelTable],
    header_row: int,
    reused: int | None,
    name: str,
    data_columns: Collection[int] = (),
) -> Placement:
    """The status column: reused where it is, else right after the invoices' table or filter
    when that column is free, else after the last used column (with a French warning).

    ``name`` is the status header's text, which a widened table's new column must carry.
    """
    frame = _invoice_frame(sheet, tables, header_row, data_columns)
    fallback = reused if reused is not None else _column_after_data(sheet, tables, header_row)
    if frame is None or frame.area.first_col <= fallback <= frame.area.last_col:
        return _placed(fallback, frame, widened=False)
    candidate = frame.area.last_col + 1
    elsewhere = reused is not None and reused != candidate
    why = frame.refusal or _obstacle(
        sheet, tables, frame, candidate, name, header_row, new=reused is None or elsewhere
    )
    if why is None and elsewhere:
        why = _Why(
            "elle n'est pas juste à sa droite",
            f"placez la colonne « {name} » juste à droite du {frame.noun} puis relancez",
        )
    if why is None:
        return _placed(candidate, frame, widened=True)
    where = "a été ajoutée" if reused is None else "est"
    warning = (
        f"La colonne « {name} » {where} en {column_letter(fallback)}, hors du {frame.label} : "
        f"le {frame.noun} n'a pas été élargi car {why.reason}. Un tri depuis ses flèches de "
        f"filtre ne déplacera pas le statut avec sa ligne"
        + (f" ; pour l'y inclure, {why.remedy}." if why.remedy else ".")
    )
    return Placement(fallback, warnings=(warning,))


def _placed(column: int, frame: _Frame | None, *, widened: bool) -> Placement:
    """No status in a table's totals row when the column is (or becomes) part of the table."""
    table = frame.table if frame is not None else None
    inside = table is not None and (
        widened or table.area.first_col <= column <= table.area.last_col
    )
    skip = frozenset({table.totals_row}) if inside and table.totals_row else frozenset()
    return Placement(
        column,
        table=table if widened else None,
        sheet_filter=widened and table is None,
        skip_rows=skip,
    )


def _column_after_data(sheet: SheetXml, tables: list[ExcelTable], header_row: int) -> int:
    """After the last used column and any table beside the data, one column apart from a
    table that is not the invoices' (so the status is not taken for one of its columns)."""
    beside = [t for t in tables if t.area.last_row >= header_row]
    column = max([sheet.last_used_column(header_row), *(t.area.last_col for t in beside)]) + 1
    if any(t.area.last_col == column - 1 for t in beside) and column < MAX_COLUMN:
        column += 1
    return column


def _obstacle(
    sheet: SheetXml,
    tables: list[ExcelTable],
    frame: _Frame,
    column: int,
    name: str,
    header_row: int,
    *,
    new: bool,
) -> _Why | None:
    """Why ``column`` cannot join the frame, or None when it is free."""
    if column > MAX_COLUMN:
        return _Why("il n'a plus de colonne libre à sa droite")
    letter = column_letter(column)
    free_it = f"libérez la colonne {letter} (déplacez ce qu'elle contient) puis relancez"
    rows = (frame.area.first_row, frame.area.last_row)
    for table in tables:
        if table is not frame.table and table.area.crosses(column, *rows):
            return _Why(f"la colonne {letter} est occupée par le tableau « {table.name} »", free_it)
    if any(merged.crosses(column, *rows) for merged in sheet.merged_ranges()):
        return _Why(f"la colonne {letter} contient des cellules fusionnées", free_it)
    if new and column <= sheet.last_used_column(header_row):
        if sheet.column_has_value(column, header_row):
            return _Why(f"la colonne {letter} n'est pas vide", free_it)
    if frame.table is not None:
        key = header_key(name)
        if any(header_key(existing) == key for existing in frame.table.column_names):
            return _Why(
                f"il a déjà une colonne nommée « {name} »",
                "renommez cette colonne du tableau puis relancez",
            )
    return None


# --------------------------------------------------------------------------- widening


def widen(
    zf: zipfile.ZipFile,
    parts: SheetParts,
    sheet: SheetXml,
    placement: Placement,
    name: str,
) -> dict[str, bytes]:
    """Widen what ``placement`` says; returns the other parts changed (table, workbook)."""
    changed: dict[str, bytes] = {}
    if placement.table is not None:
        table = placement.table
        changed[table.part] = _widen_table(table, placement.column, name)
    if placement.sheet_filter:
        area = _widen_sheet_filter(sheet, placement.column)
        workbook = _widen_filter_database(zf, parts, area)
        if workbook is not None:
            changed[parts.workbook] = workbook
    return changed


def _widen_table(table: ExcelTable, column: int, name: str) -> bytes:
    """``ref``, ``autoFilter ref`` and a new ``tableColumn`` named like the header cell."""
    root = table.tree.getroot()
    ns = etree.QName(root).namespace
    root.set("ref", table.area.to_column(column).ref)
    auto_filter = root.find(f"{{{ns}}}autoFilter")
    if auto_filter is not None:
        try:
            area = CellRange.parse(auto_filter.get("ref", ""))
        except ValueError:  # rebuild it: the data rows, without the totals row
            area = CellRange(*_data_corners(table))
        auto_filter.set("ref", area.to_column(column).ref)
    columns = root.find(f"{{{ns}}}tableColumns")
    existing = list(columns.iterchildren(f"{{{ns}}}tableColumn"))
    ids = [int(c.get("id", "0")) for c in existing if c.get("id", "").isdigit()]
    new = columns.makeelement(
        f"{{{ns}}}tableColumn", {"id": str(max(ids, default=0) + 1), "name": _xstring(name)}
    )
    if existing:
        existing[-1].addnext(new)
    else:
        columns.insert(0, new)
    columns.set("count", str(len(existing) + 1))
    return serialise(table.tree, table.original)


def _data_corners(table: ExcelTable) -> tuple[int, int, int, int]:
    area = table.area
    return area.first_col, area.first_row, area.last_col, area.last_row - table.totals_rows


def _xstring(text: str) -> str:
    """Table column names write line breaks and tabs as Excel's ``_x000a_`` escapes."""
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04x}_", text)


def _widen_sheet_filter(sheet: SheetXml, column: int) -> CellRange:
    element = sheet.root.find(f"{{{sheet.ns}}}autoFilter")
    area = CellRange.parse(element.get("ref", "")).to_column(column)
    element.set("ref", area.ref)
    return area


def _widen_filter_database(zf: zipfile.ZipFile, parts: SheetParts, area: CellRange) -> bytes | None:
    """The hidden ``_xlnm._FilterDatabase`` name of the sheet mirrors its filter range."""
    original = zf.read(parts.workbook)
    tree = parse_xml(original)
    changed = False
    for name in tree.getroot().iter("{*}definedName"):
        if name.get("name") != "_xlnm._FilterDatabase":
            continue
        if name.get("localSheetId") != str(parts.position) or not name.text:
            continue
        prefix, bang, ref = name.text.rpartition("!")
        try:
            CellRange.parse(ref)
        except ValueError:
            continue  # "#REF!" or a formula: not ours to fix
        name.text = f"{prefix}{bang}{area.absolute}"
        changed = True
    return serialise(tree, original) if changed else None


__all__ = ["ExcelTable", "Placement", "load_tables", "place_column", "widen"]
