"""The policy over plain data: every state of the status column, client rules, history.

Invoice tables are built in memory (fields.invoice_table), as the reader would build them:
reading exports is test_reader.py's business.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from relance_xlsx.config import Delais, Montants, Settings
from relance_xlsx.fields import invoice_table
from relance_xlsx.history import parse_status
from relance_xlsx.journal import JournalData
from relance_xlsx.pipeline import classify_invoices

RUN = date(2026, 11, 23)  # a Monday


DEFAULTS = Settings()
NO_JOURNAL = JournalData.empty()


def journal_of(letters) -> JournalData:
    """A journal holding one letter event per (client, invoice, level, date)."""
    events = pd.DataFrame({
        "id": range(1, len(letters) + 1), "execution": 1,
        "date": pd.to_datetime([d for *_, d in letters]), "type": "courrier",
        "cle_client": [c for c, *_ in letters], "niveau": [lvl for _, _, lvl, _ in letters],
        "fichier": "", "export": "",
    })  # fmt: skip
    invoices = pd.DataFrame({
        "evenement": range(1, len(letters) + 1), "cle_facture": [k for _, k, *_ in letters],
        "niveau": [lvl for _, _, lvl, _ in letters], "etape": 1,
    })  # fmt: skip
    empty = JournalData.empty()
    return JournalData(empty.runs, events.astype(empty.events.dtypes.to_dict()),
                       invoices.astype(empty.invoices.dtypes.to_dict()), frozenset())


def invoice(
    number: str,
    due: date | None,
    amount: float = 1000.0,
    *,
    client: str = "Alpha SARL",
    code: str = "C001",
    paid: float | None = None,
    issued: date | None = None,
    **columns: object,
) -> dict[str, object]:
    """One line of the invoice table, as the reader gives an export row in conftest's layout."""
    rest = round(amount - (paid or 0), 2)
    return {"code_client": code, "client": client, "numero_facture": number,
            "date_facture": issued or due, "date_echeance": due, "montant_ttc": amount,
            "montant_regle": paid, "reste_du": rest, **columns}  # fmt: skip


def classify_rows(rows, settings: Settings = DEFAULTS, journal=None, run: date = RUN):
    table = invoice_table(rows)
    hist = journal if journal is not None else NO_JOURNAL
    classified, letters = classify_invoices(table, settings, hist, run)
    return classified.set_index("numero_facture"), letters


def test_every_state():
    rows = [
        invoice("F-PAID", date(2026, 10, 1), 500.0, paid=500.0),
        invoice("AV-1", date(2026, 10, 1), -120.0, client="Beta", code="C002"),
        invoice("F-FUTURE", date(2026, 12, 15), 800.0),
        invoice("F-TODAY", RUN, 800.0),
        invoice("F-WAIT", date(2026, 11, 19), 300.0, client="Gamma", code="C003"),
        invoice("F-R1", date(2026, 10, 1), 1000.0),
        invoice("F-BAD", None, 100.0, issued=date(2026, 1, 31),
                erreur="date d'échéance illisible : « 31/02/2026 »"),
    ]
    c, letters = classify_rows(rows)
    assert c.loc["F-PAID", "etat"] == "Payée"
    assert c.loc["AV-1", "etat"] == "Avoir"
    assert c.loc["F-FUTURE", "etat"] == "Non échue"
    assert c.loc["F-TODAY", "etat"] == "Non échue"  # run date <= due date
    assert c.loc["F-WAIT", "etat"] == "En attente"
    # due Thu 19/11, 5th business day after is Thu 26/11
    assert c.loc["F-WAIT", "statut"] == "En attente – relance 1 le 26/11/2026"
    assert c.loc["F-R1", "etat"] == "Relance 1"
    assert c.loc["F-R1", "statut"].startswith("Relance 1 – 23/11/2026 – relance 2 le ")
    assert c.loc["F-BAD", "statut"] == "Erreur – date d'échéance illisible : « 31/02/2026 »"
    assert c.loc["F-FUTURE", "statut"] == "Non échue – échéance le 15/12/2026"
    assert [x.client for x in letters] == ["Alpha SARL"]


