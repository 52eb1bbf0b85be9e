"""Business days: weekends and French public holidays, with subdivisions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from relance_xlsx.business_days import BusinessCalendar, calendar_for


def nth_after(d: date, n: int, subdivision: str = "") -> date:
    cal = BusinessCalendar.around(subdivision, d)
    return cal.add(np.array([d], dtype="datetime64[D]"), n)[0].astype(object)


def count(start: date, end: date, subdivision: str = "") -> int:
    cal = BusinessCalendar.around(subdivision, start)
    days = cal.count_after(np.array([start], "datetime64[D]"), np.array([end], "datetime64[D]"))
    return int(days[0])


@pytest.mark.parametrize(
    "due, n, expected, why",
    [
        # Thu 30/04/2026: Fri 1/5 is Labour Day; Mon 4, Tue 5, Wed 6, Thu 7 -> 4 days; Fri 8/5 is
        # Victory Day; the 5th business day is Mon 11/05.
        (date(2026, 4, 30), 5, date(2026, 5, 11), "1er mai et 8 mai"),
        # Wed 13/05/2026: Thu 14/05 is Ascension; Fri 15, Mon 18, Tue 19, Wed 20, Thu 21.
        (date(2026, 5, 13), 5, date(2026, 5, 21), "Ascension"),
        # Fri 22/05/2026: Mon 25/05 is Whit Monday; Tue 26 … Mon 1/06.
        (date(2026, 5, 22), 5, date(2026, 6, 1), "lundi de Pentecôte"),
        # Mon 13/07/2026: Tue 14/07 is Bastille Day; Wed 15 … Tue 21.
        (date(2026, 7, 13), 5, date(2026, 7, 21), "14 juillet"),
        # Tue 10/11/2026: Wed 11/11 is Armistice; Thu 12 … Wed 18.
        (date(2026, 11, 10), 5, date(2026, 11, 18), "11 novembre"),
        # Thu 24/12/2026: Fri 25/12 Christmas; Mon 28 … Thu 31, Fri 1/1 New Year; Mon 4/1.
        (date(2026, 12, 24), 5, date(2027, 1, 4), "Noël et jour de l'an"),
        # Friday due date: the next business day is Monday.
        (date(2026, 11, 20), 1, date(2026, 11, 23), "week-end"),
        # Saturday due date counts from Monday.
        (date(2026, 11, 21), 1, date(2026, 11, 23), "échéance un samedi"),
    ],
)
def test_nth_business_day_after(due, n, expected, why):
    assert nth_after(due, n) == expected, why
    assert count(due, expected) == n


def test_count_excludes_start_includes_end():
    # Mon 23/11/2026 -> Fri 27/11/2026: Tue..Fri = 4 business days (the start is excluded).
    assert count(date(2026, 11, 23), date(2026, 11, 27)) == 4
    assert count(date(2026, 11, 23), date(2026, 11, 23)) == 0


def test_good_friday_and_st_stephen_only_in_alsace_moselle():
    # Good Friday 2026 is 3 April. Thu 2/04 + 1 business day: Fri 3/04 in mainland France,
    # Mon 6/04 is Easter Monday everywhere, so Tue 7/04 in Moselle.
    assert nth_after(date(2026, 4, 2), 1) == date(2026, 4, 3)
    assert nth_after(date(2026, 4, 2), 1, "57") == date(2026, 4, 7)
    assert nth_after(date(2026, 4, 2), 1, "6AE") == date(2026, 4, 7)
    # 26 December 2025 is a Friday: a holiday in Moselle only.
    assert nth_after(date(2025, 12, 24), 1) == date(2025, 12, 26)
    assert nth_after(date(2025, 12, 24), 1, "57") == date(2025, 12, 29)


def test_overseas_subdivision_adds_its_days():
    # 27 May is the abolition of slavery in Guadeloupe (971); 27/05/2026 is a Wednesday.
    assert nth_after(date(2026, 5, 26), 1) == date(2026, 5, 27)
    assert nth_after(date(2026, 5, 26), 1, "971") == date(2026, 5, 28)


def test_vectorised_over_columns():
    cal = calendar_for("", date(2026, 11, 23))
    starts = np.array(["2026-04-30", "2026-05-13", "2026-07-13"], dtype="datetime64[D]")
    out = cal.add(starts, np.array([5, 5, 5]))
    assert list(out.astype(str)) == ["2026-05-11", "2026-05-21", "2026-07-21"]
    assert cal.is_business_day(date(2026, 11, 23))
    assert not cal.is_business_day(date(2026, 11, 11))
    assert cal.next_business_day(date(2026, 11, 11)) == date(2026, 11, 12)


def test_calendar_widens_for_old_dates():
    cal = calendar_for("", date(2026, 1, 1), np.array(["2012-05-08"], dtype="datetime64[D]"))
    assert cal.first_year <= 2011
    assert not cal.is_business_day(date(2012, 5, 8))
