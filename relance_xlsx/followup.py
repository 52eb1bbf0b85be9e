"""The follow-up workbook ``suivi_relances.xlsx``: the accountant's own record, next to
``relance.toml``.

Sheet « Clients »: one row per client ever seen. The tool's columns (Code client … Prochaine
étape) are refreshed at every run that writes; the accountant's columns (holds, « Ne plus
relancer », promises, contact overrides, notes) are only read. Sheet « Échanges »: rows the
accountant adds; each one becomes a journal event once (an edited row: its old event is
withdrawn and the new one recorded; a deleted row: withdrawn).

Reading is pure (cells in, frozen dataclasses out, bad entries as ``EntryError`` that never
stop the run), and so are the effects on the policy (holds, promises kept or not, journal
events). Writing the workbook is followup_sheet.py's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .business_days import BusinessCalendar
from .formatting import format_date_short, format_eur
from .journal import EXCHANGE, PROMISE, Event
from .model import PlannedLetter
from .parsing import header_key, normalise, parse_amount, parse_date
from .xlsx_package import (
    _UNREADABLE,
    check_writable,
    corrupt,
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


def _parsed(parse: Callable[[object], Any], what: str, hint: str, value: object, sheet: str,
            row: int, column: str, errors: list[EntryError]) -> Any:  # fmt: skip
    """A cell through the reader's own parser; unreadable: an entry error, and None."""
    if value is None or value == "":
        return None
    try:
        found = parse(value)
    except (ValueError, TypeError):
        found = None
    if found is None:
        errors.append(EntryError(sheet, row, f"{what} illisible dans « {column} » : "
                                 f"« {value} »{hint}"))  # fmt: skip
    return found


def _date(value: object, sheet: str, row: int, column: str,
          errors: list[EntryError]) -> date | None:  # fmt: skip
    return _parsed(parse_date, "date", " (écrivez-la sous la forme 15/12/2026)", value, sheet,
                   row, column, errors)  # fmt: skip


def _amount(value: object, sheet: str, row: int, column: str,
            errors: list[EntryError]) -> float | None:  # fmt: skip
    return _parsed(parse_amount, "montant", "", value, sheet, row, column, errors)


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


# --------------------------------------------------------------------------- for the summary


STOPPED = "relances arrêtées (« Ne plus relancer » dans le suivi)"


def describe_hold(until: date | None, stopped: bool) -> str:
    """The reason shown in the status column when a hold stops a letter."""
    if stopped:
        return STOPPED
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
    due: date | None = None  # the date the client promised to pay by

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
    recorded = _recorded(journal_events, run_date, superseded)
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
                f"{format_eur(baseline)} à la promesse) : le cycle reprend"), p.due))
    _holds_and_stops(resolved, names, run_date, holds, soon)
    withdrawn = tuple(int(r.id) for d, r in recorded.items() if d not in wanted)
    return Effects(holds, tuple(broken), tuple(soon), tuple(events), withdrawn, tuple(errors))


def mark_broken_promises(letters: Sequence[PlannedLetter],
                         broken: Sequence[BrokenPromise]) -> tuple[PlannedLetter, ...]:
    """Each letter to a client whose promise was not kept carries the promised date: after
    a phone call and a promise, « nous n'avons reçu … ni aucune explication » is untrue."""
    due = {b.cle_client: b.due for b in broken if b.due is not None}
    return tuple(replace(x, promesse_non_tenue=due[x.cle_client]) if x.cle_client in due
                 else x for x in letters)  # fmt: skip


def _recorded(journal_events: pd.DataFrame, run_date: date,
              superseded: Iterable[int]) -> dict[str, Any]:  # fmt: skip
    """The follow-up events in force (promises, exchanges), by the row they came from."""
    ev = journal_events
    for column in ("total", "detail"):  # journals read before the follow-up events existed
        if column not in ev:
            ev = ev.assign(**{column: pd.Series(dtype=object)})
    ev = ev[ev["type"].isin([PROMISE, EXCHANGE]) & ~ev["execution"].isin(set(superseded))
            & (ev["date"] <= pd.Timestamp(run_date))]  # fmt: skip
    return {str(r.detail): r for r in ev.sort_values("id").itertuples(index=False)}


def _holds_and_stops(resolved: Resolved, names: Mapping[str, str], run_date: date,
                     holds: dict[str, str], soon: list[str]) -> None:  # fmt: skip
    """A hold stops letters until its date (due this week: said); a stop, for good."""
    week_end = run_date + timedelta(days=7)
    for key, until in resolved.holds.items():
        if run_date <= until:
            holds[key] = describe_hold(until, False)
            if until <= week_end:
                soon.append(f"{names.get(key, key)} : {describe_hold(until, False)}")
    for key in resolved.stops:
        holds[key] = describe_hold(None, True)


def _origin(p: Promise, resolved: Resolved) -> tuple[str, int]:
    for _key, x in resolved.exchanges:
        if x.key == p.key:
            return EXCHANGES, x.row
    for key, e in resolved.overrides.items():
        if key == p.client:
            return CLIENTS, e.row
    return CLIENTS, 0


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
