"""The follow-up workbook ``suivi_relances.xlsx``: the accountant's own record, next to
``relance.toml``.

Sheet « Clients »: one row per client ever seen. The tool's columns (Code client … Prochaine
étape) are refreshed at every run that writes; the accountant's columns (holds, « Ne plus
relancer », promises, contact overrides, notes) are only read. Sheet « Échanges »: rows the
accountant adds; each one becomes a journal event once (an edited row: its old event is
withdrawn and the new one recorded; a deleted row: withdrawn).

Reading is pure (cells in, frozen dataclasses out, bad entries as ``EntryError`` that never
stop the run); the refresh patches the « Clients » sheet's XML in place (``sheet_xml``) and
replaces the file atomically after a backup (``xlsx_package.update_package``), so that the
accountant's formatting, widths, extra columns, sorting and filters survive.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .business_days import BusinessCalendar
from .errors import InputError
from .formatting import dates_of, format_date_short, format_eur
from .journal import EXCHANGE, PROMISE, Event
from .model import PlannedLetter
from .parsing import header_key, normalise, parse_amount, parse_date
from .sheet_xml import SheetXml, clean_text, widen_spans
from .xlsx_package import (
    _UNREADABLE,
    check_writable,
    column_letter,
    corrupt,
    locate_sheet,
    parse_xml,
    shared_strings,
    update_package,
)

FILENAME = "suivi_relances.xlsx"
CLIENTS = "Clients"
EXCHANGES = "Échanges"
TOOL_COLUMNS = ("Code client", "Client", "Solde échu", "Niveau", "Dernier courrier",
                "Prochaine étape")  # fmt: skip
USER_COLUMNS = ("Suspendre jusqu'au", "Ne plus relancer", "Promesse de paiement",
                "Montant promis", "Interlocuteur", "E-mail relance", "Adresse relance", "Notes")
EXCHANGE_COLUMNS = ("Date", "Client", "Type", "Résumé", "Promesse de paiement",
                    "Montant promis")  # fmt: skip
_YES = {"oui", "x", "o", "1", "vrai", "yes", "true"}


@dataclass(frozen=True)
class EntryError:
    """A cell the tool could not use: where it is and what to do."""

    sheet: str
    row: int
    message: str

    def __str__(self) -> str:
        return f"{FILENAME}, feuille « {self.sheet} », ligne {self.row} : {self.message}"


@dataclass(frozen=True)
class ClientEntry:
    """The accountant's columns of one « Clients » row."""

    row: int
    code: str
    name: str
    hold_until: date | None = None
    stop: bool = False
    promise: date | None = None
    promised: float | None = None
    contact: str = ""
    email: str = ""
    address: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ExchangeEntry:
    """One « Échanges » row (the client as typed: a name or a code)."""

    row: int
    day: date | None
    client: str
    kind: str
    summary: str
    promise: date | None = None
    promised: float | None = None

    @property
    def key(self) -> str:
        """Identity in the journal: the row's content (an edit is a new event)."""
        return "|".join([EXCHANGES, self.day.isoformat() if self.day else "", normalise(
            self.client), self.kind, self.summary, self.promise.isoformat() if self.promise
            else "", "" if self.promised is None else f"{self.promised:.2f}"])  # fmt: skip


@dataclass(frozen=True)
class FollowUp:
    """What the accountant wrote in the follow-up workbook."""

    clients: tuple[ClientEntry, ...] = ()
    exchanges: tuple[ExchangeEntry, ...] = ()
    errors: tuple[EntryError, ...] = ()


@dataclass(frozen=True)
class ClientRow:
    """The tool's columns of one client, as this run sees it."""

    key: str
    code: str
    name: str
    overdue: float
    level: str
    last_letter: date | None
    next_step: str
    email: str = ""  # what became of the last letter's e-mail (sendlog.email_words)


@dataclass(frozen=True)
class Directory:
    """The run's clients, to resolve a name or a code typed by the accountant."""

    by_code: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    by_name: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, clients: Iterable[tuple[str, str, str]]) -> Directory:
        """From (key, code, name) triples."""
        codes: dict[str, set[str]] = {}
        names: dict[str, set[str]] = {}
        for key, code, name in clients:
            if code.strip():
                codes.setdefault(code.strip().upper(), set()).add(key)
            if normalise(name):
                names.setdefault(normalise(name), set()).add(key)
        return cls({k: tuple(sorted(v)) for k, v in codes.items()},
                   {k: tuple(sorted(v)) for k, v in names.items()})  # fmt: skip

    def find(self, code: str, name: str) -> tuple[str, ...]:
        """Keys matching the code when given, else the name; a typed code is tried too."""
        if code.strip():
            return self.by_code.get(code.strip().upper(), ())
        return self.by_name.get(normalise(name), ()) or self.by_code.get(name.strip().upper(), ())