def test_dispute_is_excluded():
    rows = [invoice("F1", date(2026, 9, 1), client="Alpha", code="", litige=True),
            invoice("F2", date(2026, 9, 1), client="Alpha", code="", litige=True),
            invoice("F3", date(2026, 9, 1), client="Alpha", code="", litige=False)]  # fmt: skip
    c, letters = classify_rows(rows)
    assert c.loc["F1", "etat"] == "Litige" and c.loc["F2", "etat"] == "Litige"
    assert c.loc["F1", "statut"].startswith("Litige – ")
    assert c.loc["F3", "etat"] == "Relance 1"
    assert [line.numero for line in letters[0].lignes] == ["F3"]


def test_partial_payment_keeps_the_remainder():
    c, letters = classify_rows([invoice("F1", date(2026, 10, 1), 1000.0, paid=400.0)])
    assert c.loc["F1", "reste_du"] == pytest.approx(600.0)
    assert c.loc["F1", "etat"] == "Relance 1"
    assert letters[0].lignes[0].reste_du == pytest.approx(600)
    # a tiny remainder counts as paid
    c, _ = classify_rows([invoice("F2", date(2026, 10, 1), 1000.0, paid=999.996)])
    assert c.loc["F2", "etat"] == "Payée"


def test_credit_note_is_deducted_and_listed():
    rows = [invoice("F1", date(2026, 10, 1), 1000.0), invoice("AV1", date(2026, 10, 5), -300.0)]
    c, letters = classify_rows(rows)
    assert c.loc["AV1", "etat"] == "Avoir"
    assert c.loc["AV1", "statut"] == "Avoir – crédit de 300,00\u00a0€ à déduire"
    (letter,) = letters
    assert [line.numero for line in letter.lignes] == ["F1", "AV1"]
    assert float(letter.solde) == pytest.approx(700.0)


def test_minimum_balance_blocks_the_letter():
    rows = [invoice("F1", date(2026, 10, 1), 100.0), invoice("AV1", date(2026, 10, 5), -90.0)]
    c, letters = classify_rows(rows)
    assert letters == ()
    assert c.loc["F1", "etat"] == "En attente"
    assert "minimum" in c.loc["F1", "statut"]
    settings = Settings(montants=Montants(minimum=5))
    _, letters = classify_rows(rows, settings)
    assert len(letters) == 1


def test_client_letter_takes_the_highest_tier():
    rows = [invoice("F1", date(2026, 8, 3), 1000.0, client="Alpha", code="", niveau_export=2,
                    date_relance_export=date(2026, 10, 1)),
            invoice("F2", date(2026, 10, 1), 500.0, client="Alpha", code=""),
            invoice("F3", date(2026, 11, 19), 200.0, client="Alpha", code="")]  # fmt: skip
    c, letters = classify_rows(rows)
    assert c.loc["F1", "etat"] == "Mise en demeure"
    assert c.loc["F2", "etat"] == "Relance 1"
    assert c.loc["F3", "etat"] == "En attente"  # listed, but not yet due for a step
    assert "rappelée dans le courrier" in c.loc["F3", "statut"]
    (letter,) = letters
    assert letter.niveau == 3
    assert {line.numero for line in letter.lignes} == {"F1", "F2", "F3"}


def test_minimum_interval_between_letters():
    # a letter went out on Thu 19/11: nothing new before the 5th business day after (26/11)
    rows = [invoice("F1", date(2026, 10, 1), 1000.0, client="Alpha", code="", niveau_export=1,
                    date_relance_export=date(2026, 11, 19)),
            invoice("F2", date(2026, 10, 2), 500.0, client="Alpha", code="")]  # fmt: skip
    five = Settings(delais=Delais(intervalle_minimum=5))
    c, letters = classify_rows(rows, five)
    assert letters == ()
    assert c.loc["F2", "statut"].startswith("En attente – relance 1 en suspens : dernier courrier")
    assert "26/11/2026" in c.loc["F2", "statut"]
    _, letters = classify_rows(rows, five, run=date(2026, 11, 26))
    assert len(letters) == 1
    # the default interval is 10 business days: next letter possible on Thu 03/12
    c, letters = classify_rows(rows, run=date(2026, 11, 26))
    assert letters == () and "03/12/2026" in c.loc["F2", "statut"]
    settings = Settings(delais=Delais(intervalle_minimum=0))
    _, letters = classify_rows(rows, settings)
    assert len(letters) == 1


