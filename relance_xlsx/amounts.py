"""Late-payment amounts claimed by a letter: interest, the 40 € indemnity, totals, deadline.

Rules (DESIGN.md, "Late-payment amounts"; Code de commerce L441-10 and D441-5):

* Interest is simple interest, counted day by day over (due date, letter date]: the day after
  the due date is the first day late, the letter date is the last one counted.
* Rate: ``Montants.taux_penalites`` when set (the seller's terms of sale, one rate for all
  days); otherwise the ECB main refinancing rate + 10 points, the ECB rate being the one in
  force on 1 January (for January–June) or on 1 July (for July–December). A period across
  30 June or 31 December is therefore split into half-year segments.
* Each segment earns ``reste_du × rate × days / 365``. The divisor is 365 even in leap
  years, as the statutory formula is commonly applied (and as most accounting software
  does): a leap year gives one more day of interest, never a lower daily rate.
* Rounding: the exact segment values of an invoice are summed and rounded once, half-up, to
  the cent. Letter totals are sums of the rounded lines, so the printed table adds up.
* Indemnity (D441-5): ``indemnite_forfaitaire`` per late invoice with a positive remaining
  amount; not subject to VAT and not part of the interest base. Credit notes earn neither
  interest nor indemnity; they only reduce the total due.
* Consumers (B2C): L441-10 and D441-5 do not apply, so there is never an indemnity nor a
  commercial penalty rate. Under Code civil art. 1231-6 interest at the legal rate runs only
  from the formal notice (mise en demeure), so on the date of the notice itself there is
  nothing to claim yet. Consumer letters therefore show no penalty amounts at any tier
  (``afficher_penalites`` is False, total claimed = total due) and carry a sentence instead
  (``mention_consommateur``): at the mise en demeure, that interest at the legal rate runs
  from the notice; at relance 2, that it will once a notice is sent; empty at relance 1.
* Which tiers show amounts is ``Montants.afficher_penalites``; lines are computed anyway.
* Only invoices late by at least ``penalites_apres`` business days (default: the relance 1
  delay) carry interest and the indemnity: an invoice a few days late is listed, not charged.
* Mise en demeure deadline: counted from the presumed receipt of the letter (``[delais]
  reception_courrier`` business days after its date), + ``delai_mise_en_demeure`` calendar
  days, moved to the next business day (Monday–Friday, not a French public holiday).

This module never prints: missing ECB half-years are returned as French warnings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

from .business_days import days_late, is_business_day
from .config import Settings
from .errors import SettingsError
from .formatting import (
    amount_in_words,
    format_date_long,
    format_eur,
    format_rate,
    to_decimal,
)
from .model import LetterLine, PlannedLetter
from .parsing import is_consumer_client
from .tiers import LAST_LETTER_LEVEL, tier

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_PER_YEAR = Decimal(365)  # also in leap years: see the module docstring
ECB_MARGIN = Decimal(10)  # L441-10: ECB rate + 10 points
RATE_FILE = "taux_bce.csv"

REFERENCE_INTERETS = "article L441-10 du Code de commerce"
REFERENCE_INTERETS_INDEMNITE = "articles L441-10 et D441-5 du Code de commerce"
REFERENCE_CONSOMMATEUR = "article 1231-6 du Code civil"

BusinessDay = Callable[[date], bool]


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSegment:
    """Days of one invoice's late period at one rate: applied to the days in (start, end]."""

    start: date
    end: date
    days: int
    rate: Decimal  # penalty rate in % per year (ECB + 10 points, or the fixed rate)


@dataclass(frozen=True)
class LineAmounts:
    """What one letter line earns at the letter date (zero for credit notes)."""

    jours_retard: int
    interets: Decimal
    indemnite: Decimal
    segments: tuple[RateSegment, ...]


