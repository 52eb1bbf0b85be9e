"""Write the status column back into the user's workbook without losing anything.

openpyxl's load-and-save drops parts of a workbook (cached formula results, some charts,
extensions, VBA signatures…), so for .xlsx/.xlsm we patch the one worksheet's XML inside the
zip with lxml and copy every other zip entry unchanged (``xlsx_package``). When the invoices sit
in an Excel table or under an AutoFilter, the column goes inside it and only that range is
widened (``tables``), so that sorting in Excel moves each status with its row.

Formats that cannot take a column in place (csv, xls, ods) get a new ``… – avec statut.xlsx``
beside the source, built with openpyxl; the source itself is never modified.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from relance_xlsx.errors import InputError, WorkbookLockedError
from relance_xlsx.files import save_workbook_atomic
from relance_xlsx.parsing import header_key
from relance_xlsx.sheet_stream import RowEdits, StreamedSheet
from relance_xlsx.sheet_xml import clean_text, widen_spans
from relance_xlsx.tables import Placement, load_tables, place_column, widen
from relance_xlsx.xlsx_package import (
    INPLACE_SUFFIXES,
    MAX_COLUMN,
    MAX_ROW,
    PartWriter,
    check_not_locked,
    check_writable,
    column_index,
    column_letter,
    fsync_folder,
    locate_sheet,
    shared_strings,
    status_copy_path,
    update_package,
)

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "WriteBackResult",
    "check_writable",
    "clean_text",
    "column_index",
    "column_letter",
    "status_copy_path",
    "write_copy_with_status",
    "write_status_column",
]

STATUS_COLUMN_WIDTH = 48.0


@dataclass(frozen=True)
class WriteBackResult:
    """Where the status column went, where the untouched original was saved, and what the
    user should know (a table or filter that could not take the column in)."""

    path: Path
    backup: Path
    column_letter: str
    column_index: int
    reused: bool
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- sheet patching


def _status_edit(
    sheet: StreamedSheet,
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    column: int,
    reused: bool,
    path: Path,
) -> RowEdits:
    """The edit of each row (header cell for a new column, status cell) and the rows to create.

    The skeleton's edits (column width, dimension) are made here, before the rows are streamed.
    """
    letter = column_letter(column)
    texts = {number: clean_text(text) for number, text in statuses.items()}
    written = [n for n, text in texts.items() if text or sheet.exists(n)]
    new_rows = sorted(n for n in written if not sheet.exists(n))
    if not reused:  # a reused header stays as the user typed it
        sheet.ensure_width(column, STATUS_COLUMN_WIDTH)
        if not sheet.exists(header_row):
            new_rows = sorted({header_row, *new_rows})
    sheet.widen_dimension(column, header_row, max([header_row, *written]))
    header_text = clean_text(header)

    def edit(number: int, row: etree._Element) -> None:
        if number == header_row and not reused:
            cell = sheet.cell(row, header_row, column)
            left = [c for col, c in sheet.cells(row) if col < column]
            if left and left[-1].get("s"):
                cell.set("s", left[-1].get("s", "0"))  # look like the neighbouring headers
            sheet.set_text(cell, header_text)
            widen_spans(row, column)
            return
        text = texts.get(number)
        if text is None:
            return
        cell = sheet.cell(row, number, column)
        if cell.find(sheet.f_tag) is not None:
            # Overwriting a formula would leave a stale xl/calcChain.xml entry (Excel "repair").
            raise InputError(
                f"La cellule {letter}{number} de la colonne « {header} » du classeur "
                f"« {path.name} » contient une formule : le statut ne peut pas la remplacer. "
                f"Videz cette colonne dans Excel (ou renommez son en-tête), puis relancez."
            )
        sheet.set_text(cell, text)
        if len(cell):
            widen_spans(row, column)
        elif not cell.get("s"):
            row.remove(cell)

    def touched(number: int) -> bool:
        return number in texts or (number == header_row and not reused)

    def fast_text(number: int) -> str | None:
        """The status as the fast path writes it; the new header needs its neighbour's style."""
        return None if number == header_row and not reused else texts[number]

    return RowEdits(edit, touched, column, fast_text, new_rows)


