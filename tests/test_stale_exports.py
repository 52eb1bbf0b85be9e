"""Issue #11: last week's export run again is refused, with the evidence named; --forcer."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from conftest import digest, invoice, run_cli, status_column, write_xlsx
from relance_xlsx.staleness import title_date

WEEK1, WEEK2, WEEK3 = "2026-11-16", "2026-11-23", "2026-11-30"  # Mondays
# each export is edited the Friday before its run
EDITED1, EDITED2, EDITED3 = "2026-11-13", "2026-11-20", "2026-11-27"


def week1_rows() -> list[list[object]]:
    return [
        invoice("FA-0142", date(2026, 10, 1), 1234.56, client="Dupont SA", code="C1"),
        invoice("FA-0150", date(2026, 10, 15), 500.0, client="Martin SARL", code="C2"),
        invoice("FA-0160", date(2026, 10, 20), 800.0, client="Alpha SARL", code="C3"),
        invoice("FA-0161", date(2026, 10, 20), 300.0, client="Beta SAS", code="C4"),
    ]


def week2_rows() -> list[list[object]]:
    """FA-0142 paid (balance 0), FA-0150 paid and gone, a new invoice."""
    return [
        invoice("FA-0142", date(2026, 10, 1), 1234.56, client="Dupont SA", code="C1",
                paid=1234.56),
        invoice("FA-0160", date(2026, 10, 20), 800.0, client="Alpha SARL", code="C3"),
        invoice("FA-0161", date(2026, 10, 20), 300.0, client="Beta SAS", code="C4"),
        invoice("FA-0170", date(2026, 11, 20), 900.0, client="Gamma SA", code="C5"),
    ]  # fmt: skip


def edited(day: str) -> tuple[str, ...]:
    return ("Balance âgée clients", f"Édité le {date.fromisoformat(day):%d/%m/%Y} par Compta", "")


@pytest.fixture(scope="module")
def two_weeks_once(tmp_path_factory) -> Path:
    """Week 1 and week 2 run on their own exports, one journal, one letters folder (built
    once: each test works on its own copy)."""
    folder = tmp_path_factory.mktemp("two_weeks")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)  # no stray relance.toml
        paths = layout(folder)
        write_xlsx(paths["w1"], week1_rows(), title_rows=edited(EDITED1))
        write_xlsx(paths["w2"], week2_rows(), title_rows=edited(EDITED2))
        for key, day in (("w1", WEEK1), ("w2", WEEK2)):
            result = run_cli("run", paths[key], "--date", day, *where(paths))
            assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def two_weeks(two_weeks_once, runner_cwd) -> dict[str, Path]:
    shutil.copytree(two_weeks_once, runner_cwd, dirs_exist_ok=True)
    return layout(runner_cwd)


def layout(folder: Path) -> dict[str, Path]:
    return {
        "w1": folder / "export_s47.xlsx", "w2": folder / "export_s48.xlsx",
        "journal": folder / "journal_relances.sqlite", "out": folder / "courriers",
    }  # fmt: skip


def where(paths: dict[str, Path]) -> list[object]:
    return ["--journal", paths["journal"], "--out", paths["out"]]


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under the roots with its digest: the proof nothing was written."""
    out = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        out.update({str(p): digest(p) for p in files})
    return out


