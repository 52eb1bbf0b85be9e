"""End to end through the CLI, as an accountant runs it, on workbooks built here."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import HEADERS, digest, invoice, run_cli, status_column, write_xlsx

RUN = "2026-11-23"


@pytest.fixture
def demo(runner_cwd) -> Path:
    """The demo export, freshly built (the committed one may have been run on)."""
    from make_sample import build

    path = runner_cwd / "echeancier_clients.xlsx"
    build().save(path)
    return path


def test_readme_demo_runs_on_a_copy(runner_cwd, capsys):
    """The README's first command runs scripts/demo.py: the tracked sample is never written."""
    import demo as demo_script

    before = digest(demo_script.SAMPLE)
    with pytest.raises(SystemExit) as done:
        demo_script.main([], folder=runner_cwd / "demo")
    assert done.value.code == 0, capsys.readouterr()
    assert digest(demo_script.SAMPLE) == before
    statuses = status_column(runner_cwd / "demo" / demo_script.SAMPLE.name)
    assert sum(str(s).startswith("Relance 1") for s in statuses.values()) > 10
    assert (runner_cwd / "demo" / "courriers" / RUN).is_dir()


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_demo_run(demo, runner_cwd):
    result = run_cli("run", demo, "--date", RUN)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Relances au 23/11/2026" in out and "Courriers produits : " in out
    assert "Traceback" not in out
    statuses = status_column(demo)
    assert len(statuses) >= 55
    words = {s.split(" – ")[0] for s in statuses.values()}
    assert {"Payée", "Avoir", "Non échue", "Litige", "Relance 1", "Relance 2",
            "Mise en demeure", "Contentieux", "En attente"} <= words  # fmt: skip
    letters = sorted((runner_cwd / "courriers" / RUN).glob("*.docx"))
    assert letters, "no letter"
    assert (runner_cwd / "journal_relances.sqlite").exists()
    assert list((runner_cwd / "sauvegardes").glob("echeancier_clients – sauvegarde *.xlsx"))
    assert list((runner_cwd / "courriers" / RUN).glob("résumé – *.txt"))
    # each letter's invoices carry its file name in the status column
    sent = [s for s in statuses.values() if s.startswith(("Relance", "Mise en demeure"))]
    assert sent and all("courrier « " in s for s in sent)


