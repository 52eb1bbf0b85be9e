"""Reading the export: rows of cells in, the invoice table out.

Exports vary by software and by person: title rows above the header, French or English
headers with accents and abbreviations, text dates, "1 234,56 €", total rows, clients
printed once per group. sources.py opens the file, columns.py finds the table and names
its columns; here every row below the header becomes one invoice line. A row that cannot
be read keeps its place with an ``erreur`` reason: it never stops the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from .columns import MORE_ADDRESS, ColumnUse, find_table
from .config import Settings
from .errors import InputError
from .fields import EXPORT_AMOUNTS, EXPORT_DATES, LABELS, invoice_table
from .parsing import (
    clean_text,
    is_blank,
    is_consumer_client,
    normalise,
    parse_amount,
    parse_date,
    parse_flag,
    parse_level,
    same_header,
    strip_accents,
)
from .sources import SPREADSHEET_SUFFIXES, read_sheets


@dataclass(frozen=True)
class ReadResult:
    """The export as plain data: invoices DataFrame plus where the table was found."""

    source: Path
    kind: str  # "xlsx", "xlsm", "xls", "ods", "xlsb", "csv", "html"
    sheet: str
    header_row: int  # 1-based
    columns: Mapping[str, str]  # canonical field -> header text in the export
    column_index: Mapping[str, int]  # canonical field -> 0-based column index
    column_uses: Mapping[str, ColumnUse]  # how each field's column was found (header, content)
    headers: tuple[str, ...]  # every header of the header row, as written
    status_index: int | None  # 0-based column of an existing status column
    invoices: pd.DataFrame
    raw_rows: tuple[tuple[object, ...], ...]  # the sheet as read (for csv/xls/ods copies)
    dropped_total_rows: int
    warnings: tuple[str, ...]

    @property
    def in_place(self) -> bool:
        """The status column can be written into the file itself (xlsx/xlsm)."""
        return self.kind in ("xlsx", "xlsm")

    @property
    def title_rows(self) -> tuple[tuple[object, ...], ...]:
        """The rows above the header (« Édité le … »): staleness.py reads the export's date."""
        return self.raw_rows[: self.header_row - 1]


# --- which rows are invoices ---------------------------------------------------------------


_TOTAL_LABEL = re.compile(
    r"^\s*(sous[\s-]?total|total|totaux|cumul|report|[aà] reporter|solde|grand total)\b",
    re.IGNORECASE,
)


def _is_total_row(values: Sequence[object], mapping: Mapping[str, int]) -> bool:
    """A subtotal/total line: labelled "Total…" with no real invoice number, or unlabelled."""
    number = clean_text(_get(values, mapping.get("numero_facture")))
    if number and not _TOTAL_LABEL.match(number):
        return False  # a real invoice number: an invoice, whatever its comments say
    for v in values:
        if isinstance(v, str) and _TOTAL_LABEL.match(strip_accents(v)):
            return True
    client = clean_text(_get(values, mapping.get("client")))
    return not number and not client and not clean_text(_get(values, mapping.get("date_echeance")))


def address_columns(headers: Sequence[str], mapping: Mapping[str, int]) -> list[int]:
    """The address columns in order: the mapped one, then the other lines, left to right."""
    first = mapping.get("adresse")
    taken = set(mapping.values())
    more = [
        i for i, h in enumerate(headers)
        if i not in taken and MORE_ADDRESS.match(normalise(h))
    ]  # fmt: skip
    return ([first] if first is not None else []) + more


def _address_lines(value: object) -> list[str]:
    """A cell's address lines: line breaks typed in the cell (Alt+Entrée) are kept."""
    if is_blank(value):
        return []
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [t for t in (clean_text(line) for line in lines) if t]


def _get(values: Sequence[object], index: int | None) -> object:
    if index is None or index >= len(values):
        return None
    return values[index]


def _postcode(value: object) -> str:
    text = clean_text(value)
    if text.isdigit() and len(text) == 4:
        return "0" + text  # 08000 exported as the number 8000
    return text


