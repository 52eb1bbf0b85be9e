"""Writing the follow-up workbook ``suivi_relances.xlsx``: created at the first run, then
only the tool's columns of « Clients » refreshed in place (the sheet's XML patched, the file
replaced atomically after a backup), so the accountant's formatting, widths, extra columns,
sorting and filters survive. After ``envoyer``, « Dernier courrier » says what became of
each e-mail.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from .errors import InputError
from .followup import CLIENTS, EXCHANGE_COLUMNS, EXCHANGES, TOOL_COLUMNS, USER_COLUMNS, ClientRow
from .formatting import dates_of, format_date_short
from .parsing import header_key, normalise
from .policy import next_step_text
from .sheet_xml import SheetXml, clean_text, widen_spans
from .xlsx_package import (
    _UNREADABLE,
    SharedStrings,
    column_letter,
    corrupt,
    locate_sheet,
    parse_xml,
    update_package,
)


def _create(path: Path, rows: Sequence[ClientRow]) -> None:
    """A new workbook with both sheets, headers styled, filters on, widths set."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from .files import save_workbook_atomic

    wb = Workbook()
    ws = wb.active
    ws.title = CLIENTS
    headers = [*TOOL_COLUMNS, *USER_COLUMNS]
    ws.append(headers)
    for r in rows:  # an export's text may hold control characters openpyxl refuses
        ws.append([clean_text(v) if isinstance(v, str) else v for v in _tool_values(r)])
    ex = wb.create_sheet(EXCHANGES)
    ex.append(list(EXCHANGE_COLUMNS))
    for sheet, names in ((ws, headers), (ex, EXCHANGE_COLUMNS)):
        for i, name in enumerate(names, start=1):
            cell = sheet.cell(row=1, column=i)
            cell.font = Font(bold=True)
            if sheet is ws and name in USER_COLUMNS:
                cell.fill = PatternFill("solid", fgColor="FFF2CC")  # the accountant's columns
            sheet.column_dimensions[column_letter(i)].width = max(14, len(name) + 4)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{column_letter(len(names))}1"
    ws.column_dimensions["B"].width = 30
    ws.column_dimensions["F"].width = 34
    ex.column_dimensions["D"].width = 50
    for (cell,) in ws.iter_rows(min_row=2, min_col=3, max_col=3):
        cell.number_format = '#,##0.00\\ "€"'  # Solde échu, as the report shows amounts
    for sheet in (ws, ex):  # printed on one page width, landscape
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    save_workbook_atomic(wb, path)


def last_letter_text(day: date | None, email: str = "") -> str:
    """« Dernier courrier »: its date, and what became of its e-mail once « envoyer » ran."""
    if day is None:
        return ""
    return format_date_short(day) + (f" – {email}" if email else "")


def _tool_values(r: ClientRow) -> list[object]:
    return [r.code, r.name, round(r.overdue, 2), r.level,
            last_letter_text(r.last_letter, r.email), r.next_step]  # fmt: skip


def refresh(path: Path, rows: Sequence[ClientRow], backup_dir: Path,
            now: datetime | None = None, gone: Mapping[str, str] | None = None,
            ) -> Path | None:  # fmt: skip
    """Create the workbook, or refresh its tool columns in place; returns the backup.
    ``gone`` (client key -> next-step text): clients that have just left the export."""
    if not path.exists():
        _create(path, rows)
        return None

    def patch(zf: zipfile.ZipFile) -> dict[str, bytes]:
        parts = locate_sheet(zf, path, CLIENTS)
        original = zf.read(parts.sheet)
        sheet = SheetXml(parse_xml(original), path, CLIENTS)
        _patch_clients(sheet, SharedStrings(zf, parts.shared_strings), rows, gone or {})
        return {parts.sheet: sheet.serialise(original)}

    try:
        return update_package(path, patch, backup_dir, now or datetime.now())
    except InputError:
        raise
    except _UNREADABLE as exc:
        raise corrupt(path, "feuille « Clients » illisible") from exc


