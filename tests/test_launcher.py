"""The double-click launchers: relancer.sh end to end, and the three doing the same steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from openpyxl import load_workbook

from conftest import ROOT, run_cli, status_column

RUN = "2026-11-23"
BASH = shutil.which("bash") or "/bin/bash"
LAUNCHERS = ("Relancer.bat", "relancer.command", "relancer.sh")
# Messages every launcher prints at the same step (Windows, macOS, Linux).
SHARED_MESSAGES = (
    "Python 3.11 ou plus récent est introuvable sur cet ordinateur.",
    "https://www.python.org/downloads/",
    "Premier lancement : installation de relance-xlsx dans le dossier « .venv ».",
    "Impossible de créer l'environnement « .venv ».",
    "Installation de relance-xlsx impossible (voir le message ci-dessus).",
    "Terminé. Courriers et rapport : dossier « courriers », à la date du jour.",
    "Terminé avec des erreurs : lisez les messages ci-dessus.",
)


def source_copy(dest: Path) -> Path:
    """The project as a user would get it, in a folder with a space and an accent."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("relance_xlsx", "templates_word"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}  # fmt: skip
    env.update(extra)
    return env


def launch(script: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 240):
    """Run a launcher as a double-click would, from elsewhere, without a keyboard."""
    return subprocess.run(
        [BASH, str(script), *args], cwd=script.parent.parent, env=env or clean_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_relancer_sh_end_to_end(tmp_path):
    """init, drop the demo export, run relancer.sh with no .venv: letters, status, report."""
    from make_sample import build

    base = tmp_path / "Relances clients"
    source = source_copy(base / "Logiciel élève" / "relance-xlsx")
    folder = base / "Société Test"
    assert run_cli("init", folder, "--source", source).exit_code == 0
    export = folder / "a_traiter" / "echeancier_clients.xlsx"
    build().save(export)
    assert not (folder / ".venv").exists()

    first = launch(folder / "relancer.sh", "--date", RUN)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "Premier lancement" in out and "Traceback" not in out
    assert "Relances au 23/11/2026" in out and "Terminé. Courriers et rapport" in out
    assert (folder / ".venv" / "bin" / "python").exists()
    run_dir = folder / "courriers" / RUN
    assert len(list(run_dir.glob("*.docx"))) == 12
    assert status_column(export)["FA20260433"].startswith("Relance 1")
    report = load_workbook(run_dir / f"rapport – {RUN}.xlsx")
    assert report.sheetnames[:2] == ["Synthèse", "Courriers"]
    assert list((folder / "a_traiter" / "sauvegardes").glob("*.xlsx"))
    # the folder's settings were used: the journal beside relance.toml has the run
    import sqlite3

    with sqlite3.connect(folder / "journal_relances.sqlite") as con:
        assert con.execute("SELECT COUNT(*) FROM courriers").fetchone()[0] == 12

    # the macOS launcher reuses the .venv; its wait for a key ends at once without a keyboard
    again = launch(folder / "relancer.command", "--date", RUN, timeout=120)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out
    assert "Premier lancement" not in out and "Relances au 23/11/2026" in out


def fake_bin(tmp_path: Path, python_script: str) -> Path:
    """A PATH with only the tools a launcher needs and a fake python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "mkdir"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    py = bin_dir / "python3"
    py.write_text("#!/bin/bash\n" + python_script, encoding="utf-8")
    py.chmod(0o755)
    return bin_dir


def test_no_suitable_python_is_explained(tmp_path):
    folder = tmp_path / "Mon dossier"
    assert run_cli("init", folder, "--source", "relance-xlsx").exit_code == 0
    bin_dir = fake_bin(tmp_path, "exit 1\n")  # e.g. a Python 3.9 that fails the version check
    result = launch(folder / "relancer.sh", env=clean_env(PATH=str(bin_dir)), timeout=30)
    assert result.returncode == 1
    assert "Python 3.11 ou plus récent est introuvable" in result.stdout
    assert "https://www.python.org/downloads/" in result.stdout
    assert not (folder / ".venv").exists()


def test_failed_installation_is_explained(tmp_path):
    folder = tmp_path / "Mon dossier"
    assert run_cli("init", folder, "--source", str(tmp_path / "absent")).exit_code == 0
    # a Python that passes the version check and whose venv python cannot install anything
    bin_dir = fake_bin(tmp_path, "exit 0\n")
    venv_bin = folder / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text("#!/bin/bash\nexit 1\n", encoding="utf-8")
    (venv_bin / "python").chmod(0o755)
    result = launch(folder / "relancer.sh", env=clean_env(PATH=str(bin_dir)), timeout=30)
    assert result.returncode == 1
    assert "Premier lancement" in result.stdout
    assert "Installation de relance-xlsx impossible" in result.stdout
    assert str(tmp_path / "absent") in result.stdout


def steps(text: str) -> list[str]:
    return re.findall(r"^(?:#|REM) (\d\. .+)$", text, re.MULTILINE)


def test_the_three_launchers_do_the_same_steps(runner_cwd):
    folder = runner_cwd / "d"
    assert run_cli("init", folder, "--source", "C:\\Outils\\relance-xlsx").exit_code == 0
    texts = {n: (folder / n).read_bytes().decode("utf-8") for n in LAUNCHERS}
    expected = ["1. Se placer dans le dossier du lanceur",
                "2. Trouver Python 3.11 ou plus récent",
                "3. Préparer l'environnement « .venv » (au premier lancement seulement)",
                "4. Traiter les exports déposés dans « a_traiter »",
                "5. Dire comment cela s'est passé"]  # fmt: skip
    for name, text in texts.items():
        assert steps(text.replace("\r\n", "\n")) == expected, name
        for message in SHARED_MESSAGES:
            assert message in text, (name, message)
        assert "run a_traiter --config relance.toml" in text
        assert "-m venv --system-site-packages .venv" in text
    bat = texts["Relancer.bat"]
    assert bat.startswith("@echo off\r\nchcp 65001 >nul\r\n")  # UTF-8 before any accent
    assert "\n" not in bat.replace("\r\n", "")  # CRLF only
    assert not (folder / "Relancer.bat").read_bytes().startswith(b"\xef\xbb\xbf")  # no BOM
    assert 'pushd "%~dp0"' in bat and "\r\npause\r\n" in bat  # pushd: network shares too
    assert 'py -3 -c "import sys' in bat and '"%VENV_PYTHON%" -m pip install' in bat
    assert 'set "SOURCE=C:\\Outils\\relance-xlsx"' in bat
    for name in ("relancer.sh", "relancer.command"):
        text = texts[name]
        assert text.startswith("#!/usr/bin/env bash\n") and "\r" not in text
        assert 'cd "$(dirname "$0")"' in text and '"$VENV_PYTHON" -m pip install' in text
        assert 'read -r -n 1 -s -p "Appuyez sur une touche pour fermer…"' in text
        subprocess.run(["bash", "-n", str(folder / name)], check=True)
    assert "ALWAYS_PAUSE=1" in texts["relancer.command"]
    assert "ALWAYS_PAUSE=0" in texts["relancer.sh"]
    assert "(macOS)" in texts["relancer.command"] and "(Linux)" in texts["relancer.sh"]


def test_launcher_in_a_terminal_waits_for_a_key(tmp_path):
    """Double-clicked, the window stays open on the summary until a key is pressed."""
    import pty
    import select
    import time

    folder = tmp_path / "Mon dossier"
    assert run_cli("init", folder, "--source", "relance-xlsx").exit_code == 0
    bin_dir = fake_bin(tmp_path, "exit 1\n")  # fails fast: no suitable Python
    master, slave = pty.openpty()
    proc = subprocess.Popen([BASH, str(folder / "relancer.sh")], stdin=slave, stdout=slave,
                            stderr=slave, env=clean_env(PATH=str(bin_dir)))  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 20
    try:
        while b"Appuyez sur une touche pour fermer" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 4096)
        time.sleep(0.3)
        assert proc.poll() is None  # still waiting
        os.write(master, b"x")
        assert proc.wait(timeout=10) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert "introuvable" in seen.decode("utf-8", "replace")
