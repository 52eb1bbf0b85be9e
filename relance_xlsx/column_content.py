"""What a column holds, read from its cells: the second opinion on a header.

Exports title their columns plainly ("Num", "Name", "Open") or in house words ("Pièce",
"Tiers", "Libellé"); the header alone then names too little. A column's cells say what it
is: unique codes like "FA2026-0142" are invoice numbers, the column of dates later than
the invoice dates is the due date, the amount that is "TTC minus paid" on most rows is the
balance, names repeated on several rows are clients. Only a sample of rows is read (the
first ``SAMPLE_ROWS`` rows that hold something), so a 20,000-row export costs no more than
a small one.

Pure functions over the sheet's rows: ``profile_columns`` describes each column, the
``*_share`` helpers and ``later`` compare them; columns.py decides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .parsing import clean_text, is_blank, normalise, parse_amount, parse_date

SAMPLE_ROWS = 200
MAX_COLUMNS = 200  # a stray far cell does not make us profile 16,384 columns

_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s./()-]{8,22}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/_.#]{2,24}$")
_DIGITS = re.compile(r"\d")
_DATE_START = re.compile(r"\s*\d{1,4}(?:[/.\-]\d|(?:er)?\s+\w)")  # "15/03", "1er mars"
_LETTERS = re.compile(r"[^\W\d_]")
_INVOICE_PREFIX = re.compile(r"^(fa|fac|fact|f|inv|in|fc|ft|v[te]|re|rg)[-/_.#]?\d", re.IGNORECASE)
_STREET = re.compile(
    r"\b(rue|avenue|av|bd|boulevard|chemin|ch|place|pl|allee|impasse|imp|route|rte|quai|"
    r"cours|faubourg|square|lieu dit|zi|za|zac|bp|cs|street|st|road|rd|lane|strasse|str|"
    r"weg|platz|via|calle)\b"
)
_LEGAL_FORMS = frozenset(
    "sarl sas sasu sa eurl sci snc scp selarl earl gaec scop sem gie ei eirl "
    "gmbh ag kg ug ltd llc inc corp plc bv nv srl spa sl sprl bvba "
    "societe ste ets etablissements groupe group association asso mairie commune cabinet "
    "hotel restaurant garage boulangerie pharmacie company co".split()
)
_CIVILITY = frozenset("m mr mme mlle madame monsieur mrs ms miss dr me".split())
COUNTRIES = frozenset(
    normalise(c) for c in (
        "France", "Allemagne", "Belgique", "Suisse", "Luxembourg", "Italie", "Espagne",
        "Portugal", "Pays-Bas", "Royaume-Uni", "Irlande", "Autriche", "Pologne", "Monaco",
        "Canada", "États-Unis", "Maroc", "Tunisie", "Algérie", "Sénégal", "Germany",
        "Deutschland", "Belgium", "Switzerland", "Italy", "Spain", "Netherlands",
        "United Kingdom", "UK", "Ireland", "Austria", "Poland", "USA", "United States",
        "FR", "DE", "BE", "CH", "LU", "IT", "ES", "PT", "NL", "GB", "IE", "AT", "PL", "MC",
    )
)  # fmt: skip


@dataclass(frozen=True)
class ColumnProfile:
    """A column seen through its sampled cells (one entry per sampled row)."""

    index: int
    count: int  # non-blank cells
    filled_share: float  # non-blank cells / sampled rows
    distinct: int  # distinct values
    mean_length: float  # characters per non-blank cell
    dates: tuple[date | None, ...]  # real dates and date texts (not bare numbers)
    amounts: tuple[float | None, ...]  # numbers and amount texts (not dates)
    texts: tuple[str, ...]  # the cells as printed ("" when blank)
    date_share: float
    amount_share: float
    code_share: float  # invoice-number-like: digits, no spaces, short
    lettered_code_share: float  # the same with letters too ("FA2026-0142")
    invoice_prefix_share: float  # "F…", "FA…", "INV…" followed by digits
    integer_share: float  # whole numbers (numeric cells)
    email_share: float
    phone_share: float
    postcode_share: float
    word_share: float  # letters and no digit: names, cities
    street_share: float  # "12 rue des Lilas"
    country_share: float
    legal_share: float  # a legal form in the text: "SARL", "GmbH"
    civility_share: float  # "M.", "Mme", "Mr": a person
    short_token_share: float  # one word of at most 20 characters: a code
    unique_share: float  # distinct values / non-blank cells
    repeated_share: float  # cells whose value appears on another sampled row

    def share(self, kind: str) -> float:
        return float(getattr(self, f"{kind}_share"))


def sample_rows(rows: Sequence[Sequence[object]], header_row: int) -> list[Sequence[object]]:
    """The first rows below the header that hold at least two cells."""
    out: list[Sequence[object]] = []
    for row in rows[header_row + 1 :]:
        if sum(1 for v in row if not is_blank(v)) >= 2:
            out.append(row)
            if len(out) >= SAMPLE_ROWS:
                break
    return out


def _as_date(value: object) -> date | None:
    """A date cell or a date text; a bare number is an amount, not a date serial."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_START.match(value):
        return None
    text = value.strip()
    if text.replace(",", "").replace(".", "").isdigit():
        return None  # "45123" is a number, whatever parse_date makes of it
    try:
        return parse_date(text)
    except ValueError:
        return None


