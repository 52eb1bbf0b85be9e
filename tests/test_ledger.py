"""Ledger exports (« grand livre client », detailed balance): Débit / Crédit / Lettrage.

Lettered lines settle each other and leave the chase; a payment with no lettrage and no due
date is deducted, printed on the letter and holds the client's mise en demeure (issue #11:
it used to become « Erreur – date d'échéance manquante » and the client was chased for
1 000 € more than it owed).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from conftest import all_text, run_cli
from relance_xlsx import ledger
from relance_xlsx.config import Settings
from relance_xlsx.reader import MISSING_DUE, read_export

RUN = "2026-11-23"
D = date
LEDGER_HEADERS = ["Compte", "Tiers", "Date", "Pièce", "Libellé", "Débit", "Crédit",
                  "Lettrage", "Échéance", "Niveau relance", "Date relance"]  # fmt: skip


def entry(account: str, name: str, day: date, piece: str, label: str, debit: float | None,
          credit: float | None, letter: str = "", due: date | None = None, level: int | None = None,
          reminded: date | None = None) -> list[object]:  # fmt: skip
    """One ledger line, Sage/Cegid/EBP-like (the reminder columns are often blank)."""
    return [account, name, day, piece, label, debit, credit, letter or None, due, level,
            reminded]  # fmt: skip


def write_ledger(path: Path, rows: list[list[object]], headers: list[str] = LEDGER_HEADERS,
                 grouped: bool = False) -> Path:  # fmt: skip
    """A grand livre client: a title, the header, one line per entry (``grouped``: the
    client printed on its first line only, as Cegid and EBP print their account groups)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Grand livre"
    ws.append(["Grand livre clients du 01/09/2026 au 23/11/2026"])
    ws.append([])
    ws.append(headers)
    previous = None
    for r in rows:
        r = list(r[: len(headers)])
        if grouped and r[0] == previous:
            r[0] = r[1] = None
        previous = r[0] if r[0] is not None else previous
        ws.append(r)
    wb.save(path)
    return path


ALPHA = [
    # FA-101 settled by RG-201 (lettrage A): out of the chase
    entry("411ALPHA", "Alpha SA", D(2026, 9, 1), "FA-101", "Facture", 1200, None, "A",
          D(2026, 10, 1)),
    entry("411ALPHA", "Alpha SA", D(2026, 10, 15), "RG-201", "Règlement client", None, 1200,
          "A"),
    entry("411ALPHA", "Alpha SA", D(2026, 9, 15), "FA-102", "Facture", 2000, None, "",
          D(2026, 10, 15)),
    # a real credit note: number and due date, deducted as before
    entry("411ALPHA", "Alpha SA", D(2026, 11, 2), "AV-050", "Avoir", None, 150, "",
          D(2026, 11, 2)),
    # the payment of issue #11: no lettrage, no due date
    entry("411ALPHA", "Alpha SA", D(2026, 11, 20), "VIR-301", "Virement reçu", None, 1000),
]
BETA = [
    # partial lettrage (Sage's lower case): 1 000 of 3 000 paid, the rest chased
    entry("411BETA", "Beta SARL", D(2026, 9, 10), "FA-110", "Facture", 3000, None, "b",
          D(2026, 10, 10)),
    entry("411BETA", "Beta SARL", D(2026, 10, 20), "RG-210", "Règlement partiel", None, 1000,
          "b"),
]
# two clients due for their mise en demeure (relance 2 on 01/10/2026): Gamma has a payment
# nobody allocated, Delta has not
GAMMA = [
    entry("411GAMMA", "Gamma SAS", D(2026, 8, 1), "FA-120", "Facture", 4000, None, "",
          D(2026, 9, 1), 2, D(2026, 10, 1)),
    entry("411GAMMA", "Gamma SAS", D(2026, 11, 16), "CHQ-0042", "Règlement client", None, 500),
]
DELTA = [
    entry("411DELTA", "Delta SA", D(2026, 8, 1), "FA-130", "Facture", 900, None, "",
          D(2026, 9, 1), 2, D(2026, 10, 1)),
]


def statuses(path: Path) -> dict[str, str]:
    ws = load_workbook(path).active
    header = [c.value for c in ws[3]]
    piece, status = header.index("Pièce"), header.index("Statut relance")
    return {row[piece]: plain(row[status])
            for row in ws.iter_rows(min_row=4, values_only=True) if row[piece]}  # fmt: skip


