"""A run killed at random moments: the next run repairs everything.

A real ``relance_xlsx run`` subprocess gets SIGKILL at seeded moments spread over the
phases of an uninterrupted run of the same export (measured first): before anything is
written, the letters, the journal's transaction, the write-back, after the commit. After
each kill: no process of the run lives on (its letter-rendering workers included), the
next run succeeds, and it leaves exactly what an uninterrupted run leaves — the same
letters (byte for byte), the same status column, the same journal events and balances,
the same report, summary and follow-up workbook — and nothing else: no hidden staging
folder, no temporary file, no rollback file, no half-copied backup.

To keep 20 kills within seconds, the killed process imports the package before the test
starts its clock (then runs ``python -m relance_xlsx run …`` as the module itself), and
the next run is the CLI in this process.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import digest, invoice, run_cli, status_column, write_xlsx
from relance_xlsx.journal import load_journal

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261123
# kills aimed at each phase of the run (20 in all): most where something is written
KILLS_IN = {"avant": 2, "courriers": 4, "transaction": 4, "écriture du statut": 4,
            "après le journal": 4, "terminé": 2}
DAY = "2026-11-23"
JOURNAL = "journal_relances.sqlite"
# a run killed after its backup and rerun within the same second numbers the new backup " (2)"
BACKUP_TIME = re.compile(r"sauvegarde \d{4}-\d\d-\d\d \d\dh\d\dm\d\d(?: \(\d+\))?")

# Waits for a line on stdin, then runs the package as ``python -m relance_xlsx`` does.
ZYGOTE = """
import runpy, sys
import relance_xlsx.cli, relance_xlsx.pipeline
print("prêt", flush=True)
sys.stdin.readline()
sys.argv = ["relance_xlsx", *sys.argv[1:]]
runpy.run_module("relance_xlsx", run_name="__main__", alter_sys=True)
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="/proc and the parent-death signal are Linux's")


def _pristine(folder: Path) -> Path:
    """200 invoices of 50 clients, all due a letter: enough for the letters, the write-back
    and the journal transaction to each last a measurable moment."""
    rows = [invoice(f"F{i:04d}", date(2026, 9, 1 + i % 20), 100.0 + i,
                    client=f"Client {i % 50:03d}", code=f"C{i % 50:03d}")
            for i in range(200)]  # fmt: skip
    write_xlsx(folder / "e.xlsx", rows)
    (folder / "relance.toml").write_text("# dossier de travail\n", encoding="utf-8")
    return folder


