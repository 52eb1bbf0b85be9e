"""Is this export older than the one the last run read? (issue #11, stale exports)

Last week's export left in ``a_traiter/`` and saved again in Excel has a new fingerprint,
reads fine, and carries last week's balances: a client who has paid everything since gets
a relance 2 with penalties. Two pieces of evidence, both pure, both named in the message:

- **Invoices back from the dead**: invoices the last run saw paid (balance 0) or gone from
  its export, open again here with exactly the balance an earlier run saw. One such invoice
  is a rejected payment as often as a stale file: a warning. The export is refused when at
  least ``MIN_REOPENED`` come back and they are at least ``MIN_SHARE`` of the invoices the
  last run saw closed (a stale export brings back nearly all of them; a rejected batch of
  direct debits, a few among many).
- **The title rows' date** (« Édité le 16/11/2026 », « Balance âgée au … ») older than the
  date of the last run before today: refused on its own. Today's runs do not count here: an
  export edited on Friday, run on Monday and run again on Monday is no staler the second
  time.

"The last run" is the latest run that shares invoices with this export (another
establishment's export, run another day, is not compared with), same-date runs included:
re-running the same export the same day sees the same balances and passes, while last
week's export run after today's good one is refused. A first run (empty journal) has
nothing to compare with and is never refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from .formatting import format_date_short, format_eur
from .journal import PastRun
from .parsing import clean_text, is_blank, normalise, parse_date, strip_accents

MIN_REOPENED = 2  # one invoice back is a warning (a rejected payment), never a refusal
MIN_SHARE = 0.5  # of the invoices the last run saw closed (see the module's docstring)
LOOKBACK_DATES = 3  # the last run's date and two before it: where old balances are found
MAX_NAMED = 5  # invoices named in a message
CENT = 0.005


# --- the title rows' date --------------------------------------------------------------------


@dataclass(frozen=True)
class TitleDate:
    """The date a title row gives the export, and the row's text (quoted in the message)."""

    date: date
    text: str


# Words that date an export in its title rows, with what may follow them before the date.
_DATED = re.compile(
    r"\b(?:edite|edition|editee|exporte|export|extrait|extraction|imprime|impression|genere|"
    r"balance agee|balance|situation|arrete|etat|echeancier|date d edition|date d export)\b"
    r"(?:\s+(?:le|au|du|en date du|a la date du|clients?|des clients|comptes? clients?))*"
    r"\s*:?\s*$"
)
_DATE_TEXT = re.compile(
    r"(\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:er)?\s+[a-zéèûô]+\.?\s+\d{4})",
    re.IGNORECASE,
)


def _as_title_date(value: object) -> date | None:
    """A date cell (Excel date, or a date typed as text); numbers are not dates here."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            return None
    return None


def _dated(before: str) -> bool:
    """The text before a date names it as the export's date (« Édité le », « Situation au »)."""
    return bool(_DATED.search(normalise(strip_accents(before))))


def title_date(rows: Sequence[Sequence[object]]) -> TitleDate | None:
    """The latest date the title rows (above the header) give the export, if any.

    Only a date introduced by an editing word counts (« Période du 01/01 au 30/06 » does
    not): a wrong date here refuses a good export.
    """
    found: list[TitleDate] = []
    for row in rows:
        cells = [c for c in row if not is_blank(c)]
        line = " ".join(clean_text(c) for c in cells)
        for i, cell in enumerate(cells):
            if isinstance(cell, str):
                for m in _DATE_TEXT.finditer(cell):
                    day = _as_title_date(m.group(1))
                    before = cell[: m.start()] or (clean_text(cells[i - 1]) if i else "")
                    if day is not None and _dated(before):
                        found.append(TitleDate(day, line))
            elif i and isinstance(cells[i - 1], str) and _dated(cells[i - 1]):
                day = _as_title_date(cell)  # « Édité le » | 16/11/2026 in the next cell
                if day is not None:
                    found.append(TitleDate(day, line))
    return max(found, key=lambda t: t.date) if found else None


# --- the verdict -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reopened:
    """An invoice the last run saw closed, open again here with an earlier run's balance."""

    numero_facture: str
    client: str
    reste_du: float
    paid: bool  # the last run saw it with a balance of 0 (else: gone from its export)
    closed_on: date  # the last run's date
    seen_on: date  # the earlier run that saw this very balance


@dataclass(frozen=True)
class Verdict:
    """What the journal says of this export's age. ``reference`` is None when no run shares
    invoices with it (a first run, another establishment's export)."""

    reference: date | None = None  # the last run's date
    reopened: tuple[Reopened, ...] = ()
    closed: int = 0  # invoices the last run saw closed that were open before (with reopened)
    title: TitleDate | None = None
    before_today: date | None = None  # the last run's date before the run date

    @property
    def title_older(self) -> bool:
        return (self.before_today is not None and self.title is not None
                and self.title.date < self.before_today)  # fmt: skip

    @property
    def balances_older(self) -> bool:
        n = len(self.reopened)
        return n >= MIN_REOPENED and n >= MIN_SHARE * self.closed

    @property
    def stale(self) -> bool:
        """Refused (unless forced)."""
        return self.title_older or self.balances_older

    @property
    def doubtful(self) -> bool:
        """Not refused, but an invoice came back: said in the summary."""
        return bool(self.reopened) and not self.stale