def _looks_like_invoice(
    values: Sequence[object], mapping: Mapping[str, int], header_norm: Mapping[int, str]
) -> bool:
    """An invoice line has a number, a due date or an amount next to something else.

    Footers ("Édité le … par …"), page titles, group lines ("411ALPHA - Alpha SA") and
    headers repeated on each printed page are not invoices and are skipped silently.
    """
    n = len(values)
    filled = {
        f: i < n and values[i] not in ("", None)
        and not (isinstance(values[i], str) and not values[i].strip())
        for f, i in mapping.items()
    }  # fmt: skip (inlined is_blank: this runs for every row of big exports)
    if sum(filled.values()) < 2:
        return False
    same_as_header = 0
    for f in ("numero_facture", "client", "date_echeance", "reste_du", "montant_ttc"):
        i = mapping.get(f)
        if i is None or not filled[f] or not isinstance(values[i], str):
            continue
        head = header_norm.get(i, "")
        text = values[i].strip()
        # cheap first-letter test before normalising: most cells are plain data
        if head and text and strip_accents(text[0]).lower() == head[0]:
            same_as_header += normalise(text) == head
    if same_as_header >= 2:
        return False
    has_amount = any(filled.get(f) for f in EXPORT_AMOUNTS)
    number, due = filled.get("numero_facture", False), filled.get("date_echeance", False)
    client = filled.get("client", False) or filled.get("code_client", False)
    return (number and (due or has_amount or client)) or (due and has_amount)


# --- each invoice row into a record ---------------------------------------------------------


def _invoice_rows(
    rows: list[list[object]], header_row: int, mapping: Mapping[str, int]
) -> tuple[list[tuple[int, Sequence[object]]], int, int]:
    """(sheet row, cells) of each invoice below the header, the number of total, footer
    and repeated-header rows skipped, and the number of rows given the client above."""
    found: list[tuple[int, Sequence[object]]] = []
    dropped = carried = 0
    last_client: tuple[object, ...] | None = None
    client_cols = [mapping[f] for f in ("client", "code_client") if f in mapping]
    header_norm = {i: normalise(clean_text(_get(rows[header_row], i))) for i in mapping.values()}
    for r in range(header_row + 1, len(rows)):
        values: Sequence[object] = rows[r]
        if not any(values):  # "" and None (and rows of zeros) are not invoices
            continue
        if _is_total_row(values, mapping):
            if any(not is_blank(_get(values, i)) for i in mapping.values()):
                dropped += 1
            continue
        if not _looks_like_invoice(values, mapping, header_norm):
            dropped += 1  # footer, page title, group line, repeated header
            continue
        if client_cols and all(is_blank(_get(values, i)) for i in client_cols):
            if last_client is not None:
                # Grouped exports print the client once, on the first row of its group.
                values = list(values)
                for i, v in zip(client_cols, last_client, strict=False):
                    while len(values) <= i:
                        values.append("")
                    values[i] = v
                carried += 1
        elif client_cols:
            last_client = tuple(_get(values, i) for i in client_cols)
        found.append((r, values))
    return found, dropped, carried


