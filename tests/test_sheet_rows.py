"""A big sheet's rows built with equal cells shared (sheet_rows.py): the same rows, cell for
cell and type for type, as calamine's own conversion."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from relance_xlsx.sheet_rows import share_cells, shared_rows, sheet_rows

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parent.parent / "sample_workbooks" / "echeancier_clients.xlsx"


def same_cells(a: list[list[object]], b: list[list[object]]) -> bool:
    """Equal rows, each cell of the same class (1.0 == True would hide a wrong type)."""
    return a == b and all(
        type(x) is type(y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True)
    )


def test_equal_texts_and_dates_of_a_column_become_one_object():
    rows = [[f"Client {k % 3}", date(2026, 1, 1 + k % 2), f"FA{k}", 1.5] for k in range(12)]
    expected = [list(r) for r in rows]
    shared = share_cells([list(r) for r in rows])
    assert same_cells(shared, expected)
    assert shared[0][0] is shared[3][0] is shared[9][0]
    assert shared[0][1] is shared[2][1]


def test_numbers_and_classes_are_never_merged():
    # equal to one another in Python, but not the same cell: each keeps its class and value
    rows = [[1.0, True, date(2026, 1, 1)], [True, 1.0, datetime(2026, 1, 1)],
            [-0.0, 0.0, time(0, 0)], ["1", "", date(2026, 1, 1)]]  # fmt: skip
    shared = share_cells([list(r) for r in rows])
    assert same_cells(shared, rows)
    assert str(shared[2][0]) == "-0.0"


def test_a_mostly_distinct_column_stops_being_pooled_without_changing_values():
    rows = [[f"FA{k}", f"Ville {k % 2}"] for k in range(50)]
    shared = share_cells([list(r) for r in rows], judge_after=10)
    assert same_cells(shared, [list(r) for r in rows])
    assert shared[40][1] is shared[2][1]


def test_padding_in_front_of_each_row():
    assert share_cells([["a", 1.0], ["a", ""]], pad=2) == [["", "", "a", 1.0], ["", "", "a", ""]]


def sheet_of(path: Path, name: str | None = None):
    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(name or wb.sheet_names[0])


def test_a_sheet_starting_away_from_a1_with_ragged_rows_and_every_kind_of_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"], ws["E3"], ws["F4"] = "Client A", 1234.5, True
    ws["D5"], ws["C6"] = date(2026, 1, 2), datetime(2026, 1, 2, 3, 4)
    ws["D7"], ws["C8"], ws["C9"], ws["D9"] = 7, time(3, 4), "Client A", date(2026, 1, 2)
    path = tmp_path / "t.xlsx"
    wb.save(path)
    dense = sheet_of(path).to_python(skip_empty_area=False)
    shared = shared_rows(sheet_of(path))
    assert same_cells(shared, dense)
    assert shared[8][2] is shared[2][2]
    assert shared[8][3] is shared[4][3]


def test_an_empty_sheet(tmp_path):
    wb = openpyxl.Workbook()
    path = tmp_path / "empty.xlsx"
    wb.save(path)
    assert shared_rows(sheet_of(path)) == sheet_of(path).to_python(skip_empty_area=False)


@pytest.mark.parametrize("path", [SAMPLE, DATA / "export.xls", DATA / "export.ods"])
def test_real_exports_read_alike(path):
    wb = CalamineWorkbook.from_path(str(path))
    for name in wb.sheet_names:
        dense = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        assert same_cells(shared_rows(wb.get_sheet_by_name(name)), dense)


def test_a_small_sheet_is_calamines_own_rows_and_a_big_one_shared():
    dense = sheet_of(SAMPLE).to_python(skip_empty_area=False)
    cells = sum(map(len, dense))
    small = sheet_rows(sheet_of(SAMPLE), shared_from=cells + 1)
    big = sheet_rows(sheet_of(SAMPLE), shared_from=cells)
    assert same_cells(small, dense) and same_cells(big, dense)
    texts = [(j, v) for row in dense for j, v in enumerate(row) if isinstance(v, str) and v]
    repeated = next(jv for jv in texts if texts.count(jv) > 1)
    found = [row[repeated[0]] for row in small if row[repeated[0]] == repeated[1]]
    assert found[0] is not found[1]  # calamine's own: one object per cell
    found = [row[repeated[0]] for row in big if row[repeated[0]] == repeated[1]]
    assert found[0] is found[1]