def test_a_next_step_is_never_dated_before_the_clients_next_letter():
    """Seen in a four-Monday trial: listed in the 23/11 letter, an invoice due on the 21st
    read « En attente – relance 1 le 27/11/2026 »; nothing went out on the 27th, nor on the
    30th (interval): its relance 1 came with the client's next letter, on 07/12."""
    rows = [invoice("F1", date(2026, 9, 1), 1000.0, client="Alpha", code=""),
            invoice("F2", date(2026, 11, 21), 500.0, client="Alpha", code=""),
            invoice("F3", date(2026, 11, 30), 300.0, client="Alpha", code=""),
            invoice("F4", date(2026, 11, 21), 200.0, client="Beta", code="")]  # fmt: skip
    c, letters = classify_rows(rows)
    assert [x.client for x in letters] == ["Alpha"]
    assert c.loc["F1", "statut"].startswith("Relance 1 – 23/11/2026 – relance 2 le 07/12/2026")
    assert c.loc["F2", "statut"].startswith("En attente – relance 1 le 07/12/2026")
    assert c.loc["F3", "date_prochaine_etape"] == pd.Timestamp("2026-12-07")
    # a client with no letter yet: its invoice's own date
    assert c.loc["F4", "statut"] == "En attente – relance 1 le 27/11/2026"
    # a week later, with the letter in the journal: the same date, kept
    c, _ = classify_rows(rows, journal=journal_of([("nom:alpha", "nom:alpha|F1", 1, RUN)]),
                         run=date(2026, 11, 30))  # fmt: skip
    assert c.loc["F3", "date_prochaine_etape"] == pd.Timestamp("2026-12-07")


def test_every_overdue_invoice_of_a_held_client_says_the_hold():
    """Seen in a four-Monday trial: under a promise to the 11/12, one invoice read « En
    attente – promesse … – relance 1 ensuite » and its neighbour « En attente – relance 2
    le 07/12/2026 »: on the 7th nothing went out."""
    rows = [invoice("F1", date(2026, 9, 1), 1000.0, client="Alpha", code=""),
            invoice("F2", date(2026, 11, 27), 500.0, client="Alpha", code=""),
            invoice("F3", date(2026, 12, 20), 300.0, client="Alpha", code="")]  # fmt: skip
    journal = journal_of([("nom:alpha", "nom:alpha|F1", 1, date(2026, 11, 23))])
    table = invoice_table(rows)
    promise = "promesse de paiement de 1 500,00 € au 11/12/2026"
    classified, letters = classify_invoices(table, DEFAULTS, journal, date(2026, 11, 30),
                                            holds={"nom:alpha": promise})  # fmt: skip
    c = classified.set_index("numero_facture")
    assert letters == ()
    assert c.loc["F1", "statut"] == f"En attente – {promise} – relance 2 ensuite"  # 07/12
    assert c.loc["F2", "statut"] == f"En attente – {promise} – relance 1 ensuite"
    assert c.loc["F3", "statut"] == "Non échue – échéance le 20/12/2026"


def test_no_history_starts_at_relance_1_however_late():
    c, letters = classify_rows([invoice("F1", date(2024, 1, 10), 1000.0)])
    assert c.loc["F1", "etat"] == "Relance 1"
    assert letters[0].niveau == 1


def test_step_edges_in_business_days():
    # Due Thu 30/04/2026: relance 1 is due on Mon 11/05 (1 and 8 May are holidays), not before.
    rows = [invoice("F1", date(2026, 4, 30), 1000.0)]
    c, _ = classify_rows(rows, run=date(2026, 5, 8))
    assert c.loc["F1", "statut"] == "En attente – relance 1 le 11/05/2026"
    c, _ = classify_rows(rows, run=date(2026, 5, 11))
    assert c.loc["F1", "etat"] == "Relance 1"


def test_journal_history_and_contentieux():
    journal = journal_of([("code:C001", "code:C001|F1", 3, "2026-10-01")])
    c, letters = classify_rows([invoice("F1", date(2026, 7, 1), 1000.0)],
                               journal=journal)  # fmt: skip
    assert c.loc["F1", "etat"] == "Contentieux"
    assert c.loc["F1", "statut"].startswith("Contentieux – mise en demeure du 01/10/2026")
    assert letters == ()