def _as_amount(value: object) -> float | None:
    if isinstance(value, bool) or isinstance(value, date):
        return None
    if isinstance(value, int | float):
        return None if value != value else float(value)
    if not isinstance(value, str) or not _DIGITS.search(value) or _LETTERS.search(
        value.replace("€", "").replace("EUR", "").replace("eur", "")
    ):
        return None
    try:
        return parse_amount(value)
    except ValueError:
        return None


def _is_phone(text: str) -> bool:
    if not _PHONE_CHARS.match(text):
        return False
    digits = sum(c.isdigit() for c in text)
    return 9 <= digits <= 15 and (text.startswith(("0", "+")) or " " in text or "." in text)


def _is_postcode(value: object, text: str) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value).is_integer() and 1000 <= value <= 99999
    return len(text) in (4, 5) and text.isdigit()


def _flags(value: object, text: str, norm: str, is_date: bool, is_amount: bool
           ) -> tuple[bool, ...]:
    """One cell's traits, in the order of ``_TRAITS``."""
    has_digit = bool(_DIGITS.search(text))
    has_letter = bool(_LETTERS.search(text))
    words = norm.split() if has_letter else []
    code = (
        isinstance(value, str) and has_digit and not is_date
        and not (is_amount and not text.isdigit()) and bool(_CODE.match(text))
        and len(_DIGITS.findall(text)) >= 2
    )  # fmt: skip
    return (
        code,
        code and has_letter,
        code and bool(_INVOICE_PREFIX.match(text)),
        isinstance(value, int | float) and not isinstance(value, bool)
        and float(value).is_integer(),
        "@" in text and bool(_EMAIL.match(text)),
        isinstance(value, str) and has_digit and _is_phone(text),
        _is_postcode(value, text),
        has_letter and not has_digit and "@" not in text,
        has_digit and has_letter and bool(_STREET.search(norm)),
        norm in COUNTRIES,
        any(w in _LEGAL_FORMS for w in words),
        len(words) > 1 and words[0] in _CIVILITY,
        " " not in text and len(text) <= 20 and (has_letter or text.isdigit()),
    )  # fmt: skip


_TRAITS = ("code", "lettered_code", "invoice_prefix", "integer", "email", "phone", "postcode",
           "word", "street", "country", "legal", "civility", "short_token")  # fmt: skip


def profile_column(rows: Sequence[Sequence[object]], index: int) -> ColumnProfile:
    """Describe column ``index`` over the sampled ``rows``: each distinct cell is looked at
    once (exports repeat names, codes and dates)."""
    cells = [row[index] if index < len(row) else None for row in rows]
    texts = tuple(clean_text(v) for v in cells)
    seen: dict[tuple[type, object], tuple[date | None, float | None, str, tuple[bool, ...]]] = {}
    dates: list[date | None] = []
    amounts: list[float | None] = []
    counts: Counter[str] = Counter()
    totals = [0] * len(_TRAITS)
    for value, text in zip(cells, texts, strict=True):
        if not text:
            dates.append(None)
            amounts.append(None)
            continue
        key = (type(value), value if isinstance(value, str | int | float | date) else text)
        known = seen.get(key)
        if known is None:
            d = _as_date(value)
            a = _as_amount(value) if d is None else None
            norm = normalise(text)
            known = seen[key] = (d, a, norm, _flags(value, text, norm, d is not None,
                                                    a is not None))
        d, a, norm, flags = known
        dates.append(d)
        amounts.append(a)
        counts[norm] += 1
        for k, flag in enumerate(flags):
            totals[k] += flag
    n = sum(counts.values())
    shares = {f"{t}_share": (totals[k] / n if n else 0.0) for k, t in enumerate(_TRAITS)}
    shares.pop("integer_share")
    return ColumnProfile(
        index=index,
        count=n,
        filled_share=n / len(rows) if rows else 0.0,
        distinct=len(counts),
        mean_length=sum(len(t) for t in texts) / n if n else 0.0,
        dates=tuple(dates),
        amounts=tuple(amounts),
        texts=texts,
        date_share=sum(d is not None for d in dates) / n if n else 0.0,
        amount_share=sum(a is not None for a in amounts) / n if n else 0.0,
        integer_share=totals[_TRAITS.index("integer")] / n if n else 0.0,
        unique_share=len(counts) / n if n else 0.0,
        repeated_share=sum(c for c in counts.values() if c > 1) / n if n else 0.0,
        **shares,
    )