def plain(text: str) -> str:
    """The output with the non-breaking spaces of French amounts as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def executions(journal: Path) -> int:
    con = sqlite3.connect(journal)
    try:
        return con.execute("SELECT COUNT(*) FROM executions").fetchone()[0]
    finally:
        con.close()


def test_last_weeks_export_is_refused_then_forced(two_weeks):
    stale = two_weeks["w1"]  # left in the folder, run again a week later
    before = snapshot(stale, two_weeks["journal"], two_weeks["out"])
    for extra in ((), ("--dry-run",)):
        result = run_cli("run", stale, "--date", WEEK3, *where(two_weeks), *extra)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        for fragment in (
            "L'export « export_s47.xlsx » est plus ancien que celui de la dernière exécution "
            "(le 23/11/2026)",
            "2 facture(s) réglée(s) ou disparue(s)",
            "FA-0142 (Dupont SA) : soldée à l'exécution du 23/11/2026, de nouveau ouverte à "
            "1 234,56 € comme dans l'export du 16/11",
            "FA-0150 (Martin SARL) : absente de l'export lu le 23/11/2026, de nouveau "
            "ouverte à 500,00 € comme dans l'export du 16/11",
            "il est daté du 13/11/2026 (« Édité le 13/11/2026 par Compta »), avant "
            "l'exécution du 23/11/2026.",
            "Rien n'a été écrit", "--forcer",
        ):  # fmt: skip
            assert fragment in plain(result.output), result.output
        assert snapshot(stale, two_weeks["journal"], two_weeks["out"]) == before

    forced = run_cli("run", stale, "--date", WEEK3, *where(two_weeks), "--forcer")
    assert forced.exit_code == 0, forced.output
    assert "Export traité malgré son âge (--forcer)" in forced.output
    assert status_column(stale)["FA-0142"].startswith("Relance")
    assert executions(two_weeks["journal"]) == 3


def test_same_day_rerun_is_not_refused(two_weeks):
    """Edited on Friday 20/11, run on Monday 23/11, run again that Monday."""
    again = run_cli("run", two_weeks["w2"], "--date", WEEK2, *where(two_weeks))
    assert again.exit_code == 0, again.output
    assert "plus ancien" not in again.output and "de nouveau ouverte" not in again.output
    assert "remplace celle de ce jour" not in again.output  # the same file: the usual re-run


def test_a_forced_old_export_says_it_replaced_the_days_run_and_how_to_undo(two_weeks):
    """Monday: the good export ran. Then last week's file, forced the same day, replaced
    that run without a word; now the summary says so, and re-running the good export
    puts its letters back."""
    good = run_cli("run", two_weeks["w2"], "--date", WEEK2, *where(two_weeks))
    assert good.exit_code == 0, good.output
    letters = sorted(p.name for p in two_weeks["out"].rglob("*.docx"))
    forced = run_cli("run", two_weeks["w1"], "--date", WEEK2, *where(two_weeks), "--forcer")
    assert forced.exit_code == 0, forced.output
    out = " ".join(plain(forced.output).split())
    assert ("Cette exécution remplace celle de ce jour faite avec « export_s48.xlsx »") in out
    assert ("Attention : l'export traité (--forcer) est plus ancien. Si l'exécution remplacée "
            "était la bonne, relancez son export ce même jour") in out
    again = run_cli("run", two_weeks["w2"], "--date", WEEK2, *where(two_weeks))
    assert again.exit_code == 0, again.output
    assert ("Cette exécution remplace celle de ce jour faite avec « export_s47.xlsx » : ses "
            "courriers sont retirés au profit de ceux-ci, et la colonne de statut de "
            "« export_s47.xlsx » n'est plus à jour.") in " ".join(
        plain(again.output).split())
    assert "Attention" not in again.output
    assert sorted(p.name for p in two_weeks["out"].rglob("*.docx")) == letters


def test_title_date_alone_refuses(two_weeks):
    """Week 2's balances exactly, but « Export du 16/11/2026 » above the header."""
    path = write_xlsx(two_weeks["w2"].with_name("export.xlsx"), week2_rows(),
                      title_rows=("Export du 16/11/2026",))  # fmt: skip
    before = snapshot(path, two_weeks["journal"], two_weeks["out"])
    result = run_cli("run", path, "--date", WEEK3, *where(two_weeks))
    assert result.exit_code == 1, result.output
    assert "il est daté du 16/11/2026 (« Export du 16/11/2026 »)" in result.output
    assert "de nouveau ouvertes" not in result.output
    assert snapshot(path, two_weeks["journal"], two_weeks["out"]) == before


def test_one_reopened_invoice_is_a_warning(two_weeks):
    """A rejected payment: FA-0142 open again at its old balance in this week's export."""
    rows = [r for r in week1_rows() if r[2] == "FA-0142"] + week2_rows()[1:]
    path = write_xlsx(two_weeks["w2"].with_name("export_s49.xlsx"), rows,
                      title_rows=edited(EDITED3))  # fmt: skip
    result = run_cli("run", path, "--date", WEEK3, *where(two_weeks))
    assert result.exit_code == 0, result.output
    assert "Facture vue réglée, de nouveau ouverte : FA-0142 (Dupont SA)" in result.output
    assert "Paiement rejeté ?" in result.output
    assert executions(two_weeks["journal"]) == 3


