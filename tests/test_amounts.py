"""Late-payment amounts: every figure below was computed by hand (rate × days / 365)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from relance_xlsx.amounts import (
    LetterAmounts,
    LineAmounts,
    RateSegment,
    amounts_context,
    deadline,
    default_business_day,
    interest_segments,
    letter_amounts,
    line_amounts,
    load_rate_table,
    parse_rate_csv,
    segment_interest,
)
from relance_xlsx.config import Montants, Settings
from relance_xlsx.errors import SettingsError
from relance_xlsx.formatting import NBSP, amount_in_words
from relance_xlsx.model import LetterLine, PlannedLetter

D = Decimal


def line(
    reste: str,
    due: date,
    *,
    numero: str = "F1",
    ttc: str | None = None,
    regle: str | None = None,
    avoir: bool = False,
) -> LetterLine:
    return LetterLine(
        numero=numero,
        date_facture=due - timedelta(days=30),
        date_echeance=due,
        montant_ttc=D(ttc if ttc is not None else reste),
        montant_regle=D(regle) if regle is not None else None,
        reste_du=D(reste),
        jours_retard=0,
        avoir=avoir,
        ligne=2,
    )


def letter(
    lignes: tuple[LetterLine, ...] | list[LetterLine],
    day: date,
    niveau: int = 3,
    particulier: bool = False,
) -> PlannedLetter:
    return PlannedLetter(
        cle_client="C001",
        client="Dupont SARL",
        code_client="C001",
        niveau=niveau,
        date=day,
        lignes=tuple(lignes),
        particulier=particulier,
    )


def with_montants(**kwargs) -> Settings:
    return Settings(montants=Montants(**kwargs))


def always_open(_: date) -> bool:
    return True


# --- the reference case --------------------------------------------------------------------


def reference_amounts(niveau: int = 3) -> tuple[PlannedLetter, LetterAmounts]:
    lt = letter([line("10000.00", date(2025, 6, 10))], date(2025, 9, 1), niveau=niveau)
    return lt, letter_amounts(lt, Settings())


def test_reference_case_split_over_30_june():
    # 11/06–30/06/2025: 20 days at 3,15 + 10 = 13,15 %: 10000 × 13,15 × 20 / 36500 = 72,0548
    # 01/07–01/09/2025: 63 days at 2,15 + 10 = 12,15 %: 10000 × 12,15 × 63 / 36500 = 209,7123
    # total 281,7671 -> 281,77 €; + 40,00 € -> 10 321,77 € claimed
    _, am = reference_amounts()
    (la,) = am.lines
    assert la.jours_retard == 83
    assert la.segments == (
        RateSegment(date(2025, 6, 10), date(2025, 6, 30), 20, D("13.15")),
        RateSegment(date(2025, 6, 30), date(2025, 9, 1), 63, D("12.15")),
    )
    assert la.interets == D("281.77")
    assert la.indemnite == D("40.00")
    assert am.total_du == D("10000.00")
    assert am.total_interets == D("281.77")
    assert am.total_indemnites == D("40.00")
    assert am.total_reclame == D("10321.77")
    assert am.afficher_penalites is True
    assert am.warnings == ()
    assert am.mention_consommateur == ""
    assert am.reference_legale == "articles L441-10 et D441-5 du Code de commerce"
    assert am.taux_description == (
        f"taux de refinancement de la BCE majoré de 10 points (12,15{NBSP}% au 2e semestre 2025)"
    )
    # 01/09/2025 (Monday), received Thursday 04/09 (3 business days) + 8 = Friday 12/09
    assert am.date_limite == date(2025, 9, 12)


def test_reference_case_context():
    lt, am = reference_amounts()
    ctx = amounts_context(lt, am)
    assert set(ctx) == {
        "total_du", "total_interets", "total_indemnites", "total_reclame",
        "total_reclame_lettres", "afficher_penalites", "taux_penalites", "base_taux",
        "reference_legale", "indemnite_unitaire", "date_limite", "delai_jours",
        "mention_consommateur", "factures_montants",
    }  # fmt: skip
    assert ctx["total_du"] == f"10{NBSP}000,00{NBSP}€"
    assert ctx["total_interets"] == f"281,77{NBSP}€"
    assert ctx["total_indemnites"] == f"40,00{NBSP}€"
    assert ctx["total_reclame"] == f"10{NBSP}321,77{NBSP}€"
    assert ctx["total_reclame_lettres"] == (
        "dix mille trois cent vingt et un euros et soixante-dix-sept centimes"
    )
    assert ctx["afficher_penalites"] is True
    assert ctx["taux_penalites"] == f"12,15{NBSP}%"
    assert ctx["base_taux"] == am.taux_description
    assert ctx["indemnite_unitaire"] == f"40,00{NBSP}€"
    assert ctx["date_limite"] == "12 septembre 2025"
    assert ctx["delai_jours"] == 8
    assert ctx["mention_consommateur"] == ""
    assert ctx["factures_montants"] == [
        {"jours_retard": 83, "interets": f"281,77{NBSP}€", "indemnite": f"40,00{NBSP}€"}
    ]


def test_tier_without_amounts_still_computes_lines():
    lt, am = reference_amounts(niveau=1)
    assert am.afficher_penalites is False
    assert am.total_reclame == am.total_du == D("10000.00")
    assert am.lines[0].interets == D("281.77")  # computed, just not shown
    assert am.total_interets == D("281.77")
    assert am.date_limite is None
    assert amounts_context(lt, am)["date_limite"] == ""


def test_afficher_penalites_setting():
    lt = letter([line("10000.00", date(2025, 6, 10))], date(2025, 9, 1), niveau=1)
    am = letter_amounts(lt, with_montants(afficher_penalites=("relance_1",)))
    assert am.afficher_penalites is True
    assert am.total_reclame == D("10321.77")
    am3 = letter_amounts(replace(lt, niveau=3), with_montants(afficher_penalites=("relance_1",)))
    assert am3.afficher_penalites is False
    assert am3.total_reclame == D("10000.00")


# --- rates ---------------------------------------------------------------------------------


def test_fixed_rate_from_settings_is_one_segment():
    # 15 % from the terms of sale, 16/06–30/07/2025 = 15 + 30 = 45 days, even across 30 June:
    # 2500 × 15 × 45 / 36500 = 46,2329 -> 46,23 €
    lt = letter([line("2500.00", date(2025, 6, 15))], date(2025, 7, 30), niveau=2)
    am = letter_amounts(lt, with_montants(taux_penalites=15.0))
    (la,) = am.lines
    assert la.segments == (RateSegment(date(2025, 6, 15), date(2025, 7, 30), 45, D("15.0")),)
    assert la.interets == D("46.23")
    assert am.total_reclame == D("2586.23")
    assert am.taux_penalites == D("15.0")
    assert am.taux_description == (
        f"taux de 15,00{NBSP}% prévu par nos conditions générales de vente"
    )
    assert amounts_context(lt, am)["taux_penalites"] == f"15,00{NBSP}%"
    assert am.date_limite is None


def test_period_spanning_31_december():
    # 16/12–31/12/2024: 16 days at 4,25 + 10 = 14,25 %: 4000 × 14,25 × 16 / 36500 = 24,9863
    # 01/01–20/01/2025: 20 days at 3,15 + 10 = 13,15 %: 4000 × 13,15 × 20 / 36500 = 28,8219
    # 53,8082 -> 53,81 €
    la, warnings = line_amounts(
        line("4000.00", date(2024, 12, 15)),
        date(2025, 1, 20),
        table=load_rate_table(),
        fixed_rate=None,
        indemnite=D("40"),
        particulier=False,
    )
    assert warnings == ()
    assert [(s.end, s.days, s.rate) for s in la.segments] == [
        (date(2024, 12, 31), 16, D("14.25")),
        (date(2025, 1, 20), 20, D("13.15")),
    ]
    assert la.jours_retard == 36
    assert la.interets == D("53.81")


def test_leap_year_still_divides_by_365():
    # 02/02–01/03/2024 = 29 days (February 2024 has 29) at 4,50 + 10 = 14,50 %:
    # 1000 × 14,50 × 29 / 36500 = 11,5205 -> 11,52 € (with 366 it would be 11,49 €)
    la, _ = line_amounts(
        line("1000.00", date(2024, 2, 1)),
        date(2024, 3, 1),
        table=None,
        fixed_rate=None,
        indemnite=D("40"),
        particulier=False,
    )
    assert la.jours_retard == 29
    assert la.interets == D("11.52")


def test_missing_half_year_warns_and_settings_complete_it():
    # 21/06–30/06/2026: 10 days at 2,15 + 10 = 12,15 %; 01/07–20/07/2026: 20 days, 2026 H2
    # unknown -> last known rate 2,15 %: 10000 × 12,15 × 30 / 36500 = 99,8630 -> 99,86 €
    lt = letter([line("10000.00", date(2026, 6, 20))], date(2026, 7, 20), niveau=2)
    am = letter_amounts(lt, Settings())
    assert am.lines[0].interets == D("99.86")
    assert len(am.warnings) == 1  # same warning from the line and the letter date: once
    (warning,) = am.warnings
    assert "2e semestre 2026" in warning
    assert f"2,15{NBSP}% au 1er janvier 2026" in warning
    assert '[taux_bce] de relance.toml : "2026-07-01" =' in warning

    # with 2,40 % for 2026 H2 in the settings: 10000 × 12,15 × 10 / 36500 = 33,2877
    # + 10000 × 12,40 × 20 / 36500 = 67,9452 -> 101,2329 -> 101,23 €
    completed = Settings(taux_bce={"2026-07-01": 2.40})
    am2 = letter_amounts(lt, completed)
    assert am2.warnings == ()
    assert am2.lines[0].interets == D("101.23")
    assert "12,40" in am2.taux_description
    # a preloaded table is completed by the settings too
    am3 = letter_amounts(lt, completed, table=load_rate_table())
    assert am3.warnings == () and am3.lines[0].interets == D("101.23")


def test_half_year_before_the_table_warns():
    segments, warnings = interest_segments(date(2022, 12, 1), date(2022, 12, 11), None, None)
    assert segments[0].rate == D("12.50")
    assert "2e semestre 2022" in warnings[0] and "premier taux connu" in warnings[0]


def test_shipped_table_and_overrides():
    table = load_rate_table()
    assert table.rate_for(date(2023, 3, 1)) == (D("2.50"), None)
    assert table.rate_for(date(2023, 7, 1)) == (D("4.00"), None)
    assert table.rate_for(date(2024, 12, 31)) == (D("4.25"), None)
    assert table.rate_for(date(2026, 6, 30)) == (D("2.15"), None)
    assert load_rate_table({"2023-01-01": 3.0}).rate_for(date(2023, 2, 1))[0] == D("3.0")
    assert table.rate_for(date(2023, 2, 1))[0] == D("2.50")  # the cached table is untouched


def test_rate_csv_format_is_tolerant_and_checked():
    text = (
        "\ufeff# commentaire\n"
        "date_debut;taux\n"
        "\n"
        "2027-01-01;2,40\n"
        "2027-07-01 ; 2.65 %\n"
        "01/01/2028;2.5\n"
    )
    assert parse_rate_csv(text) == {
        date(2027, 1, 1): D("2.40"),
        date(2027, 7, 1): D("2.65"),
        date(2028, 1, 1): D("2.5"),
    }
    with pytest.raises(SettingsError, match="ligne 1"):
        parse_rate_csv("2027-03-01;2.40\n")
    with pytest.raises(SettingsError, match="ligne 2"):
        parse_rate_csv("date_debut;taux\n2027-01-01;beaucoup\n")


# --- lines ---------------------------------------------------------------------------------


def test_partly_paid_invoice_interest_on_what_remains():
    # 5000 invoiced, 2000 paid, 3000 left; 01/02–17/03/2025 = 28 + 17 = 45 days at 13,15 %:
    # 3000 × 13,15 × 45 / 36500 = 48,6370 -> 48,64 €
    lt = letter(
        [line("3000.00", date(2025, 1, 31), ttc="5000.00", regle="2000.00")],
        date(2025, 3, 17),
        niveau=2,
    )
    am = letter_amounts(lt, Settings())
    assert am.lines[0].jours_retard == 45
    assert am.lines[0].interets == D("48.64")
    assert am.total_reclame == D("3088.64")


def test_credit_note_no_interest_deducted_from_total():
    # invoice 1000, 45 days at 13,15 %: 1000 × 13,15 × 45 / 36500 = 16,2123 -> 16,21 €
    lt = letter(
        [
            line("1000.00", date(2025, 1, 31)),
            line("-200.00", date(2025, 1, 15), numero="AV1", avoir=True),
        ],
        date(2025, 3, 17),
        niveau=2,
    )
    am = letter_amounts(lt, Settings())
    invoice, credit = am.lines
    assert invoice.interets == D("16.21") and invoice.indemnite == D("40.00")
    assert credit.interets == D("0.00") and credit.indemnite == D("0.00")
    assert credit.segments == () and credit.jours_retard == 0
    assert am.total_du == D("800.00")
    assert am.total_indemnites == D("40.00")
    assert am.total_reclame == D("856.21")
    ctx = amounts_context(lt, am)
    assert ctx["factures_montants"][1] == {"jours_retard": 0, "interets": "", "indemnite": ""}


def test_due_on_letter_date_is_not_late():
    lt = letter([line("500.00", date(2025, 9, 1))], date(2025, 9, 1), niveau=2)
    am = letter_amounts(lt, Settings())
    assert am.lines[0] == LineAmounts(0, D("0.00"), D("0.00"), ())
    assert am.total_reclame == D("500.00")
    assert amounts_context(lt, am)["factures_montants"][0] == {
        "jours_retard": 0,
        "interets": "",  # nothing charged, nothing printed
        "indemnite": "",
    }


def test_totals_are_sums_of_rounded_lines():
    # 3 × 12,20 € one day late at 15 %: 12,20 × 15 / 36500 = 0,005014 -> 0,01 € each;
    # the table says 3 × 0,01 = 0,03 € (rounding the exact 0,01504 sum would say 0,02 €)
    due = date(2025, 3, 1)
    lines = [line("12.20", due, numero=f"F{i}") for i in range(3)]
    am = letter_amounts(letter(lines, date(2025, 3, 2), 2),
                        with_montants(taux_penalites=15.0, penalites_apres=0))
    assert [x.interets for x in am.lines] == [D("0.01")] * 3
    assert am.total_interets == D("0.03") == sum(x.interets for x in am.lines)
    assert am.total_indemnites == D("120.00") == sum(x.indemnite for x in am.lines)
    assert am.total_reclame == am.total_du + am.total_interets + am.total_indemnites
    assert am.total_reclame == D("156.63")


# --- consumers -----------------------------------------------------------------------------


@pytest.mark.parametrize("niveau", [1, 2, 3])
def test_consumer_has_no_indemnity_and_no_penalty_amounts(niveau):
    lt = letter([line("1000.00", date(2025, 1, 31))], date(2025, 3, 17), niveau, particulier=True)
    am = letter_amounts(lt, Settings(), is_business_day=always_open)
    assert am.lines[0].jours_retard == 45
    assert am.lines[0].interets == D("0.00") and am.lines[0].indemnite == D("0.00")
    assert am.total_interets == am.total_indemnites == D("0.00")
    assert am.afficher_penalites is False
    assert am.total_reclame == am.total_du == D("1000.00")
    assert am.warnings == ()
    assert am.reference_legale == "article 1231-6 du Code civil"
    ctx = amounts_context(lt, am)
    assert ctx["factures_montants"] == [{"jours_retard": 45, "interets": "", "indemnite": ""}]
    assert ctx["indemnite_unitaire"] == "" and ctx["taux_penalites"] == ""
    if niveau == 3:
        assert "taux légal à compter de la présente mise en demeure" in am.mention_consommateur
        assert "1231-6" in am.mention_consommateur
        assert am.date_limite == date(2025, 3, 28)  # received 20/03, + 8 days
    elif niveau == 2:
        assert "taux légal" in am.mention_consommateur
    else:
        assert am.mention_consommateur == ""


def test_consumer_listed_in_settings():
    lt = letter([line("1000.00", date(2025, 1, 31))], date(2025, 3, 17), 3)
    am = letter_amounts(lt, Settings(clients_particuliers=("c001",)), is_business_day=always_open)
    assert am.particulier and am.total_indemnites == D("0.00")
    assert am.mention_consommateur


# --- mise en demeure deadline --------------------------------------------------------------


def test_deadline_moved_over_weekend():
    # Tuesday 02/09/2025, received Friday 05/09 + 8 = Saturday 13/09 -> Monday 15/09/2025
    lt = letter([line("100.00", date(2025, 6, 1))], date(2025, 9, 2), 3)
    assert letter_amounts(lt, Settings()).date_limite == date(2025, 9, 15)


def test_deadline_counts_receipt_in_business_days():
    # Friday 05/09/2025: received Wednesday 10/09 (weekend skipped) + 8 = Thursday 18/09
    lt = letter([line("100.00", date(2025, 6, 1))], date(2025, 9, 5), 3)
    assert letter_amounts(lt, Settings()).date_limite == date(2025, 9, 18)
    slow = Settings(delais=replace(Settings().delais, reception_courrier=0))
    assert letter_amounts(lt, slow).date_limite == date(2025, 9, 15)  # as sent: 13/09 -> 15/09


def test_deadline_moved_over_holiday():
    # Thursday 30/04/2026, received Wednesday 06/05 (1 May skipped) + 8 = Thursday 14/05,
    # Ascension -> Friday 15/05/2026
    lt = letter([line("100.00", date(2026, 3, 1))], date(2026, 4, 30), 3)
    am = letter_amounts(lt, Settings())
    assert am.date_limite == date(2026, 5, 15)
    assert amounts_context(lt, am)["date_limite"] == "15 mai 2026"


def test_deadline_uses_given_calendar_and_subdivision():
    assert deadline(date(2026, 5, 6), 8, always_open) == date(2026, 5, 14)
    # Good Friday 03/04/2026 is a holiday in Alsace-Moselle only
    assert deadline(date(2026, 3, 26), 8, default_business_day("")) == date(2026, 4, 3)
    assert deadline(date(2026, 3, 26), 8, default_business_day("57")) == date(2026, 4, 7)
    lt = letter([line("100.00", date(2026, 1, 1))], date(2026, 5, 6), 3)
    am = letter_amounts(lt, with_montants(delai_mise_en_demeure=15), is_business_day=always_open)
    assert am.date_limite == date(2026, 5, 24) and am.delai_jours == 15  # 9/05 + 15


# --- amounts in words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0.50", "cinquante centimes"),
        ("0.01", "un centime"),
        ("0", "zéro euro"),
        ("1", "un euro"),
        ("1.01", "un euro et un centime"),
        ("80", "quatre-vingts euros"),
        ("1000000", "un million d'euros"),
        ("1234.56", "mille deux cent trente-quatre euros et cinquante-six centimes"),
        ("-0.50", "moins cinquante centimes"),
    ],
)
def test_amount_in_words(value, words):
    assert amount_in_words(D(value)) == words


# --- properties ----------------------------------------------------------------------------

TABLE = load_rate_table()


@hsettings(max_examples=300, deadline=None)
@given(
    due=st.dates(min_value=date(2022, 6, 1), max_value=date(2027, 12, 31)),
    late=st.integers(min_value=-30, max_value=1500),
    more=st.integers(min_value=0, max_value=400),
    cents=st.integers(min_value=1, max_value=10**9),
    fixed=st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
)
def test_interest_properties(due, late, more, cents, fixed):
    reste = D(cents) / 100
    rate = None if fixed is None else D(fixed) / 100
    kw = {"table": TABLE, "fixed_rate": rate, "indemnite": D("40"), "particulier": False}
    a, _ = line_amounts(line(str(reste), due), due + timedelta(days=late), **kw)
    b, _ = line_amounts(line(str(reste), due), due + timedelta(days=late + more), **kw)
    assert a.interets >= 0
    assert b.interets >= a.interets  # monotonic in the letter date
    for la in (a, b):
        assert sum(s.days for s in la.segments) == la.jours_retard
        exact = sum((segment_interest(reste, s) for s in la.segments), D(0))
        assert abs(la.interets - exact) <= D("0.005")
        assert la.indemnite == (D("40.00") if la.jours_retard > 0 else D("0.00"))
        for prev, nxt in zip(la.segments, la.segments[1:], strict=False):
            assert prev.end == nxt.start


# --- penalties only for invoices late enough -----------------------------------------------


def test_invoice_a_few_days_late_carries_no_penalty():
    # letter Monday 01/09/2025; relance 1 delay 5 business days: due 25/08 is late by 5
    # business days (26, 27, 28, 29/08, 01/09), due 26/08 by 4 only
    lines = [line("1000.00", date(2025, 8, 25), numero="F1"),
             line("1000.00", date(2025, 8, 26), numero="F2")]
    am = letter_amounts(letter(lines, date(2025, 9, 1), 2), Settings())
    assert am.lines[0].indemnite == D("40.00") and am.lines[0].interets > 0
    assert am.lines[1] == LineAmounts(6, D("0.00"), D("0.00"), ())
    rows = amounts_context(letter(lines, date(2025, 9, 1), 2), am)["factures_montants"]
    assert rows[1] == {"jours_retard": 6, "interets": "", "indemnite": ""}  # blank cells
    assert am.total_indemnites == D("40.00")
    every = letter_amounts(letter(lines, date(2025, 9, 1), 2), with_montants(penalites_apres=0))
    assert every.total_indemnites == D("80.00")
    late = letter_amounts(letter(lines, date(2025, 9, 1), 2), with_montants(penalites_apres=30))
    assert late.total_indemnites == D("0.00") and late.total_interets == D("0.00")


def test_number_in_words_is_num2words() -> None:
    """Built from its thousands and its units (cached), it says what num2words says: the
    plural rules (« quatre-vingt mille », « deux cent mille », « vingt et un mille ») hold."""
    import random

    from num2words import num2words

    from relance_xlsx.formatting import number_in_words

    rng = random.Random(5)
    numbers = [*range(990, 1_102), 80_000, 80_080, 200_000, 200_200, 21_001, 71_071, 999_999,
               1_000_000, 2_000_080, *(rng.randrange(1, 1_000_000) for _ in range(1_500))]
    for n in numbers:
        assert number_in_words(n) == num2words(n, lang="fr"), n
