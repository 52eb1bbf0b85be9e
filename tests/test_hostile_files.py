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


def _zip_bomb(path: Path, source: Path, gigabytes: int = 3) -> Path:
    """``source`` with its sheet replaced by ``gigabytes`` GB of spaces deflated to a few MB.

    The deflate stream is one compressed megabyte repeated (a full flush makes each one
    independent), so making the bomb costs milliseconds, not gigabytes of compression.
    """
    import struct
    import zlib

    sheet = "xl/worksheets/sheet1.xml"
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    mb = b" " * (1 << 20)
    block = co.compress(mb) + co.flush(zlib.Z_FULL_FLUSH)
    assert co.compress(mb) + co.flush(zlib.Z_FULL_FLUSH) == block
    stream = block * (gigabytes * 1000) + co.flush()
    with zipfile.ZipFile(source) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            if name == sheet:
                out.writestr(zipfile.ZipInfo(name), stream, compress_type=zipfile.ZIP_STORED)
            else:
                out.writestr(name, data)
    # the stored part becomes a deflated one of gigabytes (local header and central directory)
    data = bytearray(path.read_bytes())
    size = gigabytes * 1000 * len(mb)
    # (signature, offsets of: name length, name, method, uncompressed size) of each header
    for signature, name_len_at, name_at, method_at, size_at in (
        (b"PK\x03\x04", 26, 30, 8, 22),  # local file headers
        (b"PK\x01\x02", 28, 46, 10, 24),  # central directory
    ):
        at = data.find(signature)
        while at >= 0:
            name_len = struct.unpack_from("<H", data, at + name_len_at)[0]
            if data[at + name_at : at + name_at + name_len] == sheet.encode():
                struct.pack_into("<H", data, at + method_at, 8)
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as check:
        info = check.getinfo(sheet)
        assert info.file_size == size and info.compress_type == zipfile.ZIP_DEFLATED
    return path


def test_a_zip_bomb_is_refused_in_seconds_and_left_unchanged(runner_cwd):
    import time

    from conftest import digest

    good = write_xlsx(runner_cwd / "bon.xlsx", [invoice("F1", date(2026, 9, 1))])
    bomb = _zip_bomb(runner_cwd / "export.xlsx", good)
    assert bomb.stat().st_size < 10_000_000
    before = digest(bomb)
    started = time.monotonic()
    result = run_cli("run", bomb, "--date", RUN)
    assert time.monotonic() - started < 20
    assert result.exit_code == 1, result.output
    assert "déclare 3,1 Go une fois décompressé" in result.output
    assert "bombe zip" in result.output and "Traceback" not in result.output
    assert "Zip" not in result.output.replace("bombe zip", "")
    assert digest(bomb) == before
    assert {p.name for p in runner_cwd.rglob("*") if p.is_file()} <= {
        "bon.xlsx", "export.xlsx", "relance.toml"
    }  # fmt: skip


def test_the_write_back_refuses_a_zip_bomb_before_unzipping_it(tmp_path):
    """The write-back opens the package itself: it checks the sizes before any part."""
    from conftest import digest
    from relance_xlsx import writeback
    from relance_xlsx.errors import InputError
    from relance_xlsx.xlsx_package import check_writable

    good = write_xlsx(tmp_path / "bon.xlsx", [invoice("F1", date(2026, 9, 1))])
    bomb = _zip_bomb(tmp_path / "export.xlsx", good, gigabytes=1)
    before = digest(bomb)
    for attempt in (
        lambda: check_writable(bomb),
        lambda: writeback.write_status_column(
            bomb, "Factures", 3, {4: "Relance 1"}, "Statut relance", tmp_path / "s"
        ),
    ):
        with pytest.raises(InputError) as info:
            attempt()
        assert "déclare 1,0 Go une fois décompressé" in info.value.message
    assert digest(bomb) == before
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def _far_xls(path: Path) -> Path:
    """tests/data/export.xls with its total row's amount moved to IV65536, the last cell of
    an .xls sheet: one record's row and column rewritten, the file otherwise the same."""
    import struct

    data = bytearray((ROOT / "tests" / "data" / "export.xls").read_bytes())
    pos = data.find(b"\x09\x08\x10\x00\x00\x06\x10\x00")  # BOF of the worksheet
    assert pos > 0
    while True:
        kind, size = struct.unpack_from("<HH", data, pos)
        if kind == 0x027E and struct.unpack_from("<HH", data, pos + 4) == (6, 5):  # RK F7
            struct.pack_into("<HH", data, pos + 4, 65535, 255)
            break
        assert kind != 0x000A, "cellule F7 introuvable"
        pos += 4 + size
    path.write_bytes(bytes(data))
    return path


