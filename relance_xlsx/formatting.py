"""French print formats for letters, statuses and summaries (num2words for words).

Amounts use a non-breaking space (U+00A0) as thousands separator and before "€", so a
printed amount is never split across two lines: "1 234,56 €".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from num2words import num2words

NBSP = "\u00a0"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")  # fmt: skip
CENT = Decimal("0.01")


def to_decimal(value: float | int | str | Decimal | None) -> Decimal:
    """Money as Decimal rounded half-up to the cent (floats go through ``repr``). A Decimal
    already in cents is returned as it is: the same object, not one more per line."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, float):
        if value != value:  # NaN
            return Decimal("0.00")
        value = repr(value)
    elif isinstance(value, Decimal) and value.as_tuple().exponent == -2:
        return value
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(value: Decimal | float, decimals: int = 2) -> str:
    """``1234.5`` -> ``"1 234,50"`` (French separators, non-breaking, rounded half-up).

    Plain string formatting rather than babel: letters format thousands of amounts and
    babel parses its pattern on every call.
    """
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)  # no "-0,00"
    text = f"{number:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def format_eur(value: Decimal | float | int | None) -> str:
    """``Decimal("1234.56")`` -> ``"1 234,56 €"``; ``None`` -> ``""``."""
    if value is None:
        return ""
    number = to_decimal(value)  # already to the cent: format_number's steps, once
    if number == 0:
        number = abs(number)  # no "-0,00"
    return f"{number:,.2f}".replace(",", NBSP).replace(".", ",") + NBSP + "€"


def format_rate(value: Decimal | float) -> str:
    """``12.15`` -> ``"12,15 %"`` (French keeps a space before %)."""
    return format_number(Decimal(str(value))) + NBSP + "%"


def as_date(value: date | datetime | None) -> date | None:
    if value is None or value != value:  # None, NaT
        return None
    if isinstance(value, datetime):
        return value.date()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        if value != value:  # NaT
            return None
        return value.to_pydatetime().date()
    return value


def dates_of(values: object) -> list[date | None]:
    """A datetime column as Python dates (None for NaT), in one numpy pass: iterating
    pandas Timestamps one by one costs seconds on a 20,000-row export."""
    import numpy as np

    return np.asarray(values, dtype="datetime64[D]").astype(object).tolist()


def format_date_short(value: date | datetime | None) -> str:
    """``date(2026, 11, 27)`` -> ``"27/11/2026"``, as in the status column."""
    d = value if type(value) is date else as_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year}" if d else ""  # strftime: 10 times slower


def format_date_long(value: date | datetime | None) -> str:
    """``date(2026, 11, 1)`` -> ``"1er novembre 2026"``, as printed in a letter."""
    d = value if type(value) is date else as_date(value)
    if d is None:
        return ""
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MONTHS[d.month - 1]} {d.year}"


@lru_cache(maxsize=4096)
def _words(number: int) -> str:
    return num2words(number, lang="fr")


def number_in_words(number: int) -> str:
    """``num2words(number, lang="fr")``, by its thousands and its units below a million:
    each letter says a different amount, and num2words costs ~0.3 ms for a whole one;
    its two halves, taken from a cache, cost nothing (a test compares with num2words)."""
    if not 1000 <= number < 1_000_000:
        return _words(number)
    thousands, units = divmod(number, 1000)
    head = _words(thousands * 1000)  # "quatre-vingt mille": the form before "mille"
    return f"{head} {_words(units)}" if units else head


def amount_in_words(value: Decimal | float) -> str:
    """``1234.56`` -> ``"mille deux cent trente-quatre euros et cinquante-six centimes"``.

    Below one euro only the cents are said (``0.50`` -> ``"cinquante centimes"``), as a
    cheque or a letter would write it; zero is ``"zéro euro"``.
    """
    amount = to_decimal(value)
    negative = amount < 0
    amount = abs(amount)
    euros = int(amount)
    cents = int((amount - euros) * 100)
    words = number_in_words(euros)
    # "un million d'euros", "deux millions d'euros": French puts "de" after a bare million.
    if euros and euros % 1_000_000 == 0:
        euro_part = f"{words} d'euros"
    else:
        euro_part = f"{words} euro" + ("s" if euros > 1 else "")
    cent_part = f"{_words(cents)} centime" + ("s" if cents > 1 else "")
    if not cents:
        text = euro_part
    elif not euros:  # "cinquante centimes", not "zéro euro et cinquante centimes"
        text = cent_part
    else:
        text = f"{euro_part} et {cent_part}"
    return ("moins " if negative else "") + text
