"""A report sheet in openpyxl's write-only mode that still takes cells in any order.

In its normal mode openpyxl keeps a cell object per value until the workbook is saved: a
million-row run's report (a row per letter and per client) took 0.6 GB that way. A write-only
sheet streams its rows to a temporary file as they come, but only in order, and wants its
column widths, frozen panes and page setup before the first row. ``ReportSheet`` gives the
report code the small part of the worksheet API it uses (``cell``, ``merge_cells``,
``max_row``, dimensions, charts): cells put anywhere wait in a dict until ``finish`` or until
a table streams its rows below them (``stream_rows``), so only the big tables' rows stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet.cell_range import CellRange

_OWN = frozenset({"_ws", "_pending", "_written"})
# written at the top of the sheet's file, with its first row: set later, they would be lost
_TOP = frozenset({"column_dimensions", "freeze_panes", "sheet_view", "views",
                  "sheet_properties", "sheet_format"})  # fmt: skip


class ReportSheet:
    """A write-only worksheet with a buffer for the cells put out of order."""

    def __init__(self, workbook: Workbook, title: str) -> None:
        self._ws = workbook.create_sheet(title)
        self._pending: dict[int, dict[int, WriteOnlyCell]] = {}
        self._written = 0  # rows already streamed to the sheet's file

    def __getattr__(self, name: str) -> Any:  # title, column_dimensions, page_setup, …
        self._not_too_late(name)
        return getattr(self._ws, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:  # title, freeze_panes, print_title_rows: the worksheet's
            self._not_too_late(name)
            setattr(self._ws, name, value)

    def _not_too_late(self, name: str) -> None:
        """Widths, panes, gridlines, fit to page: an error once rows are written, not a
        sheet that silently lacks them."""
        if name in _TOP and self._written:
            raise ValueError(f"{name} of « {self._ws.title} » set after its first rows")

    @property
    def max_row(self) -> int:
        return max(self._written, max(self._pending, default=0))

    def cell(self, row: int, column: int) -> WriteOnlyCell:
        """The cell at (row, column), created empty; rows already streamed are closed."""
        if row <= self._written:
            raise ValueError(f"row {row} of « {self._ws.title} » is already written")
        cells = self._pending.setdefault(row, {})
        if column not in cells:
            cells[column] = WriteOnlyCell(self._ws)
        return cells[column]

    def merge_cells(self, start_row: int, start_column: int, end_row: int,
                    end_column: int) -> None:  # fmt: skip
        self._ws.merged_cells.add(CellRange(min_col=start_column, min_row=start_row,
                                            max_col=end_column, max_row=end_row))  # fmt: skip

    def stream_rows(self, rows: Iterable[Sequence[WriteOnlyCell | None]]) -> int:
        """Write the cells put so far, then ``rows`` below them, each as soon as it comes
        (column widths, panes and page setup must be set before). Returns the last row."""
        self._flush()
        for row in rows:
            self._ws.append(list(row))
            self._written += 1
        return self._written

    def new_cell(self) -> WriteOnlyCell:
        """A cell for ``stream_rows``."""
        return WriteOnlyCell(self._ws)

    def finish(self) -> None:
        """Write the cells still waiting (before the workbook is saved)."""
        self._flush()

    def _flush(self) -> None:
        for row in sorted(self._pending):
            while self._written < row - 1:  # a gap: empty rows keep the numbering
                self._ws.append([])
                self._written += 1
            cells = self._pending[row]
            self._ws.append([cells.get(c) for c in range(1, max(cells) + 1)])
            self._written = row
        self._pending.clear()


def discard(workbook: Workbook) -> None:
    """Close a write-only workbook that will not be saved, or whose save failed: its
    sheets' open streams and temporary files, which the garbage collector would otherwise
    report on stderr. Never raises: the error that brought us here is the one to tell."""
    for ws in workbook.worksheets:
        try:
            if not ws.closed:
                ws.close()
        except Exception:  # noqa: BLE001 - a stream already broken: nothing left to close
            pass
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            try:
                writer.cleanup()  # its temporary file, unless a save removed it already
            except OSError:
                pass