def _find_header(
    sheet: StreamedSheet,
    shared_loader: Callable[[set[int]], dict[int, str]],
    header: str,
) -> tuple[int | None, str]:
    """The column whose header matches ``header`` and its text as typed, or (None, "")."""
    row = sheet.header
    header_cells = list(sheet.cells(row)) if row is not None else []
    wanted: set[int] = set()
    for _col, cell in header_cells:
        if cell.get("t") == "s":
            try:
                wanted.add(int(cell.findtext(sheet.v_tag) or ""))
            except ValueError:
                pass
    shared = shared_loader(wanted)
    target = header_key(header)  # the reader's key too: both must pick the same column
    for col, cell in header_cells:
        text = sheet.cell_text(cell, shared)
        if header_key(text) == target:
            return col, text
    return None, ""


def _patched_parts(
    zf: zipfile.ZipFile,
    path: Path,
    sheet_name: str,
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    data_columns: Collection[int],
) -> tuple[dict[str, bytes | PartWriter], Placement, bool]:
    """The new bytes of a widened table and workbook.xml, and the sheet's streamed writer."""
    parts = locate_sheet(zf, path, sheet_name)
    sheet = StreamedSheet(lambda: zf.open(parts.sheet), path, sheet_name, header_row)
    reused, name = _find_header(
        sheet, lambda wanted: shared_strings(zf, parts.shared_strings, wanted), header
    )
    tables = load_tables(zf, sheet, parts.sheet)
    name = name if reused is not None else clean_text(header)
    placement = place_column(sheet, tables, header_row, reused, name, data_columns)
    if placement.column > MAX_COLUMN:
        raise InputError(
            f"La feuille « {sheet_name} » du classeur « {path.name} » n'a plus de "
            f"colonne libre pour « {header} ». Supprimez une colonne inutile puis relancez."
        )
    skip = placement.skip_rows
    kept = {n: text for n, text in statuses.items() if n not in skip} if skip else statuses
    edits = _status_edit(
        sheet, header_row, kept, header, placement.column, reused is not None, path
    )
    changed: dict[str, bytes | PartWriter] = dict(widen(zf, parts, sheet, placement, name))
    changed[parts.sheet] = lambda target: sheet.write(target, edits)
    return changed, placement, reused is not None


# --------------------------------------------------------------------------- write in place


def _check_status_rows(statuses: Mapping[int, str], header_row: int) -> None:
    """A caller's mistake, not the user's: statuses go below the header row."""
    bad_rows = [n for n in statuses if not header_row < n <= MAX_ROW]
    if bad_rows:
        raise ValueError(f"status rows must be below the header row {header_row}: {bad_rows[:5]}")


def write_status_column(
    path: Path,
    sheet_name: str,
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    backup_dir: Path,
    now: datetime | None = None,
    *,
    data_columns: Collection[int] = (),
) -> WriteBackResult:
    """Put ``statuses`` (sheet row -> text) in the status column of an .xlsx/.xlsm in place.

    Only the worksheet's XML changes, plus the table or filter range widened to take the
    column in; ``data_columns`` (1-based columns of the invoice fields) tell which table holds
    the invoices when a sheet has several. The original is copied to ``backup_dir`` first and
    replaced atomically. On any failure the original is left untouched.
    """
    path = Path(path)
    if path.suffix.lower() not in INPLACE_SUFFIXES:
        raise ValueError(f"write_status_column needs an .xlsx/.xlsm workbook, not {path.name}")
    if not 1 <= header_row < MAX_ROW:
        raise ValueError(f"header_row out of range: {header_row}")
    _check_status_rows(statuses, header_row)
    if not header_key(header):
        raise ValueError("the status column header must not be blank")
    check_not_locked(path)  # Excel may have opened it since check_writable

    outcome: list[tuple[Placement, bool]] = []

    def patch(zf: zipfile.ZipFile) -> dict[str, bytes | PartWriter]:
        changed, placement, reused = _patched_parts(
            zf, path, sheet_name, header_row, statuses, header, data_columns
        )
        outcome.append((placement, reused))
        return changed

    backup = update_package(path, patch, backup_dir, now or datetime.now())
    placement, reused = outcome[0]
    return WriteBackResult(
        path=path,
        backup=backup,
        column_letter=column_letter(placement.column),
        column_index=placement.column,
        reused=reused,
        warnings=placement.warnings,
    )


