"""The numbers of the report: aged balance, DSO and what each reminder tier recovers.

Pure functions over the classified invoices (``RunResult.invoices``) and over tables read
from the journal; the report (report_xlsx.py) only lays them out. Amounts are the export's
``reste_du`` (what is still owed: a partly paid invoice counts for its balance), rounded to
the cent at the end.

Aged balance: every open line (not paid, not in error) by calendar days late at the run
date: due today or later is « non échu », then 1–30, 31–60, 61–90 and over 90 days.
Disputed invoices stay in their bucket (they are still owed). Credit notes and unallocated
payments (negative balances) have their own column and are deducted from the total.

DSO = net receivables (the aged balance's total) / turnover incl. VAT of the last
12 months × 365, only when the settings give that turnover: never a guess.

Recovery (from the journal): for each tier, the letters in force of the last 12 months and
the share of the amount they chased (their invoices' positive balances on the letter's day)
paid within 15 and 30 days. « Paid within N days » is what the runs dated after the letter
and no later than its date + N days saw: the lowest balance any of them recorded for the
invoice, 0 when a run did not list it any more. Only runs that read the same ledger count
(a run observes a letter when it saw at least one invoice the letter's run saw: an export
of another company in the same journal says nothing about these invoices). A letter counts
for a window only once the journal has a run dated on or after the window's end; the figures
show only when at least one letter has a complete 30-day window (one full cycle).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .business_days import days_late
from .tiers import LETTER_TIERS, Etat

BUCKETS = ("Non échu", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours", "Plus de 90 jours")
EDGES = (0, 30, 60, 90)  # upper bounds (days late, inclusive) of the first four buckets
CREDITS = "Avoirs et règlements non affectés"
CLOSED = (Etat.PAYEE.value, Etat.ERREUR.value)  # owed nothing / could not be read
CREDIT_STATE = Etat.AVOIR.value
WINDOWS = (15, 30)  # days after a letter
CYCLE_DAYS = max(WINDOWS)


# --- aged balance --------------------------------------------------------------------------


def bucket_of(days_late: np.ndarray) -> np.ndarray:
    """Index 0–4 in ``BUCKETS`` of calendar days late (0 or less: not due)."""
    return np.searchsorted(np.asarray(EDGES), days_late, side="left")


def late_at(due: pd.Series, on: date) -> np.ndarray:
    """Calendar days late at ``on`` (the rule of business_days.days_late); an unknown due
    date counts as not due."""
    d = due.to_numpy(dtype="datetime64[D]")
    return np.where(np.isnat(d), 0, days_late(np.where(np.isnat(d), np.datetime64(on, "D"), d),
                                                on))


@dataclass(frozen=True)
class AgedRow:
    """One client's line: the five buckets, its credits (negative) and the net total."""

    cle_client: str
    client: str
    code_client: str
    buckets: tuple[float, ...]
    credits: float
    total: float

    @property
    def overdue(self) -> float:
        return round(sum(self.buckets[1:]), 2)


@dataclass(frozen=True)
class AgedBalance:
    """The aged balance at ``on``: one row per client with something open, and the total."""

    on: date
    rows: tuple[AgedRow, ...]
    total: AgedRow


def aged_balance(invoices: pd.DataFrame, on: date) -> AgedBalance:
    """Per client and in total: open balances by lateness, credits apart (module docstring)."""
    empty = AgedRow("", "Total", "", (0.0,) * len(BUCKETS), 0.0, 0.0)
    if invoices.empty:
        return AgedBalance(on, (), empty)
    # the columns read here only: the open rows of every column would be a copy of most of
    # a million-row table
    open_ = invoices.loc[~invoices["etat"].isin(CLOSED),
                         ["etat", "reste_du", "date_echeance", "cle_client", "client",
                          "code_client"]]  # fmt: skip
    if open_.empty:
        return AgedBalance(on, (), empty)
    rest = open_["reste_du"].fillna(0.0).to_numpy(dtype=float)
    credit = (open_["etat"] == CREDIT_STATE).to_numpy()
    column = np.where(credit, len(BUCKETS), bucket_of(late_at(open_["date_echeance"], on)))
    frame = pd.DataFrame({"cle_client": open_["cle_client"].astype(str).to_numpy(),
                          "column": column, "amount": rest})  # fmt: skip
    table = frame.pivot_table(index="cle_client", columns="column", values="amount",
                              aggfunc="sum", fill_value=0.0)  # fmt: skip
    table = table.reindex(columns=range(len(BUCKETS) + 1), fill_value=0.0)
    names = open_.groupby(open_["cle_client"].astype(str)).agg(
        client=("client", "first"), code_client=("code_client", "first"))
    clients = dict(zip(names.index, names["client"], strict=True))  # .at per row is slow
    codes = dict(zip(names.index, names["code_client"], strict=True))
    rows = []
    for key, values in zip(table.index, table.to_numpy(), strict=True):
        amounts = tuple(round(float(v), 2) for v in values)
        total = round(sum(amounts), 2)
        if not any(amounts):
            continue
        client, code = _text(clients[key]), _text(codes[key])
        rows.append(AgedRow(key, client or code or key, code, amounts[:-1], amounts[-1], total))
    rows.sort(key=lambda r: (r.client.casefold(), r.code_client))
    sums = table.sum(axis=0).to_numpy()
    amounts = tuple(round(float(v), 2) for v in sums)
    total = AgedRow("", "Total", "", amounts[:-1], amounts[-1], round(sum(amounts), 2))
    return AgedBalance(on, tuple(rows), total)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