class _RowParser:
    """One export row -> one record of the invoice table. An unreadable cell becomes a
    French reason in the record's ``erreur``, never an exception."""

    def __init__(
        self, mapping: Mapping[str, int], settings: Settings, status: int | None,
        address: Sequence[int] = (),
    ) -> None:
        self.mapping = mapping
        self.address = address  # every address column, line 1 first
        self.status = status
        self.consumers = settings.clients_particuliers
        self.dates: dict[str, object] = {}  # exports repeat the same text dates

    def cell(self, values: Sequence[object], fld: str) -> object:
        return _get(values, self.mapping.get(fld))

    def text(self, values: Sequence[object], fld: str) -> str:
        return clean_text(_get(values, self.mapping.get(fld)))

    def date(self, values: Sequence[object], fld: str, errors: list[str]) -> date | None:
        raw = _get(values, self.mapping.get(fld))
        key = raw if isinstance(raw, str) else None
        if key is not None and key in self.dates:
            parsed = self.dates[key]
        else:
            try:
                parsed = parse_date(raw)
            except ValueError:
                parsed = ValueError
            if key is not None:
                self.dates[key] = parsed
        if parsed is ValueError:
            errors.append(f"{LABELS[fld]} illisible : « {clean_text(raw)} »")
            return None
        return parsed  # type: ignore[return-value]

    def address_text(self, values: Sequence[object]) -> str:
        """Every address line of the row; one plain cell (the common case) stays cheap."""
        if len(self.address) == 1:
            raw = _get(values, self.address[0])
            if not (isinstance(raw, str) and ("\n" in raw or "\r" in raw)):
                return clean_text(raw)
        return "\n".join(line for i in self.address for line in _address_lines(_get(values, i)))

    def amount(self, values: Sequence[object], fld: str, errors: list[str]) -> float | None:
        raw = _get(values, self.mapping.get(fld))
        try:
            return parse_amount(raw)
        except ValueError:
            errors.append(f"{LABELS[fld]} illisible : « {clean_text(raw)} »")
            return None

    def record(self, r: int, values: Sequence[object]) -> dict[str, object]:
        """The invoice on sheet row ``r`` (0-based)."""
        errors: list[str] = []
        code, client = self.text(values, "code_client"), self.text(values, "client")
        rec: dict[str, object] = {"ligne": r + 1, "code_client": code, "client": client}
        for fld in ("numero_facture", "email", "telephone", "ville", "pays", "contact",
                    "lettrage"):
            rec[fld] = self.text(values, fld)
        rec["adresse"] = self.address_text(values)
        rec["code_postal"] = _postcode(self.cell(values, "code_postal"))
        rec["date_echeance"] = self.date(values, "date_echeance", errors)
        rec["date_facture"] = self.date(values, "date_facture", errors)
        ttc = self.amount(values, "montant_ttc", errors)
        paid = self.amount(values, "montant_regle", errors)
        rest = self.amount(values, "reste_du", errors)
        if rest is None and (ttc is not None or paid is not None) and not any(
            "montant" in e for e in errors
        ):
            # Debit/credit ledgers: a credit note is a credit with no debit.
            rest = (ttc or 0.0) - (paid or 0.0)
        rec["montant_ttc"], rec["montant_regle"], rec["reste_du"] = ttc, paid, rest
        rec["litige"] = parse_flag(self.cell(values, "litige"))
        rec["particulier"] = is_consumer_client(
            code, client, self.consumers, self.cell(values, "type_client")
        )
        try:
            rec["niveau_export"] = parse_level(self.cell(values, "niveau_relance"))
        except ValueError as exc:
            errors.append(str(exc))
            rec["niveau_export"] = 0
        rec["date_relance_export"] = self.date(values, "date_derniere_relance", errors)
        rec["statut_existant"] = clean_text(_get(values, self.status))
        rec["erreur"] = " ; ".join(_missing(rec, errors))
        return rec


#: the reason of a row with no due date: ledger.py lifts it from settled and credit lines
MISSING_DUE = "date d'échéance manquante"


def _missing(rec: Mapping[str, object], errors: list[str]) -> list[str]:
    """The row's errors, with what is missing: number and client first."""
    if not rec["numero_facture"]:
        errors.insert(0, "numéro de facture manquant")
    if not rec["client"] and not rec["code_client"]:
        errors.insert(0, "client manquant")
    if rec["date_echeance"] is None and not any("échéance" in e for e in errors):
        errors.append(MISSING_DUE)
    if rec["reste_du"] is None and not any("montant" in e or "reste" in e for e in errors):
        errors.append("montant manquant (ni reste dû ni montant TTC)")
    return errors


def _shared_code_warnings(df: pd.DataFrame) -> list[str]:
    shared = sorted({k.split("|")[0][5:] for k in df.get("cle_client", []) if "|nom:" in k})
    if not shared:
        return []
    return [
        f"Code client partagé par plusieurs noms ({', '.join(shared[:5])}"
        f"{'…' if len(shared) > 5 else ''}) : chaque nom est traité comme un client distinct. "
        "Vérifiez la colonne des codes clients (un compte collectif 411 n'est pas un code "
        "client : indiquez plutôt la colonne « Auxiliaire » dans [colonnes] code_client)."
    ]


MAX_ROWS_NAMED = 5
FAR_DUE_DAYS = 730


def sanity_warnings(frame: pd.DataFrame, today: date) -> list[str]:
    """Rows that read but look wrong (dates swapped, paid above the invoice, a due date years
    away): often a column mapped to the wrong field. Warned, never dropped."""
    if frame.empty:
        return []
    due, issued = frame["date_echeance"], frame["date_facture"]
    ttc, paid = frame["montant_ttc"], frame["montant_regle"]
    checks = (
        (due < issued, "échéance antérieure à la date de facture"),
        ((ttc > 0) & (paid > ttc + 0.005), "montant réglé supérieur au montant de la facture"),
        (due > pd.Timestamp(today) + pd.Timedelta(days=FAR_DUE_DAYS),
         "échéance à plus de deux ans"),
    )  # fmt: skip
    out = []
    for mask, what in checks:
        hits = frame[mask.fillna(False)]
        if hits.empty:
            continue
        named = [
            f"ligne {row.ligne} ({row.numero_facture or 'sans numéro'})"
            for row in hits.head(MAX_ROWS_NAMED).itertuples(index=False)
        ]
        more = f" et {len(hits) - MAX_ROWS_NAMED} autre(s)" if len(hits) > MAX_ROWS_NAMED else ""
        out.append(
            f"{what.capitalize()} : {', '.join(named)}{more}. Vérifiez ces lignes et les "
            "colonnes lues (voir « Colonnes lues »)."
        )
    return out


