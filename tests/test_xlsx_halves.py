"""A big sheet read in two halves on two cores gives exactly the rows of one whole read."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from relance_xlsx import xlsx_halves
from relance_xlsx.sources import read_sheets
from relance_xlsx.xlsx_halves import read_in_halves

PART = "xl/worksheets/sheet1.xml"


def _export(path: Path, rows: int = 300, gap: range = range(0), wide_from: int | None = None,
            start_col: int = 1) -> Path:  # fmt: skip
    """An export with title rows, dates, amounts and texts (shared strings); blank rows in
    ``gap``; from row ``wide_from`` on, a column more; data from column ``start_col``."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Échéancier"
    ws.cell(1, start_col, "Balance âgée au 23/11/2026")
    for j, head in enumerate(["Client", "N° pièce", "Échéance", "Reste dû"]):
        ws.cell(3, start_col + j, head)
    for i in range(rows):
        r = 4 + i
        if r in gap:
            continue
        values = [f"Client {i % 17}", f"FA{1000 + i}", datetime(2026, 1 + i % 12, 1 + i % 28),
                  round(i * 10.25, 2)]  # fmt: skip
        if wide_from is not None and r >= wide_from:
            values.append("note")
        for j, v in enumerate(values):
            ws.cell(r, start_col + j, v)
    wb.save(path)
    return path


def _whole(path: Path) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(wb.sheet_names[0]).to_python(skip_empty_area=False)


def _halves(path: Path) -> list[list[object]] | None:
    with zipfile.ZipFile(path) as archive:
        return read_in_halves(archive, PART, "Échéancier", min_bytes=0)


def _rewrite_sheet(path: Path, change) -> Path:
    """The same workbook with its sheet's XML changed by ``change`` (bytes -> bytes)."""
    out = path.with_name("changed.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, change(data) if info.filename == PART else data)
    return out


@pytest.mark.parametrize(
    "shape",
    [
        {},
        {"gap": range(140, 170)},  # blank rows where the sheet is cut
        {"wide_from": 200},  # the lower half is wider
        {"wide_from": 10},  # the upper half is wider at its top
        {"start_col": 3},  # the table starts in column C
        {"rows": 2},
    ],
    ids=["plain", "gap-at-cut", "lower-wider", "upper-wider", "from-column-C", "tiny"],
)
def test_halves_equal_one_whole_read(tmp_path: Path, shape: dict) -> None:
    path = _export(tmp_path / "export.xlsx", **shape)
    got = _halves(path)
    assert got is not None
    assert got == _whole(path)
    assert any(isinstance(v, date) for v in got[4])  # dates stay dates (the styles went along)


def test_a_namespace_prefix_is_cut_too(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.xlsx")

    def prefix(xml: bytes) -> bytes:
        xml = xml.replace(b'xmlns="', b'xmlns:x="', 1)
        return re.sub(rb"<(/?)(?=[A-Za-z])", rb"<\1x:", xml)

    changed = _rewrite_sheet(path, prefix)
    assert _halves(changed) == _whole(changed) == _whole(path)


def test_rows_without_numbers_are_not_cut(tmp_path: Path) -> None:
    """A row with no r="…" is counted from the row above: cut there, it would move."""
    path = _export(tmp_path / "export.xlsx")
    changed = _rewrite_sheet(path, lambda xml: re.sub(rb'<row r="\d+"', b"<row", xml))
    assert _halves(changed) is None
    assert read_sheets(changed)[1]["Échéancier"] == _whole(changed)
    # scanned clear of far cells, it is read whole at once (not scanned a second time)
    with zipfile.ZipFile(changed) as archive:
        assert read_in_halves(archive, PART, "Échéancier", min_bytes=0,
                              whole=lambda: [["entier"]]) == [["entier"]]  # fmt: skip


def test_small_sheets_and_far_cells_are_left_to_the_other_readers(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.xlsx")
    with zipfile.ZipFile(path) as archive:
        assert read_in_halves(archive, PART, "Échéancier") is None  # under 4 MB
        assert read_in_halves(archive, "xl/worksheets/absent.xml", "Échéancier") is None
    far = _rewrite_sheet(path, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="900000"><c r="XFD900000"><v>1</v></c></row></sheetData>'))
    assert _halves(far) is None


def test_a_comment_in_the_rows_is_not_cut(tmp_path: Path) -> None:
    """A comment may hold a "<row " that is not a row: such a sheet is read whole."""
    path = _export(tmp_path / "export.xlsx")
    changed = _rewrite_sheet(path, lambda xml: xml.replace(
        b'<row r="150"', b'<!--<row r="99">--><row r="150"'))
    assert _halves(changed) is None
    assert read_sheets(changed)[1]["Échéancier"] == _whole(changed) == _whole(path)


def test_read_sheets_uses_the_halves_for_a_big_sheet(tmp_path: Path, monkeypatch) -> None:
    """Through the reader's door: same rows as one read, and the halves were used."""
    path = _export(tmp_path / "export.xlsx", rows=400, gap=range(150, 160))
    used: list[int] = []
    real = xlsx_halves._join

    def counting(top, bottom):
        used.append(1)
        return real(top, bottom)

    monkeypatch.setattr(xlsx_halves, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr("relance_xlsx.xlsx_halves._join", counting)
    kind, sheets = read_sheets(path)
    assert used == [1]
    assert sheets["Échéancier"] == _whole(path)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux affinity")
def test_one_core_reads_the_sheet_whole(tmp_path: Path) -> None:
    """With one core allowed, two halves would only add work."""
    path = _export(tmp_path / "export.xlsx")
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert _halves(path) is None
    finally:
        os.sched_setaffinity(0, allowed)
    if len(allowed) > 1:
        assert _halves(path) == _whole(path)


def test_a_sheet_outside_the_worksheets_folder_is_not_put_twice(tmp_path: Path) -> None:
    """Some generators put a sheet elsewhere (« xl/data/sheet1.xml »): each half held the
    whole sheet AND its half under one name, the rows depending on which one calamine
    takes."""
    import warnings

    path = _export(tmp_path / "export.xlsx")
    moved = tmp_path / "moved.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(moved, "w") as dst:
        for info in src.infolist():
            data = src.read(info).replace(b"worksheets/sheet1.xml", b"data/sheet1.xml")
            dst.writestr(info.filename.replace("worksheets/sheet1", "data/sheet1"), data)
    with zipfile.ZipFile(moved) as archive, warnings.catch_warnings():
        warnings.simplefilter("error")  # zipfile's « Duplicate name »
        got = read_in_halves(archive, "xl/data/sheet1.xml", "Échéancier", min_bytes=0)
    assert got == _whole(moved) == _whole(path)