# --------------------------------------------------------------------------- copy for csv/xls/ods


_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _cell_value(value: object) -> object:
    """What openpyxl can store: numpy scalars unwrapped, NaN/NaT/NA blank, text cleaned."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, Decimal):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes | datetime | date):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | datetime | date | time):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    return clean_text(str(value))


def _display_width(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return 10
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def write_copy_with_status(
    source: Path,
    rows: list[list[object]],
    header_row: int,
    statuses: Mapping[int, str],
    header: str,
    sheet_title: str = "Factures",
) -> Path:
    """Build ``<stem> – avec statut.xlsx`` beside a csv/xls/ods export; the source is untouched.

    ``rows`` are the sheet's rows as read (row 1 first); the status column goes after the last
    used column of the table, with a bold header, filter and frozen header row.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    source = Path(source)
    _check_status_rows(statuses, header_row)
    last_col = max((_used_width(r) for r in rows[header_row - 1 :]), default=0)
    status_col = last_col + 1
    last_row = max([len(rows), header_row, *statuses])

    wb = Workbook()
    ws = wb.active
    ws.title = _SHEET_TITLE_FORBIDDEN.sub(" ", sheet_title).strip("' ")[:31] or "Factures"
    widths = _copy_rows(ws, rows, header_row)
    status_width = _copy_statuses(ws, header_row, status_col, statuses, header)
    for c, width in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 50)
    ws.column_dimensions[get_column_letter(status_col)].width = min(max(status_width + 2, 20), 60)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(status_col)}{last_row}"
    return _save_copy(wb, status_copy_path(source))


def _used_width(values: list[object]) -> int:
    """How many leading cells of a row matter: trailing blanks do not widen the table."""
    for i in range(len(values), 0, -1):
        if _cell_value(values[i - 1]) not in (None, ""):
            return i
    return 0


def _copy_rows(ws: Worksheet, rows: list[list[object]], header_row: int) -> dict[int, int]:
    """The export's cells with real types and French formats; returns display widths."""
    from openpyxl.styles import Font

    widths: dict[int, int] = {}
    bold = Font(bold=True)
    for r, values in enumerate(rows, start=1):
        for c, raw in enumerate(values, start=1):
            value = _cell_value(raw)
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # "=…" from a csv stays text, never a formula
            elif isinstance(value, datetime):
                has_time = value.time() != time(0)
                cell.number_format = "dd/mm/yyyy hh:mm" if has_time else "dd/mm/yyyy"
            elif isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
            elif isinstance(value, float):
                cell.number_format = "#,##0.00"
            if r == header_row:
                cell.font = bold
            if header_row <= r <= header_row + 2000:  # widths from a sample is enough
                widths[c] = max(widths.get(c, 0), _display_width(value))
    return widths


def _copy_statuses(
    ws: Worksheet, header_row: int, column: int, statuses: Mapping[int, str], header: str
) -> int:
    """The bold header and the statuses; returns the widest text for the column width."""
    from openpyxl.styles import Font

    head = ws.cell(row=header_row, column=column, value=clean_text(header))
    head.data_type = "s"
    head.font = Font(bold=True)
    width = len(header)
    for number, text in statuses.items():
        cell = ws.cell(row=number, column=column, value=clean_text(text) or None)
        if cell.value is not None:
            cell.data_type = "s"
            width = max(width, len(cell.value))
    return width


def _save_copy(wb: Workbook, target: Path) -> Path:
    """Saved all or nothing: a reader (or Excel) never sees half a workbook."""
    try:
        save_workbook_atomic(wb, target, sync=True)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"Impossible d'écrire « {target.name} » (dossier « {target.parent} ») : le fichier "
            f"est sans doute ouvert dans Excel ou le dossier est protégé. Fermez-le puis relancez."
        ) from exc
    fsync_folder(target.parent)
    return target
