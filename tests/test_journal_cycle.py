"""The journal's memory over weeks: events, re-runs, sorting, cancellation, migration.

Every run goes through the CLI on exports built here, as a user's weekly exports: fresh
files with no status column, the journal the only memory.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from conftest import digest, invoice, run_cli, status_column, write_xlsx
from relance_xlsx.business_days import BusinessCalendar
from relance_xlsx.journal import VERSION, load_journal

DATA = Path(__file__).parent / "data"


def letters_in_force(journal: Path) -> list[tuple[str, str, int]]:
    """(client key, date, tier) of every letter in force, from the journal's view."""
    with sqlite3.connect(journal) as con:
        return con.execute(
            "SELECT cle_client, date, niveau FROM courriers ORDER BY 2, 1"
        ).fetchall()


def run_ok(export: Path, day: str, *args: object) -> str:
    result = run_cli("run", export, "--date", day, *args)
    assert result.exit_code == 0, result.output
    return result.output


# --- eight weekly runs ----------------------------------------------------------------------

MONDAYS = [date(2026, 9, 14) + timedelta(weeks=k) for k in range(9)]  # 14/09 … 09/11


def weekly_rows(day: date, week: int) -> list[list[object]]:
    """The export of that Monday: staggered due dates, a partial payment, a new invoice a week."""
    rows = [
        invoice("F-A1", date(2026, 9, 1), 1200.0, client="Alpha SARL", code="C001"),
        invoice("F-A2", date(2026, 9, 4), 800.0, client="Alpha SARL", code="C001"),
    ]
    b_paid = 0.0 if week < 2 else 300.0  # part paid in week 3, all of it in week 7
    if week < 6:
        rows.append(invoice("F-B1", date(2026, 9, 10), 900.0, paid=b_paid, client="Beta SAS",
                            code="C002"))  # fmt: skip
    for k in range(week + 1):  # Gamma: a new invoice each week, already 8 days overdue
        due = MONDAYS[k] - timedelta(days=8)
        rows.append(invoice(f"F-G{k}", due, 100.0 + k, client="Gamma", code="C003"))
    return rows


def test_eight_weekly_runs_climb_each_step_and_respect_the_interval(runner_cwd):
    journal = runner_cwd / "journal.sqlite"
    seen: dict[str, list[str]] = {}
    for week, day in enumerate(MONDAYS):
        export = write_xlsx(runner_cwd / f"w{week}" / "export.xlsx", weekly_rows(day, week))
        run_ok(export, day.isoformat(), "--journal", journal, "--out", runner_cwd / "courriers")
        for number, status in status_column(export).items():
            seen.setdefault(number, []).append(status.split(" – ")[0])

    # F-A1 due Tue 01/09: relance 1 on the first run after 08/09, relance 2 ten business
    # days later (28/09), the mise en demeure twenty after (26/10), contentieux ten after
    # that (09/11). F-A2, due three days later, travels in the same letters.
    expected = ["Relance 1", "En attente", "Relance 2", "En attente", "En attente",
                "En attente", "Mise en demeure", "En attente", "Contentieux"]  # fmt: skip
    assert seen["F-A1"] == expected
    assert seen["F-A2"] == expected
    # Beta: relance 1 on 21/09, relance 2 on 05/10, then paid before the notice
    assert seen["F-B1"] == ["En attente", "Relance 1", "En attente", "Relance 2", "En attente",
                            "En attente"]  # fmt: skip

    letters = letters_in_force(journal)
    cal = BusinessCalendar.around("", MONDAYS[0])
    by_client: dict[str, list[date]] = {}
    for key, day, _tier in letters:
        by_client.setdefault(key, []).append(date.fromisoformat(day))
    assert set(by_client) == {"code:C001", "code:C002", "code:C003"}
    for key, days in by_client.items():
        gaps = cal.count_after(np.array(days[:-1], "datetime64[D]"),
                               np.array(days[1:], "datetime64[D]"))  # fmt: skip
        assert (gaps >= 10).all(), (key, days)  # never two letters within the interval
    # Gamma's weekly invoices wait for its next letter and join it: one letter per fortnight
    # until its mise en demeure (26/10), then none while the notice runs
    assert by_client["code:C003"] == [date(2026, 9, 14), date(2026, 9, 28), date(2026, 10, 12),
                                      date(2026, 10, 26)]  # fmt: skip
    # each invoice climbs one step at a time, and never goes back
    order = ["Non échue", "En attente", "Relance 1", "Relance 2", "Mise en demeure",
             "Contentieux"]  # fmt: skip
    for number, states in seen.items():
        reached = [order.index(s) for s in states if s not in ("En attente", "Payée")]
        assert reached == sorted(reached), (number, states)
        assert len(set(reached)) == len(reached), (number, states)


