"""ID numbers, the working-day calendar and its fallback beyond the calendar's data."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shouhu import idnumber, workdays
from shouhu.clock import CHINA_TZ
from shouhu.errors import InvalidInput
from shouhu.policy import Duration


def test_id_number_checksum_and_birth_date() -> None:
    valid = idnumber.make("341324", date(2015, 3, 2), 12)
    assert idnumber.validate(valid, date(2015, 3, 2)) == valid
    wrong_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    with pytest.raises(InvalidInput) as err:
        idnumber.validate(wrong_check, date(2015, 3, 2))
    assert err.value.code == "bad_id_checksum" and err.value.field == "child.id_number"
    with pytest.raises(InvalidInput) as err:
        idnumber.validate(valid, date(2015, 3, 3))
    assert err.value.code == "id_birth_mismatch"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=CHINA_TZ)


def test_working_days_skip_national_day_and_count_the_adjusted_saturday() -> None:
    # 2026: 1–7 October are holidays; Saturday 10 October is an adjusted working day (调休).
    due = workdays.add(at(2026, 9, 30), Duration(working_days=2))
    assert due.at == at(2026, 10, 9) and due.fallback_years == ()
    assert workdays.add(at(2026, 9, 30), Duration(working_days=3)).at == at(2026, 10, 10)


def test_a_year_beyond_the_calendar_falls_back_to_weekdays_and_pack_holidays() -> None:
    # 2100 is beyond any release of the holiday calendar: Thursday 30 December 2099 + 3 working days.
    due = workdays.add(at(2099, 12, 30), Duration(working_days=3))
    assert due.at == at(2100, 1, 4) and due.fallback_years == (2099, 2100)
    with_holiday = workdays.add(at(2099, 12, 30), Duration(working_days=3), frozenset({date(2100, 1, 4)}))
    assert with_holiday.at == at(2100, 1, 5)


def test_hours_and_days_are_wall_clock() -> None:
    assert workdays.add(at(2026, 10, 1), Duration(hours=24)).at == at(2026, 10, 2)
    assert workdays.add(at(2026, 10, 1), Duration(days=30)).at == at(2026, 10, 31)