# --------------------------------------------------------------------------- reading


def path_for(base: Path) -> Path:
    return Path(base) / FILENAME


def check(path: Path) -> None:
    """Before anything is written: open in Excel, read-only or damaged stops the run."""
    if path.exists():
        check_writable(path)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date(value: object, sheet: str, row: int, column: str,
          errors: list[EntryError]) -> date | None:  # fmt: skip
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        found = parse_date(value)
    except (ValueError, TypeError):
        found = None
    if found is None:
        errors.append(EntryError(sheet, row, f"date illisible dans « {column} » : « {value} » "
                                 "(écrivez-la sous la forme 15/12/2026)"))  # fmt: skip
    return found


def _amount(value: object, sheet: str, row: int, column: str,
            errors: list[EntryError]) -> float | None:  # fmt: skip
    if value is None or value == "":
        return None
    try:
        found = parse_amount(value)
    except (ValueError, TypeError):
        found = None
    if found is None:
        errors.append(EntryError(sheet, row, f"montant illisible dans « {column} » : "
                                 f"« {value} »"))  # fmt: skip
    return found


def _table(ws: object) -> tuple[dict[str, int], list[tuple[int, tuple[object, ...]]]]:
    """Header key -> 0-based column, and the non-blank rows below row 1."""
    rows = list(ws.iter_rows(values_only=True))  # type: ignore[attr-defined]
    if not rows:
        return {}, []
    header = {header_key(v): i for i, v in reversed(list(enumerate(rows[0]))) if v is not None}
    body = [(n, r) for n, r in enumerate(rows[1:], start=2)
            if any(v not in (None, "") for v in r)]  # fmt: skip
    return header, body


def _cell(row: tuple[object, ...], header: Mapping[str, int], name: str) -> object:
    i = header.get(header_key(name))
    return row[i] if i is not None and i < len(row) else None


def read(path: Path) -> FollowUp:
    """The accountant's entries; no file yet: nothing. A damaged file stops the run."""
    if not path.exists():
        return FollowUp()
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (*_UNREADABLE, KeyError, OSError, TypeError) as exc:
        raise corrupt(path, "archive ou feuille illisible") from exc
    try:
        clients, errors = [], []
        if CLIENTS in wb.sheetnames:
            header, body = _table(wb[CLIENTS])
            for n, r in body:
                clients.append(_client_entry(n, r, header, errors))
        exchanges = []
        if EXCHANGES in wb.sheetnames:
            header, body = _table(wb[EXCHANGES])
            for n, r in body:
                exchanges.append(_exchange_entry(n, r, header, errors))
    finally:
        wb.close()
    return FollowUp(tuple(clients), tuple(exchanges), tuple(errors))


def _client_entry(n: int, r: tuple[object, ...], header: Mapping[str, int],
                  errors: list[EntryError]) -> ClientEntry:  # fmt: skip
    def get(name: str) -> object:
        return _cell(r, header, name)

    return ClientEntry(
        row=n, code=_text(get("Code client")), name=_text(get("Client")),
        hold_until=_date(get("Suspendre jusqu'au"), CLIENTS, n, "Suspendre jusqu'au", errors),
        stop=_text(get("Ne plus relancer")).casefold() in _YES,
        promise=_date(get("Promesse de paiement"), CLIENTS, n, "Promesse de paiement", errors),
        promised=_amount(get("Montant promis"), CLIENTS, n, "Montant promis", errors),
        contact=_text(get("Interlocuteur")), email=_text(get("E-mail relance")),
        address=_text(get("Adresse relance")), notes=_text(get("Notes")),
    )  # fmt: skip


def _exchange_entry(n: int, r: tuple[object, ...], header: Mapping[str, int],
                    errors: list[EntryError]) -> ExchangeEntry:  # fmt: skip
    def get(name: str) -> object:
        return _cell(r, header, name)

    return ExchangeEntry(
        row=n, day=_date(get("Date"), EXCHANGES, n, "Date", errors),
        client=_text(get("Client")), kind=_text(get("Type")), summary=_text(get("Résumé")),
        promise=_date(get("Promesse de paiement"), EXCHANGES, n, "Promesse de paiement", errors),
        promised=_amount(get("Montant promis"), EXCHANGES, n, "Montant promis", errors),
    )  # fmt: skip


