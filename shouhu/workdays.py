"""Deadlines from policy durations: wall-clock hours, calendar days, or mainland working days.

Working days follow the public-holiday calendar with adjusted working weekends (调休) from
`chinese-calendar`. Its data ends at a year it knows (2026 in 1.11); beyond it we fall back
to Monday–Friday minus the holidays the pack lists, and say so, never crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar

from shouhu.clock import CHINA_TZ
from shouhu.policy import Duration


@dataclass(frozen=True)
class Due:
    at: datetime
    fallback_years: tuple[int, ...] = ()


def is_working_day(day: date, extra_holidays: frozenset[date]) -> tuple[bool, bool]:
    """(working?, from the fallback rule?)."""
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5 and day not in extra_holidays, True


def add(start: datetime, duration: Duration, extra_holidays: frozenset[date] = frozenset()) -> Due:
    """`start` plus `duration`. N working days end at the same clock time on the Nth working day."""
    if duration.hours is not None:
        return Due(start + timedelta(hours=duration.hours))
    if duration.days is not None:
        return Due(start + timedelta(days=duration.days))
    local = start.astimezone(CHINA_TZ)
    day, left, fallback = local.date(), duration.working_days or 0, set()
    while left:
        day += timedelta(days=1)
        working, used_fallback = is_working_day(day, extra_holidays)
        if used_fallback:
            fallback.add(day.year)
        left -= working
    return Due(datetime.combine(day, local.timetz()), tuple(sorted(fallback)))