# --- re-runs and sorting ----------------------------------------------------------------------


def test_same_export_from_another_folder_the_same_day_changes_nothing(runner_cwd):
    """Week 2's relance 2, then the same export saved under another name and run again:
    the journal keeps relance 2, and week 3 sends the mise en demeure."""
    rows = [invoice("F1", date(2026, 9, 1), 2500.0)]
    journal, out = runner_cwd / "journal.sqlite", runner_cwd / "courriers"
    common = ("--journal", journal, "--out", out)
    run_ok(write_xlsx(runner_cwd / "s1" / "e.xlsx", rows), "2026-09-08", *common)
    first = write_xlsx(runner_cwd / "s2" / "e.xlsx", rows)
    run_ok(first, "2026-09-22", *common)
    letters = {p.name: p.read_bytes() for p in (out / "2026-09-22").glob("*.docx")}
    in_force = letters_in_force(journal)
    assert status_column(first)["F1"].startswith("Relance 2 – 22/09/2026")

    copy = write_xlsx(runner_cwd / "ailleurs" / "export copie.xlsx", rows)
    run_ok(copy, "2026-09-22", *common)
    assert status_column(copy) == status_column(first)
    assert {p.name: p.read_bytes() for p in (out / "2026-09-22").glob("*.docx")} == letters
    assert letters_in_force(journal) == in_force
    with sqlite3.connect(journal) as con:  # the first run is kept, marked superseded
        runs = con.execute("SELECT export, remplacee_par IS NOT NULL FROM executions "
                           "WHERE date = '2026-09-22' ORDER BY id").fetchall()  # fmt: skip
    assert [r[1] for r in runs] == [1, 0]

    week3 = write_xlsx(runner_cwd / "s3" / "e.xlsx", rows)
    run_ok(week3, "2026-10-20", *common)
    assert status_column(week3)["F1"].startswith("Mise en demeure – 20/10/2026")


def _shuffle_rows_not_status(path: Path) -> None:
    """A sort in Excel that moved the invoice rows but not the status column (a column
    outside the filter): every status now sits beside another invoice."""
    wb = load_workbook(path)
    ws = wb.active
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Code client")
    last_col = ws.max_column  # the status column
    rows = [[ws.cell(r, c).value for c in range(1, last_col)]
            for r in range(header + 1, ws.max_row + 1)]  # fmt: skip
    rows.reverse()
    for i, values in enumerate(rows):
        for c, v in enumerate(values, start=1):
            ws.cell(header + 1 + i, c).value = v
    wb.save(path)