# --------------------------------------------------------------------------- entries, resolved


@dataclass(frozen=True)
class Promise:
    """A promise of payment, as the journal keeps it: its key, date, amount, client."""

    key: str
    client: str
    due: date
    amount: float | None


@dataclass(frozen=True)
class Resolved:
    """The entries joined to the run's clients (pure): holds and stops per client key,
    contact overrides, promises and exchanges with their journal keys, bad entries."""

    holds: Mapping[str, date] = field(default_factory=dict)
    stops: frozenset[str] = frozenset()
    overrides: Mapping[str, ClientEntry] = field(default_factory=dict)
    promises: tuple[Promise, ...] = ()
    exchanges: tuple[tuple[str, ExchangeEntry], ...] = ()  # (client key, row)
    errors: tuple[EntryError, ...] = ()


def resolve(entries: FollowUp, directory: Directory) -> Resolved:
    """Join the entries to the run's clients; a name matching none or several is an error
    for that row only. A « Clients » row of a client no longer in the export is kept as is."""
    errors = list(entries.errors)
    holds: dict[str, date] = {}
    stops: set[str] = set()
    overrides: dict[str, ClientEntry] = {}
    promises: list[Promise] = []
    for e in entries.clients:
        keys = directory.find(e.code, e.name)
        if len(keys) != 1:
            continue  # a client who left the export: its row stays, nothing to apply
        key = keys[0]
        if e.hold_until is not None:
            holds[key] = e.hold_until
        if e.stop:
            stops.add(key)
        overrides[key] = e
        if e.promise is not None:
            amount = "" if e.promised is None else f"{e.promised:.2f}"
            promises.append(Promise(f"{CLIENTS}|{key}|{e.promise.isoformat()}|{amount}", key,
                                    e.promise, e.promised))  # fmt: skip
    exchanges = []
    for x in entries.exchanges:
        keys = directory.find("", x.client)
        if not x.client:
            errors.append(EntryError(EXCHANGES, x.row, "client non renseigné"))
            continue
        if not keys:
            errors.append(EntryError(EXCHANGES, x.row, f"client « {x.client} » introuvable "
                                     "dans l'export (nom ou code client)"))  # fmt: skip
            continue
        if len(keys) > 1:
            errors.append(EntryError(EXCHANGES, x.row, f"« {x.client} » désigne plusieurs "
                                     "clients : écrivez le code client"))  # fmt: skip
            continue
        exchanges.append((keys[0], x))
        if x.promise is not None:
            promises.append(Promise(x.key, keys[0], x.promise, x.promised))
    return Resolved(holds, frozenset(stops), overrides, tuple(promises), tuple(exchanges),
                    tuple(errors))  # fmt: skip


# --------------------------------------------------------------------------- refresh


def _create(path: Path, rows: Sequence[ClientRow]) -> None:
    """A new workbook with both sheets, headers styled, filters on, widths set."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from .files import atomic_target

    wb = Workbook()
    ws = wb.active
    ws.title = CLIENTS
    headers = [*TOOL_COLUMNS, *USER_COLUMNS]
    ws.append(headers)
    for r in rows:
        ws.append(_tool_values(r))
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
    with atomic_target(path) as tmp:
        wb.save(tmp)


def last_letter_text(day: date | None, email: str = "") -> str:
    """« Dernier courrier »: its date, and what became of its e-mail once « envoyer » ran."""
    if day is None:
        return ""
    return format_date_short(day) + (f" – {email}" if email else "")


def _tool_values(r: ClientRow) -> list[object]:
    return [r.code, r.name, round(r.overdue, 2), r.level,
            last_letter_text(r.last_letter, r.email), r.next_step]  # fmt: skip


def refresh(path: Path, rows: Sequence[ClientRow], backup_dir: Path,
            now: datetime | None = None) -> Path | None:  # fmt: skip
    """Create the workbook, or refresh its tool columns in place; returns the backup."""
    if not path.exists():
        _create(path, rows)
        return None

    def patch(zf: zipfile.ZipFile) -> dict[str, bytes]:
        parts = locate_sheet(zf, path, CLIENTS)
        original = zf.read(parts.sheet)
        sheet = SheetXml(parse_xml(original), path, CLIENTS)
        _patch_clients(sheet, lambda wanted: shared_strings(zf, parts.shared_strings, wanted),
                       rows)  # fmt: skip
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
        loader = lambda wanted: shared_strings(zf, parts.shared_strings, wanted)  # noqa: E731
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


def _patch_clients(sheet: SheetXml, loader: object, rows: Sequence[ClientRow]) -> None:
    """Each client's row found by code, else by name; new clients appended below."""
    columns = _tool_columns(sheet, loader)
    existing: dict[str, int] = {}
    for number, key in _client_row_keys(sheet, loader, columns).items():
        existing.setdefault(key, number)
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
    row = sheet.row(number)
    for name, value in zip(TOOL_COLUMNS, _tool_values(r), strict=True):
        col = columns[name]
        cell = sheet.cell(row, number, col)
        if isinstance(value, float):
            sheet.set_text(cell, "")
            v = cell.makeelement(sheet.v_tag, {})
            v.text = repr(value)
            cell.append(v)
        else:
            sheet.set_text(cell, clean_text(str(value)))
        widen_spans(row, col)


