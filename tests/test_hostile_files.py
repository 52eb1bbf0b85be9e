"""Damaged and hostile exports: a French message, no traceback, bounded memory, and a
folder run that goes on with the other exports."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from conftest import ROOT, invoice, run_cli, status_column, write_xlsx

RUN = "2026-11-23"
DAMAGED_XLS = ROOT / "tests" / "data" / "damaged.xls"  # makes calamine panic (cfb.rs)


def _read_error(path: Path) -> str:
    from relance_xlsx.config import Settings
    from relance_xlsx.errors import InputError
    from relance_xlsx.reader import read_export

    with pytest.raises(InputError) as info:
        read_export(path, Settings())
    return info.value.message


def test_calamine_panic_is_the_damaged_message(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes(DAMAGED_XLS.read_bytes())
    message = _read_error(path)
    assert "endommagé" in message and "Panic" not in message and "(" not in message.split("\n")[0]


def test_folder_run_damaged_xls_first_then_a_good_export(tmp_path):
    inbox = tmp_path / "a_traiter"
    inbox.mkdir()
    (inbox / "a_abime.xls").write_bytes(DAMAGED_XLS.read_bytes())
    good = write_xlsx(inbox / "b_bon.xlsx", [invoice("F1", date(2026, 9, 1))])
    env = {**os.environ, "RUST_BACKTRACE": "full", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "relance_xlsx", "run", "a_traiter", "--date", RUN],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    both = done.stdout + done.stderr
    assert done.returncode == 1, both
    assert "Erreur (a_abime.xls) :" in both and "endommagé" in both
    assert "=== Export 2/2 : b_bon.xlsx ===" in both and "1 en échec (a_abime.xls)" in both
    for noise in ("Traceback", "panicked", "stack backtrace", "PanicException", "Calamine"):
        assert noise not in both
    assert status_column(good)["F1"].startswith("Relance 1")


@pytest.mark.parametrize("content", [b"PK\x03\x04abc", b"PK\x05\x06" + b"\x00" * 18])
def test_broken_zip_has_no_english_class_name(tmp_path, content):
    path = tmp_path / "casse.xlsx"
    path.write_bytes(content)
    message = _read_error(path)
    assert "endommagé" in message
    assert "Error" not in message and "Zip" not in message


def test_duplicated_zip_part_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "e.xlsx", [invoice("F1", date(2026, 9, 1))])
    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    forged = tmp_path / "forge.xlsx"
    with zipfile.ZipFile(forged, "w") as out, pytest.warns(UserWarning):
        for name, data in parts.items():
            out.writestr(name, data)
        out.writestr("xl/worksheets/sheet1.xml", parts["xl/worksheets/sheet1.xml"])
    message = _read_error(forged)
    assert "deux fois" in message and "xl/worksheets/sheet1.xml" in message


def test_encrypted_xls_gets_the_password_message(tmp_path):
    data = bytearray((ROOT / "tests" / "data" / "export.xls").read_bytes())
    bof = data.find(b"\x09\x08\x10\x00\x00\x06\x05\x00")
    data[bof + 20 : bof + 22] = b"\x2f\x00"  # the record after BOF becomes FILEPASS
    path = tmp_path / "protege.xls"
    path.write_bytes(bytes(data))
    assert "protégé par un mot de passe" in _read_error(path)


def test_cli_damaged_xls_without_backtrace(runner_cwd):
    path = runner_cwd / "e.xls"
    path.write_bytes(DAMAGED_XLS.read_bytes())
    result = run_cli("run", path, "--date", RUN)
    assert result.exit_code == 1 and "endommagé" in result.output
    assert "Traceback" not in result.output


_MEASURE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3_000_000_000, 3_000_000_000))
from pathlib import Path
from relance_xlsx.config import Settings
from relance_xlsx.reader import read_export
read = read_export(Path(sys.argv[1]), Settings())
print(len(read.invoices), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.parametrize("far", ["XFD1048576", "AZ1048576", "XFD30"])
def test_a_far_stray_cell_keeps_memory_bounded(tmp_path, far):
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "e.xlsx", [invoice(f"F{i}", date(2026, 9, 1)) for i in range(20)])
    wb = load_workbook(path)
    wb.active[far] = "x"
    wb.save(path)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    invoices, max_rss_mb = map(int, done.stdout.split())
    assert invoices == 20
    assert max_rss_mb < 500


def test_utf16_csv_as_excel_writes_it_is_read(runner_cwd):
    """Excel's « Texte Unicode » export: UTF-16 with BOM, tab-separated."""
    from conftest import run_cli

    path = runner_cwd / "export.csv"
    text = "Client\tN° facture\tÉchéance\tSolde\nÉtoile SARL\tF1\t01/09/2026\t1 234,56\n"
    path.write_bytes(text.encode("utf-16"))
    result = run_cli("run", path, "--date", "2026-11-23", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Étoile SARL" in result.output and "1 ligne(s) lue(s)" in result.output


def test_a_csv_with_thousands_of_columns_is_refused_in_french(runner_cwd):
    from conftest import digest, run_cli

    path = runner_cwd / "export.csv"
    path.write_text("Client;N° facture;Échéance;Solde\n" + ";".join(["x"] * 200_000) + "\n",
                    encoding="utf-8")  # fmt: skip
    before = digest(path)
    result = run_cli("run", path, "--date", "2026-11-23")
    assert result.exit_code == 1
    assert "200000 colonnes" in result.output and "Traceback" not in result.output
    assert "Erreur inattendue" not in result.output
    assert digest(path) == before


def test_a_symlinked_export_is_written_through_to_its_target(runner_cwd):
    """The link stays a link; the real workbook gets the status column; the backup goes
    beside the real workbook."""
    from datetime import date

    from conftest import invoice, run_cli, status_column, write_xlsx

    real = write_xlsx(runner_cwd / "compta" / "echeancier.xlsx",
                      [invoice("F1", date(2026, 9, 1))])  # fmt: skip
    link = runner_cwd / "a_traiter" / "echeancier.xlsx"
    link.parent.mkdir()
    link.symlink_to(real)
    result = run_cli("run", link, "--date", "2026-11-23")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert status_column(real)["F1"].startswith("Relance 1")
    assert list((runner_cwd / "compta" / "sauvegardes").glob("*.xlsx"))