@dataclass(frozen=True)
class LetterAmounts:
    """The amounts of one letter; ``lines`` is aligned with ``letter.lignes``."""

    lines: tuple[LineAmounts, ...]
    total_du: Decimal  # sum of reste_du (credit notes deducted)
    total_interets: Decimal
    total_indemnites: Decimal
    total_reclame: Decimal  # total_du + interest + indemnities when shown, else total_du
    afficher_penalites: bool
    taux_description: str
    reference_legale: str
    date_limite: date | None
    warnings: tuple[str, ...]
    mention_consommateur: str
    # extras for the template context
    taux_penalites: Decimal | None = None  # rate in force at the letter date (None: consumer)
    indemnite_unitaire: Decimal = ZERO  # per invoice; 0 for consumers
    delai_jours: int = 8
    particulier: bool = False


# --- ECB rate table ------------------------------------------------------------------------


def half_year_start(day: date) -> date:
    """1 January or 1 July: the date whose ECB rate applies to ``day``."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(start: date) -> date:
    return date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)


def half_year_label(start: date) -> str:
    """``2026-07-01`` -> ``"2e semestre 2026"``."""
    return f"{'1er' if start.month == 1 else '2e'} semestre {start.year}"


@dataclass(frozen=True)
class RateTable:
    """ECB main refinancing rates (in %) by half-year start (1 January / 1 July)."""

    rates: Mapping[date, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    # what was worked out from this table (segments of a due date, updated copies): every
    # letter of a run asks the same questions of one table
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def rate_for(self, day: date) -> tuple[Decimal, str | None]:
        """ECB rate in force on ``day``, and a French warning when its half-year is missing."""
        start = half_year_start(day)
        if start in self.rates:
            return self.rates[start], None
        if not self.rates:
            raise SettingsError(
                "La table des taux BCE est vide : ajoutez au moins un taux dans la section "
                '[taux_bce] de relance.toml, ex. : "2026-01-01" = 2.15'
            )
        earlier = [d for d in self.rates if d < start]
        known = max(earlier) if earlier else min(self.rates)
        which = "dernier" if earlier else "premier"
        rate = self.rates[known]
        warning = (
            f"Taux BCE du {half_year_label(start)} inconnu : le {which} taux connu "
            f"({format_rate(rate)} au {format_date_long(known)}) a été utilisé. "
            f'Ajoutez-le dans [taux_bce] de relance.toml : "{start.isoformat()}" = …'
        )
        return rate, warning

    def penalty_rate_for(self, day: date) -> tuple[Decimal, str | None]:
        """ECB rate + 10 points for ``day`` (L441-10 default rate), with its warning."""
        rate, warning = self.rate_for(day)
        return rate + ECB_MARGIN, warning

    def updated(self, extra: Mapping[str, Any] | None) -> RateTable:
        """A copy completed/overridden by ``extra`` ("AAAA-01-01"/"AAAA-07-01" -> rate)."""
        if not extra:
            return self
        key = ("updated", tuple(sorted((str(k), str(v)) for k, v in extra.items())))
        if key not in self.memo:
            self.memo[key] = self._updated(extra)
        return self.memo[key]

    def _updated(self, extra: Mapping[str, Any]) -> RateTable:
        rates = dict(self.rates)
        for key, value in extra.items():
            where = f'[taux_bce] "{key}"'
            rates[_parse_half_year(str(key), where)] = _parse_rate(value, where)
        return RateTable(MappingProxyType(dict(sorted(rates.items()))))


_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _parse_half_year(text: str, where: str) -> date:
    text = text.strip().strip('"')
    m = _ISO.match(text)
    m_fr = _FR.match(text)
    try:
        if m:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif m_fr:
            d = date(int(m_fr.group(3)), int(m_fr.group(2)), int(m_fr.group(1)))
        else:
            raise ValueError
    except ValueError:
        d = None
    if d is None or d.day != 1 or d.month not in (1, 7):
        raise SettingsError(
            f"Taux BCE, {where} : « {text} » n'est pas un début de semestre ; "
            "écrivez AAAA-01-01 ou AAAA-07-01 (ex. : 2026-07-01)."
        )
    return d


def _parse_rate(value: Any, where: str) -> Decimal:
    text = repr(value) if isinstance(value, float) else str(value)
    text = text.replace("%", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not Decimal(-5) <= rate <= Decimal(100):
        raise SettingsError(f"Taux BCE, {where} : « {value} » n'est pas un taux en % (ex. : 2.15).")
    return rate


def parse_rate_csv(text: str, source: str = RATE_FILE) -> dict[date, Decimal]:
    """Rows ``date_debut;taux``; ``#`` lines, blank lines and the header are skipped."""
    rates: dict[date, Decimal] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        for sep in (";", "\t", ","):
            if sep in line:
                first, _, rest = line.partition(sep)
                break
        else:
            first, rest = line, ""
        if first.strip().lower().startswith("date"):  # header row
            continue
        where = f"{source}, ligne {no}"
        rates[_parse_half_year(first, where)] = _parse_rate(rest.strip().rstrip(";"), where)
    return rates