# --------------------------------------------------------------------------- for the summary


def describe_hold(until: date | None, stopped: bool) -> str:
    """The reason shown in the status column when a hold stops a letter."""
    if stopped:
        return "relances arrêtées (« Ne plus relancer » dans le suivi)"
    assert until is not None
    return f"suspendu jusqu'au {format_date_short(until)}"


def describe_promise(p: Promise) -> str:
    amount = f" de {format_eur(p.amount)}" if p.amount is not None else ""
    return f"promesse de paiement{amount} au {format_date_short(p.due)}"


# --------------------------------------------------------------------------- effects (pure)


@dataclass(frozen=True)
class BrokenPromise:
    """A promise not kept: the client to call, and what to tell the accountant."""

    cle_client: str
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Effects:
    """What the entries do to this run: letters held (client key -> reason), promises not
    kept, holds and promises falling due this week, journal events to add or withdraw."""

    holds: Mapping[str, str] = field(default_factory=dict)
    broken: tuple[BrokenPromise, ...] = ()
    due_soon: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    withdrawn: tuple[int, ...] = ()
    errors: tuple[EntryError, ...] = ()


def effects(resolved: Resolved, journal_events: pd.DataFrame, balances: Mapping[str, float],
            names: Mapping[str, str], run_date: date, cal: BusinessCalendar, tolerance: int,
            superseded: Iterable[int] = ()) -> Effects:  # fmt: skip
    """One rule each: « Ne plus relancer » and a hold stop letters; a promise stops them
    until its date plus ``tolerance`` business days, then is kept when the client's balance
    fell by the promised amount (all of it when no amount) since it was first recorded."""
    ev = journal_events
    for column in ("total", "detail"):  # journals read before the follow-up events existed
        if column not in ev:
            ev = ev.assign(**{column: pd.Series(dtype=object)})
    ev = ev[ev["type"].isin([PROMISE, EXCHANGE]) & ~ev["execution"].isin(set(superseded))
            & (ev["date"] <= pd.Timestamp(run_date))]  # fmt: skip
    recorded = {str(r.detail): r for r in ev.sort_values("id").itertuples(index=False)}
    errors = list(resolved.errors)
    events: list[Event] = []
    wanted: set[str] = set()
    holds: dict[str, str] = {}
    broken: list[BrokenPromise] = []
    soon: list[str] = []
    week_end = run_date + timedelta(days=7)
    promised_rows = {p.key for p in resolved.promises}
    for key, x in resolved.exchanges:
        if x.key in promised_rows:
            continue
        wanted.add(x.key)
        if x.key not in recorded:
            events.append(Event(EXCHANGE, key, names.get(key, x.client), 0, (), detail=x.key))
    for p in resolved.promises:
        balance = round(balances.get(p.client, 0.0), 2)
        earlier = recorded.get(p.key)
        if earlier is None and p.due < run_date:
            sheet, row = _origin(p, resolved)
            errors.append(EntryError(sheet, row, f"promesse de paiement du "
                                     f"{format_date_short(p.due)} déjà passée à sa saisie : "
                                     "ignorée (saisissez une date à venir)"))  # fmt: skip
            if sheet == EXCHANGES:  # the rest of the row still counts: an exchange
                xkey = p.key
                wanted.add(xkey)
                events.append(Event(EXCHANGE, p.client, names.get(p.client, ""), 0, (),
                                    detail=xkey))  # fmt: skip
            continue
        wanted.add(p.key)
        baseline = balance if earlier is None or pd.isna(earlier.total) else float(earlier.total)
        if earlier is None:
            events.append(Event(PROMISE, p.client, names.get(p.client, ""), 0, (),
                                total=balance, detail=p.key))  # fmt: skip
        end = cal.add(np.array([p.due], dtype="datetime64[D]"), tolerance)[0]
        end_day = pd.Timestamp(end).date()
        who = names.get(p.client, p.client)
        if run_date <= end_day:
            holds.setdefault(p.client, describe_promise(p))
            if run_date <= p.due <= week_end:
                soon.append(f"{who} : {describe_promise(p)}")
            continue
        target = 0.005 if p.amount is None else baseline - p.amount + 0.005
        if balance > target and balance > 0.005:
            broken.append(BrokenPromise(p.client, (
                f"{who} : {describe_promise(p)} non tenue (solde {format_eur(balance)}, "
                f"{format_eur(baseline)} à la promesse) : le cycle reprend")))
    for key, until in resolved.holds.items():
        if run_date <= until:
            holds[key] = describe_hold(until, False)
            if until <= week_end:
                soon.append(f"{names.get(key, key)} : {describe_hold(until, False)}")
    for key in resolved.stops:
        holds[key] = describe_hold(None, True)
    withdrawn = tuple(int(r.id) for d, r in recorded.items() if d not in wanted)
    return Effects(holds, tuple(broken), tuple(soon), tuple(events), withdrawn, tuple(errors))


