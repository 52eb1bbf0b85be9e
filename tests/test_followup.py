"""The follow-up workbook over weekly runs, through the CLI: holds, stops, promises kept and
broken, contact overrides, exchanges, and the accountant's formatting kept."""

from __future__ import annotations

import sqlite3
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from openpyxl.styles import PatternFill

from conftest import digest, invoice, run_cli, status_column, write_xlsx

DUE = date(2026, 10, 1)


def export_rows(paid_gamma: bool = False) -> list[list[object]]:
    return [
        invoice("F-A", DUE, 1000.0, client="Alpha SARL", code="C001"),
        invoice("F-B", DUE, 900.0, client="Beta SAS", code="C002"),
        invoice("F-G", DUE, 700.0, client="Gamma", code="C003",
                paid=700.0 if paid_gamma else None),
        invoice("F-D", DUE, 600.0, client="Delta", code="C004"),
        invoice("F-E", DUE, 800.0, client="Epsilon", code="C005"),
    ]  # fmt: skip


def _docx_text(path: Path) -> str:
    """Every text of the letter, paragraphs and tables (the address block is a table)."""
    doc = Document(path)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def run_ok(export: Path, day: str, *args: object) -> str:
    result = run_cli("run", export, "--date", day, *args)
    assert result.exit_code == 0, result.output
    return result.output


def clients_sheet(path: Path) -> list[tuple[object, ...]]:
    wb = load_workbook(path)
    return [tuple(r) for r in wb["Clients"].iter_rows(values_only=True)]


def fill_of(path: Path, ref: str) -> str:
    return load_workbook(path)["Clients"][ref].fill.fgColor.rgb


def accountant_edits(suivi: Path) -> None:
    """What the accountant types in Excel: entries, an extra column, a colour, a sort."""
    wb = load_workbook(suivi)
    ws = wb["Clients"]
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in header}
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    values = {code: [ws.cell(r, c).value for c in range(1, ws.max_column + 1)]
              for code, r in rows.items()}  # fmt: skip
    order = sorted(values, reverse=True)  # sorted Z→A by code in Excel
    for i, code in enumerate(order, start=2):
        for c, v in enumerate(values[code], start=1):
            ws.cell(i, c).value = v
    rows = {code: i for i, code in enumerate(order, start=2)}
    ws.cell(rows["C001"], col["Suspendre jusqu'au"]).value = "15/12/2026"
    ws.cell(rows["C002"], col["Ne plus relancer"]).value = "oui"
    ws.cell(rows["C003"], col["Promesse de paiement"]).value = date(2026, 10, 22)
    ws.cell(rows["C004"], col["Promesse de paiement"]).value = "22/10/2026"
    ws.cell(rows["C004"], col["Montant promis"]).value = 300
    ws.cell(rows["C005"], col["Interlocuteur"]).value = "Madame Durand"
    ws.cell(rows["C005"], col["E-mail relance"]).value = "compta@epsilon.fr"
    ws.cell(rows["C005"], col["Adresse relance"]).value = "12 rue des Lilas"
    ws.cell(rows["C005"], col["Notes"]).value = "Appeler le mardi"
    extra = ws.max_column + 1
    ws.cell(1, extra).value = "Commercial"
    for r in range(2, 7):
        ws.cell(r, extra).value = f"vendeur {r}"
    ws.cell(2, 2).fill = PatternFill("solid", fgColor="FFFF0000")
    ws.column_dimensions["B"].width = 41
    ex = wb["Échanges"]
    ex.append([date(2026, 10, 12), "Epsilon", "appel", "Facture reçue, paiement en cours"])
    ex.append(["31/02/2026", "Inconnu SA", "appel", "?"])
    wb.save(suivi)