def mark_emails(path: Path, day: date, emails: Mapping[str, str], backup_dir: Path) -> bool:
    """After « envoyer »: the « Dernier courrier » cell of each client mailed for ``day``
    says what became of the e-mail (« 07/12/2026 – e-mail envoyé »); nothing else changes.
    ``emails``: client key -> sendlog.email_words. False when there is no workbook yet."""
    if not path.exists() or not emails:
        return False

    def patch(zf: zipfile.ZipFile) -> dict[str, bytes]:
        parts = locate_sheet(zf, path, CLIENTS)
        original = zf.read(parts.sheet)
        sheet = SheetXml(parse_xml(original), path, CLIENTS)
        loader = SharedStrings(zf, parts.shared_strings)  # every row looks strings up
        columns = _tool_columns(sheet, loader)
        for number, key in _client_row_keys(sheet, loader, columns).items():
            if key in emails:
                cell = sheet.cell(sheet.row(number), number, columns["Dernier courrier"])
                sheet.set_text(cell, clean_text(last_letter_text(day, emails[key])))
        return {parts.sheet: sheet.serialise(original)}

    try:
        update_package(path, patch, backup_dir, datetime.now())
    except InputError:
        raise
    except _UNREADABLE as exc:
        raise corrupt(path, "feuille « Clients » illisible") from exc
    return True


def _texts(sheet: SheetXml, row_number: int, loader: object) -> dict[int, str]:
    """Column -> text of one row (shared strings loaded for that row only)."""
    row = sheet.rows.get(row_number)
    if row is None:
        return {}
    cells = list(sheet.cells(row))
    wanted = {int(c.findtext(sheet.v_tag) or -1) for _, c in cells if c.get("t") == "s"}
    shared = loader({w for w in wanted if w >= 0})  # type: ignore[operator]
    return {col: sheet.cell_text(c, shared).strip() for col, c in cells}


def _tool_columns(sheet: SheetXml, loader: object) -> dict[str, int]:
    """The tool's columns, found by header (added at the end when missing)."""
    header = _texts(sheet, 1, loader)
    columns: dict[str, int] = {}
    by_key = {header_key(text): col for col, text in header.items() if text}
    last_col = max(header, default=0)
    for name in TOOL_COLUMNS:
        col = by_key.get(header_key(name))
        if col is None:
            last_col += 1
            col = last_col
            row = sheet.row(1)
            sheet.set_text(sheet.cell(row, 1, col), name)
            widen_spans(row, col)
        columns[name] = col
    return columns


def _row_key(code: str, name: str) -> str:
    """A row's client, as the invoice table keys it: by code, else by normalised name."""
    return f"code:{code.strip().upper()}" if code.strip() else f"nom:{normalise(name)}"


def _client_row_keys(sheet: SheetXml, loader: object,
                     columns: Mapping[str, int]) -> dict[int, str]:  # fmt: skip
    """Row number -> client key, for the rows that name a client."""
    keys: dict[int, str] = {}
    for number in sheet.row_numbers:
        if number <= 1:
            continue
        texts = _texts(sheet, number, loader)
        code = texts.get(columns["Code client"], "")
        name = texts.get(columns["Client"], "")
        if code or name:
            keys[number] = _row_key(code, name)
    return keys


def _patch_clients(sheet: SheetXml, loader: object, rows: Sequence[ClientRow],
                   gone: Mapping[str, str]) -> None:  # fmt: skip
    """Each client's row found by code, else by name; new clients appended below. A client
    that has just left the export keeps its row, its level and last letter; its balance
    and next step say so (they showed last week's debt and a step that would not come)."""
    columns = _tool_columns(sheet, loader)
    existing: dict[str, int] = {}
    for number, key in _client_row_keys(sheet, loader, columns).items():
        existing.setdefault(key, number)
        if key in gone:
            for name, value in (("Solde échu", 0.0), ("Prochaine étape", gone[key])):
                _set_cell(sheet, number, columns[name], value)
    last_row = max(sheet.row_numbers, default=1)
    for r in rows:
        key = _row_key(r.code, r.name)
        number = existing.get(key)
        if number is None:
            last_row += 1
            number = existing[key] = last_row
        _set_row(sheet, number, columns, r)
    sheet.widen_dimension(max(columns.values()), 1, last_row)