@functools.lru_cache(maxsize=1)
def _shipped_table() -> RateTable:
    text = resources.files("relance_xlsx.data").joinpath(RATE_FILE).read_text("utf-8-sig")
    return RateTable(MappingProxyType(dict(sorted(parse_rate_csv(text).items()))))


def load_rate_table(extra: Mapping[str, Any] | None = None) -> RateTable:
    """The shipped ECB table (``data/taux_bce.csv``) completed by ``Settings.taux_bce``."""
    return _shipped_table().updated(extra)


# --- interest ------------------------------------------------------------------------------


def _unique(items: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for x in items if x))


def interest_segments(
    due: date,
    as_of: date,
    table: RateTable | None,
    fixed_rate: Decimal | None,
) -> tuple[tuple[RateSegment, ...], tuple[str, ...]]:
    """Late days (due, as_of] by rate: one segment at a fixed rate, else one per half-year."""
    if as_of <= due:
        return (), ()
    if fixed_rate is not None:
        return (RateSegment(due, as_of, (as_of - due).days, Decimal(fixed_rate)),), ()
    if table is None:
        table = load_rate_table()
    key = ("segments", due, as_of)
    if key not in table.memo:
        table.memo[key] = _half_year_segments(due, as_of, table)
    return table.memo[key]


def _half_year_segments(
    due: date, as_of: date, table: RateTable
) -> tuple[tuple[RateSegment, ...], tuple[str, ...]]:
    segments: list[RateSegment] = []
    warnings: list[str | None] = []
    start = due
    while start < as_of:
        first_day = start + timedelta(days=1)
        end = min(as_of, _next_half_year(half_year_start(first_day)) - timedelta(days=1))
        rate, warning = table.penalty_rate_for(first_day)
        warnings.append(warning)
        segments.append(RateSegment(start, end, (end - start).days, rate))
        start = end
    return tuple(segments), _unique(warnings)


def segment_interest(amount: Decimal, segment: RateSegment) -> Decimal:
    """Exact (unrounded) interest of ``amount`` over one segment."""
    return amount * segment.rate * segment.days / (100 * DAYS_PER_YEAR)


def line_amounts(
    line: LetterLine,
    as_of: date,
    *,
    table: RateTable | None,
    fixed_rate: Decimal | None,
    indemnite: Decimal,
    particulier: bool,
    late_enough: Callable[[date], bool] | None = None,
) -> tuple[LineAmounts, tuple[str, ...]]:
    """Days late, interest (rounded once per invoice) and indemnity of one line at ``as_of``;
    nothing charged when ``late_enough(due date)`` says the invoice is only a few days late."""
    reste = to_decimal(line.reste_du)
    credit = line.avoir or reste < 0
    due = line.date_echeance
    days = 0 if credit or due is None else int(days_late(due, as_of))
    if days == 0 or reste <= 0 or particulier or (late_enough and not late_enough(due)):
        return LineAmounts(days, ZERO, ZERO, ()), ()
    segments, warnings = interest_segments(due, as_of, table, fixed_rate)
    exact = sum((segment_interest(reste, s) for s in segments), Decimal(0))
    interets = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return LineAmounts(days, interets, to_decimal(indemnite), segments), warnings


