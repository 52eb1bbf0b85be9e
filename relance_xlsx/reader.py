"""Reading the export: rows of cells in, the invoice table out.

Exports vary by software and by person: title rows above the header, French or English
headers with accents and abbreviations, text dates, "1 234,56 €", total rows, clients
printed once per group. sources.py opens the file, columns.py finds the table and names
its columns; here every row below the header becomes one invoice line. A row that cannot
be read keeps its place with an ``erreur`` reason: it never stops the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter, not_
from pathlib import Path
from typing import TypeVar

import pandas as pd

from .columns import MORE_ADDRESS, ColumnUse, find_table
from .config import Settings
from .errors import InputError
from .fields import (
    AMOUNT,
    DATE,
    EXPORT_AMOUNTS,
    EXPORT_DATES,
    FIELDS,
    FLAG,
    INT,
    LABELS,
    TEXT,
    invoice_table,
)
from .model import foreign_country
from .parsing import (
    clean_text,
    is_blank,
    is_consumer_client,
    normalise,
    parse_amount,
    parse_consumer,
    parse_date,
    parse_flag,
    parse_level,
    same_header,
    strip_accents,
)
from .sources import SPREADSHEET_SUFFIXES, read_sheets

IN_PLACE_KINDS = ("xlsx", "xlsm")


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
    # the sheet as read, for the copy written beside a csv/xls/ods export (not to be
    # changed); empty for xlsx/xlsm, whose status column goes into the file itself
    raw_rows: Sequence[Sequence[object]]
    # the rows above the header (« Édité le … »): staleness.py reads the export's date there
    title_rows: tuple[tuple[object, ...], ...]
    dropped_total_rows: int
    warnings: tuple[str, ...]

    @property
    def in_place(self) -> bool:
        """The status column can be written into the file itself (xlsx/xlsm)."""
        return self.kind in IN_PLACE_KINDS


# --- the sheet's columns, read once each -----------------------------------------------------

Rows = Sequence[Sequence[object]]
_T = TypeVar("_T")
_UNSEEN = object()


def _column(rows: Rows, index: int | None) -> list[object]:
    """One column of ``rows``; ``None`` where a short (ragged) row has no such cell."""
    if index is None:
        return [None] * len(rows)
    try:
        return [r[index] for r in rows]
    except IndexError:
        return [r[index] if index < len(r) else None for r in rows]


def _columns(rows: Rows, indexes: Sequence[int]) -> dict[int, list[object]]:
    """The columns at ``indexes``; in one pass over the rows when they are all as wide
    (calamine's are): a row at a time is twice as fast as a column at a time."""
    wanted = sorted(set(indexes))
    if len(wanted) > 1 and rows and len(set(map(len, rows))) == 1 and wanted[-1] < len(rows[0]):
        every = list(zip(*rows, strict=True))
        return {i: list(every[i]) for i in wanted}
    return {i: _column(rows, i) for i in wanted}


def _map_cells(
    cells: Sequence[object], fn: Callable[[object], object], keep: type | None = None
) -> list[object]:
    """``fn`` of every cell, each distinct text computed once: exports repeat the same
    dates, client names and codes on thousands of rows. Only texts are cached (1, 1.0 and
    True are equal keys but not the same cell); cells of class ``keep`` (a real date, a
    number) are already what ``fn`` would return, and are kept as they are."""
    seen: dict[str, object] = {}
    get = seen.get
    numbers: dict[float, object] = {}  # floats apart: 1.0 is not the text "1"
    out: list[object] = []
    append = out.append
    blank = _UNSEEN
    for v in cells:
        cls = v.__class__
        if cls is str:
            r = get(v, _UNSEEN)  # type: ignore[arg-type]
            if r is _UNSEEN:
                r = seen[v] = fn(v)  # type: ignore[index]
            append(r)
        elif cls is keep and v == v:  # NaN is an empty cell
            append(v)
        elif v is None:  # empty cells, and every row of a column the sheet has not
            if blank is _UNSEEN:
                blank = fn(None)
            append(blank)
        elif cls is float and v:  # levels, codes as numbers repeat too (0.0 == -0.0: not 0)
            r = numbers.get(v, _UNSEEN)  # type: ignore[arg-type]
            if r is _UNSEEN:
                r = numbers[v] = fn(v)  # type: ignore[index]
            append(r)
        else:
            append(fn(v))
    return out


def _parse_cells(
    cells: Sequence[object], parse: Callable[[object], object], keep: type | None = None
) -> tuple[list[object], list[int]]:
    """``parse`` of every cell (see ``_map_cells``), and the positions of the cells it
    could not read, whose value is their ``ValueError``."""
    failed: list[ValueError] = []

    def attempt(value: object) -> object:
        try:
            return parse(value)
        except ValueError as exc:
            failed.append(exc)
            return exc

    values = _map_cells(cells, attempt, keep)
    if not failed:
        return values, []
    return values, [j for j, v in enumerate(values) if v.__class__ is ValueError]


def _pick(items: list[_T], positions: list[int]) -> list[_T]:
    """The items at ``positions`` (all of them, as they are, when nothing was skipped)."""
    if len(positions) == len(items):
        return items
    if len(positions) < 2:
        return [items[k] for k in positions]
    return list(itemgetter(*positions)(items))


def _all_text(cells: Sequence[object]) -> bool:
    return set(map(type, cells)) == {str}


def _filled(cells: Sequence[object]) -> list[bool]:
    """Cells with something in them (spaces are nothing)."""
    if _all_text(cells):  # the usual text column: at C speed
        return list(map(bool, map(str.strip, cells)))  # type: ignore[arg-type]
    return [bool(v.strip()) if isinstance(v, str) else v is not None for v in cells]


def _blank(cells: Sequence[object]) -> list[bool]:
    """``is_blank`` of every cell, inlined: it runs for every row of big exports."""
    if _all_text(cells):
        return list(map(not_, map(str.strip, cells)))  # type: ignore[arg-type]
    return [not v.strip() if isinstance(v, str) else v is None or v != v for v in cells]


# --- which rows are invoices ---------------------------------------------------------------


_TOTAL_LABEL = re.compile(
    r"^\s*(sous[\s-]?total|total|totaux|cumul|report|[aà] reporter|solde|grand total)\b",
    re.IGNORECASE,
)


def _total_label(value: object) -> bool:
    return isinstance(value, str) and _TOTAL_LABEL.match(strip_accents(value)) is not None


def _is_total_row(row: Sequence[object], number: str, client: object, due: object) -> bool:
    """A subtotal/total line: labelled "Total…" with no real invoice number, or unlabelled.
    ``number`` is the row's invoice number as text, ``client`` and ``due`` its cells."""
    if number and not _TOTAL_LABEL.match(number):
        return False  # a real invoice number: an invoice, whatever its comments say
    if any(_total_label(v) for v in row):
        return True
    return not number and is_blank(client) and is_blank(due)


def address_columns(headers: Sequence[str], mapping: Mapping[str, int]) -> list[int]:
    """The address columns in order: the mapped one, then the other lines, left to right."""
    first = mapping.get("adresse")
    taken = set(mapping.values())
    more = [
        i for i, h in enumerate(headers)
        if i not in taken and MORE_ADDRESS.match(normalise(h))
    ]  # fmt: skip
    return ([first] if first is not None else []) + more


def _address_lines(value: object) -> tuple[str, ...]:
    """A cell's address lines: line breaks typed in the cell (Alt+Entrée) are kept."""
    if is_blank(value):
        return ()
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return tuple(t for t in (clean_text(line) for line in lines) if t)


def _one_line_address(value: object) -> str:
    """One address column: a plain cell (the common case) is its text."""
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return "\n".join(_address_lines(value))
    return clean_text(value)


def _french_postcodes(postcodes: list[object], countries: list[object]) -> list[object]:
    """A four-digit postcode gets back the leading zero Excel dropped (08000 exported as
    the number 8000), in France only: Belgium, Switzerland, Austria… have four digits."""
    out = list(postcodes)
    for j, text in enumerate(postcodes):
        text = str(text)
        if len(text) == 4 and text.isdigit() and not foreign_country(str(countries[j] or "")):
            out[j] = "0" + text
    return out


@dataclass(frozen=True)
class _Selection:
    """The invoice rows of the sheet, by position below the header."""

    rows: list[int]
    dropped: int  # total, footer and repeated-header rows skipped
    carried: int  # rows given the client of the row above (grouped exports)
    numbers: list[object]  # every row's invoice number, as text (read to find the totals)


_HEADER_LIKE = ("numero_facture", "client", "date_echeance", "reste_du", "montant_ttc")


def _header_repeats(head: str, values: Iterable[object]) -> set[str]:
    """The texts among ``values`` that repeat the column's header ``head`` (normalised):
    headers printed again on each page. Most texts start with a letter the header does not
    start with: a regex run at C speed leaves only the few others to normalise."""
    if not head:
        return set()
    texts = [v for v in values if v.__class__ is str]
    first = re.escape(head[:1]) + re.escape(head[:1].upper())
    maybe = re.compile(rf"\s*(?:[{first}]|[^\x21-\x7e]|$)").match
    return {v for v in filter(maybe, texts) if _repeats(v, head)}  # type: ignore[arg-type]


def _repeats(text: str, head: str) -> bool:
    text = text.strip()
    first = text[:1]
    if (first if first.isascii() else strip_accents(first)).lower() != head[:1]:
        return False
    return bool(text) and normalise(text) == head


def _invoice_rows(
    data: Rows, cells: dict[str, list[object]], header: Mapping[str, str]
) -> _Selection:
    """The rows below the header that are invoices, column by column.

    An invoice line has a number, a due date or an amount next to something else. Blank
    rows, totals, footers ("Édité le … par …"), page titles, group lines ("411ALPHA - Alpha
    SA") and headers repeated on each printed page are skipped (all but blank rows are
    counted). Grouped exports print the client once, on the first row of its group: the
    rows below get it (``cells`` is changed in place).
    """
    n = len(data)
    none = [False] * n
    client_cols = [f for f in ("client", "code_client") if f in cells]
    filled = {f: _filled(cells[f]) for f in ("numero_facture", "date_echeance") if f in cells}
    like_header = [0] * n
    for f in _HEADER_LIKE:
        if f in cells and header.get(f):
            try:
                distinct = set(cells[f])
            except TypeError:  # an unhashable cell: only from a hand-made sheet
                distinct = set(v for v in cells[f] if isinstance(v, str))
            repeats = _header_repeats(header[f], distinct)
            if not repeats:
                continue  # the usual case: no row repeats this header
            for k, v in enumerate(cells[f]):
                if v.__class__ is str and v in repeats:
                    like_header[k] += 1
    has_number = filled.get("numero_facture", none)
    has_due = filled.get("date_echeance", none)
    # read only for the rows the number and due date do not settle (most rows have both)
    has_amount = _any_filled([cells[f] for f in EXPORT_AMOUNTS if f in cells])
    has_client = _any_filled([cells[f] for f in client_cols])
    blank_client = [all(t) for t in zip(*(_blank(cells[f]) for f in client_cols), strict=True)] if (
        client_cols) else none  # fmt: skip
    numbers = _map_cells(cells.get("numero_facture") or [None] * n, clean_text)
    clients, dues = cells.get("client") or [None] * n, cells.get("date_echeance") or [None] * n
    payment = _payment_test(cells, has_client)

    found: list[int] = []
    dropped = carried = 0
    last_client: int | None = None  # the row that named the group's client
    for k in range(n):
        if not any(data[k]):  # "" and None (and rows of zeros) are not invoices
            continue
        number = numbers[k]
        if (not number or _TOTAL_LABEL.match(number)) and _is_total_row(  # type: ignore[arg-type]
            data[k], number, clients[k], dues[k]  # type: ignore[arg-type]
        ):
            if any(not is_blank(col[k]) for col in cells.values()):
                dropped += 1
            continue
        # two of the table's cells at least; the same test as the header row's
        if like_header[k] >= 2 or not (
            (has_number[k] and (has_due[k] or has_amount(k) or has_client(k)))
            or (has_due[k] and has_amount(k))
            or (not has_number[k] and not has_due[k] and payment(k))
        ):
            dropped += 1  # footer, page title, group line, repeated header
            continue
        if blank_client[k]:
            if last_client is not None:
                for f in client_cols:
                    cells[f][k] = cells[f][last_client]
                carried += 1
        elif client_cols:
            last_client = k
        found.append(k)
    return _Selection(found, dropped, carried, numbers)


def _any_filled(columns: list[list[object]]) -> Callable[[int], bool]:
    """Whether row ``k`` has something in one of ``columns`` (see ``_filled``)."""

    def at(k: int) -> bool:
        for col in columns:
            v = col[k]
            if bool(v.strip()) if isinstance(v, str) else v is not None:
                return True
        return False

    return at


def _negative(value: object) -> bool:
    """A cell that reads as a negative amount (-1 000,00, (1 000,00))."""
    if value.__class__ is str:
        text = value.strip()  # type: ignore[attr-defined]
        if not text.startswith(("-", "(", "\u2212")):
            return False
        try:
            return parse_amount(text) < 0  # type: ignore[operator]
        except ValueError:
            return False
    return isinstance(value, int | float) and not isinstance(value, bool) and value < 0


def _payment_test(
    cells: Mapping[str, list[object]], has_client: Callable[[int], bool]
) -> Callable[[int], bool]:
    """Whether a row with no number and no due date is a payment: a credit (a Crédit /
    réglé amount with no Débit, or a negative amount) on an entry date, for a client. A
    ledger (lettrage or Débit/Crédit columns) prints the client on its group's first row
    only, so there the client may come from the row above. Issue #11: « Règlement client »
    lines often have no piece number, and were dropped, so the client was chased for the
    payment. A total row has no entry date (or a « Total »/« Solde » label, skipped before)."""
    dates = cells.get("date_facture")
    if dates is None or not any(f in cells for f in EXPORT_AMOUNTS):
        return lambda k: False
    ledger = "lettrage" in cells or ("reste_du" not in cells and "montant_ttc" in cells
                                     and "montant_regle" in cells)  # fmt: skip
    paid = _any_filled([cells[f] for f in ("montant_regle",) if f in cells])
    debit = _any_filled([cells[f] for f in ("montant_ttc",) if f in cells])
    signed = [cells[f] for f in ("reste_du", "montant_ttc") if f in cells]

    def payment(k: int) -> bool:
        if is_blank(dates[k]) or not (has_client(k) or ledger):
            return False
        if paid(k) and not debit(k):
            return True
        return any(_negative(col[k]) for col in signed)

    return payment


# --- the invoice rows into the invoice table ------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """How the cells of one kind of field are read: the parser, the value of a cell it
    cannot read, and whether its own message is the row's reason (else "<label> illisible :
    « cell »")."""

    parse: Callable[[object], object]
    failed: object = None
    own_reason: bool = False
    keep: type | None = None  # cells of this class are already read


# Every field of the export is read by its kind (fields.py); a few by their own rule.
_READINGS: Mapping[str, _Reading] = {
    TEXT: _Reading(clean_text),
    DATE: _Reading(parse_date, keep=date),
    AMOUNT: _Reading(parse_amount, keep=float),
    FLAG: _Reading(parse_flag),
    INT: _Reading(parse_level, failed=0, own_reason=True),
}
_OWN_READINGS: Mapping[str, _Reading] = {
    "type_client": _Reading(parse_consumer),  # read into "particulier"
}
_EXPORT_FIELDS = tuple(f for f in FIELDS if f.in_export and f.name != "adresse")
# The due date's reason first (it decides the reminder), then in declaration order.
_READ_ORDER = {
    f.name: (f.name != "date_echeance", n) for n, f in enumerate(FIELDS)
}  # fmt: skip
# An unreadable amount (or a reason naming one among what is read up to the amounts) keeps
# a ledger row's balance from being worked out from its debit and credit.
_UP_TO_AMOUNTS = frozenset(f for f, order in _READ_ORDER.items()
                           if order[1] <= _READ_ORDER["reste_du"][1])  # fmt: skip


def _invoice_columns(
    picked: Mapping[str, list[object]], address: Sequence[list[object]],
    status: list[object], consumers: Sequence[str], texts: Mapping[str, list[object]],
) -> dict[str, list[object]]:
    """The reader's columns of the invoice table, from the cells of the invoice rows
    (``texts``: text columns already read).

    An unreadable cell becomes a French reason in the row's ``erreur``, never an exception.
    """
    m = len(status)
    out: dict[str, list[object]] = {}
    reasons: dict[int, list[tuple[str, str]]] = {}  # row -> (field, reason), in read order
    for fld in sorted(_EXPORT_FIELDS, key=lambda f: _READ_ORDER[f.name]):
        reading = _OWN_READINGS.get(fld.name) or _READINGS[fld.kind]
        column = fld.into or fld.name
        if fld.name not in picked:
            out[column] = [reading.parse(None)] * m
            continue
        if fld.name in texts and reading is _READINGS[TEXT]:
            out[column] = texts[fld.name]
            continue
        cells = picked[fld.name]
        values, failed = _parse_cells(cells, reading.parse, reading.keep)
        for j in failed:
            why = (
                str(values[j]) if reading.own_reason
                else f"{LABELS[fld.name]} illisible : « {clean_text(cells[j])} »"
            )  # fmt: skip
            reasons.setdefault(j, []).append((fld.name, why))
            values[j] = reading.failed
        out[column] = values
    out["adresse"] = _addresses(address, m)
    out["code_postal"] = _french_postcodes(out["code_postal"], out["pays"])
    out["statut_existant"] = _map_cells(status, clean_text)
    _work_out_balances(out, reasons)
    codes, names = out["code_client"], out["client"]
    if consumers:  # [clients] particuliers names them by code or name
        listed = _map_cells(
            [f"{c}\x00{n}" for c, n in zip(codes, names, strict=True)],
            lambda key: is_consumer_client(*str(key).split("\x00"), consumers),
        )
        out["particulier"] = [a or b for a, b in zip(out["particulier"], listed, strict=True)]
    out["erreur"] = [
        _reasons(j, out, reasons.get(j, [])) if j in reasons or not (
            out["numero_facture"][j] and (names[j] or codes[j])
            and out["date_echeance"][j] is not None and out["reste_du"][j] is not None
        ) else ""
        for j in range(m)
    ]  # fmt: skip
    return out


def _addresses(columns: Sequence[list[object]], m: int) -> list[object]:
    """Every address line of each row, line 1 first."""
    if not columns:
        return [""] * m
    if len(columns) == 1:
        return _map_cells(columns[0], _one_line_address)
    lines = [_map_cells(col, _address_lines) for col in columns]
    return ["\n".join(line for cell in row for line in cell) for row in zip(*lines, strict=True)]


def _work_out_balances(out: dict[str, list[object]], reasons: dict[int, list[tuple[str, str]]]
                       ) -> None:  # fmt: skip
    """Debit/credit ledgers have no balance column: the balance is debit minus credit (a
    credit note is a credit with no debit)."""
    ttc, paid, rest = out["montant_ttc"], out["montant_regle"], out["reste_du"]
    for j in [j for j, r in enumerate(rest) if r is None]:
        if ttc[j] is None and paid[j] is None:
            continue
        if any("montant" in why for f, why in reasons.get(j, ()) if f in _UP_TO_AMOUNTS):
            continue
        rest[j] = (ttc[j] or 0.0) - (paid[j] or 0.0)  # type: ignore[operator]


#: the reason of a row with no due date: ledger.py lifts it from settled and credit lines
MISSING_DUE = "date d'échéance manquante"


def _payment_line(j: int, out: Mapping[str, list[object]]) -> bool:
    """A credit with no due date: a payment received (« Règlement client »), which often
    has no piece number; ledger.py deducts it as an unallocated credit."""
    rest = out["reste_du"][j]
    return out["date_echeance"][j] is None and rest is not None and rest < 0  # type: ignore[operator]


def _reasons(j: int, out: Mapping[str, list[object]], read: list[tuple[str, str]]) -> str:
    """The row's reasons, with what is missing: client and number first."""
    errors = [why for _f, why in read]
    if not out["numero_facture"][j] and not _payment_line(j, out):
        errors.insert(0, "numéro de facture manquant")
    if not out["client"][j] and not out["code_client"][j]:
        errors.insert(0, "client manquant")
    if out["date_echeance"][j] is None and not any("échéance" in e for e in errors):
        errors.append(MISSING_DUE)
    if out["reste_du"][j] is None and not any("montant" in e or "reste" in e for e in errors):
        errors.append("montant manquant (ni reste dû ni montant TTC)")
    return " ; ".join(errors)


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


def _typed_rows(rows: list[list[object]], header_row: int, mapping: Mapping[str, int]) -> None:
    """Text files hold text: give the copy real dates and numbers so Excel can sort and sum
    (in place: the rows are the reader's own). An unreadable cell is left as written: the
    status column says what is wrong."""
    body = rows[header_row + 1 :]
    for fields, parse in ((EXPORT_DATES, parse_date), (EXPORT_AMOUNTS, parse_amount)):
        for i in (mapping[f] for f in fields if f in mapping):
            cells = _column(body, i)
            values, failed = _parse_cells(cells, parse)
            skip = set(failed)
            for k, (row, blank) in enumerate(zip(body, _blank(cells), strict=True)):
                if not blank and k not in skip:
                    row[i] = values[k]


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
    sheets.clear()  # the other sheets are not needed any more
    headers = tuple(clean_text(h) for h in rows[header_row])
    status = settings.colonne_statut
    status_index = next((i for i, h in enumerate(headers) if same_header(h, status)), None)
    data = rows[header_row + 1 :]
    lines = address_columns(headers, mapping)
    by_index = _columns(data, [*mapping.values(), *lines, *(
        [status_index] if status_index is not None else [])])  # fmt: skip
    # the fields' own lists: _invoice_rows writes the carried clients into them
    cells = {f: list(by_index[i]) if f in ("client", "code_client") else by_index[i]
             for f, i in mapping.items()}  # fmt: skip
    header = {f: normalise(headers[i]) if i < len(headers) else "" for f, i in mapping.items()}
    chosen = _invoice_rows(data, cells, header)
    del data
    if kind in IN_PLACE_KINDS:  # the rows below the header are not kept: free them now
        del rows[header_row + 1 :]
    columns = _invoice_columns(
        {f: _pick(col, chosen.rows) for f, col in cells.items()},
        [_pick(by_index[i], chosen.rows) for i in lines],
        _pick(by_index[status_index], chosen.rows) if status_index is not None
        else [None] * len(chosen.rows), settings.clients_particuliers,
        {"numero_facture": _pick(chosen.numbers, chosen.rows)},
    )  # fmt: skip
    del cells, by_index
    columns["ligne"] = [header_row + 2 + k for k in chosen.rows]
    frame = invoice_table(pd.DataFrame(columns))
    warnings = [*table.warnings, *_warnings(path, kind, sheet, header_row, mapping, settings,
                                            frame, chosen.carried)]
    if kind in ("csv", "html"):
        _typed_rows(rows, header_row, mapping)
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
        raw_rows=() if kind in IN_PLACE_KINDS else rows,
        title_rows=tuple(tuple(r) for r in rows[:header_row]),
        dropped_total_rows=chosen.dropped,
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
