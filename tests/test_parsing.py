"""Cell parsing: French dates, amounts and flags as exports write them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance_xlsx.parsing import (
    clean_text,
    normalise,
    parse_amount,
    parse_consumer,
    parse_date,
    parse_flag,
    parse_level,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (datetime(2026, 3, 15, 0, 0), date(2026, 3, 15)),
        (date(2026, 3, 15), date(2026, 3, 15)),
        ("15/03/2026", date(2026, 3, 15)),
        ("15-03-26", date(2026, 3, 15)),
        ("15.03.2026", date(2026, 3, 15)),
        ("5/3/2026", date(2026, 3, 5)),
        ("2026-03-15", date(2026, 3, 15)),
        ("2026-03-15 00:00:00", date(2026, 3, 15)),
        ("15/03/2026 14:30", date(2026, 3, 15)),
        (46096, date(2026, 3, 15)),
        (46096.0, date(2026, 3, 15)),
        ("46096", date(2026, 3, 15)),
        ("15 mars 2026", date(2026, 3, 15)),
        ("1er août 2026", date(2026, 8, 1)),
        (" 15/03/2026\u00a0", date(2026, 3, 15)),
        ("01/01/99", date(1999, 1, 1)),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2026", "15/13/2026", "demain", "12", 3.5, "2026-02-30"])
def test_parse_date_rejects_with_french_reason(raw):
    with pytest.raises(ValueError, match="date illisible"):
        parse_date(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (1234.56, 1234.56),
        (12, 12.0),
        ("1 234,56 €", 1234.56),
        ("1\u00a0234,56\u00a0€", 1234.56),
        ("1\u202f234,56 €", 1234.56),
        ("1234,56", 1234.56),
        ("1234.56", 1234.56),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("1.234.567", 1234567.0),
        ("-45,00", -45.0),
        ("\u221245,00 €", -45.0),
        ("(45,00)", -45.0),
        ("45,00-", -45.0),
        ("45,00 EUR", 45.0),
        ("€ 45", 45.0),
        ("+12", 12.0),
        ("0", 0.0),
        ("-", 0.0),
        ("1.234", 1234.0),
        ("12.5", 12.5),
        (None, None),
        ("", None),
    ],
)
def test_parse_amount(raw, expected):
    assert parse_amount(raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["abc", "12,34,56", "1 2x3", "€", "N/A", True])
def test_parse_amount_rejects(raw):
    with pytest.raises(ValueError, match="montant illisible"):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["oui", "OUI", "x", "X", "1", "vrai", "Vrai", "true", 1,
                                 "Litige", "contestation prix"])  # fmt: skip
def test_flag_true(raw):
    assert parse_flag(raw) is True


@pytest.mark.parametrize("raw", ["non", "Non", "0", "", None, "faux", 0, "-", "pas de litige",
                                 "Aucun litige", "Non litigieux", "sans objet"])
def test_flag_false(raw):
    assert parse_flag(raw) is False


def test_consumer_and_levels():
    assert parse_consumer("Particulier")
    assert parse_consumer("B2C")
    assert not parse_consumer("Professionnel")
    assert [parse_level(x) for x in (None, 0, 1, "2", "Relance 2", "2e relance", "R1",
                                     "Mise en demeure", "MED", "première relance", 7)] == [
        0, 0, 1, 2, 2, 2, 1, 3, 3, 1, 3
    ]  # fmt: skip
    assert parse_level("x") == 1 and parse_level("Relancé par tél.") == 1
    assert parse_level("non") == 0
    with pytest.raises(ValueError, match="niveau de relance illisible"):
        parse_level(-1)


def test_normalise_headers():
    assert normalise("Date d'éch.") == "date d ech"
    assert normalise("N° pièce") == "n piece"
    assert normalise("  Reste à PAYER ") == "reste a payer"
    assert clean_text(8000.0) == "8000"


# --- properties ---------------------------------------------------------------------------

days = st.dates(min_value=date(1960, 1, 1), max_value=date(2099, 12, 31))


@given(days)
def test_date_formats_round_trip(d):
    assert parse_date(d.strftime("%d/%m/%Y")) == d
    assert parse_date(d.strftime("%d-%m-%Y")) == d
    assert parse_date(d.isoformat()) == d
    assert parse_date(datetime(d.year, d.month, d.day)) == d
    serial = (d - date(1899, 12, 30)).days
    assert parse_date(serial) == d
    if 1970 <= d.year <= 2069:
        assert parse_date(d.strftime("%d-%m-%y")) == d


cents = st.integers(min_value=-10**11, max_value=10**11)
spaces = st.sampled_from([" ", "\u00a0", "\u202f", ""])


def french(amount_cents: int, sep: str, euro: bool) -> str:
    negative = amount_cents < 0
    whole, part = divmod(abs(amount_cents), 100)
    digits = f"{whole:,}".replace(",", sep)
    text = f"{'-' if negative else ''}{digits},{part:02d}"
    return text + (f"{sep or ' '}€" if euro else "")


@given(cents, spaces, st.booleans())
def test_french_amounts_round_trip(amount_cents, sep, euro):
    text = french(amount_cents, sep, euro)
    assert round(parse_amount(text) * 100) == amount_cents


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_numbers_pass_through(x):
    assert parse_amount(x) == x


@given(st.text(max_size=30))
def test_parsers_never_crash_on_text(text):
    for parser in (parse_date, parse_amount):
        try:
            parser(text)
        except ValueError as exc:
            assert "illisible" in str(exc)


@given(days, st.integers(min_value=0, max_value=3000))
def test_serials_and_dates_agree(d, offset):
    later = d + timedelta(days=offset)
    if later.year < 2100:
        assert parse_date((later - date(1899, 12, 30)).days) == later
