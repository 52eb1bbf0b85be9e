"""The report workbook « rapport – AAAA-MM-JJ.xlsx », opened as Excel would, against the run."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import HEADERS, invoice, run_cli, status_column, write_xlsx
from relance_xlsx.amounts import letter_amounts, line_amounts, load_rate_table
from relance_xlsx.config import Settings
from relance_xlsx.formatting import as_date
from relance_xlsx.model import ETATS
from relance_xlsx.pipeline import RunOptions, run
from relance_xlsx.report_xlsx import SHEETS

RUN = date(2026, 11, 23)
REPORT = f"rapport – {RUN.isoformat()}.xlsx"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo export run once on 23/11/2026; its report opened with openpyxl."""
    from make_sample import build

    folder = tmp_path_factory.mktemp("demo")
    export = folder / "echeancier_clients.xlsx"
    build().save(export)
    result = run(RunOptions(export=export, run_date=RUN, config=None, jobs=1))
    report = result.files.report
    return result, report, load_workbook(report)


def table(ws) -> tuple[list[str], list[list[object]]]:
    """Header and data rows of a table sheet (the filter range; no note rows)."""
    header = [c.value for c in ws[1]]
    if not ws.auto_filter.ref:
        return header, []
    last = int(re.search(r"(\d+)$", ws.auto_filter.ref).group(1))
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=last)]
    return header, rows


def day(value) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def test_report_sits_beside_the_letters(demo_run):
    result, report, wb = demo_run
    assert report == result.out_dir / REPORT
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # not private like a temp file
    assert report.parent == result.letter_files[0].parent
    assert wb.sheetnames == [*SHEETS, "Balance âgée"]  # no closing date: no D441-6 sheet
    assert str(report) in result.files.summary.read_text(encoding="utf-8")


def test_summary_sheet_matches_the_run(demo_run):
    result, _report, wb = demo_run
    ws = wb["Synthèse"]
    inv = result.invoices
    rows = {ws.cell(r, 1).value: (ws.cell(r, 2).value, ws.cell(r, 3).value)
            for r in range(11, 11 + len(ETATS))}  # fmt: skip
    for state in ETATS:
        sub = inv[inv["etat"] == state.value]
        count, amount = rows[state.value]
        assert count == len(sub), state
        assert amount == pytest.approx(float(sub["reste_du"].fillna(0).sum()), abs=0.01)
    labels = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    n_letters = labels.index("Total", labels.index("Courriers produits")) + 1
    assert ws.cell(n_letters, 2).value == len(result.letters)
    todo = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(5, 9)}
    assert todo["Courriers à poster"] == len(result.letters)
    assert todo["Clients à appeler"] == 2
    litigation = int((inv["etat"] == "Contentieux").sum())
    assert todo["Factures à transmettre au contentieux"] == litigation
    assert todo["Lignes illisibles à corriger dans l'export"] == 0
    for warning in result.warnings:  # the run's warnings, e.g. the unknown ECB half-year
        assert warning in labels
    assert any("Taux BCE" in str(x) for x in labels)


def test_summary_has_a_native_bar_chart(demo_run):
    _result, report, wb = demo_run
    with zipfile.ZipFile(report) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 2  # the summary's, then the aged balance's
        xml = z.read(charts[0]).decode("utf-8")
    assert re.search(r"<(c:)?barChart>", xml) and re.search(r'<(c:)?barDir val="bar"/>', xml)
    assert "'Synthèse'!$C$13:$C$19" in xml and "'Synthèse'!$A$13:$A$19" in xml
    assert len(wb["Synthèse"]._charts) == 1