class Profiles(Mapping[int, ColumnProfile]):
    """The profiles of a sheet's columns, each made when first asked for: the columns a
    header already names well are mostly never looked at. Empty columns are absent."""

    def __init__(self, rows: Sequence[Sequence[object]], header_row: int) -> None:
        self.sample = sample_rows(rows, header_row)
        self.width = min(max([len(rows[header_row]), *(len(r) for r in self.sample)]),
                         MAX_COLUMNS)  # fmt: skip
        self._made: dict[int, ColumnProfile | None] = {}

    def _profile(self, index: int) -> ColumnProfile | None:
        if index not in self._made:
            made = profile_column(self.sample, index) if 0 <= index < self.width else None
            self._made[index] = made if made is not None and made.count else None
        return self._made[index]

    def __getitem__(self, index: int) -> ColumnProfile:
        found = self._profile(index)
        if found is None:
            raise KeyError(index)
        return found

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self._profile(index) is not None

    def __iter__(self) -> Iterator[int]:
        return (i for i in range(self.width) if i in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def later(a: ColumnProfile, b: ColumnProfile) -> float:
    """Share of the rows with both dates where ``a``'s date is on or after ``b``'s, counting
    0 when ``a`` is never strictly after ``b`` (two copies of one date say nothing)."""
    pairs = [(x, y) for x, y in zip(a.dates, b.dates, strict=True) if x and y]
    if not pairs or not any(x > y for x, y in pairs):
        return 0.0
    return sum(x >= y for x, y in pairs) / len(pairs)


def strictly_before(a: ColumnProfile, b: ColumnProfile) -> tuple[int, int]:
    """(rows where ``a``'s date is before ``b``'s, rows with both dates)."""
    pairs = [(x, y) for x, y in zip(a.dates, b.dates, strict=True) if x and y]
    return sum(x < y for x, y in pairs), len(pairs)


def term_share(due: ColumnProfile, issued: ColumnProfile) -> float:
    """Share of rows where ``due`` comes 0 to 120 days after ``issued``: payment terms."""
    pairs = [(x, y) for x, y in zip(due.dates, issued.dates, strict=True) if x and y]
    if not pairs:
        return 0.0
    return sum(0 <= (x - y).days <= 120 for x, y in pairs) / len(pairs)


def difference_share(total: ColumnProfile, paid: ColumnProfile | None,
                     rest: ColumnProfile) -> float:
    """Share of the rows with a total where ``rest`` = ``total`` − ``paid`` (to the cent).
    Without a paid column, rows where the rest equals the total."""
    hits = n = 0
    for i, t in enumerate(total.amounts):
        if t is None:
            continue
        p = (paid.amounts[i] if paid is not None else None) or 0.0
        r = rest.amounts[i]
        n += 1
        hits += r is not None and abs(t - p - r) < 0.011
    return hits / n if n else 0.0


def running_share(total: ColumnProfile, paid: ColumnProfile, rest: ColumnProfile) -> float:
    """Share of the telling rows where ``rest`` = the row above's ``rest`` + ``total`` −
    ``paid``: a running balance (a ledger's « Solde » column), not each line's amount due.
    Rows where the rest is also the line's own difference tell nothing (an account's first
    line) and are not counted; a line with no amount carries its balance down."""
    hits = n = 0
    above: float | None = None
    for t, q, r in zip(total.amounts, paid.amounts, rest.amounts, strict=True):
        if r is None:
            continue
        if t is None and q is None:
            above = r  # « report à nouveau », a subtotal: the balance so far
            continue
        own = (t or 0.0) - (q or 0.0)
        if above is not None and abs(own - r) >= 0.011:
            n += 1
            hits += abs(above + own - r) < 0.011
        above = r
    return hits / n if n >= 3 else 0.0


def sum_share(total: ColumnProfile, parts: Sequence[ColumnProfile]) -> float:
    """Share of the rows with a total where it is the sum of ``parts`` (an aged balance's
    total beside its buckets)."""
    hits = n = 0
    for i, t in enumerate(total.amounts):
        if t is None:
            continue
        n += 1
        hits += abs(t - sum(p.amounts[i] or 0.0 for p in parts)) < 0.011
    return hits / n if n else 0.0


def determines(code: ColumnProfile, name: ColumnProfile) -> float:
    """Share of the rows where the code goes with its usual name: a client code names one
    client (a journal code or a matching letter goes with many)."""
    by_code: dict[str, Counter[str]] = {}
    for c, t in zip(code.texts, name.texts, strict=True):
        if c and t:
            by_code.setdefault(c, Counter())[normalise(t)] += 1
    rows = sum(sum(names.values()) for names in by_code.values())
    usual = sum(names.most_common(1)[0][1] for names in by_code.values())
    return usual / rows if rows else 0.0


def zero_share(profile: ColumnProfile) -> float:
    """Share of sampled rows where the amount is blank or zero."""
    values = profile.amounts
    return sum(1 for a in values if not a) / len(values) if values else 0.0


def sequential_integers(profile: ColumnProfile) -> bool:
    """Whole numbers close to one another, each once: a numbering (invoice numbers)."""
    values = [a for a in profile.amounts if a is not None]
    if len(values) < 3 or profile.integer_share < 0.95 or profile.unique_share < 0.95:
        return False
    widths = {len(str(int(v))) for v in values}
    if min(values) < 1 or len(widths) > 1:
        return False  # amounts vary in width; invoice numbers keep theirs
    return widths.pop() >= 5 or max(values) - min(values) <= 3 * len(values)