def test_a_sort_between_two_runs_changes_nothing(runner_cwd):
    rows = [invoice("F1", date(2026, 9, 1), 1000.0, client="Alpha", code="C1"),
            invoice("F2", date(2026, 9, 20), 500.0, client="Beta", code="C2"),
            invoice("F3", date(2026, 10, 20), 700.0, client="Gamma", code="C3")]  # fmt: skip
    journal = runner_cwd / "j.sqlite"
    sorted_export = write_xlsx(runner_cwd / "a" / "e.xlsx", rows)
    run_ok(sorted_export, "2026-10-05", "--journal", journal, "--out", runner_cwd / "out")
    kept = runner_cwd / "b" / "e.xlsx"
    kept.parent.mkdir()
    shutil.copyfile(sorted_export, kept)
    shutil.copyfile(journal, runner_cwd / "j2.sqlite")
    _shuffle_rows_not_status(sorted_export)

    run_ok(sorted_export, "2026-10-26", "--journal", journal, "--out", runner_cwd / "out")
    run_ok(kept, "2026-10-26", "--journal", runner_cwd / "j2.sqlite", "--out",
           runner_cwd / "out2")  # fmt: skip
    assert status_column(sorted_export) == status_column(kept)
    assert sorted(p.name for p in (runner_cwd / "out" / "2026-10-26").glob("*.docx")) == sorted(
        p.name for p in (runner_cwd / "out2" / "2026-10-26").glob("*.docx"))  # fmt: skip
    assert status_column(kept)["F1"].startswith("Relance 2")


# --- the formal notice and the hand-over --------------------------------------------------------


def test_contentieux_hands_over_every_invoice_the_notice_named(runner_cwd):
    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Alpha", "F1", date(2026, 8, 3), 1000.0, 2, date(2026, 9, 28)],
            ["Alpha", "F2", date(2026, 10, 1), 500.0, None, None]]  # fmt: skip
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    journal = runner_cwd / "j.sqlite"
    notice = write_xlsx(runner_cwd / "w1" / "e.xlsx", rows, headers)
    run_ok(notice, "2026-10-26", "--journal", journal)
    statuses = status_column(notice)
    assert statuses["F1"].startswith("Mise en demeure – 26/10/2026 – contentieux le 09/11/2026")
    assert statuses["F2"].startswith("Relance 1 – 26/10/2026 – contentieux le 09/11/2026")
    waiting = write_xlsx(runner_cwd / "w2" / "e.xlsx", rows, headers)
    run_ok(waiting, "2026-11-02", "--journal", journal)
    assert all(s.startswith("En attente – contentieux le 09/11/2026")
               for s in status_column(waiting).values())  # fmt: skip
    handed = write_xlsx(runner_cwd / "w3" / "e.xlsx", rows, headers)
    run_ok(handed, "2026-11-09", "--journal", journal)
    statuses = status_column(handed)
    assert statuses["F1"].startswith("Contentieux – mise en demeure du 26/10/2026")
    assert statuses["F2"].startswith("Contentieux – mise en demeure du 26/10/2026")
    report = load_workbook(runner_cwd / "courriers" / "2026-11-09" / "rapport – 2026-11-09.xlsx")
    listed = {row[8] for row in report["Contentieux"].iter_rows(min_row=2, values_only=True)
              if row[8]}  # fmt: skip
    assert {"F1", "F2"} <= listed
    later = write_xlsx(runner_cwd / "w4" / "e.xlsx", rows, headers)
    out = run_ok(later, "2026-11-16", "--journal", journal)
    assert "transmettre au contentieux" not in out  # transmitted last week: not to do again
    assert all(s.startswith("Contentieux – transmise au recouvrement le 09/11/2026")
               for s in status_column(later).values())  # fmt: skip


def test_a_notice_known_from_the_export_keeps_its_date_after_the_hand_over(runner_cwd):
    """The export says « mise en demeure » of 02/11; the run of 23/11 hands the client over.
    A week later the Contentieux sheet still dates the notice 02/11 (not the hand-over), and
    the invoice no notice named has no notice date."""
    headers = ["Client", "N° facture", "Échéance", "Montant TTC", "Niveau de relance",
               "Date dernière relance"]  # fmt: skip
    rows = [["Hôtel", "F1", date(2026, 7, 1), 8900.0, "Mise en demeure", date(2026, 11, 2)],
            ["Hôtel", "F2", date(2026, 11, 7), 1200.0, None, None]]  # fmt: skip
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    journal = runner_cwd / "j.sqlite"
    notices = {}
    for week, day in enumerate(("2026-11-23", "2026-11-30")):
        export = write_xlsx(runner_cwd / f"w{week}" / "e.xlsx", rows, headers)
        run_ok(export, day, "--journal", journal)
        report = load_workbook(runner_cwd / "courriers" / day / f"rapport – {day}.xlsx")
        sheet = report["Contentieux"]
        column = [c.value for c in sheet[1]].index("Mise en demeure du")
        notices[day] = {row[8]: row[column] for row in sheet.iter_rows(min_row=2, values_only=True)
                        if row[8]}  # fmt: skip
    assert notices["2026-11-23"]["F1"].date() == date(2026, 11, 2)
    assert notices["2026-11-30"] == notices["2026-11-23"]
    assert notices["2026-11-30"]["F2"] is None