def test_letters_sheet_one_row_per_letter(demo_run):
    result, _report, wb = demo_run
    header, rows = table(wb["Courriers"])
    assert header[:4] == ["Client", "Code client", "Courrier", "Recommandé AR"]
    assert len(rows) == len(result.letters)
    col = {name: header.index(name) for name in header}
    rates = load_rate_table()
    for row, letter, file in zip(rows, result.letters, result.letter_files, strict=True):
        assert row[col["Client"]] == letter.client
        assert row[col["Courrier"]] == letter.tier_name
        assert row[col["Recommandé AR"]] == ("Oui" if letter.niveau == 3 else "Non")
        assert row[col["Factures"]] == ", ".join(x.numero for x in letter.lignes)
        assert row[col["Nb factures"]] == len(letter.lignes)
        claimed = letter_amounts(letter, Settings(), rates).total_reclame
        assert Decimal(str(row[col["Total réclamé"]])) == claimed
        assert row[col["Fichier"]] == file.name and file.exists()
        assert row[col["Ville"]] == letter.ville and row[col["Adresse"]] == letter.adresse
    registered = [r for r in rows if r[col["Recommandé AR"]] == "Oui"]
    assert [r[col["Client"]] for r in registered] == ["Transports Rousseau"]


def test_call_sheet_lists_clients_at_relance_2(demo_run):
    result, _report, wb = demo_run
    header, rows = table(wb["À appeler"])
    col = {name: header.index(name) for name in header}
    inv = result.invoices
    noticed = set(inv.loc[inv["niveau_apres"] >= 3, "client"])  # the notice's business now
    expected = set(inv.loc[(inv["niveau_apres"] == 2) & (inv["etat"].isin(
        ["Relance 2", "En attente"])), "client"]) - noticed  # fmt: skip
    assert {r[col["Client"]] for r in rows} == expected == {"Pharmacie de la Gare",
                                                             "Restaurant L'Étoile"}
    by_client = {r[col["Client"]]: r for r in rows}
    pharmacie = by_client["Pharmacie de la Gare"]
    assert pharmacie[col["Situation"]] == "Relance 2 envoyée ce jour"
    assert day(pharmacie[col["Relance 2 du"]]) == RUN
    assert pharmacie[col["Téléphone"]] and pharmacie[col["Contact"]] == "Mme Julie Moreau"
    etoile = by_client["Restaurant L'Étoile"]
    assert etoile[col["Situation"]] == "Relance 2 envoyée, sans réponse"
    assert day(etoile[col["Relance 2 du"]]) == date(2026, 11, 2)
    assert day(etoile[col["Mise en demeure prévue le"]]) is not None
    assert "courriers revenus" in " ".join(str(c.value) for c in wb["À appeler"]["A"] if c.value)


def test_litigation_sheet_has_what_an_agency_asks_for(demo_run):
    result, _report, wb = demo_run
    header, rows = table(wb["Contentieux"])
    for needed in ("Client", "Code client", "Adresse", "Code postal", "Ville", "Contact",
                   "Téléphone", "E-mail", "N° facture", "Date facture", "Échéance",
                   "Montant TTC", "Réglé", "Reste dû", "Jours de retard", "Mise en demeure du",
                   "Intérêts au 23/11/2026", "Indemnité forfaitaire", "Total à recouvrer"):
        assert needed in header, needed  # fmt: skip
    col = {name: header.index(name) for name in header}
    inv = result.invoices
    chosen = inv[inv["etat"] == "Contentieux"]
    assert [r[col["N° facture"]] for r in rows] == list(chosen["numero_facture"])
    src = chosen.iloc[0]
    row = rows[0]
    assert row[col["Client"]] == "Boulangerie Martin SARL"
    assert row[col["Adresse"]] == "12 rue des Lilas" and row[col["Code postal"]] == "69003"
    assert day(row[col["Échéance"]]) == as_date(src["date_echeance"])
    assert day(row[col["Mise en demeure du"]]) == as_date(src["date_niveau"])
    assert row[col["Jours de retard"]] == int(src["jours_retard"])
    from relance_xlsx.model import LetterLine

    line = LetterLine(src["numero_facture"], None, as_date(src["date_echeance"]), None, None,
                      Decimal(str(src["reste_du"])), 0, False, 1)  # fmt: skip
    expected, _ = line_amounts(line, RUN, table=load_rate_table(), fixed_rate=None,
                               indemnite=Decimal("40"), particulier=False)  # fmt: skip
    assert Decimal(str(row[col["Intérêts au 23/11/2026"]])) == expected.interets > 0
    assert row[col["Indemnité forfaitaire"]] == 40
    assert row[col["Total à recouvrer"]] == pytest.approx(
        float(src["reste_du"]) + float(expected.interets) + 40, abs=0.001)