def check(invoices: pd.DataFrame, title: TitleDate | None, past: Sequence[PastRun],
          run_date: date) -> Verdict:  # fmt: skip
    """Compare the export's invoices (numero_facture, client, cle_facture, reste_du) and title
    date with the balances of the last runs up to ``run_date`` (``journal.recent_balances``)."""
    keys = invoices["cle_facture"]
    related = [p for p in past if not p.balances.keys().isdisjoint(keys)]
    if not related:
        return Verdict(title=title)
    last_day = max(p.date for p in related)
    before_today = max((p.date for p in related if p.date < run_date), default=None)
    last: dict[str, float] = {}
    for p in related:
        if p.date == last_day:
            last.update(p.balances)
    earlier = sorted((p for p in related if p.date < last_day), key=lambda p: (p.date, p.id))
    closed: set[str] = set()  # open at the run before the last one, closed at the last one
    if earlier:
        for p in earlier:
            if p.date == earlier[-1].date:
                closed.update(k for k, r in p.balances.items()
                              if r > CENT and last.get(k, 0.0) <= CENT)  # fmt: skip
    rows = invoices[(invoices["reste_du"] > CENT) & (invoices["numero_facture"].astype(str) != "")]
    reopened = []
    for key, rest, number, client in zip(rows["cle_facture"], rows["reste_du"],
                                         rows["numero_facture"], rows["client"], strict=True):
        if last.get(key, 0.0) > CENT:
            continue  # still open at the last run: nothing came back
        seen = next(((p.balances[key], p.date) for p in reversed(earlier)
                     if p.balances.get(key, 0.0) > CENT), None)  # fmt: skip
        if seen is not None and abs(seen[0] - float(rest)) <= CENT:
            reopened.append(Reopened(str(number), str(client), float(rest), key in last,
                                     last_day, seen[1]))  # fmt: skip
            closed.add(key)
    return Verdict(last_day, tuple(reopened), len(closed), title, before_today)


# --- the messages ------------------------------------------------------------------------------


def _reopened_line(r: Reopened) -> str:
    closed_on = format_date_short(r.closed_on)
    was = (f"soldée à l'exécution du {closed_on}" if r.paid
           else f"absente de l'export lu le {closed_on}")  # fmt: skip
    return (f"{r.numero_facture} ({r.client}) : {was}, de nouveau ouverte à "
            f"{format_eur(r.reste_du)} "
            f"comme dans l'export du {r.seen_on:%d/%m}")  # fmt: skip


def _named(reopened: Sequence[Reopened]) -> list[str]:
    lines = [f"    {_reopened_line(r)}" for r in reopened[:MAX_NAMED]]
    if len(reopened) > MAX_NAMED:
        lines.append(f"    et {len(reopened) - MAX_NAMED} autre(s)")
    return lines


def evidence(verdict: Verdict) -> list[str]:
    """The evidence, one item per line (with the invoices named under theirs)."""
    assert verdict.reference is not None
    last = format_date_short(verdict.reference)
    lines = []
    if verdict.balances_older:
        lines.append(
            f"  - {len(verdict.reopened)} facture(s) réglée(s) ou disparue(s) à la dernière "
            f"exécution (le {last}) y sont de nouveau ouvertes, avec leur ancien solde :"
        )
        lines += _named(verdict.reopened)
    if verdict.title_older:
        assert verdict.title is not None
        lines.append(
            f"  - il est daté du {format_date_short(verdict.title.date)} "
            f"(« {verdict.title.text} »), avant l'exécution du "
            f"{format_date_short(verdict.before_today)}."
        )
    return lines


def refusal(verdict: Verdict, export: str, path: str) -> str:
    """Why the export is refused, and the two ways out."""
    assert verdict.reference is not None
    return "\n".join([
        f"L'export « {export} » est plus ancien que celui de la dernière exécution (le "
        f"{format_date_short(verdict.reference)}) : ses soldes sont périmés, il n'a pas été "
        "traité.",
        *evidence(verdict),
        "Rien n'a été écrit. Refaites l'export depuis votre logiciel comptable et déposez-le "
        "à sa place (l'export d'une semaine passée resté dans « a_traiter » ?).",
        f"Si c'est bien l'export à traiter, relancez avec --forcer : "
        f"relance-xlsx run \"{path}\" --forcer",
    ])  # fmt: skip


def warnings(verdict: Verdict, forced: bool) -> list[str]:
    """The summary's lines: an invoice back (not refused), or a refusal overridden."""
    if verdict.stale and forced:
        return ["Export traité malgré son âge (--forcer) :\n" + "\n".join(evidence(verdict))]
    if verdict.doubtful:
        return [
            f"Facture vue réglée, de nouveau ouverte : {_reopened_line(r)}. Paiement rejeté ? "
            "Sinon, vérifiez que l'export est bien celui du jour." for r in verdict.reopened
        ]  # fmt: skip
    return []