class Run:
    """A run in its own process group, started on ``go()``; the clock starts there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, "run", "e.xlsx", "--date", DAY], cwd=folder,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.t0 = 0.0

    def go(self) -> None:
        """Once the process is ready (imports done), let it run."""
        assert self.proc.stdout.readline().strip() == "prêt", self.proc.stderr.read()
        self.t0 = time.monotonic()
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def watch(self) -> dict[str, float]:
        """Let the run end, noting when each phase began (seconds after go) and when it
        ended (``fin``)."""
        seen: dict[str, float] = {}
        state = _Phases(self.folder)
        while self.proc.poll() is None:
            for phase in state.begun():
                seen.setdefault(phase, self.elapsed())
            time.sleep(0.002)
        seen["fin"] = self.elapsed()
        self.close()
        return seen

    def kill_in(self, phase: str, offset: float) -> bool:
        """SIGKILL ``offset`` seconds after ``phase`` began, as this run's files show it;
        False when the run ended first."""
        state = _Phases(self.folder)
        while phase != "avant" and phase not in state.begun() and self.proc.poll() is None:
            time.sleep(0.001)
        start = time.monotonic()
        while time.monotonic() - start < offset and self.proc.poll() is None:
            time.sleep(0.001)
        ended = self.proc.poll() is not None
        if not ended:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.close()
        return not ended

    def close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            stream.close()

    def survivors(self) -> list[int]:
        """Processes whose parent or process group was the run, still alive after 2 s."""
        deadline = time.monotonic() + 2.0
        while True:
            found = _family(self.proc.pid)
            if not found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for pid in found:  # a regression must not leave orphans behind the test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return found


PHASES = ("avant", "courriers", "transaction", "écriture du statut", "après le journal",
          "terminé")


class _Phases:
    """Which phases a run has begun, from its files: the staging folder of the letters,
    SQLite's rollback file (the journal's transaction open), the workbook's temporary
    file or backup, then the rollback file gone (committed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()

    def begun(self) -> set[str]:
        f = self.folder
        if "courriers" not in self.seen and any((f / "courriers").glob(".relance-*")):
            self.seen.add("courriers")
        hot = (f / f"{JOURNAL}-journal").exists()
        if hot:
            self.seen |= {"courriers", "transaction"}
        elif "transaction" in self.seen:
            self.seen.add("après le journal")
        if "transaction" in self.seen and "écriture du statut" not in self.seen and (
                (f / ".e.xlsx.relance-tmp").exists() or (f / "sauvegardes").exists()):
            self.seen.add("écriture du statut")
        if "après le journal" in self.seen and any((f / "courriers" / DAY).glob("résumé*")):
            self.seen.add("terminé")
        return self.seen


def _family(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, ppid, pgid = fields[0], int(fields[1]), int(fields[2])
        if state not in ("Z", "X") and pid in (ppid, pgid):
            out.append(int(entry.name))
    return out


def _phase(folder: Path, original: str) -> str:
    """Where the kill landed, from what the run left (read without touching anything)."""
    courriers = folder / "courriers"
    day = courriers / DAY
    if day.is_dir() and any(day.glob("résumé*")):
        return "terminé"
    hot = folder / f"{JOURNAL}-journal"
    if hot.exists() and hot.stat().st_size > 0:
        written = digest(folder / "e.xlsx") != original
        if written or (folder / "suivi_relances.xlsx").exists():
            return "transaction : classeur écrit"
        if any((folder / "sauvegardes").glob("*")) or (folder / ".e.xlsx.relance-tmp").exists():
            return "transaction : écriture du statut"
        return "transaction : courriers mis en place"
    if (folder / JOURNAL).exists() and _committed(folder / JOURNAL):
        return "après le journal"
    if courriers.is_dir() and any(courriers.glob(".relance-*")):
        return "courriers"
    return "avant"


def _committed(journal: Path) -> bool:
    uri = journal.resolve().as_uri() + "?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM executions").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def _snapshot(folder: Path) -> dict[str, object]:
    """What a run leaves, in the terms that matter (no timestamps, no ids)."""
    courriers = folder / "courriers"
    # a same-date run writes byte-identical letters (their date is the letter's, not the
    # clock's): bytes compared, the strictest check and the cheapest
    letters = {str(p.relative_to(courriers)): digest(p) for p in courriers.rglob("*.docx")}
    others = sorted(str(p.relative_to(courriers)) for p in courriers.rglob("*")
                    if p.is_file() and p.suffix != ".docx")  # fmt: skip
    journal = load_journal(folder / JOURNAL)
    events = journal.events.drop(columns=["id", "execution"])
    invoices = journal.invoices.merge(journal.events[["id", "type", "cle_client"]],
                                      left_on="evenement", right_on="id")  # fmt: skip
    invoices = invoices.drop(columns=["evenement", "id"])
    with sqlite3.connect(folder / JOURNAL) as con:
        balances = con.execute(
            "SELECT s.cle_facture, s.numero_facture, s.reste_du FROM soldes s JOIN executions x "
            "ON x.id = s.execution WHERE x.remplacee_par IS NULL ORDER BY 1").fetchall()
    summary = next((courriers / DAY).glob("résumé*")).read_text(encoding="utf-8")

    def rows(frame):  # noqa: ANN001, ANN202 - a DataFrame
        return sorted(tuple(_local(str(v), folder) for v in row)
                      for row in frame.itertuples(index=False))

    return {
        "letters": letters,
        "other files": others,
        "status": status_column(folder / "e.xlsx"),
        "events": rows(events),
        "event invoices": rows(invoices),
        "seen": sorted(journal.seen),
        "balances": balances,
        "report": _values(courriers / DAY / f"rapport – {DAY}.xlsx", folder),
        "follow-up": _values(folder / "suivi_relances.xlsx", folder),
        "summary": [_local(x, folder) for x in summary.splitlines() if "interrompue" not in x],
    }


def _local(value: object, folder: Path) -> object:
    """The working folder's path and the backups' times (and same-second numbers) are not
    compared."""
    if not isinstance(value, str):
        return value
    return BACKUP_TIME.sub("<heure>", value.replace(str(folder), "<dossier>"))


def _diff(got: object, want: object) -> str:
    """The first difference, readable (the tables are long)."""
    if isinstance(got, dict) and isinstance(want, dict):
        for k in sorted(set(got) | set(want), key=str):
            if got.get(k) != want.get(k):
                return f"[{k}] " + _diff(got.get(k), want.get(k))
    if isinstance(got, list) and isinstance(want, list):
        for a, b in zip(got, want, strict=False):
            if a != b:
                return f"{a!r} instead of {b!r}"
        return f"{len(got)} items instead of {len(want)}"
    return f"{got!r} instead of {want!r}"


def _values(path: Path, folder: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every cell of every sheet (the working folder's path is not compared, nor the line
    that says a killed run's leftovers were removed)."""
    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(_local(v, folder) for v in row)
                           for row in ws.iter_rows(values_only=True)
                           if not any("interrompue" in str(v) for v in row)]
                for ws in wb.worksheets}  # fmt: skip
    finally:
        wb.close()


def _leftovers(folder: Path) -> list[str]:
    """Hidden files or folders, temporary or rollback files, displaced letters."""
    found = []
    for p in folder.rglob("*"):
        name = p.name
        if (name.startswith((".", "~$")) or name.endswith((".tmp", "-journal", "-wal"))
                or name.startswith("ancien – ")):
            found.append(str(p.relative_to(folder)))
    return found


def _bad_backups(folder: Path) -> list[str]:
    """Backups that are not whole workbooks (a kill in the middle of the copy). A hidden
    temporary file is the copy a kill cut short, never shown as a backup: the next run
    removes it (``_leftovers`` checks that)."""
    bad = []
    for p in (folder / "sauvegardes").glob("[!.]*"):
        try:
            with zipfile.ZipFile(p) as zf:
                if zf.testzip() is not None:
                    bad.append(p.name)
        except zipfile.BadZipFile:
            bad.append(p.name)
    return bad


def test_a_run_killed_at_random_moments_is_repaired_by_the_next_run(tmp_path, monkeypatch):
    pristine = _pristine(tmp_path / "pristine")
    original = digest(pristine / "e.xlsx")

    # an uninterrupted run: when each phase begins, and what it leaves
    reference_dir = tmp_path / "reference"
    shutil.copytree(pristine, reference_dir)
    run = Run(reference_dir)
    run.go()
    timeline = run.watch()
    assert run.proc.returncode == 0
    assert set(timeline) == {*PHASES[1:], "fin"}, timeline
    reference = _snapshot(reference_dir)
    assert len(reference["letters"]) == 50
    assert _leftovers(reference_dir) == []

    # seeded moments spread over the run: KILLS_IN[phase] in each phase, each at a
    # seeded fraction of that phase's length, counted from the moment the killed run's
    # files show the phase began (a busy machine shifts no kill out of its phase)
    rng = random.Random(SEED)
    starts = [0.0, *(timeline[p] for p in PHASES[1:]), timeline["fin"]]
    moments = [(phase, rng.random() * (starts[i + 1] - starts[i]))
               for i, phase in enumerate(PHASES) for _ in range(KILLS_IN[phase])]
    rng.shuffle(moments)
    phases: Counter[str] = Counter()
    folder = tmp_path / "k0"
    shutil.copytree(pristine, folder)
    run = Run(folder)
    for k, (aim, offset) in enumerate(moments):
        run.go()
        killed = run.kill_in(aim, offset)
        survivors = run.survivors()
        phase = _phase(folder, original) if killed else "terminé"
        phases[phase] += 1
        where = f"kill {k}, {offset:.3f} s into « {aim} » (landed in « {phase} »)"
        assert survivors == [], f"{where}: processes alive after the kill: {survivors}"
        assert _bad_backups(folder) == [], where
        # the next kill's process imports while this kill's folder is repaired
        next_folder = tmp_path / f"k{k + 1}"
        shutil.copytree(pristine, next_folder)
        next_run = Run(next_folder) if k + 1 < len(moments) else None
        monkeypatch.chdir(folder)
        result = run_cli("run", "e.xlsx", "--date", DAY)
        assert result.exit_code == 0, f"{where}: {result.output}"
        assert "Erreur" not in result.output, where
        assert _leftovers(folder) == [], where
        assert _bad_backups(folder) == [], where
        after = _snapshot(folder)
        for key, value in reference.items():
            assert after[key] == value, f"{where}: {key} differs: {_diff(after[key], value)}"
        monkeypatch.chdir(tmp_path)
        shutil.rmtree(folder)
        folder, run = next_folder, next_run

    # where the kills landed, from the files each left: a few in each main phase
    transaction = sum(n for p, n in phases.items() if p.startswith("transaction"))
    assert phases["courriers"] >= 2, phases
    assert transaction >= 4, phases
    assert phases["transaction : écriture du statut"] + phases[
        "transaction : classeur écrit"] >= 2, phases  # fmt: skip
    assert phases["après le journal"] >= 2, phases