def test_errors_sheet_and_formula_like_text(runner_cwd):
    """Unreadable rows are listed; export text starting with = stays text, never a formula."""
    rows = [
        invoice("F1", date(2026, 9, 1), client='=HYPERLINK("http://x.example","clic")',
                code="=1+1"),
        invoice("F2", "31/02/2026", client="Beta SA", code="C2"),
        invoice("F3", date(2026, 9, 1), client="@SOMME(A1)", code="+C3"),
    ]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows)
    wb = load_workbook(export)
    for row in wb.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text in the export, as accounting software writes it
    wb.save(export)
    result = run_cli("run", export, "--date", RUN.isoformat())
    assert result.exit_code == 0, result.output
    report = runner_cwd / "courriers" / RUN.isoformat() / REPORT
    wb = load_workbook(report)
    header, errors = table(wb["Erreurs"])
    assert header == ["Feuille", "Ligne", "Raison", "N° facture", "Client"]
    assert errors == [["Export", 5, errors[0][2], "F2", "Beta SA"]]
    assert "31/02/2026" in errors[0][2]
    _, letters = table(wb["Courriers"])
    clients = {r[0] for r in letters}
    assert '=HYPERLINK("http://x.example","clic")' in clients and "@SOMME(A1)" in clients
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(report) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in z.read(name).decode("utf-8"), name
    assert status_column(export)["F2"].startswith("Erreur")


def test_no_report_in_dry_run(runner_cwd):
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", export, "--date", RUN.isoformat(), "--dry-run")
    assert result.exit_code == 0
    assert not list(runner_cwd.rglob("rapport*"))


def test_empty_sheets_say_so(runner_cwd):
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 12, 30))],
                        HEADERS)  # fmt: skip
    assert run_cli("run", export, "--date", RUN.isoformat()).exit_code == 0
    wb = load_workbook(runner_cwd / "courriers" / RUN.isoformat() / REPORT)
    assert wb["Courriers"]["A2"].value == "Aucun courrier produit."
    assert wb["À appeler"]["A2"].value == "Aucun client à appeler cette semaine."
    assert wb["Contentieux"]["A2"].value == "Aucune facture à transmettre au contentieux."
    assert wb["Erreurs"]["A2"].value == "Aucune ligne illisible."
    assert wb["Synthèse"]["B5"].value == 0


def test_report_that_cannot_be_written_does_not_fail_the_run(runner_cwd):
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    blocker = runner_cwd / "courriers" / RUN.isoformat() / REPORT
    blocker.mkdir(parents=True)  # stands in for a report Excel keeps open
    result = run_cli("run", export, "--date", RUN.isoformat())
    assert result.exit_code == 0, result.output
    assert f"Le rapport « {REPORT} » n'a pas pu être" in result.output
    assert status_column(export)["F1"].startswith("Relance 1")
    assert blocker.is_dir() and not list(blocker.parent.glob(".*.tmp"))


def test_report_has_usable_formatting(demo_run):
    _result, _report, wb = demo_run
    ws = wb["Courriers"]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    assert ws["A1"].font.b and ws.column_dimensions["A"].width >= 20
    col = [c.value for c in ws[1]].index("Total réclamé") + 1
    assert "€" in ws.cell(2, col).number_format
    dates = wb["Contentieux"]
    col = [c.value for c in dates[1]].index("Échéance") + 1
    assert dates.cell(2, col).number_format == "DD/MM/YYYY"
    assert isinstance(dates.cell(2, col).value, datetime)


def test_summary_text_mentions_the_report(runner_cwd):
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", export, "--date", RUN.isoformat())
    assert "Rapport (à ouvrir dans Excel) :" in result.output
    assert Path(result.output.split("Rapport (à ouvrir dans Excel) : ")[1].split("\n")[0]).exists()


def test_summary_text_says_what_to_do(demo_run):
    result, _report, _wb = demo_run
    text = result.files.summary.read_text(encoding="utf-8")
    assert "À faire cette semaine :" in text
    assert "  - poster 12 courrier(s), dont 1 en recommandé avec AR (Transports Rousseau)" in text
    assert "  - appeler 2 client(s) en relance 2 : Pharmacie de la Gare (04 " in text
    assert "Restaurant L'Étoile (04 " in text
    handover = "  - transmettre au contentieux 3 facture(s), 21\u00a0571,37\u00a0€ : Boulangerie"
    assert handover in text


