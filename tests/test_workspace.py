"""The working folder (init), a folder of exports (run a_traiter) and the progress bar."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import digest, invoice, run_cli, status_column, write_xlsx
from relance_xlsx import workspace
from relance_xlsx.config import load_settings
from relance_xlsx.letters import default_templates_dir

RUN = "2026-11-23"
LAUNCHERS = ("Relancer.bat", "relancer.command", "relancer.sh")


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# --- init ----------------------------------------------------------------------------------


def test_init_creates_the_working_folder(runner_cwd):
    folder = runner_cwd / "Relances clients" / "Société Test"
    result = run_cli("init", folder, "--source", "/opt/relance-xlsx")
    assert result.exit_code == 0, result.output
    for name in ("a_traiter", "courriers", "modeles"):
        assert (folder / name).is_dir()
    for tpl in ("relance_1.docx", "relance_2.docx", "mise_en_demeure.docx"):
        assert digest(folder / "modeles" / tpl) == digest(default_templates_dir() / tpl)
    settings = load_settings(folder / "relance.toml")
    assert settings.modeles_dossier == folder / "modeles"
    text = (folder / "relance.toml").read_text(encoding="utf-8")
    assert 'dossier = "modeles"' in text and "# " in text and "[delais]" in text
    with sqlite3.connect(folder / "journal_relances.sqlite") as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert {"relances", "courriers", "executions", "evenements"} <= tables
    for name in LAUNCHERS:
        assert (folder / name).is_file()
    assert (folder / "relancer.sh").stat().st_mode & 0o111
    assert (folder / "relancer.command").stat().st_mode & 0o111
    out = result.output
    assert "créé    a_traiter/" in out and "créé    relancer.sh" in out
    assert "a_traiter" in out and "Relancer.bat" in out and "/opt/relance-xlsx" in out


def test_init_twice_keeps_the_users_edits(runner_cwd):
    folder = runner_cwd / "Dossier"
    assert run_cli("init", folder).exit_code == 0
    edited = {
        "relance.toml": b'[societe]\nnom = "Ma SARL"\n',
        "modeles/relance_1.docx": b"mon modele",
        "relancer.sh": b"#!/bin/sh\necho mon lanceur\n",
        "Relancer.bat": b"@echo off\r\necho mon lanceur\r\n",
    }
    for name, data in edited.items():
        (folder / name).write_bytes(data)
    (folder / "a_traiter" / "export.xlsx").write_bytes(b"not touched")
    journal = digest(folder / "journal_relances.sqlite")
    (folder / "modeles" / "relance_2.docx").unlink()  # deleted: created again

    result = run_cli("init", folder)
    assert result.exit_code == 0, result.output
    for name, data in edited.items():
        assert (folder / name).read_bytes() == data, name
        assert f"gardé   {name} (déjà présent, laissé tel quel)" in result.output
    assert (folder / "a_traiter" / "export.xlsx").read_bytes() == b"not touched"
    assert digest(folder / "journal_relances.sqlite") == journal
    assert digest(folder / "modeles" / "relance_2.docx") == digest(
        default_templates_dir() / "relance_2.docx"
    )
    assert "créé    modeles/relance_2.docx" in result.output
    assert not list(folder.rglob("*.tmp"))


def test_init_on_a_file_is_refused_in_french(runner_cwd):
    target = runner_cwd / "dossier"
    target.write_text("un fichier", encoding="utf-8")
    result = run_cli("init", target)
    assert result.exit_code == 1
    assert "n'est pas un dossier" in result.output and "Traceback" not in result.output
    assert target.read_text(encoding="utf-8") == "un fichier"


def test_launchers_quote_the_source(runner_cwd):
    """A source path with spaces, accents, quotes, $ and % reaches pip unchanged."""
    source = "/srv/Société d'Études/100% $HOME relance-xlsx"
    folder = runner_cwd / "d"
    assert run_cli("init", folder, "--source", source).exit_code == 0
    for name in ("relancer.sh", "relancer.command"):
        line = next(x for x in (folder / name).read_text("utf-8").splitlines()
                    if x.startswith("SOURCE="))  # fmt: skip
        shown = subprocess.run(["bash", "-c", f'{line}\nprintf %s "$SOURCE"'],
                               capture_output=True, text=True, check=True)  # fmt: skip
        assert shown.stdout == source
    bat = (folder / "Relancer.bat").read_text("utf-8")
    assert "set \"SOURCE=/srv/Société d'Études/100%% $HOME relance-xlsx\"" in bat


def test_bat_source_with_a_quote_is_refused():
    with pytest.raises(workspace.RelanceError, match="guillemets"):
        workspace.bat_value('C:\\a"b')


# --- where launchers install from ----------------------------------------------------------


class FakeDist:
    def __init__(self, direct_url: dict | None, version: str = "0.1.0") -> None:
        self.direct = direct_url
        self.version = version

    def read_text(self, name: str) -> str | None:
        return json.dumps(self.direct) if self.direct is not None and name == "direct_url.json" \
            else None  # fmt: skip


def _dist(monkeypatch, dist) -> None:
    def fake(name: str):
        if dist is None:
            raise workspace.metadata.PackageNotFoundError(name)
        return dist

    monkeypatch.setattr(workspace.metadata, "distribution", fake)


def test_install_source_local_folder(monkeypatch, tmp_path):
    folder = tmp_path / "Mes outils" / "relance-xlsx é"
    folder.mkdir(parents=True)
    _dist(monkeypatch, FakeDist({"url": folder.as_uri(), "dir_info": {}}))
    assert workspace.install_source() == str(folder)


def test_install_source_vcs_and_archive(monkeypatch):
    _dist(monkeypatch, FakeDist({"url": "https://example.org/r.git",
                                 "vcs_info": {"vcs": "git", "commit_id": "abc123"}}))
    assert workspace.install_source() == "git+https://example.org/r.git@abc123"
    _dist(monkeypatch, FakeDist({"url": "https://example.org/r-0.1.0.tar.gz",
                                 "archive_info": {}}))  # fmt: skip
    assert workspace.install_source() == "https://example.org/r-0.1.0.tar.gz"


def test_install_source_fallbacks(monkeypatch, tmp_path):
    checkout = Path(workspace.__file__).resolve().parent.parent
    # a local folder that has gone away: the checkout the package runs from
    _dist(monkeypatch, FakeDist({"url": (tmp_path / "gone").as_uri(), "dir_info": {}}))
    assert workspace.install_source() == str(checkout)
    _dist(monkeypatch, None)
    assert workspace.install_source() == str(checkout)
    # installed from PyPI (no direct_url.json), not in a checkout: the pinned name
    monkeypatch.setattr(workspace, "_checkout", lambda: None)
    _dist(monkeypatch, FakeDist(None, "0.1.0"))
    assert workspace.install_source() == "relance-xlsx==0.1.0"
    _dist(monkeypatch, None)
    assert workspace.install_source() == "relance-xlsx"


# --- a folder of exports -------------------------------------------------------------------


def _inbox(folder: Path) -> Path:
    inbox = folder / "a_traiter"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


def test_list_exports_skips_owner_hidden_and_own_files(tmp_path):
    from relance_xlsx.pipeline import list_exports

    names = ["b.xlsx", "A.csv", "c.ods", "d.xls", "e.xlsm", "~$b.xlsx", ".cache.xlsx",
             "A – avec statut.xlsx", "notes.txt", "rapport.pdf"]  # fmt: skip
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "sauvegardes").mkdir()
    (tmp_path / "sauvegardes" / "z.xlsx").write_bytes(b"x")
    assert [p.name for p in list_exports(tmp_path)] == ["A.csv", "b.xlsx", "c.ods", "d.xls",
                                                        "e.xlsm"]  # fmt: skip


def test_run_folder_processes_every_export(runner_cwd):
    inbox = _inbox(runner_cwd)
    first = write_xlsx(inbox / "alpha.xlsx", [invoice("F1", date(2026, 9, 1))])
    (inbox / "beta.csv").write_text(
        "Client;N° facture;Échéance;Solde\nBeta SA;B1;01/09/2026;1 200,00 €\n", encoding="utf-8"
    )
    (inbox / "~$gamma.xlsx").write_bytes(b"owner")  # Excel's lock file: not an export
    result = run_cli("run", inbox, "--date", RUN)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "=== Export 1/2 : alpha.xlsx ===" in out and "=== Export 2/2 : beta.csv ===" in out
    assert out.count("Relances au 23/11/2026") == 2
    assert "2 exports : 2 traité(s)." in out and "semaines passées" in out
    assert status_column(first)["F1"].startswith("Relance 1")
    assert (inbox / "beta – avec statut.xlsx").exists()
    # several exports: one folder each, so letters and reports never collide
    for stem in ("alpha", "beta"):
        run_dir = inbox / "courriers" / RUN / stem
        assert (run_dir / f"rapport – {RUN}.xlsx").exists()
        assert list(run_dir.glob("*.docx"))
    # a second run skips the tool's own copy (« … – avec statut.xlsx »)
    again = run_cli("run", inbox, "--date", RUN)
    assert again.exit_code == 0 and "Export 3/" not in again.output


def test_run_folder_one_bad_export_does_not_stop_the_others(runner_cwd):
    inbox = _inbox(runner_cwd)
    bad = inbox / "a_casse.xlsx"
    bad.write_bytes(b"PK\x03\x04abc")
    good = write_xlsx(inbox / "b_bon.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", inbox, "--date", RUN)
    assert result.exit_code == 1
    assert "Erreur (a_casse.xlsx) :" in result.output and "endommagé" in result.output
    assert "Les autres exports sont traités quand même." in result.output
    assert "1 en échec (a_casse.xlsx)" in result.output and "Traceback" not in result.output
    assert bad.read_bytes() == b"PK\x03\x04abc"
    assert status_column(good)["F1"].startswith("Relance 1")


def test_run_folder_single_export_keeps_plain_names(runner_cwd):
    inbox = _inbox(runner_cwd)
    write_xlsx(inbox / "export.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", inbox, "--date", RUN)
    assert result.exit_code == 0, result.output
    assert "=== Export" not in result.output
    assert (inbox / "courriers" / RUN / f"rapport – {RUN}.xlsx").exists()


def test_run_folder_empty_or_missing(runner_cwd):
    inbox = _inbox(runner_cwd)
    (inbox / "lisez-moi.txt").write_text("rien", encoding="utf-8")
    result = run_cli("run", inbox, "--date", RUN)
    assert result.exit_code == 1
    assert "Aucun export à traiter" in result.output and "Traceback" not in result.output
    assert tree(inbox) == {"lisez-moi.txt"}


def test_run_folder_bad_settings_stop_everything(runner_cwd):
    inbox = _inbox(runner_cwd)
    export = write_xlsx(inbox / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    before = digest(export)
    (runner_cwd / "relance.toml").write_text('[delais]\nrelance_1 = "cinq"\n', encoding="utf-8")
    result = run_cli("run", inbox, "--date", RUN)
    assert result.exit_code == 2
    assert "relance.toml, ligne 2, [delais] relance_1" in result.output
    assert digest(export) == before and tree(inbox) == {"e.xlsx"}


def test_run_folder_dry_run_writes_nothing(runner_cwd):
    inbox = _inbox(runner_cwd)
    write_xlsx(inbox / "a.xlsx", [invoice("F1", date(2026, 9, 1))])
    write_xlsx(inbox / "b.xlsx", [invoice("F2", date(2026, 9, 1))])
    before = tree(runner_cwd)
    result = run_cli("run", inbox, "--date", RUN, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("Prochaine étape") == 2
    assert result.output.count("À faire (simulation) :\n  - poster 1 courrier(s)") == 2
    assert tree(runner_cwd) == before


# --- progress --------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_stages_on_a_terminal(tmp_path):
    from relance_xlsx.pipeline import RunOptions, run
    from relance_xlsx.progress import TerminalProgress, for_terminal

    assert isinstance(for_terminal(FakeTerminal()), TerminalProgress)
    export = write_xlsx(tmp_path / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    screen = FakeTerminal()
    run(RunOptions(export=export, run_date=date(2026, 11, 23)), TerminalProgress(screen))
    shown = screen.getvalue()
    for stage in ("lecture", "courriers", "écriture du statut", "rapport", "terminé"):
        assert stage in shown
    assert "« e.xlsx »" in shown


def test_progress_is_quiet_when_not_a_terminal(runner_cwd):
    from relance_xlsx.progress import NullProgress, for_terminal

    assert isinstance(for_terminal(io.StringIO()), NullProgress)
    export = write_xlsx(runner_cwd / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    result = run_cli("run", export, "--date", RUN)
    assert result.exit_code == 0
    assert "écriture du statut" not in result.output and "\r" not in result.output


def test_progress_stops_where_the_run_failed(tmp_path):
    from relance_xlsx.errors import RelanceError
    from relance_xlsx.pipeline import RunOptions, run
    from relance_xlsx.progress import TerminalProgress

    broken = tmp_path / "casse.xlsx"
    broken.write_bytes(b"PK\x03\x04abc")
    screen = FakeTerminal()
    with pytest.raises(RelanceError):
        run(RunOptions(export=broken, run_date=date(2026, 11, 23)), TerminalProgress(screen))
    assert "interrompu" in screen.getvalue() and "terminé" not in screen.getvalue()


def test_init_again_with_a_new_source_updates_the_launchers(tmp_path):
    from relance_xlsx.workspace import init_workspace

    folder = tmp_path / "Relances"
    init_workspace(folder, "/ancien/chemin")
    (folder / "relancer.sh").write_text(
        (folder / "relancer.sh").read_text(encoding="utf-8").replace('OPTIONS=""',
                                                                     'OPTIONS="--pdf"'),
        encoding="utf-8",
    )  # the user's own edit must survive
    report = init_workspace(folder, "/nouveau chemin")
    sh = (folder / "relancer.sh").read_text(encoding="utf-8")
    bat = (folder / "Relancer.bat").read_bytes().decode("utf-8")
    assert "SOURCE='/nouveau chemin'" in sh and 'OPTIONS="--pdf"' in sh
    assert 'set "SOURCE=/nouveau chemin"\r\n' in bat
    assert "/ancien/chemin" not in sh + bat
    assert folder / "relancer.sh" in report.updated


def test_last_weeks_export_left_in_the_folder_is_not_run_again(tmp_path, monkeypatch):
    from datetime import date

    from conftest import invoice, run_cli, write_xlsx

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "a_traiter"
    s48 = write_xlsx(folder / "echeancier S48.xlsx", [invoice("F1", date(2026, 9, 1))])
    assert run_cli("run", folder, "--date", "2026-11-23").exit_code == 0
    s49 = write_xlsx(folder / "echeancier S49.xlsx", [invoice("F1", date(2026, 9, 1)),
                                                      invoice("F2", date(2026, 9, 2))])
    before = s48.read_bytes()
    result = run_cli("run", folder, "--date", "2026-11-30")
    assert result.exit_code == 0, result.output
    assert "« echeancier S48.xlsx » ignoré : déjà traité le 23/11/2026" in result.output
    assert s48.read_bytes() == before
    assert not (tmp_path / "courriers" / "2026-11-30" / "echeancier S48").exists()
    from openpyxl import load_workbook

    assert "Statut relance" in [c.value for c in load_workbook(s49).active[3]]
    # a new export with the very same bytes (nothing changed in a week) is still processed
    import os

    os.utime(s49, ns=(s49.stat().st_atime_ns, s49.stat().st_mtime_ns + 10**9))
    result = run_cli("run", folder, "--date", "2026-12-07")
    assert "S49.xlsx » ignoré" not in result.output
    # the same name overwritten by a new export is processed
    write_xlsx(folder / "echeancier S48.xlsx", [invoice("F9", date(2026, 9, 1), code="C9",
                                                        client="Gamma")])  # fmt: skip
    result = run_cli("run", folder, "--date", "2026-11-30")
    assert result.exit_code == 0, result.output
    assert "ignoré" not in result.output


def test_two_exports_of_one_folder_write_once_to_a_shared_client(tmp_path, monkeypatch):
    from datetime import date

    from conftest import invoice, run_cli, status_column, write_xlsx

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "a_traiter"
    write_xlsx(folder / "etablissement A.xlsx", [invoice("A1", date(2026, 9, 1))])
    b = write_xlsx(folder / "etablissement B.xlsx", [invoice("B1", date(2026, 9, 1))])
    for _ in range(2):  # and a same-day re-run changes nothing
        result = run_cli("run", folder, "--date", "2026-11-23")
        assert result.exit_code == 0, result.output
        out = folder / "courriers"  # no settings file: beside the exports
        letters = sorted(p.relative_to(out) for p in out.rglob("*.docx"))
        assert [str(p.parent) for p in letters] == ["2026-11-23/etablissement A"]
        assert "dernier courrier au client le 23/11/2026" in status_column(b)["B1"]