def _typed_rows(
    rows: list[list[object]], header_row: int, mapping: Mapping[str, int]
) -> list[list[object]]:
    """Text files hold text: give the copy real dates and numbers so Excel can sort and sum."""
    out = [list(r) for r in rows]
    for row in out[header_row + 1 :]:
        for fields, parse in ((EXPORT_DATES, parse_date), (EXPORT_AMOUNTS, parse_amount)):
            for f in fields:
                i = mapping.get(f)
                if i is None or i >= len(row) or is_blank(row[i]):
                    continue
                try:
                    row[i] = parse(row[i])
                except ValueError:
                    pass  # left as written: the status column says what is wrong
    return out


def read_export(path: Path, settings: Settings) -> ReadResult:
    """Read the export: find the table, map its columns and parse every row."""
    path = Path(path)
    kind, sheets = read_sheets(path)
    if not any(any(not is_blank(v) for v in row) for rows in sheets.values() for row in rows):
        raise InputError(
            f"Le fichier « {path.name} » ne contient aucune donnée.\n"
            "Refaites l'export depuis votre logiciel comptable, puis relancez."
        )
    table = find_table(sheets, settings, path)
    sheet, header_row, mapping = table.sheet, table.header_row, dict(table.mapping)
    rows = sheets[sheet]
    headers = tuple(clean_text(h) for h in rows[header_row])
    status = settings.colonne_statut
    status_index = next((i for i, h in enumerate(headers) if same_header(h, status)), None)
    found, dropped, carried = _invoice_rows(rows, header_row, mapping)
    parser = _RowParser(mapping, settings, status_index, address_columns(headers, mapping))
    frame = invoice_table([parser.record(r, values) for r, values in found])
    warnings = [*table.warnings,
                *_warnings(path, kind, sheet, header_row, mapping, settings, frame, carried)]
    if kind in ("csv", "html"):
        rows = _typed_rows(rows, header_row, mapping)
    return ReadResult(
        source=path,
        kind=kind,
        sheet=sheet,
        header_row=header_row + 1,
        columns={f: headers[i] if i < len(headers) else "" for f, i in mapping.items()},
        column_index=dict(mapping),
        column_uses=dict(table.uses),
        headers=headers,
        status_index=status_index,
        invoices=frame,
        raw_rows=tuple(tuple(r) for r in rows),
        dropped_total_rows=dropped,
        warnings=tuple(warnings),
    )


def _warnings(
    path: Path,
    kind: str,
    sheet: str,
    header_row: int,
    mapping: Mapping[str, int],
    settings: Settings,
    frame: pd.DataFrame,
    carried: int,
) -> list[str]:
    """What the user should know about how the export was read."""
    warnings = [
        f"[colonnes] {fld} = « {header} » : aucune colonne de ce titre "
        f"dans la feuille « {sheet} » ; détection automatique utilisée."
        for fld, header in settings.colonnes.items()
        if fld not in mapping
    ]
    if frame.empty:
        warnings.append(f"Aucune facture sous l'en-tête (ligne {header_row + 1}).")
    if carried:
        warnings.append(
            f"{carried} ligne(s) sans client : le client de la ligne au-dessus a été repris "
            "(export groupé par client)."
        )
    warnings.extend(_shared_code_warnings(frame))
    warnings.extend(sanity_warnings(frame, date.today()))
    if kind in ("csv", "html") and path.suffix.lower() in SPREADSHEET_SUFFIXES:
        warnings.append(
            f"« {path.name} » n'est pas un vrai classeur Excel mais un fichier "
            f"{'texte (CSV)' if kind == 'csv' else 'HTML'} renommé : il a été lu comme tel."
        )
    return warnings


__all__ = ["ReadResult", "read_export"]