def test_call_list_leaves_out_formal_notices_and_deducts_credit_notes(runner_cwd):
    from datetime import date as d

    from conftest import write_xlsx
    from relance_xlsx.pipeline import RunOptions, run
    from relance_xlsx.report_xlsx import call_rows

    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Alpha", "F1", d(2026, 9, 1), 1000.0, 1, d(2026, 11, 6)],
            ["Alpha", "AV1", d(2026, 9, 5), -100.0, None, None],
            ["Beta", "F2", d(2026, 9, 1), 500.0, 2, d(2026, 11, 2)],
            ["Beta", "F3", d(2026, 8, 1), 700.0, 2, d(2026, 10, 20)]]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows, headers)
    result = run(RunOptions(export=export, run_date=d(2026, 11, 23)))
    assert {x.client: x.niveau for x in result.letters} == {"Alpha": 2, "Beta": 3}
    calls = call_rows(result.invoices, d(2026, 11, 23))
    assert [r[0] for r in calls] == ["Alpha"]  # Beta has just been sent a formal notice
    assert float(calls[0][8]) == 900.0  # net of the credit note, as in the letter


@pytest.mark.parametrize("where", ["indicateurs", "enregistrement"])
def test_a_report_failing_half_way_closes_its_streams(demo_run, monkeypatch, tmp_path, where):
    """The report's sheets stream to temporary files (report_sheet.py): a failure while it
    is built or saved, after some sheets went into the file (the run turns it into a
    warning), must leave no stream for the garbage collector to complain about on stderr,
    no temporary file and no report file."""
    import gc
    import sys

    from openpyxl.worksheet import _writer
    from openpyxl.writer.excel import ExcelWriter

    from relance_xlsx import report_numbers
    from relance_xlsx.report_xlsx import write_report

    result, _report, _wb = demo_run
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    temporary = list(_writer.ALL_TEMP_FILES)
    if where == "indicateurs":
        def broken(*args, **kwargs):
            raise RuntimeError(where)

        monkeypatch.setattr(report_numbers, "add_indicator_sheets", broken)
    else:
        write_sheet = ExcelWriter.write_worksheet

        def full(self, ws):  # the disk fills up at the third sheet
            if ws.title == SHEETS[2]:
                raise RuntimeError(where)
            write_sheet(self, ws)

        monkeypatch.setattr(ExcelWriter, "write_worksheet", full)
    with pytest.raises(RuntimeError, match=where):
        write_report(result, Settings(), tmp_path / "rapport.xlsx")
    gc.collect()
    assert seen == [] and list(tmp_path.iterdir()) == []
    assert _writer.ALL_TEMP_FILES == temporary


def test_broken_promise_row_counts_what_the_client_owes_overdue(runner_cwd):
    """A promise not kept by a client whose overdue invoices are handed over this run: the
    call row shows what it owes overdue (its balance at the promise), never its credit
    note alone as « Échu à ce jour »; the invoice not yet due stays out."""
    from datetime import date as d

    from conftest import write_xlsx
    from relance_xlsx.followup import BrokenPromise
    from relance_xlsx.report_xlsx import call_rows

    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Gamma", "G1", d(2026, 3, 1), 2000.0, 3, d(2026, 6, 1)],
            ["Gamma", "G2", d(2026, 10, 1), 400.0, None, None],
            ["Gamma", "AV9", d(2026, 10, 5), -50.0, None, None],
            ["Gamma", "G3", d(2026, 12, 20), 300.0, None, None]]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows, headers)
    result = run(RunOptions(export=export, run_date=RUN, report=False))
    inv = result.invoices
    assert set(inv.loc[inv["numero_facture"].isin(["G1", "G2"]), "etat"]) == {"Contentieux"}
    key = inv["cle_client"].iloc[0]
    (row,) = call_rows(inv, RUN, [BrokenPromise(key, "Gamma : promesse non tenue", RUN)])
    assert row[0] == "Gamma" and row[5] == "Promesse de paiement non tenue"
    assert row[7] == "G1, G2, AV9" and float(row[8]) == 2350.0