def plain(text: str) -> str:
    """Amounts are printed with non-breaking spaces; compare them as read."""
    return text.replace("\u00a0", " ")


def read_settled(path: Path):  # noqa: ANN201 - the settled invoice table
    frame = read_export(path, Settings()).invoices
    return ledger.settle(frame).set_index("numero_facture")


# --- the ledger step, pure, on exports read by the reader ----------------------------------


def test_balanced_lettrage_settles_and_unallocated_credit_is_no_error(tmp_path):
    table = read_settled(write_ledger(tmp_path / "gl.xlsx", ALPHA))
    assert table.loc["RG-201", "lettrage"] == "A"
    for piece in ("FA-101", "RG-201"):
        assert table.loc[piece, "lettree"] and table.loc[piece, "reste_du"] == 0
        assert table.loc[piece, "erreur"] == ""  # the payment's missing due date is no error
    assert table.loc["RG-201", "credit"] and not table.loc["FA-101", "credit"]
    assert table.loc["VIR-301", "non_affecte"] and table.loc["VIR-301", "erreur"] == ""
    assert table.loc["VIR-301", "reste_du"] == -1000
    # the credit note with a due date and the open invoice are untouched
    assert not table.loc["AV-050", "non_affecte"] and table.loc["AV-050", "reste_du"] == -150
    assert not table.loc["FA-102", "lettree"] and table.loc["FA-102", "reste_du"] == 2000
    credits = ledger.unallocated_credits(table.reset_index())
    assert [(c.numero, c.montant, c.date, c.ligne) for c in credits] == [
        ("VIR-301", 1000.0, D(2026, 11, 20), 8)]


def test_partial_lettrage_imputes_oldest_due_first(tmp_path):
    rows = [
        entry("411BETA", "Beta SARL", D(2026, 9, 20), "FA-112", "Facture", 800, None, "b",
              D(2026, 10, 20)),
        entry("411BETA", "Beta SARL", D(2026, 9, 10), "FA-111", "Facture", 700, None, "b",
              D(2026, 10, 10)),
        entry("411BETA", "Beta SARL", D(2026, 10, 25), "RG-211", "Règlement", None, 1000, "b"),
        # the same letter in capitals is another (complete) group: case counts
        entry("411BETA", "Beta SARL", D(2026, 9, 1), "FA-113", "Facture", 50, None, "B",
              D(2026, 10, 1)),
        entry("411BETA", "Beta SARL", D(2026, 9, 2), "RG-213", "Règlement", None, 50, "B"),
    ]
    table = read_settled(write_ledger(tmp_path / "gl.xlsx", rows))
    assert table.loc["FA-111", "lettree"] and table.loc["FA-111", "reste_du"] == 0  # oldest
    assert not table.loc["FA-112", "lettree"]
    assert table.loc["FA-112", "reste_du"] == 500 and table.loc["FA-112", "montant_regle"] == 300
    assert table.loc["RG-211", "lettree"] and table.loc["RG-211", "erreur"] == ""
    assert table.loc["FA-113", "lettree"] and table.loc["RG-213", "lettree"]
    assert not table["non_affecte"].any()
    [warning] = map(plain, ledger.partial_warnings(table.reset_index()))
    assert "« b » (Beta SARL, 500,00 €)" in warning


def test_overpaid_lettrage_leaves_the_surplus_as_a_credit(tmp_path):
    rows = [
        entry("411BETA", "Beta SARL", D(2026, 9, 10), "FA-111", "Facture", 700, None, "c",
              D(2026, 10, 10)),
        entry("411BETA", "Beta SARL", D(2026, 10, 25), "RG-211", "Règlement", None, 1000, "c"),
    ]
    table = read_settled(write_ledger(tmp_path / "gl.xlsx", rows))
    assert table.loc["FA-111", "lettree"] and table.loc["FA-111", "reste_du"] == 0
    assert table.loc["RG-211", "reste_du"] == -300 and table.loc["RG-211", "erreur"] == ""
    assert not table.loc["RG-211", "non_affecte"]  # lettered: known, deducted, not held