# --- cancellation -----------------------------------------------------------------------------


def test_cancel_returns_the_invoices_a_step(runner_cwd):
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    rows = [invoice("F1", date(2026, 9, 1), 1000.0, client="Alpha", code="C1"),
            invoice("F2", date(2026, 9, 1), 400.0, client="Beta", code="C2")]  # fmt: skip
    run_ok(write_xlsx(runner_cwd / "w1" / "e.xlsx", rows), "2026-09-08")
    week2 = write_xlsx(runner_cwd / "w2" / "e.xlsx", rows)
    run_ok(week2, "2026-09-22")
    day_dir = runner_cwd / "courriers" / "2026-09-22"
    assert sorted(p.name for p in day_dir.glob("*.docx")) == [
        "Alpha – Relance 2 – 2026-09-22.docx", "Beta – Relance 2 – 2026-09-22.docx"]

    dry = run_cli("annuler", "2026-09-22", "--client", "alpha", "--dry-run")
    assert dry.exit_code == 0 and "seraient annulés : 1" in dry.output
    assert (day_dir / "Alpha – Relance 2 – 2026-09-22.docx").exists()

    result = run_cli("annuler", "2026-09-22", "--client", "Alpha")
    assert result.exit_code == 0, result.output
    assert "annulés : 1" in result.output and "Alpha – Relance 2" in result.output
    # the status column and the report still name it until the next run: said, not hidden
    assert "colonne de statut de l'export et le rapport de ce jour citent encore" in \
        result.output  # fmt: skip
    assert (day_dir / "annulés" / "Alpha – Relance 2 – 2026-09-22.docx").exists()
    assert not (day_dir / "Alpha – Relance 2 – 2026-09-22.docx").exists()
    assert (day_dir / "Beta – Relance 2 – 2026-09-22.docx").exists()
    with sqlite3.connect(runner_cwd / "journal_relances.sqlite") as con:  # kept, and named
        assert con.execute("SELECT COUNT(*) FROM evenements WHERE type = 'annulation'"
                           ).fetchone() == (1,)  # fmt: skip
        assert con.execute("SELECT COUNT(*) FROM evenements WHERE type = 'courrier'"
                           ).fetchone() == (4,)  # fmt: skip

    # Alpha is back at relance 1 (and its last letter is the 08/09 one): relance 2 again
    week3 = write_xlsx(runner_cwd / "w3" / "e.xlsx", rows)
    out = run_cli("run", week3, "--date", "2026-09-29", "--dry-run")
    assert out.exit_code == 0
    statuses = {line.split()[1]: line for line in out.output.splitlines()
                if line.startswith(("Alpha ", "Beta "))}  # fmt: skip
    assert "Relance 2" in statuses["F1"] and "En attente" in statuses["F2"]

    again = run_cli("annuler", "2026-09-22", "--client", "Alpha")
    assert again.exit_code == 1 and "Aucun courrier du 22/09/2026" in again.output


def test_cancel_without_journal_is_a_french_error(runner_cwd):
    result = run_cli("annuler", "2026-09-22")
    assert result.exit_code == 1
    assert "Journal des relances introuvable" in result.output
    assert "Traceback" not in result.output


# --- migration --------------------------------------------------------------------------------