def test_weekly_runs_with_the_follow_up_workbook(runner_cwd):
    (runner_cwd / "relance.toml").write_text("# réglages\n", encoding="utf-8")
    export = write_xlsx(runner_cwd / "export.xlsx", export_rows())
    suivi = runner_cwd / "suivi_relances.xlsx"

    run_ok(export, "2026-10-05", "--dry-run")
    assert not suivi.exists()  # never by a dry run
    run_ok(export, "2026-10-05")  # nothing due yet: the workbook is created
    rows = clients_sheet(suivi)
    assert rows[0][:6] == ("Code client", "Client", "Solde échu", "Niveau", "Dernier courrier",
                           "Prochaine étape")  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["C001", "C002", "C003", "C004", "C005"]
    accountant_edits(suivi)
    before = clients_sheet(suivi)

    export = write_xlsx(runner_cwd / "export.xlsx", export_rows())
    plan = run_ok(export, "2026-10-19", "--dry-run")  # the plan shows the promises due
    assert "cette semaine" in plan and "Gamma : promesse de paiement au 22/10/2026" in plan
    out = run_ok(export, "2026-10-19", "--emails")
    status = status_column(export)
    assert status["F-A"].startswith("En attente – suspendu jusqu'au 15/12/2026 – relance 1 ")
    # a stop has no step after it (it read « … dans le suivi) – relance 1 ensuite »)
    assert status["F-B"] == "En attente – relances arrêtées (« Ne plus relancer » dans le suivi)"
    assert "promesse de paiement au 22/10/2026" in status["F-G"]
    assert "promesse de paiement de 300,00\xa0€ au 22/10/2026" in status["F-D"]
    assert status["F-E"].startswith("Relance 1")
    assert all(status[n].startswith("En attente") for n in ("F-A", "F-B", "F-G", "F-D"))
    letters = sorted((runner_cwd / "courriers" / "2026-10-19").glob("*.docx"))
    assert [p.name.split(" – ")[0] for p in letters] == ["Epsilon"]
    text = _docx_text(letters[0])
    assert "Madame Durand" in text and "12 rue des Lilas" in text
    assert "\nMadame Durand,\n" in text  # the salutation follows the overriding contact
    eml = next((runner_cwd / "courriers" / "2026-10-19").rglob("*.eml"))
    assert "compta@epsilon.fr" in message_from_bytes(eml.read_bytes())["To"]
    greeting = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(
        ("plain",)).get_content()
    assert greeting.startswith("Madame Durand,")  # and so does the e-mail
    assert "Échanges" in out and "ligne 3" in out  # the bad exchange row, listed
    report = load_workbook(runner_cwd / "courriers" / "2026-10-19" / "rapport – 2026-10-19.xlsx")
    synthese = [r for r in report["Synthèse"].iter_rows(values_only=True)]
    week = [r[1] for r in synthese if r[0] == "Cette semaine"]
    assert any("Gamma" in x and "22/10/2026" in x for x in week), week
    errors = list(report["Erreurs"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == "suivi_relances.xlsx – Échanges" and r[1] == 3 for r in errors), errors

    after = clients_sheet(suivi)
    assert [r[0] for r in after] == [r[0] for r in before]  # the sort is kept
    for old, new in zip(before, after, strict=True):
        assert old[6:] == new[6:]  # the accountant's columns and the extra column
    assert fill_of(suivi, "B2") == "FFFF0000"
    assert load_workbook(suivi)["Clients"].column_dimensions["B"].width == 41
    epsilon = next(r for r in after if r[0] == "C005")
    assert epsilon[3] == "Relance 1" and epsilon[4] == "19/10/2026"

    # a week later: Gamma paid (promise kept), Delta did not (flagged, next step)
    export = write_xlsx(runner_cwd / "export.xlsx", export_rows(paid_gamma=True))
    out = run_ok(export, "2026-10-28")
    status = status_column(export)
    assert status["F-G"].startswith("Payée")
    assert status["F-D"].startswith("Relance 1")
    assert "Delta" in out and "non tenue" in out
    # seen in a four-Monday trial: after the phone call and its promise, the letter said
    # « ni aucune explication » (relance 2) or « sans doute un simple oubli » (relance 1)
    (delta,) = (runner_cwd / "courriers" / "2026-10-28").glob("Delta*.docx")
    text = " ".join(_docx_text(delta).split())
    assert "Vous nous aviez annoncé votre règlement pour le 22 octobre 2026 ; à ce jour, nous " \
           "ne l'avons pas reçu." in text
    assert "simple oubli" not in text
    report = load_workbook(runner_cwd / "courriers" / "2026-10-28" / "rapport – 2026-10-28.xlsx")
    broken = [r[1] for r in report["Synthèse"].iter_rows(values_only=True)
              if r[0] == "Promesse non tenue"]  # fmt: skip
    assert len(broken) == 1 and broken[0].startswith("Delta")
    calls = list(report["À appeler"].iter_rows(min_row=2, values_only=True))
    assert calls[0][0] == "Delta" and calls[0][5] == "Promesse de paiement non tenue"
    assert "Gamma" not in out.split("non tenue")[0].splitlines()[-1]
    again = clients_sheet(suivi)
    assert [r[0] for r in again] == [r[0] for r in before]
    for old, new in zip(before, again, strict=True):
        assert old[6:] == new[6:]
    assert fill_of(suivi, "B2") == "FFFF0000"
    gamma = next(r for r in again if r[0] == "C003")
    assert gamma[2] == 0

    with sqlite3.connect(runner_cwd / "journal_relances.sqlite") as con:
        exchanges = con.execute(
            "SELECT cle_client FROM evenements_en_vigueur WHERE type = 'echange'").fetchall()
        promises = con.execute(
            "SELECT count(*) FROM evenements_en_vigueur WHERE type = 'promesse'").fetchone()
    assert len(exchanges) == 1  # one event for the row, over two runs
    assert promises == (2,)


def test_exchange_row_deleted_is_withdrawn(runner_cwd):
    (runner_cwd / "relance.toml").write_text("# réglages\n", encoding="utf-8")
    export = write_xlsx(runner_cwd / "export.xlsx", export_rows())
    suivi = runner_cwd / "suivi_relances.xlsx"
    run_ok(export, "2026-10-05")
    wb = load_workbook(suivi)
    wb["Échanges"].append([date(2026, 10, 6), "C002", "visite", "RDV"])
    wb.save(suivi)
    run_ok(write_xlsx(export, export_rows()), "2026-10-06")
    wb = load_workbook(suivi)  # the accountant corrects the summary of the visit
    wb["Échanges"]["D2"] = "RDV : paiement promis oralement"
    wb.save(suivi)
    run_ok(write_xlsx(export, export_rows()), "2026-10-07")
    journal = runner_cwd / "journal_relances.sqlite"
    with sqlite3.connect(journal) as con:
        live = con.execute("SELECT detail FROM evenements_en_vigueur WHERE type = 'echange'"
                           ).fetchall()  # fmt: skip
    assert len(live) == 1 and "paiement promis oralement" in live[0][0]  # updated, not doubled
    wb = load_workbook(suivi)
    wb["Échanges"].delete_rows(2)
    wb.save(suivi)
    out = run_cli("run", write_xlsx(export, export_rows()), "--date", "2026-10-08", "--dry-run")
    assert out.exit_code == 0
    with sqlite3.connect(journal) as con:  # a dry run withdraws nothing
        assert con.execute("SELECT count(*) FROM evenements_en_vigueur WHERE type = 'echange'"
                           ).fetchone() == (1,)  # fmt: skip
    run_ok(write_xlsx(export, export_rows()), "2026-10-08")
    with sqlite3.connect(journal) as con:
        total = con.execute("SELECT count(*) FROM evenements WHERE type = 'echange'").fetchone()
        live = con.execute(
            "SELECT count(*) FROM evenements_en_vigueur WHERE type = 'echange'").fetchone()
    assert total == (2,) and live == (0,)  # both versions kept in the journal, none in force


def _untouched_after_failing_run(folder: Path, damage: str) -> str:
    (folder / "relance.toml").write_text("# réglages\n", encoding="utf-8")
    export = write_xlsx(folder / "export.xlsx", export_rows())
    suivi = folder / "suivi_relances.xlsx"
    run_ok(export, "2026-10-05")
    if damage == "open":
        (folder / "~$suivi_relances.xlsx").write_bytes(b"owner")
    else:
        suivi.write_bytes(b"PK\x03\x04 not a workbook")
    export = write_xlsx(folder / "export.xlsx", export_rows())
    before = {p: digest(p) for p in (export, suivi, folder / "journal_relances.sqlite")}
    result = run_cli("run", export, "--date", "2026-10-19")
    assert result.exit_code == 1, result.output
    assert {p: digest(p) for p in before} == before
    assert not (folder / "courriers" / "2026-10-19").exists()
    return result.output


def test_follow_up_open_in_excel_stops_the_run(runner_cwd):
    out = _untouched_after_failing_run(runner_cwd, "open")
    assert "ouvert dans Excel" in out and "suivi_relances.xlsx" in out


def test_damaged_follow_up_stops_the_run(runner_cwd):
    out = _untouched_after_failing_run(runner_cwd, "damaged")
    assert "endommagé" in out and "suivi_relances.xlsx" in out


def test_relance_2_after_a_broken_promise_never_says_no_explanation(tmp_path):
    """The relance 2 after a promise not kept (seen on a trial's PNG): « nous n'avons reçu
    à ce jour ni votre règlement, ni aucune explication » to a client who had called."""
    import dataclasses

    from conftest import all_text, priced
    from relance_xlsx import letters as L
    from relance_xlsx.config import Settings

    settings = Settings(societe=L.SAMPLE_SOCIETE)
    letter = dataclasses.replace(L.sample_letter(2), promesse_non_tenue=date(2026, 12, 4))
    (rendered,) = L.render_letters([priced(letter, settings)], settings, tmp_path).letters
    text = " ".join(all_text(rendered.docx).split())
    assert "ni aucune explication" not in text
    assert "Vous nous aviez annoncé votre règlement pour le 4 décembre 2026 ; à ce jour, nous " \
           "ne l'avons pas reçu en totalité." in text  # the sample's invoice is part paid


def test_a_client_gone_from_the_export_no_longer_shows_its_debt(runner_cwd):
    """Seen in a four-Monday trial: a client that paid everything left the export; two weeks
    on, its row still read « Solde échu 13 528,97 € – relance 2 le 07/12/2026 »."""
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    suivi = runner_cwd / "suivi_relances.xlsx"
    rows = [invoice("F-A", DUE, 1000.0, client="Alpha SARL", code="C001"),
            invoice("F-B", DUE, 900.0, client="Beta SAS", code="C002")]  # fmt: skip
    run_ok(write_xlsx(runner_cwd / "a" / "export.xlsx", rows), "2026-10-19")
    # another establishment's export, the same week: its clients are not « gone » from ours
    other = [invoice("F-Z", DUE, 500.0, client="Zeta", code="C009")]
    run_ok(write_xlsx(runner_cwd / "b" / "autre.xlsx", other), "2026-10-19")
    week1 = {r[0]: r for r in clients_sheet(suivi)}
    assert week1["C002"][2] == 900.0 and week1["C002"][3] == "Relance 1"

    run_ok(write_xlsx(runner_cwd / "a" / "export.xlsx", rows[:1]), "2026-10-26")  # Beta paid
    week2 = {r[0]: r for r in clients_sheet(suivi)}
    assert week2["C002"][2] == 0.0
    assert week2["C002"][5] == "absent de l'export du 26/10/2026 : plus rien à relancer"
    assert week2["C002"][3:5] == ("Relance 1", "19/10/2026")  # its history is kept
    assert week2["C009"] == week1["C009"]  # the other export's client is untouched
    assert week2["C001"][2] == 1000.0


def test_a_partial_export_says_no_client_has_left(runner_cwd):
    """An export of one client (to write to it alone) made every other client of the last
    run read « absent de l'export … : plus rien à relancer », their debt at 0."""
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    suivi = runner_cwd / "suivi_relances.xlsx"
    rows = [invoice(f"F-{c}", DUE, 1000.0 + i, client=f"Client {c}", code=f"C{c}")
            for i, c in enumerate("ABCDE")]  # fmt: skip
    run_ok(write_xlsx(runner_cwd / "export.xlsx", rows), "2026-10-19")
    run_ok(write_xlsx(runner_cwd / "un_client.xlsx", rows[:1]), "2026-10-26")
    week2 = {r[0]: r for r in clients_sheet(suivi)}
    assert all("absent de l'export" not in str(week2[f"C{c}"][5]) for c in "BCDE")
    assert week2["CB"][2] == 1001.0


def test_the_next_step_names_the_letter_the_client_will_get():
    """Seen in a four-Monday trial: a client at relance 2 read « Prochaine étape : relance 1
    le 21/12/2026 » (a new invoice's step); on the 21st it gets a « Relance 2 » letter."""
    import pandas as pd

    from relance_xlsx.config import Settings
    from relance_xlsx.fields import invoice_table
    from relance_xlsx.followup_sheet import client_rows
    from relance_xlsx.journal import JournalData
    from relance_xlsx.pipeline import classify_invoices

    def line(number: str, due: date) -> dict[str, object]:
        return {"code_client": "C1", "client": "Alpha", "numero_facture": number,
                "date_facture": due, "date_echeance": due, "montant_ttc": 1000.0,
                "montant_regle": None, "reste_du": 1000.0}  # fmt: skip

    empty = JournalData.empty()
    events = pd.DataFrame({"id": [1], "execution": 1, "date": pd.to_datetime(["2026-11-23"]),
                           "type": "courrier", "cle_client": "code:C1", "niveau": 1,
                           "fichier": "", "export": ""})  # fmt: skip
    invoices = pd.DataFrame({"evenement": [1], "cle_facture": ["code:C1|F1"], "niveau": [1],
                             "etape": 1})  # fmt: skip
    journal = JournalData(empty.runs, events.astype(empty.events.dtypes.to_dict()),
                          invoices.astype(empty.invoices.dtypes.to_dict()), frozenset())
    table = invoice_table([line("F1", date(2026, 9, 1)), line("F2", date(2026, 12, 4))])
    classified, letters = classify_invoices(table, Settings(), journal, date(2026, 12, 7))
    assert [x.niveau for x in letters] == [2]
    (row,) = client_rows(classified, {}, date(2026, 12, 7))
    assert (row.level, row.next_step) == ("Relance 2", "relance 2 le 21/12/2026")

    # a step that waits names the client's letter too: F2 due for its relance 1 a week
    # after the client's relance 2, held by the minimum interval between letters
    journal = JournalData(empty.runs, events.assign(niveau=2).astype(
        empty.events.dtypes.to_dict()), invoices.assign(niveau=2, etape=2).astype(
        empty.invoices.dtypes.to_dict()), frozenset())  # fmt: skip
    table = invoice_table([line("F1", date(2026, 9, 1)), line("F2", date(2026, 11, 2))])
    classified, letters = classify_invoices(table, Settings(), journal, date(2026, 11, 30))
    assert not letters
    (row,) = client_rows(classified, {}, date(2026, 11, 30))
    assert row.next_step.startswith("relance 2 en suspens : dernier courrier au client le "
                                    "23/11/2026"), row.next_step


def test_a_control_character_in_a_client_name_does_not_stop_the_follow_up(runner_cwd):
    """A CSV export with a control character in a client's name (a stray Ctrl-G from the
    accounting software): openpyxl refused it, and the run ended in English, « Erreur
    inattendue : Ctl Gamma cannot be used in worksheets. » The workbook gets the name
    without it."""
    rows = [";".join(["Code client", "Client", "N° facture", "Échéance", "Reste dû"]),
            ";".join(["C001", "Alpha\x07 SARL", "F1", "01/09/2026", "1000"]),
            ";".join(["C002", "Beta SA", "F2", "15/09/2026", "500"])]  # fmt: skip
    export = runner_cwd / "export.csv"
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("run", export, "--date", "23/11/2026")
    assert result.exit_code == 0, result.output
    assert "Erreur inattendue" not in result.output
    ws = load_workbook(runner_cwd / "suivi_relances.xlsx")["Clients"]
    names = [row[1] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["Alpha SARL", "Beta SA"]