def test_unreadable_amount_keeps_its_group_open(tmp_path):
    rows = [
        entry("411ALPHA", "Alpha SA", D(2026, 9, 1), "FA-101", "Facture", "mille", None, "A",
              D(2026, 10, 1)),
        entry("411ALPHA", "Alpha SA", D(2026, 10, 15), "RG-201", "Règlement", None, 1000, "A"),
        entry("411ALPHA", "Alpha SA", D(2026, 9, 2), "FA-102", "Facture", 300, None, "",
              None),
    ]
    table = read_settled(write_ledger(tmp_path / "gl.xlsx", rows))
    assert not table["lettree"].any()
    assert "montant TTC illisible" in table.loc["FA-101", "erreur"]
    assert table.loc["RG-201", "erreur"] == MISSING_DUE  # its group cannot be checked
    assert table.loc["FA-102", "erreur"] == MISSING_DUE  # an invoice needs its due date


@pytest.mark.parametrize("header", ["Lettrage", "Let.", "Code lettrage", "Lettre", "Matching",
                                    "Rapprochement"])  # fmt: skip
def test_lettrage_header_synonyms(tmp_path, header):
    headers = [header if h == "Lettrage" else h for h in LEDGER_HEADERS]
    read = read_export(write_ledger(tmp_path / "gl.xlsx", ALPHA, headers), Settings())
    assert read.columns["lettrage"] == header


# --- end to end, as the accountant runs it --------------------------------------------------


@pytest.fixture(scope="module")
def ledger_run(tmp_path_factory):
    """The grand livre (Cegid/EBP-like: client on its group's first line) run on 23/11/2026,
    once for the tests that read its outputs, in an empty folder (no stray relance.toml)."""
    folder = tmp_path_factory.mktemp("ledger")
    export = write_ledger(folder / "grand_livre.xlsx", ALPHA + BETA + GAMMA + DELTA,
                          grouped=True)  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 0, result.output
    return folder, export, result.output


def letter_text(folder: Path, client: str) -> str:
    [path] = (folder / "courriers" / RUN).glob(f"{client} – *.docx")
    return all_text(path)


def test_issue_11_unallocated_payment_is_deducted_not_an_error(ledger_run):
    """The bug: VIR-301 was « Erreur – date d'échéance manquante » and Alpha was asked for
    1 850,00 € (2 000 − 150) instead of 850,00 €."""
    folder, export, output = ledger_run
    status = statuses(export)
    assert status["VIR-301"] == ("Avoir – règlement non affecté de 1 000,00 € déduit du solde, "
                                 "à imputer")  # fmt: skip
    assert not any(s.startswith("Erreur") for s in status.values())
    text = letter_text(folder, "Alpha SA")
    assert "Règlement non\u00a0affecté" in text
    rows = text.split("\n")
    at = rows.index("Règlement non\u00a0affecté")
    assert rows[at + 1] == "20/11/2026" and "-1\u00a0000,00\u00a0€" in rows[at + 2: at + 7]
    assert "Le montant restant dû s'élève à 850,00\u00a0€." in text
    assert "1\u00a0850,00" not in text
    assert ("Nous avons bien reçu votre règlement de 1\u00a0000,00\u00a0€ du 20/11/2026 ; ne "
            "sachant pas quelles factures il règle") in text  # fmt: skip


def test_lettered_lines_are_settled_and_left_out(ledger_run):
    folder, export, _output = ledger_run
    status = statuses(export)
    assert status["FA-101"] == "Payée – soldée par lettrage « A »"
    assert status["RG-201"] == "Avoir – imputé par lettrage « A »"
    assert status["RG-210"] == "Avoir – imputé par lettrage « b »"
    assert status["FA-102"].startswith("Relance 1 – 23/11/2026")
    assert status["AV-050"] == "Avoir – crédit de 150,00 € à déduire"  # as before
    alpha = letter_text(folder, "Alpha SA")
    assert "FA-102" in alpha and "AV-050" in alpha
    assert "FA-101" not in alpha and "RG-201" not in alpha
    beta = letter_text(folder, "Beta SARL")  # partial lettrage: the open remainder
    assert "FA-110" in beta and "RG-210" not in beta
    assert "Le montant restant dû s'élève à 2\u00a0000,00\u00a0€." in beta


