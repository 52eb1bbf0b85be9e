"""report_sheet.ReportSheet: a write-only sheet that takes cells in any order."""

from __future__ import annotations

import gc
import io
import sys

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from relance_xlsx.report_sheet import ReportSheet, discard


def _saved(wb: Workbook):
    buffer = io.BytesIO()
    wb.save(buffer)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def test_cells_put_in_any_order_then_rows_streamed_below_them():
    wb = Workbook(write_only=True)
    ws = ReportSheet(wb, "Feuille")
    ws.cell(row=3, column=2).value = "trois"
    ws.cell(row=1, column=1).value = "un"
    ws.cell(row=1, column=1).font = Font(bold=True)  # the same cell, styled afterwards
    ws.column_dimensions["A"].width = 33
    ws.freeze_panes = "B2"
    first = ws.new_cell()
    first.value = 4.5
    last = ws.stream_rows([[first, None], [None, ws.new_cell()]])
    assert last == 5 and ws.max_row == 5
    ws.cell(row=7, column=3).value = "sept"
    ws.merge_cells(start_row=7, start_column=3, end_row=7, end_column=5)
    ws.row_dimensions[7].height = 30
    ws.finish()
    got = _saved(wb)["Feuille"]
    assert got["A1"].value == "un" and got["A1"].font.b
    assert got["B3"].value == "trois" and got["A2"].value is None
    assert got["A4"].value == 4.5
    assert got["C7"].value == "sept" and got.row_dimensions[7].height == 30
    assert [str(r) for r in got.merged_cells.ranges] == ["C7:E7"]
    assert got.column_dimensions["A"].width == 33 and got.freeze_panes == "B2"


def test_a_row_already_streamed_cannot_take_a_cell(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    wb = Workbook(write_only=True)
    ws = ReportSheet(wb, "Feuille")
    ws.stream_rows([[ws.new_cell()], [ws.new_cell()]])
    with pytest.raises(ValueError, match="already written"):
        ws.cell(row=2, column=1)
    ws.cell(row=3, column=1).value = "après"
    assert ws.max_row == 3
    discard(wb)  # not saved: its stream closed, nothing said on stderr
    del wb, ws
    gc.collect()
    assert seen == []


def test_discard_after_a_save_says_nothing():
    """A save that wrote the workbook then failed on the disk: discard must not raise over
    the disk's error (the sheets' temporary files are already gone)."""
    wb = Workbook(write_only=True)
    ws = ReportSheet(wb, "Feuille")
    ws.cell(row=1, column=1).value = "un"
    ws.finish()
    wb.save(io.BytesIO())
    discard(wb)


def test_what_goes_at_the_top_cannot_come_after_the_rows(monkeypatch):
    """Column widths and panes are written with the first row: set later they would be
    lost without a word, so the sheet refuses them; row heights below still go."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    wb = Workbook(write_only=True)
    ws = ReportSheet(wb, "Feuille")
    ws.column_dimensions["A"].width = 20
    ws.stream_rows([[ws.new_cell()]])
    with pytest.raises(ValueError, match="column_dimensions"):
        ws.column_dimensions["B"].width = 20
    with pytest.raises(ValueError, match="freeze_panes"):
        ws.freeze_panes = "B2"
    with pytest.raises(ValueError, match="sheet_view"):
        ws.sheet_view.showGridLines = False
    ws.row_dimensions[3].height = 30
    ws.cell(row=3, column=1).value = "note"
    ws.finish()
    got = _saved(wb)["Feuille"]
    assert got.column_dimensions["A"].width == 20 and got.row_dimensions[3].height == 30
    assert seen == []