def _far_ods(path: Path) -> Path:
    """tests/data/export.ods with a value in U1048576 after LibreOffice's repeated empty
    rows: a 14 KB file whose area is 22 million cells."""
    src = zipfile.ZipFile(ROOT / "tests" / "data" / "export.ods")
    content = src.read("content.xml").decode()
    last = ('<table:table-row table:style-name="ro1"><table:table-cell '
            'table:number-columns-repeated="16384"/></table:table-row></table:table>')
    far = ('<table:table-row table:style-name="ro1"><table:table-cell '
           'table:number-columns-repeated="20"/><table:table-cell office:value-type="string">'
           '<text:p>x</text:p></table:table-cell></table:table-row></table:table>')  # fmt: skip
    assert content.count(last) == 1
    with src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():  # same order and compression (mimetype first, stored)
            data = content.replace(last, far).encode() if info.filename == "content.xml" else (
                src.read(info.filename))  # fmt: skip
            out.writestr(info, data)
    return path


_MEASURE_REFUSAL = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3_000_000_000, 3_000_000_000))
from pathlib import Path
from relance_xlsx.config import Settings
from relance_xlsx.errors import InputError
from relance_xlsx.reader import read_export
try:
    read_export(Path(sys.argv[1]), Settings())
    print("lu")
except InputError as exc:
    print(exc.message.replace(chr(10), " "))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.parametrize("build, cell", [(_far_xls, "IV65536"), (_far_ods, "U1048576")])
def test_a_far_cell_in_xls_or_ods_is_refused_in_bounded_memory(tmp_path, build, cell):
    from conftest import digest

    path = build(tmp_path / f"export{'.xls' if build is _far_xls else '.ods'}")
    assert path.stat().st_size < 20_000
    before = digest(path)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_REFUSAL, str(path)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    message, max_rss_mb = done.stdout.strip().rsplit("\n", 1)
    assert f"« Export » de « {path.name} » contient une valeur isolée" in message
    assert f"en {cell}" in message and "Ctrl+Fin" in message
    assert int(max_rss_mb) < 500
    assert digest(path) == before


def test_far_cell_scan_finds_the_last_cell_of_each_format():
    """The scans see what calamine would allocate, and nothing in the usual files."""
    from relance_xlsx.far_cells import cell_ref, ods_far_cell, xls_far_cell
    from relance_xlsx.xlsx_cells import too_sparse

    # a full million-row sheet is read by calamine (memory follows its cells anyway)
    assert not too_sparse(1_000_000, 16, 15_000_000)
    assert too_sparse(1_048_576, 16_384, 300) and too_sparse(65_536, 256, 40)

    assert [cell_ref(0, 0), cell_ref(65535, 255), cell_ref(1048575, 16383)] == [
        "A1", "IV65536", "XFD1048576"
    ]  # fmt: skip
    assert xls_far_cell((ROOT / "tests" / "data" / "export.xls").read_bytes()) is None
    assert xls_far_cell((ROOT / "tests" / "data" / "damaged.xls").read_bytes()) is None
    with zipfile.ZipFile(ROOT / "tests" / "data" / "export.ods") as ods:
        # LibreOffice's million repeated empty rows after the table are no far cell
        assert ods_far_cell(ods) is None