def test_unallocated_payment_holds_the_notice_and_the_client_is_to_call(ledger_run):
    folder, export, output = ledger_run
    output = plain(output)
    status = statuses(export)
    assert status["FA-120"] == (
        "En attente – mise en demeure en suspens : règlement non affecté de 500,00 € du "
        "16/11/2026 à imputer (relance 2 du 01/10/2026)")
    assert status["FA-130"].startswith("Mise en demeure – 23/11/2026")  # Delta: no payment
    letters = {p.name.split(" – ")[0] for p in (folder / "courriers" / RUN).glob("*.docx")}
    assert letters == {"Alpha SA", "Beta SARL", "Delta SA"}
    # the to-do says what waits and what went
    todo = output[output.index("À faire cette semaine"):output.index("Courriers produits")]
    assert "imputer 2 règlement(s) non affecté(s)" in todo
    assert "Gamma SAS (500,00 € du 16/11/2026 ; mise en demeure suspendue)" in todo
    assert "Alpha SA (1 000,00 € du 20/11/2026)" in todo
    assert "relances 1 et 2 partent" in todo
    assert "en relance 2" not in todo  # Gamma is called once, about its payment
    # the summary lists each payment with its row
    assert "Règlements non affectés" in output
    assert "  - Alpha SA : 1 000,00 € du 20/11/2026 (ligne 8, pièce VIR-301)" in output
    assert re.search(r"Gamma SAS : 500,00 € du 16/11/2026 \(ligne \d+, pièce CHQ-0042\)",
                     output)  # fmt: skip
    # the report's À appeler sheet
    ws = load_workbook(folder / "courriers" / RUN / f"rapport – {RUN}.xlsx")["À appeler"]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r, strict=False))
            for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}  # fmt: skip
    gamma = rows["Gamma SAS"]
    assert gamma["Situation"] == "Règlement non affecté, à imputer (mise en demeure suspendue)"
    assert gamma["Échu à ce jour"] == 3500
    assert gamma["Factures"] == "FA-120"
    assert "500,00\u00a0€ reçu le 16/11/2026 (pièce CHQ-0042" in gamma["Notes de l'appel"]
    assert rows["Alpha SA"]["Situation"] == "Règlement non affecté, à imputer"
    assert "Delta SA" not in rows  # its mise en demeure went: the registered letter speaks


def test_letter_and_email_say_the_payment_was_received():
    """The row and the sentence of the letter, and the same sentence in the e-mail draft."""
    import dataclasses
    from decimal import Decimal

    from relance_xlsx.amounts import letter_amounts
    from relance_xlsx.emails import body
    from relance_xlsx.letters.context import letter_context, sample_letter
    from relance_xlsx.model import LetterLine

    letter = sample_letter(1)
    paid = LetterLine("VIR-301", D(2026, 11, 20), None, None, Decimal("1000.00"),
                      Decimal("-1000.00"), 0, False, 9, non_affecte=True)  # fmt: skip
    letter = dataclasses.replace(letter, lignes=(*letter.lignes, paid))
    settings = Settings()
    amounts = letter_amounts(letter, settings)
    context = letter_context(letter, settings, amounts)
    row = context["factures"][-1]
    assert (row["numero"], row["date_facture"], row["date_echeance"], row["avoir"],
            row["non_affecte"]) == ("Règlement non\u00a0affecté", "20/11/2026", "", False, True)
    assert plain(row["montant_regle"]) == "1 000,00 €" and plain(row["reste_du"]) == "-1 000,00 €"
    assert not any(r["non_affecte"] for r in context["factures"][:-1])
    assert plain(context["total_du"]) == "2 450,00 €"  # 1 400 + 2 220 − 170 − 1 000
    assert "VIR-301" not in context["objet"] and "VIR-301" not in context["numeros_factures"]
    sentence = context["reglements_non_affectes"]
    assert plain(sentence).startswith("Nous avons bien reçu votre règlement de 1 000,00 € du "
                                      "20/11/2026 ; ne sachant pas quelles factures il règle")
    assert sentence in body(letter, settings, amounts)
    assert letter_context(sample_letter(1), settings, letter_amounts(
        sample_letter(1), settings))["reglements_non_affectes"] == ""


def test_settling_twice_changes_nothing(tmp_path):
    rows = [*ALPHA, *BETA,
            entry("411BETA", "Beta SARL", D(2026, 9, 10), "FA-111", "Facture", 700, None, "c",
                  D(2026, 10, 10)),
            entry("411BETA", "Beta SARL", D(2026, 10, 25), "RG-211", "Règlement", None, 1000,
                  "c")]  # fmt: skip
    frame = read_export(write_ledger(tmp_path / "gl.xlsx", rows), Settings()).invoices
    once = ledger.settle(frame)
    import pandas as pd

    pd.testing.assert_frame_equal(ledger.settle(once), once)