def test_dry_run_writes_nothing(demo, runner_cwd):
    before = digest(demo)
    files_before = tree(runner_cwd)
    result = run_cli("run", demo, "--date", RUN, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Client" in result.output and "Prochaine étape" in result.output
    assert "simulation" in result.output
    assert digest(demo) == before
    assert tree(runner_cwd) == files_before


def test_same_date_rerun_changes_nothing(demo, runner_cwd):
    assert run_cli("run", demo, "--date", RUN).exit_code == 0
    first = status_column(demo)
    run_dir = runner_cwd / "courriers" / RUN
    letters_first = {p.name: p.read_bytes() for p in run_dir.glob("*.docx")}
    con = sqlite3.connect(runner_cwd / "journal_relances.sqlite")
    rows_first = con.execute("SELECT * FROM relances ORDER BY 1, 2").fetchall()
    con.close()
    result = run_cli("run", demo, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert status_column(demo) == first
    con = sqlite3.connect(runner_cwd / "journal_relances.sqlite")
    assert con.execute("SELECT * FROM relances ORDER BY 1, 2").fetchall() == rows_first
    con.close()
    assert {p.name: p.read_bytes() for p in run_dir.glob("*.docx")} == letters_first


def test_progression_over_weekly_exports(runner_cwd):
    """relance 1 -> relance 2 -> mise en demeure -> contentieux, fresh exports each time."""
    rows = [invoice("F1", date(2026, 9, 1), 2500.0)]
    journal = runner_cwd / "journal.sqlite"
    # Due Tue 01/09/2026. Relance 1: 5th business day after = Tue 08/09. Relance 2: 10 after
    # = Tue 22/09. Mise en demeure: 20 after = Tue 20/10. Contentieux: 10 after = Tue 03/11.
    expected = [
        ("2026-09-07", "En attente"),
        ("2026-09-08", "Relance 1"),
        ("2026-09-15", "En attente"),
        ("2026-09-22", "Relance 2"),
        ("2026-10-19", "En attente"),
        ("2026-10-20", "Mise en demeure"),
        ("2026-11-02", "En attente"),
        ("2026-11-03", "Contentieux"),
    ]
    seen = []
    for day, state in expected:
        export = write_xlsx(runner_cwd / f"export_{day}.xlsx", rows)  # no status column
        result = run_cli("run", export, "--date", day, "--journal", journal)
        assert result.exit_code == 0, result.output
        status = status_column(export)["F1"]
        seen.append((day, status.split(" – ")[0]))
        assert status.startswith(state), (day, status)
    assert [s for _, s in seen] == [s for _, s in expected]


def test_csv_export_gets_a_copy(runner_cwd):
    path = runner_cwd / "export.csv"
    path.write_text(
        "Client;N° facture;Échéance;Solde\nAlpha;F1;01/09/2026;1 200,00 €\n", encoding="utf-8"
    )
    before = digest(path)
    result = run_cli("run", path, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert digest(path) == before
    copy = runner_cwd / "export – avec statut.xlsx"
    assert copy.exists() and "avec statut" in result.output
    ws = load_workbook(copy).active
    values = [c.value for c in ws[2]]
    assert any(isinstance(v, str) and v.startswith("Relance 1 – 23/11/2026") for v in values)


# --- failures: French message, exit code, nothing written --------------------------------


def assert_failed(result, code: int, *fragments: str):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in result.output, result.output


def test_missing_required_column(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [["A", "F1", 10.0]], ["Client", "N° facture", "TTC"])
    before = digest(path)
    result = run_cli("run", path, "--date", RUN)
    assert_failed(result, 1, "Colonne obligatoire introuvable", "date d'échéance", "[colonnes]")
    assert digest(path) == before
    assert tree(runner_cwd) == {"e.xlsx"}


@pytest.mark.parametrize(
    "name, content, fragment",
    [("vide.xlsx", b"", "est vide"), ("notes.pdf", b"%PDF-1.4\x00\x01", "n'est pas un classeur"),
     ("casse.xlsx", b"PK\x03\x04abc", "endommagé")],
)  # fmt: skip
def test_unreadable_exports(runner_cwd, name, content, fragment):
    path = runner_cwd / name
    path.write_bytes(content)
    result = run_cli("run", path, "--date", RUN)
    assert_failed(result, 1, "Erreur :", fragment)
    assert path.read_bytes() == content
    assert tree(runner_cwd) == {name}


def test_missing_file(runner_cwd):
    result = run_cli("run", runner_cwd / "absent.xlsx", "--date", RUN)
    assert_failed(result, 1, "introuvable")


def test_owner_file_present(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    (runner_cwd / "~$e.xlsx").write_bytes(b"owner")
    before = digest(path)
    result = run_cli("run", path, "--date", RUN)
    assert_failed(result, 1, "Excel")
    assert digest(path) == before
    assert tree(runner_cwd) == {"e.xlsx", "~$e.xlsx"}


def test_read_only_workbook(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    before = digest(path)
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        result = run_cli("run", path, "--date", RUN)
    finally:
        os.chmod(path, 0o644)
    assert_failed(result, 1, "lecture seule")
    assert digest(path) == before
    assert tree(runner_cwd) == {"e.xlsx"}


def test_bad_settings(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    (runner_cwd / "relance.toml").write_text("[delais]\nrelance_1 = \"cinq\"\n", encoding="utf-8")
    before = digest(path)
    result = run_cli("run", path, "--date", RUN)
    assert_failed(result, 2, "relance.toml, ligne 2, [delais] relance_1")
    assert digest(path) == before
    assert tree(runner_cwd) == {"e.xlsx", "relance.toml"}


def test_bad_usage_is_french(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", path, "--date", "23/13/2026")
    assert_failed(result, 2, "Utilisation incorrecte", "AAAA-MM-JJ")
    result = run_cli("run", path, "--datte", RUN)
    assert_failed(result, 2, "option inconnue")
    result = run_cli("run")
    assert_failed(result, 2, "argument manquant")


def test_init_writes_commented_settings(runner_cwd):
    result = run_cli("init", runner_cwd / "Relances")
    assert result.exit_code == 0, result.output
    text = (runner_cwd / "Relances" / "relance.toml").read_text(encoding="utf-8")
    assert "[delais]" in text and "intervalle_minimum = 10" in text and "# " in text


def test_settings_beside_the_export_are_used(runner_cwd):
    folder = runner_cwd / "dossier"
    rows = [invoice("F1", date(2026, 11, 16), 1000.0)]  # 5th business day after: 23/11
    export = write_xlsx(folder / "a_traiter" / "e.xlsx", rows)
    (folder / "relance.toml").write_text("[delais]\nrelance_1 = 6\n", encoding="utf-8")
    result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert status_column(export)["F1"].startswith("En attente – relance 1 le 24/11/2026")
    assert (folder / "journal_relances.sqlite").exists()


def test_workbook_content_survives_a_run(runner_cwd):
    """Formulas, other sheets, widths and styles are kept (the write-back check, via CLI)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Export"
    ws.append(["Balance âgée"])
    ws.merge_cells("A1:D1")
    ws.append(HEADERS + ["Écart"])
    ws.append([*invoice("F1", date(2026, 9, 1), 1000.0), "=F3-H3"])
    ws["B3"].comment = Comment("client fidèle", "compta")
    dv = DataValidation(type="list", formula1='"oui,non"')
    ws.add_data_validation(dv)
    dv.add("J3:J10")
    ws.column_dimensions["B"].width = 33
    wb.create_sheet("Autre")["A1"] = "garder"
    path = runner_cwd / "e.xlsx"
    wb.save(path)
    import zipfile

    before = {n: zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()}
    result = run_cli("run", path, "--date", RUN)
    assert result.exit_code == 0, result.output
    after = {n: zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()}
    assert set(after) == set(before)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"xl/worksheets/sheet1.xml"}
    wb2 = load_workbook(path)
    ws2 = wb2["Export"]
    assert ws2["I3"].value == "=F3-H3"
    assert ws2["B3"].comment.text == "client fidèle"
    assert ws2.column_dimensions["B"].width == 33
    assert wb2["Autre"]["A1"].value == "garder"
    assert ws2["J2"].value == "Statut relance"
    assert ws2["J3"].value.startswith("Relance 1 – 23/11/2026")


# --- review fixes: atomic runs, journal rules --------------------------------------------


def test_failure_after_letters_leaves_nothing(runner_cwd, monkeypatch):
    """The workbook write fails after the letters were rendered: no letter, no journal row."""
    from relance_xlsx import writeback

    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    assert run_cli("run", path, "--date", "2026-11-16").exit_code == 0  # a first week
    journal = runner_cwd / "journal_relances.sqlite"
    # this week a second client is due for a letter: letters are rendered, then the write fails
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1)),
                                              invoice("F2", date(2026, 9, 1), code="C2",
                                                      client="Beta")])  # fmt: skip
    before = {p: p.read_bytes() for p in [path, journal]}
    files_before = tree(runner_cwd)
    rendered = []
    from relance_xlsx import letters

    real_render = letters.render_letters

    def spy(*args, **kwargs):
        out = real_render(*args, **kwargs)
        rendered.extend(out.files)
        return out

    monkeypatch.setattr(letters, "render_letters", spy)

    def boom(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(writeback, "write_status_column", boom)
    result = run_cli("run", path, "--date", RUN)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert rendered, "the letters should have been rendered before the failure"
    assert {p: p.read_bytes() for p in before} == before
    assert tree(runner_cwd) == files_before


def test_locked_journal_is_reported_and_nothing_written(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    journal = runner_cwd / "journal_relances.sqlite"
    assert run_cli("run", path, "--date", "2026-11-16").exit_code == 0
    before = digest(path)
    con = sqlite3.connect(journal, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        result = run_cli("run", path, "--date", RUN)
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert_failed(result, 1, "utilisé par un autre programme")
    assert digest(path) == before
    assert not (runner_cwd / "courriers" / RUN).exists()


def test_interval_counts_letters_whose_invoices_left_the_export(runner_cwd):
    journal = runner_cwd / "j.sqlite"
    week1 = write_xlsx(runner_cwd / "w1.xlsx", [invoice("F1", date(2026, 9, 1))])
    assert run_cli("run", week1, "--date", "2026-11-18", "--journal", journal).exit_code == 0
    # F1 was paid and left the export; F2 of the same client is due two business days later
    week2 = write_xlsx(runner_cwd / "w2.xlsx", [invoice("F2", date(2026, 9, 2))])
    assert run_cli("run", week2, "--date", "2026-11-20", "--journal", journal).exit_code == 0
    status = status_column(week2)["F2"]
    assert status.startswith("En attente – relance 1 en suspens : dernier courrier au client "
                             "le 18/11/2026"), status  # fmt: skip


def test_letter_tier_is_the_highest_level_reached(runner_cwd):
    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Alpha", "F1", date(2026, 8, 3), 1000.0, 2, date(2026, 11, 2)],
            ["Alpha", "F2", date(2026, 10, 1), 500.0, None, None]]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows, headers)
    assert run_cli("run", export, "--date", RUN).exit_code == 0
    letters = [p.name for p in (runner_cwd / "courriers" / RUN).glob("*.docx")]
    assert letters == ["Alpha – Relance 2 – 2026-11-23.docx"]  # not a courteous relance 1
    statuses = status_column(export)
    assert statuses["F2"].startswith("Relance 1 – 23/11/2026")  # its own level
    assert statuses["F1"].startswith("En attente – mise en demeure le ")


def test_no_letter_while_a_formal_notice_runs_nor_after_handover(runner_cwd):
    """A second registered letter a week later, or a softer one after it, would undermine it."""
    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Alpha", "F1", date(2026, 8, 3), 1000.0, 3, date(2026, 11, 16)],
            ["Alpha", "F2", date(2026, 10, 1), 500.0, 2, date(2026, 10, 5)],
            ["Beta", "F3", date(2026, 7, 1), 800.0, 3, date(2026, 9, 1)],
            ["Beta", "F4", date(2026, 10, 1), 300.0, None, None]]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows, headers)
    assert run_cli("run", export, "--date", RUN).exit_code == 0
    assert not list((runner_cwd / "courriers" / RUN).glob("*.docx"))
    statuses = status_column(export)
    assert statuses["F2"].startswith(
        "En attente – mise en demeure en suspens : mise en demeure du 16/11/2026 en cours"
    ), statuses["F2"]
    assert statuses["F3"].startswith("Contentieux – ")
    assert "client transmis au contentieux" in statuses["F4"]


def test_same_date_rerun_on_a_corrected_export_replaces_that_date(runner_cwd):
    journal = runner_cwd / "journal_relances.sqlite"
    path = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    assert run_cli("run", path, "--date", RUN).exit_code == 0
    run_dir = runner_cwd / "courriers" / RUN
    assert [p.name for p in run_dir.glob("*.docx")] == ["Alpha SARL – Relance 1 – 2026-11-23.docx"]
    # the due date was wrong: corrected export, same day
    fixed = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 12, 15))])
    assert run_cli("run", fixed, "--date", RUN).exit_code == 0
    assert list(run_dir.glob("*.docx")) == []
    con = sqlite3.connect(journal)
    assert con.execute("SELECT COUNT(*) FROM relances").fetchone() == (0,)
    assert con.execute("SELECT COUNT(*) FROM courriers").fetchone() == (0,)
    con.close()
    assert status_column(fixed)["F1"].startswith("Non échue")


def test_csv_copy_open_in_excel_is_not_overwritten(runner_cwd):
    path = runner_cwd / "export.csv"
    path.write_text("Client;N° facture;Échéance;Solde\nAlpha;F1;01/09/2026;10\n", encoding="utf-8")
    assert run_cli("run", path, "--date", "2026-11-16").exit_code == 0
    copy = runner_cwd / "export – avec statut.xlsx"
    before = digest(copy)
    (runner_cwd / "~$export – avec statut.xlsx").write_bytes(b"owner")
    result = run_cli("run", path, "--date", RUN)
    assert_failed(result, 1, "Excel")
    assert digest(copy) == before


def test_python_dash_m_entry_point(runner_cwd):
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    out = subprocess.run([sys.executable, "-m", "relance_xlsx", "--version"],
                         capture_output=True, text=True, cwd=root)  # fmt: skip
    assert out.returncode == 0 and out.stdout.startswith("relance-xlsx ")


def test_dry_run_plan_groups_each_clients_invoices(runner_cwd):
    """Seen in a four-Monday trial: an export sorted by due date scattered one client's
    invoices over 100 lines of the plan; letters are decided per client."""
    rows = [invoice("FA1", date(2026, 9, 1), 100.0, client="Zèbre", code=""),
            invoice("FB1", date(2026, 9, 2), 100.0, client="alpha", code=""),
            invoice("FA2", date(2026, 9, 3), 100.0, client="Zèbre", code=""),
            invoice("FB2", date(2026, 9, 4), 100.0, client="alpha", code="")]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows)
    before = digest(export)
    result = run_cli("run", export, "--date", "2026-11-23", "--dry-run")
    assert result.exit_code == 0, result.output
    plan = [line.split()[1] for line in result.output.splitlines()
            if line.startswith(("Zèbre ", "alpha "))]  # fmt: skip
    assert plan == ["FB1", "FB2", "FA1", "FA2"]
    assert digest(export) == before