def test_folder_run_refuses_the_stale_export_and_runs_the_good_one(two_weeks, runner_cwd):
    inbox = runner_cwd / "a_traiter"
    inbox.mkdir()
    stale = inbox / "a_export_s47.xlsx"
    shutil.copy(two_weeks["w1"], stale)  # last week's file, saved again: a new fingerprint
    good = write_xlsx(inbox / "b_export_s49.xlsx", week2_rows(), title_rows=edited(EDITED3))
    before = digest(stale)
    result = run_cli("run", inbox, "--date", WEEK3, *where(two_weeks))
    assert result.exit_code == 1, result.output
    assert "Refusé (a_export_s47.xlsx) : L'export « a_export_s47.xlsx » est plus ancien" \
        in result.output  # fmt: skip
    assert "FA-0142 (Dupont SA) : soldée à l'exécution du 23/11/2026" in plain(result.output)
    assert "2 exports : 1 traité(s), 1 refusé(s) car plus ancien(s) que la dernière " \
        "exécution (a_export_s47.xlsx)." in result.output  # fmt: skip
    assert digest(stale) == before and stale.exists()
    assert status_column(good)["FA-0160"].startswith("Relance")
    assert executions(two_weeks["journal"]) == 3


def test_first_run_is_never_refused(runner_cwd):
    path = write_xlsx(runner_cwd / "e.xlsx", week1_rows(), title_rows=edited("2025-01-06"))
    result = run_cli("run", path, "--date", WEEK3, "--dry-run")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("rows, expected", [
    ([["Édité le 16/11/2026 par Compta"]], date(2026, 11, 16)),
    ([["Balance âgée clients au 16 novembre 2026"]], date(2026, 11, 16)),
    ([["Situation au", datetime(2026, 11, 16)]], date(2026, 11, 16)),
    ([["Société X"], ["Export du 2026-11-16 - Échéancier"]], date(2026, 11, 16)),
    ([["Échéancier clients au 16/11/2026"], ["Édité le 17/11/2026"]], date(2026, 11, 17)),
    ([["Période du 01/01/2026 au 30/06/2026"]], None),
    ([["Échéancier clients"], [45000]], None),
])  # fmt: skip
def test_title_date(rows, expected):
    found = title_date(rows)
    assert (found.date if found else None) == expected


def export_of(balances: dict[str, float]):
    """An invoice table as the reader gives it, for the pure check."""
    import pandas as pd

    return pd.DataFrame({
        "cle_facture": list(balances), "reste_du": list(balances.values()),
        "numero_facture": [k.split("|")[1] for k in balances],
        "client": [k.split("|")[0] for k in balances],
    })  # fmt: skip


def test_thresholds_of_the_pure_check():
    """Two rejected payments among eight paid invoices warn; eight of eight refuse; another
    establishment's later run is not the last run."""
    from relance_xlsx.journal import PastRun
    from relance_xlsx.staleness import check

    week1 = {f"C|F{i}": 100.0 for i in range(10)}
    week2 = {"C|F8": 100.0, "C|F9": 100.0, "C|F0": 0.0}  # F0 paid, F1..F7 gone
    other = PastRun(3, date(2026, 11, 24), {"B|X1": 50.0})  # another establishment
    past = [PastRun(1, date(2026, 11, 16), week1), PastRun(2, date(2026, 11, 23), week2), other]
    today = date(2026, 11, 30)

    rejected = check(export_of({**week2, "C|F0": 100.0, "C|F1": 100.0}), None, past, today)
    assert rejected.reference == date(2026, 11, 23)
    assert [(r.numero_facture, r.paid) for r in rejected.reopened] == [("F0", True),
                                                                       ("F1", False)]
    assert rejected.doubtful and not rejected.stale

    stale = check(export_of(week1), None, past, today)
    assert len(stale.reopened) == 8 and stale.stale

    partly = check(export_of({"C|F0": 60.0, "C|F1": 100.0}), None, past, today)
    assert [r.numero_facture for r in partly.reopened] == ["F1"]  # not its old balance