def test_invoices_paid_by_lettrage_are_not_taken_for_a_stale_export(runner_cwd):
    """Week 1 sees FA-101 and FA-102 open; week 2 letters them with their payments; week 3's
    ledger still shows their debits, lettered: settled, not « reopened » (staleness.py
    compares the balances the journal recorded, which are the settled ones)."""
    open_ = [
        entry("411ALPHA", "Alpha SA", D(2026, 9, 1), "FA-101", "Facture", 1200, None, "",
              D(2026, 10, 1)),
        entry("411ALPHA", "Alpha SA", D(2026, 9, 15), "FA-102", "Facture", 800, None, "",
              D(2026, 10, 15)),
    ]
    lettered = [
        entry("411ALPHA", "Alpha SA", D(2026, 9, 1), "FA-101", "Facture", 1200, None, "A",
              D(2026, 10, 1)),
        entry("411ALPHA", "Alpha SA", D(2026, 9, 15), "FA-102", "Facture", 800, None, "B",
              D(2026, 10, 15)),
        entry("411ALPHA", "Alpha SA", D(2026, 11, 18), "RG-201", "Règlement", None, 1200, "A"),
        entry("411ALPHA", "Alpha SA", D(2026, 11, 19), "RG-202", "Règlement", None, 800, "B"),
    ]
    for day, rows in (("2026-11-16", open_), ("2026-11-23", lettered),
                      ("2026-11-30", lettered)):  # fmt: skip
        export = write_ledger(runner_cwd / f"grand_livre_{day}.xlsx", rows)
        result = run_cli("run", export, "--date", day, "--journal",
                         runner_cwd / "journal.sqlite")  # fmt: skip
        assert result.exit_code == 0, result.output
    assert "ancien" not in plain(result.output)
    assert statuses(export)["FA-101"] == "Payée – soldée par lettrage « A »"


def test_payment_with_no_piece_number_is_read_deducted_and_printed(tmp_path, monkeypatch):
    """Issue #11: a « Règlement client » line with a date, a client and a Crédit but no
    Pièce (nor due date) used to be dropped as « not an invoice line »: the client was
    chased for the payment. Total rows with only a client and a credit are still left out."""
    rows = [
        entry("411EPS", "Epsilon SARL", D(2026, 9, 15), "FA-140", "Facture", 1500, None, "",
              D(2026, 10, 15)),
        entry("411EPS", "Epsilon SARL", D(2026, 11, 18), "", "Règlement client", None, 600),
        entry("411EPS", "Epsilon SARL", None, "", "", None, 600),  # a total, unlabelled
        entry("411EPS", "Epsilon SARL", None, "", "Solde au 23/11/2026", None, 900),
        entry("411EPS", "Total client", None, "", "", 1500, 600),
    ]
    export = write_ledger(tmp_path / "grand_livre.xlsx", rows)
    read = read_export(export, Settings())
    assert list(read.invoices["ligne"]) == [4, 5] and read.dropped_total_rows == 3
    [payment] = ledger.unallocated_credits(ledger.settle(read.invoices))
    assert (payment.numero, payment.montant, payment.date, payment.ligne) == (
        "", 600.0, D(2026, 11, 18), 5)
    monkeypatch.chdir(tmp_path)
    result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert "Epsilon SARL : 600,00 € du 18/11/2026 (ligne 5)" in plain(result.output)
    text = letter_text(tmp_path, "Epsilon SARL")
    rows_ = text.split("\n")
    at = rows_.index("Règlement non\u00a0affecté")
    assert rows_[at + 1] == "18/11/2026" and "-600,00\u00a0€" in rows_[at + 2: at + 7]
    assert "Le montant restant dû s'élève à 900,00\u00a0€." in text
    ws = load_workbook(export).active
    assert plain(ws.cell(5, len(LEDGER_HEADERS) + 1).value) == (
        "Avoir – règlement non affecté de 600,00 € déduit du solde, à imputer")


def test_a_running_balance_column_is_not_the_amount_due(tmp_path):
    """Sage prints a « Solde » column that is the account's running balance: read as the
    amount due, FA-102 was chased for 3 200 € (the whole account) instead of 2 000 €."""
    headers = [*LEDGER_HEADERS[:7], "Solde", *LEDGER_HEADERS[7:]]
    rows, balance = [], {}
    for r in ALPHA:
        balance[r[0]] = balance.get(r[0], 0) + (r[5] or 0) - (r[6] or 0)
        rows.append([*r[:7], balance[r[0]], *r[7:]])
    export = write_ledger(tmp_path / "gl.xlsx", rows, headers)
    read = read_export(export, Settings())
    assert "reste_du" not in read.columns
    assert any("« Solde » (colonne H) est un solde progressif" in w for w in read.warnings)
    table = ledger.settle(read.invoices).set_index("numero_facture")
    assert table.loc["FA-102", "reste_du"] == 2000 and table.loc["VIR-301", "reste_du"] == -1000
    # a « Solde » that is each line's own amount due stays the amount due
    rows = [[*r[:7], (r[5] or 0) - (r[6] or 0), *r[7:]] for r in ALPHA]
    own = read_export(write_ledger(tmp_path / "own.xlsx", rows, headers), Settings())
    assert own.columns["reste_du"] == "Solde"
    assert not any("progressif" in w for w in own.warnings)


