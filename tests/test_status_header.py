"""The reader and the write-back agree on which column is the status column."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from conftest import HEADERS, invoice, write_xlsx
from relance_xlsx.config import Settings
from relance_xlsx.parsing import header_key, same_header
from relance_xlsx.reader import read_export
from relance_xlsx.writeback import write_status_column

NOW = datetime(2026, 3, 16, 9, 5, 7)


@pytest.mark.parametrize(
    "typed", ["Statut relance :", "  STATUT  Relance ", "Statut-relance", "statut relancé"]
)
def test_header_variants_name_the_status_column(typed: str) -> None:
    assert same_header(typed, "Statut relance")


def test_blank_and_punctuation_headers() -> None:
    assert not same_header("", "")  # a blank header names no column
    assert not same_header(None, "")
    assert header_key("—") == "—" and same_header(" — ", "—")
    assert not same_header("Statut", "Statut relance")


def test_status_header_with_a_colon_is_reused_and_read(tmp_path: Path) -> None:
    """"Statut relance :" typed by the user: read as the history, reused by the write-back."""
    rows = [
        [*invoice("F1", date(2026, 1, 5)), "Relance 1 – 12/01/2026"],
        [*invoice("F2", date(2026, 1, 6), code="C2", client="Beta"), ""],
    ]
    book = write_xlsx(tmp_path / "export.xlsx", rows, [*HEADERS, "Statut relance :"])
    read = read_export(book, Settings())
    assert read.status_index == len(HEADERS)
    assert list(read.invoices["statut_existant"]) == ["Relance 1 – 12/01/2026", ""]

    statuses = {int(line): "Relance 2 – 16/03/2026" for line in read.invoices["ligne"]}
    result = write_status_column(
        book, read.sheet, read.header_row, statuses, "Statut relance", tmp_path / "b", NOW
    )
    assert result.reused and result.column_index == len(HEADERS) + 1
    ws = openpyxl.load_workbook(book)[read.sheet]
    assert ws.max_column == len(HEADERS) + 1  # no second status column
    assert ws.cell(read.header_row, result.column_index).value == "Statut relance :"
    again = read_export(book, Settings())
    assert set(again.invoices["statut_existant"]) == {"Relance 2 – 16/03/2026"}
