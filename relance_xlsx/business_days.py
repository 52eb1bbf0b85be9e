"""French business days (jours ouvrés): Monday–Friday, not a public holiday.

"N business days after D" counts business days d with D < d, so the step is due on the
N-th business day after D. numpy's busday functions over the ``holidays`` list do whole
columns at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays
import numpy as np

YEARS_BEFORE, YEARS_AFTER = 6, 3


@lru_cache(maxsize=32)
def _holiday_array(subdivision: str, first_year: int, last_year: int) -> np.ndarray:
    days = holidays.country_holidays(
        "FR", subdiv=subdivision or None, years=range(first_year, last_year + 1)
    )
    return np.array(sorted(days), dtype="datetime64[D]")


@dataclass(frozen=True)
class BusinessCalendar:
    """A numpy business-day calendar for France (and a subdivision), over a span of years."""

    subdivision: str
    first_year: int
    last_year: int

    @classmethod
    def around(cls, subdivision: str, day: date) -> BusinessCalendar:
        """Calendar covering the years an export can reach from ``day``."""
        return cls(subdivision, day.year - YEARS_BEFORE, day.year + YEARS_AFTER)

    @property
    def holidays(self) -> np.ndarray:
        return _holiday_array(self.subdivision, self.first_year, self.last_year)

    @property
    def busdaycal(self) -> np.busdaycalendar:
        return _busdaycal(self.subdivision, self.first_year, self.last_year)

    def is_business_day(self, day: date) -> bool:
        return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=self.busdaycal))

    def count_after(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Business days d with start < d <= end, element-wise (datetime64[D] arrays)."""
        start = np.asarray(start, dtype="datetime64[D]")
        end = np.asarray(end, dtype="datetime64[D]")
        return np.busday_count(start + 1, end + 1, busdaycal=self.busdaycal)

    def add(self, start: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """The n-th business day after ``start`` (n >= 1); n = 0 gives ``start`` itself."""
        start = np.asarray(start, dtype="datetime64[D]")
        n = np.asarray(n, dtype=np.int64)
        after = np.busday_offset(start + 1, np.maximum(n - 1, 0), roll="forward",
                                 busdaycal=self.busdaycal)
        return np.where(n <= 0, start, after)

    def next_business_day(self, day: date) -> date:
        """``day`` itself when it is a business day, else the next one (deadline roll)."""
        out = np.busday_offset(np.datetime64(day, "D"), 0, roll="forward",
                               busdaycal=self.busdaycal)
        return out.astype(object)


@lru_cache(maxsize=32)
def _busdaycal(subdivision: str, first_year: int, last_year: int) -> np.busdaycalendar:
    return np.busdaycalendar(
        weekmask="1111100", holidays=_holiday_array(subdivision, first_year, last_year)
    )


def days_late(due: object, as_of: object) -> np.ndarray | int:
    """Calendar days late at ``as_of``: counted from the day after the due date (the late
    payment law runs from then), 0 when not late. Scalars or whole columns alike."""
    if type(due) is date and type(as_of) is date:  # one letter line: no numpy
        return max((as_of - due).days, 0)
    delta = np.asarray(as_of, dtype="datetime64[D]") - np.asarray(due, dtype="datetime64[D]")
    return np.maximum(delta.astype(np.int64), 0)


def is_business_day(day: date, subdivision: str = "") -> bool:
    """One day, for one-off deadlines: the same rule and holidays as whole columns."""
    return BusinessCalendar.around(subdivision, day).is_business_day(day)


def calendar_for(subdivision: str, run_date: date, *dates: np.ndarray) -> BusinessCalendar:
    """A calendar wide enough for ``run_date`` and every date in ``dates`` (NaT ignored)."""
    first, last = run_date.year - YEARS_BEFORE, run_date.year + YEARS_AFTER
    for arr in dates:
        arr = np.asarray(arr, dtype="datetime64[D]")
        arr = arr[~np.isnat(arr)]
        if arr.size:
            first = min(first, int(arr.min().astype("datetime64[Y]").astype(int)) + 1970 - 1)
            last = max(last, int(arr.max().astype("datetime64[Y]").astype(int)) + 1970 + 1)
    return BusinessCalendar(subdivision, max(first, 1900), min(last, 2200))
