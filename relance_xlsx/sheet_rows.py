"""A big calamine sheet into Python rows in bounded extra memory: equal cells share one object.

``CalamineSheet.to_python`` makes one Python object per cell while calamine's dense grid is
still alive: a 1,000,000-row export made 16 million objects (1.9 GB with the grid). Exports
repeat the same client names, codes, towns and dates on thousands of rows, so here the rows
are built one at a time from calamine's row iterator and each distinct text or date of a
column is kept once. A column whose values hardly repeat (invoice numbers) stops being pooled:
its pool would cost more than it saves. The rows are the ones ``to_python(skip_empty_area=
False)`` gives: from A1, every cell of the same value and exact type.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

# From this many cells (60,000 rows of 16 columns), a sheet's equal cells are shared.
SHARED_FROM_CELLS = 1_000_000
# Cells worth sharing: immutable and hashable, and none equal to a cell of another of these
# classes (numbers are left alone: 1 == 1.0 == True, and amounts rarely repeat anyway).
_POOLED = frozenset((str, date, datetime, time, timedelta))
# After this many rows, a column with more distinct values than this share of its rows is
# not pooled any more.
_JUDGED_AFTER = 20_000
_MOSTLY_DISTINCT = 0.5


def sheet_rows(sheet: Any, shared_from: int = SHARED_FROM_CELLS) -> list[list[object]]:
    """The rows of a calamine sheet from A1: a small one as calamine gives them (fastest), a
    big one (``shared_from`` cells) with its equal cells shared."""
    if sheet.height * sheet.width < shared_from:
        return sheet.to_python(skip_empty_area=False)
    return shared_rows(sheet)


def shared_rows(sheet: Any) -> list[list[object]]:
    """The rows of a calamine sheet, as ``to_python(skip_empty_area=False)`` gives them,
    equal texts and dates of a column sharing one object."""
    start = sheet.start
    if start is None:  # no cell at all
        return []
    start_row, start_col = start
    end_row = sheet.end[0]
    rows = share_cells(sheet.iter_rows(), start_col)
    # calamine's iterator gives the rows from the first one of the sheet, from its first
    # used column: the rows above are added if a version of it starts at the first used row
    missing = end_row + 1 - len(rows)
    if missing > 0 and missing == start_row:
        width = len(rows[0]) if rows else 0
        rows[:0] = [[""] * width for _ in range(missing)]
    return rows


def share_cells(
    rows: Iterable[list[object]], pad: int = 0, judge_after: int = _JUDGED_AFTER
) -> list[list[object]]:
    """``rows`` as lists (``pad`` empty cells in front of each), the equal texts and dates
    of each column one object. Rows are changed in place when not padded. After
    ``judge_after`` rows, a column that hardly repeats is not pooled any more."""
    out: list[list[object]] = []
    # column -> its pool (None once judged mostly distinct). A text never equals a date,
    # nor a date a datetime: one pool per column keyed by the cell itself is exact.
    pools: dict[int, dict[object, object] | None] = {}
    front: list[object] = [""] * pad
    for row in rows:
        cells = front + row if pad else row
        for j, v in enumerate(cells):
            cls = v.__class__
            if cls is str:
                if not v:
                    continue
            elif cls not in _POOLED:
                continue
            pool = pools.get(j)
            if pool is None:
                if j in pools:
                    continue  # judged mostly distinct
                pool = pools[j] = {}
            kept = pool.setdefault(v, v)
            if kept is not v:
                cells[j] = kept
        out.append(cells)
        if len(out) == judge_after:
            for j, pool in pools.items():
                if pool is not None and len(pool) > _MOSTLY_DISTINCT * judge_after:
                    pools[j] = None
    return out


__all__ = ["SHARED_FROM_CELLS", "share_cells", "shared_rows", "sheet_rows"]
