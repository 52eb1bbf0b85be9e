"""Full disks, for real: small tmpfs disks mounted for the test (root on Linux; skipped
with the reason when mounting is not allowed).

Before the journal's commit a full disk fails the run: exit 1, a French message naming the
disk and the room it needs, and every file as it was. After it, the run is done: exit 0 and
a warning for what could not be written. Never a traceback or an English system error.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from conftest import digest, invoice, run_cli, status_column, write_xlsx
from relance_xlsx.printing import find_soffice

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-23"
ENGLISH = ("No space", "disk is full", "Errno", "Traceback", "Exception ignored",
           "Erreur inattendue")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str, int], Path]]:
    """Mounts a tmpfs of a given size (bytes) at tmp_path/<name>; unmounted afterwards."""
    if not sys.platform.startswith("linux"):
        pytest.skip("tmpfs is Linux's")
    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(point)], capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"mounting a small disk is not allowed here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _export(folder: Path) -> Path:
    """20 clients due a letter, 60 invoices."""
    rows = [invoice(f"F{i:03d}", date(2026, 9, 1 + i % 20), 100.0 + i,
                    client=f"Client {i % 20:02d}", code=f"C{i % 20:02d}") for i in range(60)]
    (folder / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    return write_xlsx(folder / "e.xlsx", rows)


def _letters_size(tmp_path: Path) -> int:
    """What the letters of ``_export`` take on a tmpfs (whole pages), from a run elsewhere."""
    folder = tmp_path / "mesure"
    folder.mkdir()
    result = run_cli("run", _export(folder), "--date", DAY)
    assert result.exit_code == 0, result.output
    return sum(-(-p.stat().st_size // 4096) * 4096
               for p in (folder / "courriers" / DAY).glob("*.docx"))  # fmt: skip


def _clean(output: str) -> None:
    for words in ENGLISH:
        assert words not in output, output


def _unchanged(folder: Path, before: dict[Path, str]) -> None:
    assert {p: digest(p) for p in before} == before
    assert not list(folder.rglob("*.docx")), "no letter is left"
    assert not (folder / "journal_relances.sqlite").exists()
    assert not [p for p in folder.rglob(".*")], "no temporary file is left"


def test_letters_disk_full_before_the_commit_changes_nothing(runner_cwd, small_disk):
    export = _export(runner_cwd)
    disk = small_disk("cle", 256 * 1024)  # far too small for 20 letters
    before = {export: digest(export)}
    result = run_cli("run", export, "--date", DAY, "--out", disk / "courriers")
    assert result.exit_code == 1, result.output
    assert f"disque plein sur « {disk} »" in result.output
    assert "il faut environ" in result.output and "Rien n'a été modifié" in result.output
    _clean(result.output)
    _unchanged(runner_cwd, before)
    assert not list(disk.iterdir()), "the letters disk is left as it was"


def test_journal_disk_full_is_said_in_french_and_changes_nothing(runner_cwd, small_disk):
    export = _export(runner_cwd)
    disk = small_disk("journal", 16 * 1024)  # SQLite: « database or disk is full »
    before = {export: digest(export)}
    result = run_cli("run", export, "--date", DAY, "--journal", disk / "journal.sqlite")
    assert result.exit_code == 1, result.output
    assert f"disque plein sur « {disk} »" in result.output
    _clean(result.output)
    _unchanged(runner_cwd, before)
    assert [p.name for p in disk.iterdir()] in ([], ["journal.sqlite"])
    if (disk / "journal.sqlite").exists():  # created empty: no run recorded
        with sqlite3.connect(disk / "journal.sqlite") as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "executions" in tables:
                assert con.execute("SELECT COUNT(*) FROM executions").fetchone()[0] == 0


def test_report_disk_full_after_the_commit_is_a_warning_with_exit_0(runner_cwd, small_disk,
                                                                    tmp_path):  # fmt: skip
    """The letters fit, the report and the summary do not: the run is done (journal,
    workbook, letters), and says what is missing and why."""
    size = _letters_size(tmp_path) + 16 * 1024
    export = _export(runner_cwd)
    disk = small_disk("cle", size)
    # a real process: what the garbage collector prints at exit is seen too
    done = subprocess.run([sys.executable, "-m", "relance_xlsx", "run", str(export), "--date",
                           DAY, "--out", str(disk / "courriers")], cwd=runner_cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert (f"Relances faites, mais le rapport « rapport – {DAY}.xlsx » n'a pas pu être "
            f"écrit : disque plein sur « {disk} »") in output  # fmt: skip
    assert "il faut environ" in output
    _clean(output)
    assert len(list((disk / "courriers" / DAY).glob("*.docx"))) == 20
    assert not list((disk / "courriers" / DAY).glob("rapport*"))
    assert not [p for p in disk.rglob(".*")], "no half-written file is left"
    assert set(status_column(export).values()) != {None}
    with sqlite3.connect(runner_cwd / "journal_relances.sqlite") as con:
        assert con.execute("SELECT COUNT(*) FROM executions").fetchone()[0] == 1


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice absent")
def test_pdf_disk_full_names_the_disk_and_leaves_no_cut_pdf(runner_cwd, small_disk, tmp_path):
    """Room for the letters, not for their PDFs: LibreOffice left PDFs cut short, the batch
    failed with pypdf's English (« Stream has ended unexpectedly », « EOF marker not
    found ») and nothing said the disk was full. Now the cut PDFs are removed, the warning
    names the disk, and the run (journal committed) ends with exit 0."""
    size = _letters_size(tmp_path) + 160 * 1024
    export = _export(runner_cwd)
    disk = small_disk("cle", size)
    done = subprocess.run([sys.executable, "-m", "relance_xlsx", "run", str(export), "--date",
                           DAY, "--out", str(disk / "courriers"), "--pdf"], cwd=runner_cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    _clean(output)
    for english in ("Stream has ended", "EOF marker"):
        assert english not in output, output
    flat = " ".join(output.split())
    # where the disk fills decides which words: PDFs cut short, or the batch not written
    assert ("courrier(s) non converti(s) en PDF" in flat
            and f"Cause probable : disque plein sur « {disk} »" in flat) or (
        f"Relances faites, mais le lot PDF n'a pas pu être écrit : disque plein sur « {disk} »"
        in flat), output  # fmt: skip
    folder = disk / "courriers" / DAY
    assert len(list(folder.glob("*.docx"))) == 20
    for pdf in folder.glob("*.pdf"):  # whatever PDF is there is whole
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF"), pdf.name
