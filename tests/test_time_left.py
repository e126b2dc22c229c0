"""Time left / late by, as every task list shows it: whole units, cut down, Chinese only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from shouhu import clock
from shouhu.wording import seconds_left, span, time_left

T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")


@pytest.fixture
def held() -> Iterator[datetime]:
    clock.set_now(T0)
    yield clock.now()
    clock.set_now(None)


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (timedelta(0), "已到期"),
        (timedelta(seconds=59), "剩余 不到1分钟"),
        (timedelta(seconds=-59), "已逾期 不到1分钟"),
        (timedelta(seconds=-1), "已逾期 不到1分钟"),
        (timedelta(minutes=1), "剩余 1分钟"),
        (timedelta(minutes=-1), "已逾期 1分钟"),
        (timedelta(minutes=59, seconds=59), "剩余 59分钟"),
        (timedelta(hours=1), "剩余 1小时"),
        (timedelta(hours=-1), "已逾期 1小时"),
        (timedelta(hours=2, minutes=15, seconds=30), "剩余 2小时15分"),
        (-timedelta(hours=1, minutes=20), "已逾期 1小时20分"),
        (timedelta(hours=23, minutes=59, seconds=59), "剩余 23小时59分"),
        (timedelta(hours=24), "剩余 1天"),
        (timedelta(hours=-24), "已逾期 1天"),
        (timedelta(days=1, hours=5, minutes=40), "剩余 1天5小时"),
        (timedelta(days=3), "剩余 3天"),
        (-timedelta(days=5, minutes=30), "已逾期 5天"),
        (-timedelta(days=40, hours=2), "已逾期 40天2小时"),
    ],
)
def test_time_left_in_whole_units_at_the_boundaries(held: datetime, offset: timedelta, words: str) -> None:
    due = T0 + offset
    assert time_left(due, clock.now()) == words
    assert seconds_left(due, clock.now()) == int(offset.total_seconds())  # negative once late


def test_the_clock_moving_turns_time_left_into_late(held: datetime) -> None:
    due = T0 + timedelta(hours=2)
    assert time_left(due, clock.now()) == "剩余 2小时"
    clock.advance(hours=2)
    assert time_left(due, clock.now()) == "已到期"
    clock.advance(seconds=1)
    assert time_left(due, clock.now()) == "已逾期 不到1分钟"
    assert seconds_left(due, clock.now()) == -1
    clock.advance(days=2, hours=3)
    assert time_left(due, clock.now()) == "已逾期 2天3小时"


def test_other_timezones_compare_as_instants(held: datetime) -> None:
    due = datetime.fromisoformat("2026-11-24T02:30:00+00:00")  # 10:30 in Beijing
    assert time_left(due, clock.now()) == "剩余 1小时30分"
    assert span(timedelta(0)) == "不到1分钟"