def test_journal_of_version_1_is_migrated_after_a_backup(runner_cwd):
    journal = runner_cwd / "journal_relances.sqlite"
    shutil.copyfile(DATA / "journal_v1.sqlite", journal)
    before = digest(journal)
    with sqlite3.connect(journal) as con:
        old_letters = con.execute("SELECT cle_client, date, niveau FROM courriers "
                                  "ORDER BY 2, 1").fetchall()  # fmt: skip
        old_reminders = con.execute("SELECT COUNT(*) FROM relances").fetchone()[0]
    # read without writing: a dry run sees the history and leaves the file alone
    data = load_journal(journal)
    assert len(data.events) == len(old_letters) == 26 and len(data.invoices) == old_reminders
    sample = Path(__file__).parent.parent / "sample_workbooks" / "echeancier_clients.xlsx"
    export = runner_cwd / "e.xlsx"
    shutil.copyfile(sample, export)
    assert run_cli("run", export, "--date", "2026-12-14", "--dry-run").exit_code == 0
    assert digest(journal) == before

    output = run_ok(export, "2026-12-14")
    backups = list(runner_cwd.glob("journal_relances – avant migration *.sqlite"))
    assert len(backups) == 1 and digest(backups[0]) == before
    assert "Journal mis au format de cette version" in output
    with sqlite3.connect(journal) as con:
        assert con.execute("SELECT valeur FROM meta WHERE cle = 'version'").fetchone() == (
            str(VERSION),)  # fmt: skip
        in_force = con.execute("SELECT cle_client, date, niveau FROM courriers "
                               "WHERE date < '2026-12-14' ORDER BY 2, 1").fetchall()  # fmt: skip
        assert con.execute("SELECT COUNT(*) FROM v1_relances").fetchone() == (old_reminders,)
    assert in_force == old_letters
    # the history carried over: relance 2 of 07/12 (recorded by version 1) counts, and the
    # interval since that letter holds the client's next one
    statuses = status_column(export)
    assert statuses["FA20260433"] == ("En attente – mise en demeure le 06/01/2027 "
                                      "(relance 2 du 07/12/2026)")  # fmt: skip
    assert "dernier courrier au client le 07/12/2026" in statuses["FA20260440"]


def test_journal_from_a_newer_version_is_refused_and_left_untouched(runner_cwd):
    journal = runner_cwd / "journal_relances.sqlite"
    with sqlite3.connect(journal) as con:
        con.execute("CREATE TABLE meta (cle TEXT PRIMARY KEY, valeur TEXT NOT NULL)")
        con.execute("INSERT INTO meta VALUES ('version', '99')")
    before = digest(journal)
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    export_before = digest(export)
    result = run_cli("run", export, "--date", "2026-11-23")
    assert result.exit_code == 1
    assert "version plus récente" in result.output and "Traceback" not in result.output
    assert digest(journal) == before and digest(export) == export_before
    assert not (runner_cwd / "courriers").exists()


def test_damaged_journal_is_refused_and_left_untouched(runner_cwd):
    journal = runner_cwd / "journal_relances.sqlite"
    journal.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    before = digest(journal)
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    export_before = digest(export)
    result = run_cli("run", export, "--date", "2026-11-23")
    assert result.exit_code == 1
    assert "Journal des relances illisible" in result.output
    assert digest(journal) == before and digest(export) == export_before