# --- DSO -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dso:
    """Days sales outstanding and the figures it comes from (shown with the formula)."""

    days: float
    receivables: float
    turnover: float

    @property
    def formula(self) -> str:
        from .formatting import format_eur

        days = f"{self.days:.1f}".replace(".", ",")
        return (f"DSO = encours clients TTC ÷ chiffre d'affaires TTC des 12 derniers mois "
                f"× 365 = {format_eur(self.receivables)} ÷ {format_eur(self.turnover)} × 365 "
                f"= {days} jours")  # fmt: skip


def dso(receivables: float, turnover: float | None) -> Dso | None:
    """DSO in days; ``None`` without a turnover (the report then shows nothing)."""
    if turnover is None or turnover <= 0:
        return None
    return Dso(round(receivables / turnover * 365, 1), round(receivables, 2), turnover)


# --- recovery after each reminder ----------------------------------------------------------


@dataclass(frozen=True)
class RecoveryData:
    """What the journal says, as tables (read by ``load_recovery``; built by hand in tests).

    ``runs``: id, date (non-superseded executions); ``letters``: id, execution, date, niveau
    (letters in force); ``lines``: evenement, cle_facture, reste_du (the letters' invoices
    with a positive balance); ``balances``: execution, cle_facture, reste_du (those
    invoices as later runs saw them); ``observes``: pairs (letter run, later run) reading
    the same ledger.
    """

    runs: pd.DataFrame
    letters: pd.DataFrame
    lines: pd.DataFrame
    balances: pd.DataFrame
    observes: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class TierRecovery:
    """One tier: letters of the last 12 months, and per window (15, 30 days) the letters
    whose window is complete, the amount they chased and the amount paid within it."""

    niveau: int
    label: str
    letters: int
    chased: float
    windows: tuple[tuple[int, int, float, float], ...]  # (days, letters, chased, paid)

    def share(self, days: int) -> float | None:
        for d, _n, chased, paid in self.windows:
            if d == days:
                return round(paid / chased, 4) if chased > 0 else None
        return None


@dataclass(frozen=True)
class Recovery:
    """Recovery per tier; ``complete`` is False until one letter has a full 30-day window."""

    start: date | None
    end: date | None
    tiers: tuple[TierRecovery, ...]
    complete: bool


def recovery(data: RecoveryData, on: date) -> Recovery:
    """Shares paid within 15 and 30 days of each tier's letters (module docstring)."""
    since = on - timedelta(days=365)
    letters = data.letters.copy()
    letters["day"] = pd.to_datetime(letters["date"]).dt.date
    letters = letters[(letters["day"] > since) & (letters["day"] <= on)]
    runs = data.runs.copy()
    runs["day"] = pd.to_datetime(runs["date"]).dt.date
    runs = runs[runs["day"] <= on]
    last_run = max(runs["day"], default=None)
    lines = data.lines[data.lines["reste_du"] > 0]
    seen: dict[int, dict[str, float]] = {}
    for execution, key, rest in zip(data.balances["execution"], data.balances["cle_facture"],
                                    data.balances["reste_du"], strict=True):  # fmt: skip
        seen.setdefault(int(execution), {})[str(key)] = float(rest if rest == rest else 0.0)
    run_days = sorted(zip(runs["day"], runs["id"].astype(int), strict=True))
    # each letter's invoices as plain pairs: a DataFrame per letter cost 2 KB each (77,000
    # letters at a million rows)
    by_letter: dict[int, list[tuple[str, float]]] = {}
    for letter_id, key, rest in zip(lines["evenement"].tolist(), lines["cle_facture"].tolist(),
                                    lines["reste_du"].tolist(), strict=True):  # fmt: skip
        by_letter.setdefault(int(letter_id), []).append((str(key), float(rest)))

    tiers = []
    complete = False
    for t in LETTER_TIERS:
        mine = letters[letters["niveau"] == t.level]
        count, chased_all = 0, 0.0
        windows = {d: [0, 0.0, 0.0] for d in WINDOWS}
        for lid, execution, day in zip(mine["id"], mine["execution"], mine["day"], strict=True):
            group = by_letter.get(int(lid))
            chased = sum(rest for _key, rest in group) if group is not None else 0.0
            count += 1
            chased_all += chased
            for d in WINDOWS:
                end = day + timedelta(days=d)
                if last_run is None or last_run < end:
                    continue  # the window is not over yet: the letter does not count
                if d == CYCLE_DAYS:
                    complete = True
                later = [rid for rday, rid in run_days if day < rday <= end
                         and (int(execution), rid) in data.observes]  # fmt: skip
                windows[d][0] += 1
                windows[d][1] += chased
                if group is not None:
                    windows[d][2] += _paid(group, later, seen)
        tiers.append(TierRecovery(
            t.level, t.label, count, round(chased_all, 2),
            tuple((d, n, round(c, 2), round(p, 2)) for d, (n, c, p) in windows.items()),
        ))  # fmt: skip
    start = min(letters["day"], default=None)
    return Recovery(start, last_run, tuple(tiers), complete)