# --- letter --------------------------------------------------------------------------------


def default_business_day(subdivision: str = "") -> BusinessDay:
    """Monday–Friday and not a French public holiday (of ``subdivision`` when given): the
    rule of business_days.py, as a callable."""
    return functools.partial(is_business_day, subdivision=subdivision)


def deadline(start: date, days: int, is_business_day: BusinessDay) -> date:
    """``start`` + ``days`` calendar days, moved forward to the next business day."""
    day = start + timedelta(days=days)
    for _ in range(60):  # guard against a callable that never says yes
        if is_business_day(day):
            return day
        day += timedelta(days=1)
    raise ValueError(f"aucun jour ouvré trouvé après le {day.isoformat()}")


def business_days_after(start: date, count: int, is_business_day: BusinessDay) -> date:
    """The ``count``-th business day d with start < d (``start`` itself for 0)."""
    day = start
    for _ in range(count):
        day += timedelta(days=1)
        for _ in range(60):
            if is_business_day(day):
                break
            day += timedelta(days=1)
    return day


def notice_deadline(letter_date: date, reception: int, days: int,
                    is_business_day: BusinessDay) -> date:
    """Deadline of a formal notice: presumed receipt (``reception`` business days after the
    letter), + ``days`` calendar days, moved to the next business day."""
    received = business_days_after(letter_date, reception, is_business_day)
    return deadline(received, days, is_business_day)


def _late_by(as_of: date, minimum: int, is_business_day: BusinessDay) -> Callable[[date], bool]:
    """Whether a due date is at least ``minimum`` business days before ``as_of``."""
    if minimum <= 0:
        return lambda due: True
    cutoff = _latest_due_late_enough(as_of, minimum, is_business_day)
    return lambda due: due <= cutoff


@functools.lru_cache(maxsize=64)  # one per run date and calendar: letters share it
def _latest_due_late_enough(as_of: date, minimum: int, is_business_day: BusinessDay) -> date:
    # walk back to the ``minimum``-th business day up to ``as_of``: due dates before it are
    # late by at least ``minimum`` business days (counted as in business_days.py)
    day, found = as_of, 0
    while found < minimum:
        if is_business_day(day):
            found += 1
        day -= timedelta(days=1)
        if as_of - day > timedelta(days=60 + 2 * minimum):
            break
    return day


def is_consumer(letter: PlannedLetter, settings: Settings) -> bool:
    """B2C rules: flagged on the letter, or its client listed in ``[clients] particuliers``."""
    return letter.particulier or is_consumer_client(
        letter.code_client, letter.client, settings.clients_particuliers
    )


@dataclass(frozen=True)
class _RateTerms:
    """How a letter words its interest: the rate, its basis and the law it cites."""

    rate: Decimal | None
    description: str
    reference: str
    mention: str = ""
    warning: str | None = None


def _rate_terms(letter: PlannedLetter, particulier: bool, fixed: Decimal | None,
                table: RateTable | None, indemnite: Decimal) -> _RateTerms:  # fmt: skip
    if particulier:
        return _RateTerms(None, "taux de l'intérêt légal, à compter de la mise en demeure",
                          REFERENCE_CONSOMMATEUR, tier(letter.niveau).consumer_mention)
    reference = REFERENCE_INTERETS_INDEMNITE if indemnite > 0 else REFERENCE_INTERETS
    if fixed is not None:
        return _RateTerms(fixed, f"taux de {format_rate(fixed)} prévu par nos conditions "
                          "générales de vente", reference)  # fmt: skip
    assert table is not None
    rate, warning = table.penalty_rate_for(letter.date)
    description = ("taux de refinancement de la BCE majoré de 10 points "
                   f"({format_rate(rate)} au {half_year_label(half_year_start(letter.date))})")
    return _RateTerms(rate, description, reference, warning=warning)