def test_a_run_killed_inside_its_journal_transaction_does_not_lock_the_journal_out(runner_cwd):
    """SIGKILL while the transaction is open leaves SQLite's rollback file: the next run
    (even a dry run) must recover, not fail for ever."""
    import signal
    import subprocess
    import sys

    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    run_ok(export, "2026-09-08")
    journal = runner_cwd / "journal_relances.sqlite"
    script = (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(journal)!r}, isolation_level=None)\n"
        "con.execute('PRAGMA cache_size = 1')\n"  # changes spill into the file at once
        "con.execute('BEGIN IMMEDIATE')\n"
        "con.execute(\"UPDATE executions SET factures = 999\")\n"
        "con.execute(\"CREATE TABLE bruit AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \"\n"
        "            \"SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c\")\n"
        "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (runner_cwd / "journal_relances.sqlite-journal").exists()  # a hot journal
    dry = run_cli("run", export, "--date", "2026-09-22", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Relance 2" in dry.output
    with sqlite3.connect(journal) as con:  # the killed transaction was rolled back
        assert con.execute("SELECT MAX(factures) FROM executions").fetchone() == (1,)
    run_ok(write_xlsx(runner_cwd / "w2" / "e.xlsx", [invoice("F1", date(2026, 9, 1))]),
           "2026-09-22", "--journal", journal)  # fmt: skip


def test_two_exports_the_same_day_never_share_a_letter_file(runner_cwd):
    """Two establishments, clients with the same names and other codes, one output folder:
    the second export's letters go to their own folder, the first's are left alone."""
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    lyon = write_xlsx(runner_cwd / "lyon.xlsx", [invoice("L1", date(2026, 9, 1), code="LY1")])
    paris = write_xlsx(runner_cwd / "paris.xlsx", [invoice("P1", date(2026, 9, 1), code="PA1")])
    run_ok(lyon, "2026-11-23")
    day = runner_cwd / "courriers" / "2026-11-23"
    first = {p.name: p.read_bytes() for p in day.glob("*.docx")}
    assert list(first) == ["Alpha SARL – Relance 1 – 2026-11-23.docx"]
    run_ok(paris, "2026-11-23")
    assert {p.name: p.read_bytes() for p in day.glob("*.docx")} == first
    assert [p.name for p in (day / "paris").glob("*.docx")] == list(first)
    assert len(letters_in_force(runner_cwd / "journal_relances.sqlite")) == 2
    run_ok(lyon, "2026-11-23")  # the first again: where it wrote before, nothing doubled
    assert {p.name: p.read_bytes() for p in day.glob("*.docx")} == first
    assert not (day / "lyon").exists()
    run_ok(paris, "2026-11-23")  # the second again: in its own folder still
    assert [p.name for p in (day / "paris").glob("*.docx")] == list(first)
    assert len(list(day.rglob("*.docx"))) == 2
    assert len(letters_in_force(runner_cwd / "journal_relances.sqlite")) == 2


def test_nothing_reads_the_journal_while_the_run_holds_its_transaction(runner_cwd, monkeypatch):
    """A large transaction spills into the file and locks readers out until it commits (the
    20,000-row benchmark's second week did): every read comes before it begins."""
    import relance_xlsx.journal as journal_mod

    original = journal_mod.JournalWriter.begin

    def spilling_begin(self):
        out = original(self)
        self.con.execute("PRAGMA cache_size = 1")  # every change goes to the file at once
        return out

    monkeypatch.setattr(journal_mod.JournalWriter, "begin", spilling_begin)
    monkeypatch.setattr(journal_mod, "BUSY_SECONDS", 0.5)
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    rows = [invoice(f"F{i}", date(2026, 9, 1), 100.0 + i, client=f"Client {i % 40}",
                    code=f"C{i % 40}") for i in range(400)]  # fmt: skip
    run_ok(write_xlsx(runner_cwd / "w1" / "e.xlsx", rows), "2026-09-08")
    # a week later nobody is due a letter (10 business days): the follow-up workbook shows
    # each client's last letter, and what became of its e-mail, read from the journal
    run_ok(write_xlsx(runner_cwd / "w2" / "e.xlsx", rows), "2026-09-15")
    assert len(letters_in_force(runner_cwd / "journal_relances.sqlite")) == 40


def test_a_killed_runs_leftovers_are_removed_by_the_next_run(runner_cwd):
    """Staging folders and half-written files of a run that died are cleaned, with a line
    in the summary; a run still going would keep its own (its process is alive)."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    day = runner_cwd / "courriers" / "2026-11-23"
    day.mkdir(parents=True)
    staging = runner_cwd / "courriers" / f".relance-{dead.pid}-x1y2"
    staging.mkdir()
    (staging / "Alpha – Relance 1 – 2026-11-23.docx").write_bytes(b"half")
    half = day / f".rapport – 2026-11-23.{dead.pid}.deadbeef.tmp"
    half.write_bytes(b"half")
    mine = runner_cwd / "courriers" / f".relance-{os.getpid()}-alive"  # a run still going
    mine.mkdir()
    # killed while creating the follow-up workbook, or backing up the export: beside them
    suivi = runner_cwd / f".suivi_relances.{dead.pid}.0badc0de.tmp"
    suivi.write_bytes(b"half")
    (runner_cwd / "sauvegardes").mkdir()
    backup = runner_cwd / "sauvegardes" / f".e – sauvegarde.{dead.pid}.feedc0de.tmp"
    backup.write_bytes(b"half")
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    out = run_ok(write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))]),
                 "2026-11-23")  # fmt: skip
    assert not staging.exists() and not half.exists() and mine.exists()
    assert not suivi.exists() and not backup.exists()
    assert "Restes d'une exécution interrompue supprimés" in out
    assert [p.name for p in day.glob("*.docx")] == ["Alpha SARL – Relance 1 – 2026-11-23.docx"]


def test_killed_mid_render_no_worker_lives_on_and_no_letter_appears(runner_cwd):
    """SIGKILL the run while its worker processes render letters: the workers die with it
    (Linux parent-death signal), nothing appears afterwards, and the next run succeeds."""
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    (runner_cwd / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    rows = [invoice(f"F{i}", date(2026, 9, 1), 100.0 + i, client=f"Client {i:03d}",
                    code=f"C{i:03d}") for i in range(400)]  # fmt: skip
    export = write_xlsx(runner_cwd / "e.xlsx", rows)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "relance_xlsx", "run", str(export),
                             "--date", "2026-11-23"], cwd=runner_cwd,
                            env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    courriers = runner_cwd / "courriers"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(courriers.glob(".relance-*/*.docx")):
        time.sleep(0.02)
    assert list(courriers.glob(".relance-*/*.docx")), "rendering never started"
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                and _parent_of(p) == proc.pid]  # fmt: skip
    assert children, "no worker process to watch"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]
    for pid in alive:  # a regression must not leave orphans behind the test
        os.kill(pid, signal.SIGKILL)
    assert not alive
    written = sorted(courriers.rglob("*.docx"))
    time.sleep(1.0)
    assert sorted(courriers.rglob("*.docx")) == written  # nothing appears afterwards
    assert not (courriers / "2026-11-23").exists() or not list(
        (courriers / "2026-11-23").glob("*.docx"))  # nothing was put in place  # fmt: skip
    run_ok(export, "2026-11-23")  # the next run succeeds, and cleans the staging folder
    assert len(list((courriers / "2026-11-23").glob("*.docx"))) == 400
    assert not list(courriers.glob(".relance-*"))


def _parent_of(proc_dir: Path) -> int | None:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


@pytest.mark.parametrize("fault", ["os", "sqlite"])
def test_a_full_disk_is_said_in_french_and_nothing_is_written(runner_cwd, monkeypatch, fault):
    """The disk fills while the workbook is written: French message, exit 1, the export,
    the journal and the letters folder as they were."""
    import errno
    import sqlite3 as sqlite

    import relance_xlsx.writeback as writeback_mod

    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    run_ok(export, "2026-09-08")
    journal = runner_cwd / "journal_relances.sqlite"
    week2 = write_xlsx(runner_cwd / "w2" / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    before = {p: digest(p) for p in (week2, journal)}

    def full(*args, **kwargs):
        if fault == "os":
            raise OSError(errno.ENOSPC, "No space left on device", str(week2))
        raise sqlite.OperationalError("database or disk is full")

    monkeypatch.setattr(writeback_mod, "write_status_column", full)
    result = run_cli("run", week2, "--date", "2026-09-22", "--journal", journal)
    assert result.exit_code == 1
    assert "disque plein sur « " in result.output and "il faut environ" in result.output
    assert "Erreur inattendue" not in result.output
    assert "No space" not in result.output and "Traceback" not in result.output
    assert {p: digest(p) for p in before} == before
    assert not (runner_cwd / "w2" / "courriers" / "2026-09-22").exists()