def _origin(p: Promise, resolved: Resolved) -> tuple[str, int]:
    for _key, x in resolved.exchanges:
        if x.key == p.key:
            return EXCHANGES, x.row
    for key, e in resolved.overrides.items():
        if key == p.client:
            return CLIENTS, e.row
    return CLIENTS, 0


def client_rows(classified: pd.DataFrame, holds: Mapping[str, str], run_date: date,
                emails: Callable[[str, date], str] | None = None) -> list[ClientRow]:  # fmt: skip
    """The tool's columns, one row per client of the export (grouped once: a per-client
    loop over a 20,000-row export took seconds)."""
    from .tiers import Etat, tier

    df = classified
    key = df["cle_client"]
    closed = [Etat.PAYEE, Etat.AVOIR, Etat.NON_ECHUE, Etat.ERREUR, Etat.LITIGE]
    open_rows = ~df["etat"].isin([e.value for e in closed])
    overdue = df["reste_du"].fillna(0).where(open_rows, 0.0).groupby(key).sum()
    level = df.groupby(key)["niveau_apres"].max()
    last = df.groupby(key)["date_dernier_courrier"].max()
    written = ((df["niveau_apres"] > df["niveau"]) & df["dans_courrier"]).groupby(key).any()
    upcoming = df.loc[df["prochaine_etape"] != "", ["cle_client", "prochaine_etape",
                                                       "date_prochaine_etape"]]
    upcoming = upcoming.sort_values(["cle_client", "date_prochaine_etape"], kind="stable")
    upcoming = upcoming.drop_duplicates("cle_client")
    next_step = {k: f"{name} le {format_date_short(when)}" for k, name, when in zip(
        upcoming["cle_client"], upcoming["prochaine_etape"],
        dates_of(upcoming["date_prochaine_etape"]), strict=True)}  # fmt: skip
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


def override_contacts(letters: tuple[PlannedLetter, ...], entries: FollowUp,
                      invoices: pd.DataFrame) -> tuple[PlannedLetter, ...]:  # fmt: skip
    """Interlocuteur, E-mail relance and Adresse relance replace the export's in letters
    and e-mails (a typed address replaces the export's whole address block)."""
    if not letters or not entries.clients:
        return letters
    clients = invoices.drop_duplicates("cle_client")
    directory = Directory.of(zip(clients["cle_client"], clients["code_client"],
                                 clients["client"], strict=True))  # fmt: skip
    by_key: dict[str, ClientEntry] = {}
    for e in entries.clients:
        keys = directory.find(e.code, e.name)
        if len(keys) == 1:
            by_key[keys[0]] = e
    out = []
    for letter in letters:
        e = by_key.get(letter.cle_client)
        if e is not None:
            changes: dict[str, str] = {}
            if e.contact:
                changes["contact"] = e.contact
            if e.email:
                changes["email"] = e.email
            if e.address:
                changes.update(adresse=e.address, code_postal="", ville="")
            letter = replace(letter, **changes) if changes else letter
        out.append(letter)
    return tuple(out)