def letter_amounts(
    letter: PlannedLetter,
    settings: Settings,
    table: RateTable | None = None,
    is_business_day: BusinessDay | None = None,
) -> LetterAmounts:
    """Per-line and total amounts of one letter as of its date, per the settings.

    ``table`` may be passed to load the ECB table once per run; ``settings.taux_bce`` is
    applied to it in any case.
    """
    montants = settings.montants
    particulier = is_consumer(letter, settings)
    fixed = None if montants.taux_penalites is None else Decimal(repr(montants.taux_penalites))
    if fixed is None and not particulier:
        table = (table or load_rate_table()).updated(settings.taux_bce)
    indemnite = ZERO if particulier else to_decimal(montants.indemnite_forfaitaire)
    check = is_business_day or default_business_day(settings.subdivision)
    threshold = montants.penalites_apres
    late_enough = _late_by(letter.date, settings.delais.relance_1 if threshold is None
                           else threshold, check)  # fmt: skip

    priced = [line_amounts(line, letter.date, table=table, fixed_rate=fixed, indemnite=indemnite,
                           particulier=particulier, late_enough=late_enough)
              for line in letter.lignes]  # fmt: skip
    lines: list[LineAmounts] = [amounts for amounts, _ in priced]
    warnings: list[str | None] = [w for _, line_warnings in priced for w in line_warnings]

    total_du = sum((to_decimal(x.reste_du) for x in letter.lignes), ZERO)
    total_interets = sum((x.interets for x in lines), ZERO)
    total_indemnites = sum((x.indemnite for x in lines), ZERO)
    shown = not particulier and tier(letter.niveau).key in montants.afficher_penalites
    total_reclame = total_du + total_interets + total_indemnites if shown else total_du

    terms = _rate_terms(letter, particulier, fixed, table, indemnite)
    warnings.append(terms.warning)

    date_limite = None
    if letter.niveau == LAST_LETTER_LEVEL:
        date_limite = notice_deadline(letter.date, settings.delais.reception_courrier,
                                      montants.delai_mise_en_demeure, check)

    return LetterAmounts(
        lines=tuple(lines),
        total_du=total_du,
        total_interets=total_interets,
        total_indemnites=total_indemnites,
        total_reclame=total_reclame,
        afficher_penalites=shown,
        taux_description=terms.description,
        reference_legale=terms.reference,
        date_limite=date_limite,
        warnings=_unique(warnings),
        mention_consommateur=terms.mention,
        taux_penalites=terms.rate,
        indemnite_unitaire=indemnite,
        delai_jours=montants.delai_mise_en_demeure,
        particulier=particulier,
    )


def amounts_context(letter: PlannedLetter, amounts: LetterAmounts) -> dict[str, Any]:
    """French template variables for the amounts, formatted for print."""
    factures = []
    for line, la in zip(letter.lignes, amounts.lines, strict=True):
        credit = line.avoir or line.reste_du < 0
        factures.append(
            {
                "jours_retard": la.jours_retard,
                # nothing charged (not late enough, or a consumer): nothing printed
                "interets": "" if credit or amounts.particulier or not la.segments
                else format_eur(la.interets),
                "indemnite": format_eur(la.indemnite) if la.indemnite > 0 else "",
            }
        )
    rate = amounts.taux_penalites
    unit = amounts.indemnite_unitaire
    return {
        "total_du": format_eur(amounts.total_du),
        "total_interets": format_eur(amounts.total_interets),
        "total_indemnites": format_eur(amounts.total_indemnites),
        "total_reclame": format_eur(amounts.total_reclame),
        "total_reclame_lettres": amount_in_words(amounts.total_reclame),
        "afficher_penalites": amounts.afficher_penalites,
        "taux_penalites": "" if rate is None else format_rate(rate),
        "base_taux": amounts.taux_description,
        "reference_legale": amounts.reference_legale,
        "indemnite_unitaire": format_eur(unit) if unit > 0 else "",
        "date_limite": format_date_long(amounts.date_limite),
        "delai_jours": amounts.delai_jours,
        "mention_consommateur": amounts.mention_consommateur,
        "factures_montants": factures,
    }