def _paid(group: list[tuple[str, float]], later: Sequence[int],
          seen: dict[int, dict[str, float]]) -> float:  # fmt: skip
    """Amount of a letter's invoices (key, balance) paid by the runs ``later``: balance on the
    letter's day minus the lowest balance they saw (0 when a run no longer listed it)."""
    paid = 0.0
    for key, rest in group:
        lowest = rest
        for rid in later:
            lowest = min(lowest, max(seen.get(rid, {}).get(key, 0.0), 0.0))
        paid += rest - lowest
    return paid


def load_recovery(path: Path) -> RecoveryData | None:
    """The journal's tables for ``recovery``, read-only; ``None`` without a journal."""
    from .journal import LETTER, connect_readonly

    if path is None or not Path(path).is_file():
        return None
    with closing(connect_readonly(Path(path))) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if "evenements_en_vigueur" not in tables:  # empty or version 1: nothing to measure
            return None
        runs = pd.read_sql_query(
            "SELECT id, date FROM executions WHERE remplacee_par IS NULL", con)
        letters = pd.read_sql_query(
            "SELECT id, execution, date, niveau FROM evenements_en_vigueur WHERE type = ?",
            con, params=(LETTER,))  # fmt: skip
        lines = pd.read_sql_query(
            "SELECT f.evenement, f.cle_facture, f.reste_du FROM evenement_factures f "
            "JOIN evenements_en_vigueur e ON e.id = f.evenement "
            "WHERE e.type = ? AND f.reste_du > 0", con, params=(LETTER,))  # fmt: skip
        if _a_window_may_be_over(runs, letters):
            balances = pd.read_sql_query(
                "SELECT s.execution, s.cle_facture, s.reste_du FROM soldes s "
                "JOIN executions x ON x.id = s.execution AND x.remplacee_par IS NULL "
                "WHERE s.cle_facture IN (SELECT f.cle_facture FROM evenement_factures f "
                "JOIN evenements e ON e.id = f.evenement WHERE e.type = ?)",
                con, params=(LETTER,))  # fmt: skip
        else:  # what later runs saw is read only for letters old enough to count
            balances = pd.DataFrame({"execution": [], "cle_facture": [], "reste_du": []})
        observes = _observing_pairs(con, letters, runs)
    return RecoveryData(runs, letters, lines, balances, observes)


def _a_window_may_be_over(runs: pd.DataFrame, letters: pd.DataFrame) -> bool:
    """Whether a run came ``WINDOWS[0]`` days or more after the first letter: else no letter
    counts yet (a first run), and the balances every run saw (a million rows a run) are not
    read."""
    if runs.empty or letters.empty:
        return False
    last_run = pd.to_datetime(runs["date"]).max()
    first_letter = pd.to_datetime(letters["date"]).min()
    return bool(last_run >= first_letter + pd.Timedelta(days=min(WINDOWS)))


def _observing_pairs(
    con: sqlite3.Connection, letters: pd.DataFrame, runs: pd.DataFrame
) -> frozenset[tuple[int, int]]:
    """(letter run, later run) pairs where the later run saw one invoice the first saw."""
    dates = {int(i): date.fromisoformat(str(d)[:10])
             for i, d in zip(runs["id"], runs["date"], strict=True)}  # fmt: skip
    pairs = set()
    for first in sorted({int(x) for x in letters["execution"].dropna()}):
        if first not in dates:
            continue
        for other, day in dates.items():
            if not dates[first] < day <= dates[first] + timedelta(days=CYCLE_DAYS):
                continue  # only runs inside a window can tell a payment
            hit = con.execute(
                "SELECT 1 FROM soldes a WHERE a.execution = ? AND EXISTS (SELECT 1 FROM "
                "soldes b WHERE b.cle_facture = a.cle_facture AND b.execution = ?) LIMIT 1",
                (first, other),
            ).fetchone()
            if hit:
                pairs.add((first, other))
    return frozenset(pairs)