def test_relance_2_never_says_no_payment_when_one_is_thanked_for(tmp_path):
    """The second reminder's opening said « nous n'avons reçu à ce jour ni votre règlement »
    above « Nous avons bien reçu votre règlement de 1 000,00 € »: with an unallocated
    payment, it says what was received does not cover the invoices."""
    import dataclasses
    from decimal import Decimal

    from conftest import all_text, priced
    from relance_xlsx import letters as L
    from relance_xlsx.model import LetterLine

    settings = Settings(societe=L.SAMPLE_SOCIETE)
    letter = L.sample_letter(2)
    paid = LetterLine("VIR-301", D(2026, 11, 20), None, None, Decimal("1000.00"),
                      Decimal("-1000.00"), 0, False, 9, non_affecte=True)  # fmt: skip
    with_payment = dataclasses.replace(letter, lignes=(*letter.lignes, paid))
    unpaid = tuple(dataclasses.replace(x, montant_regle=Decimal("0.00") if x.montant_regle
                                       else x.montant_regle, reste_du=x.montant_ttc)
                   for x in letter.lignes)  # fmt: skip
    texts = {}
    plain = dataclasses.replace(letter, lignes=unpaid)
    for name, item in (("paid", with_payment), ("plain", plain), ("partly", letter)):
        (rendered,) = L.render_letters([priced(item, settings)], settings,
                                       tmp_path / name).letters  # fmt: skip
        texts[name] = " ".join(all_text(rendered.docx).split())
    assert "nous n'avons reçu à ce jour ni votre règlement" not in texts["paid"]
    assert "Les sommes reçues à ce jour (voir ci-dessous) ne couvrent pas l'ensemble de ces " \
           "factures." in texts["paid"]
    assert "Nous avons bien reçu votre règlement de 1 000,00 € du 20/11/2026" in texts["paid"]
    assert "nous n'avons reçu à ce jour ni votre règlement, ni aucune explication." \
        in texts["plain"]
    assert "Les sommes reçues" not in texts["plain"]
    assert "Principal restant dû (avoirs et règlements non affectés déduits)" in texts["paid"]
    assert "Principal restant dû (avoirs déduits)" in texts["plain"]
    # seen in a four-Monday trial: half an invoice paid since the relance 1, the relance 2
    # said « nous n'avons reçu à ce jour ni votre règlement » above « Réglé 1 004,90 € »
    assert "nous n'avons reçu à ce jour ni votre règlement" not in texts["partly"]
    assert "Les sommes reçues à ce jour (colonne « Réglé ») ne couvrent pas l'ensemble de " \
           "ces factures." in texts["partly"]


def test_a_notice_held_for_a_payment_is_no_past_date_in_the_follow_up(ledger_run):
    """Gamma's mise en demeure waits for its payment to be allocated: the follow-up said
    « mise en demeure le 29/10/2026 » (a date already past, as if it had been forgotten)."""
    folder, _export, _output = ledger_run
    ws = load_workbook(folder / "suivi_relances.xlsx")["Clients"]
    header = [c.value for c in ws[1]]
    steps = {r[1]: r[header.index("Prochaine étape")]
             for r in ws.iter_rows(min_row=2, values_only=True) if r[1]}  # fmt: skip
    assert steps["Gamma SAS"] == ("mise en demeure en suspens : règlement non affecté de "
                                  "500,00\u00a0€ du 16/11/2026 à imputer")  # fmt: skip
    assert steps["Alpha SA"] == "relance 2 le 07/12/2026"


def test_the_dry_run_plan_says_the_held_notice_waits(tmp_path):
    export = write_ledger(tmp_path / "gl.xlsx", GAMMA, grouped=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = run_cli("run", export, "--date", RUN, "--dry-run")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "FA-120" in x)
    assert "mise en demeure en suspens : règlement non affecté" in plain(line)
    assert "29/10/2026" not in line