def _set_row(sheet: SheetXml, number: int, columns: Mapping[str, int], r: ClientRow) -> None:
    for name, value in zip(TOOL_COLUMNS, _tool_values(r), strict=True):
        _set_cell(sheet, number, columns[name], value)


def _set_cell(sheet: SheetXml, number: int, col: int, value: object) -> None:
    row = sheet.row(number)
    cell = sheet.cell(row, number, col)
    if isinstance(value, float):
        sheet.set_text(cell, "")
        v = cell.makeelement(sheet.v_tag, {})
        v.text = repr(value)
        cell.append(v)
    else:
        sheet.set_text(cell, clean_text(str(value)))
    widen_spans(row, col)



def client_rows(classified: pd.DataFrame, holds: Mapping[str, str], run_date: date,
                emails: Callable[[str, date], str] | None = None) -> list[ClientRow]:  # fmt: skip
    """The tool's columns, one row per client of the export (grouped once: a per-client
    loop over a 20,000-row export took seconds)."""
    from .tiers import LAST_LETTER_LEVEL, Etat, tier, tier_by_step

    df = classified
    key = df["cle_client"]
    closed = [Etat.PAYEE, Etat.AVOIR, Etat.NON_ECHUE, Etat.ERREUR, Etat.LITIGE]
    open_rows = ~df["etat"].isin([e.value for e in closed])
    overdue = df["reste_du"].fillna(0).where(open_rows, 0.0).groupby(key).sum()
    level = df.groupby(key)["niveau_apres"].max()
    last = df.groupby(key)["date_dernier_courrier"].max()
    written = ((df["niveau_apres"] > df["niveau"]) & df["dans_courrier"]).groupby(key).any()
    upcoming = df.loc[df["prochaine_etape"] != "", ["cle_client", "prochaine_etape",
                                                       "date_prochaine_etape", "attente"]]
    upcoming = upcoming.sort_values(["cle_client", "date_prochaine_etape"], kind="stable")
    upcoming = upcoming.drop_duplicates("cle_client")  # the first: a step that waits, if any
    # the client's next letter takes the highest step its open invoices reached: a new
    # invoice's relance 1 goes out in a « Relance 2 » letter to a client at relance 2
    reached = df["niveau_apres"].where(open_rows, 0).groupby(key).max().to_dict()

    def letter_step(k: object, name: str, waiting: str) -> str:
        step = tier_by_step(name)
        now = int(reached.get(k, 0))
        if step is None or not step.level < now < LAST_LETTER_LEVEL:
            return name
        return tier(now).step

    next_step = {k: next_step_text(letter_step(k, name, waiting), when, waiting)
                 for k, name, when, waiting in zip(
                     upcoming["cle_client"], upcoming["prochaine_etape"],
                     dates_of(upcoming["date_prochaine_etape"]), upcoming["attente"],
                     strict=True)}  # fmt: skip
    first = df.drop_duplicates("cle_client")
    names = dict(zip(first["cle_client"], zip(first["code_client"], first["client"],
                                              strict=True), strict=True))  # fmt: skip
    overdue, level, last, written = (x.to_dict() for x in (overdue, level, last, written))
    out = []
    for k in sorted(names, key=str):
        when = pd.Timestamp(run_date) if written[k] else last[k]
        if str(k) in holds and overdue[k] > 0.005:
            step = f"en suspens : {holds[str(k)]}"
        else:
            step = next_step.get(k, "")
        lvl = int(level[k])
        code, name = names[k]
        day = None if pd.isna(when) else pd.Timestamp(when).date()
        email = emails(str(k), day) if emails and day and not written[k] else ""
        out.append(ClientRow(str(k), str(code), str(name), float(overdue[k]),
                             tier(lvl).label if lvl else "", day, step, email))
    return out