def test_history_from_the_status_column():
    rows = [invoice("F1", date(2026, 9, 1), 1000.0,
                    statut_existant="Relance 1 – 02/11/2026 – relance 2 le …"),
            invoice("F2", date(2026, 9, 1), 1000.0, code="C2", client="B",
                    statut_existant="En attente – mise en demeure le 01/12/2026 "
                                    "(relance 2 du 02/11/2026)")]  # fmt: skip
    c, _ = classify_rows(rows)
    assert c.loc["F1", "niveau"] == 1 and c.loc["F1", "etat"] == "Relance 2"
    assert c.loc["F2", "niveau"] == 2 and c.loc["F2", "etat"] == "En attente"


def test_parse_status_round_trip():
    assert parse_status("Relance 2 – 15/11/2026 – mise en demeure le …") == (2, date(2026, 11, 15))
    assert parse_status("Mise en demeure – 01/10/2026") == (3, date(2026, 10, 1))
    assert parse_status("Contentieux – mise en demeure du 01/10/2026 restée sans effet") == (
        3, date(2026, 10, 1))  # fmt: skip
    assert parse_status("En attente – relance 2 le 27/11/2026 (relance 1 du 13/11/2026)") == (
        1, date(2026, 11, 13))  # fmt: skip
    assert parse_status("Payée – soldée") is None
    assert parse_status("") is None


def test_the_dry_run_plan_says_the_hold_of_a_held_client():
    """The plan said « relance 2 le 07/12/2026 » under a promise to the 11/12 (the status
    said the promise), and « relance 2 … » for a client whose reminders were stopped."""
    from relance_xlsx.followup import STOPPED
    from relance_xlsx.report import plan_text

    rows = [invoice("F1", date(2026, 9, 1), 1000.0, client="Alpha", code=""),
            invoice("F2", date(2026, 11, 27), 500.0, client="Alpha", code="")]  # fmt: skip
    journal = journal_of([("nom:alpha", "nom:alpha|F1", 1, date(2026, 11, 23))])
    promise = "promesse de paiement de 1 500,00 € au 11/12/2026"
    classified, _ = classify_invoices(invoice_table(rows), DEFAULTS, journal, date(2026, 11, 30),
                                      holds={"nom:alpha": promise})  # fmt: skip
    plan = plan_text(classified)
    assert "07/12/2026" not in plan
    assert f"relance 2 en suspens : {promise}" in plan
    assert f"relance 1 en suspens : {promise}" in plan
    for run in (date(2026, 11, 30), date(2026, 12, 8)):  # step not due yet, then due
        classified, _ = classify_invoices(invoice_table(rows), DEFAULTS, journal, run,
                                          holds={"nom:alpha": STOPPED})  # fmt: skip
        lines = plan_text(classified).splitlines()[2:]
        assert len(lines) == 2
        assert [line.split("En attente", 1)[1].strip() for line in lines] == [STOPPED] * 2


def test_the_dry_run_plan_groups_two_clients_of_the_same_name_apart():
    """Two « Dupont » (codes D1 and D2) alternating in an export sorted by due date: the
    plan, grouped by name alone, still mixed their invoices."""
    from relance_xlsx.report import plan_text

    rows = [invoice(f"F{i}", date(2026, 9, 1 + i), client="Dupont", code=f"D{1 + i % 2}")
            for i in range(4)]  # fmt: skip
    classified, _ = classify_invoices(invoice_table(rows), DEFAULTS, NO_JOURNAL, RUN)
    plan = [line.split()[1] for line in plan_text(classified).splitlines()[2:]]
    assert plan == ["F0", "F2", "F1", "F3"]


def test_equal_statuses_are_one_object():
    # a million rows have a few thousand distinct statuses: one string each, not one per row
    due = date(2026, 12, 20)  # not due yet: the same status for every invoice
    classified, _ = classify_rows([invoice(f"F{i}", due, client=f"Client {i}", code=f"C{i}")
                                   for i in range(3)])  # fmt: skip
    statuses = classified["statut"].tolist()
    assert statuses[0] == statuses[2] and statuses[0] is statuses[2]
    assert statuses[0].startswith("Non échue")
