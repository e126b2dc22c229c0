"""The one clock. SHOUHU_NOW (ISO 8601 with offset) fixes it for demos, tests and the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from models.types import CHINA_TZ
from shouhu.errors import InvalidInput

_override: datetime | None = None


def parse_instant(text: str, field: str) -> datetime:
    """An ISO 8601 instant with an explicit offset; a naive time is ambiguous and refused."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise InvalidInput(
            "bad_datetime",
            f"{field} must be ISO 8601 with an offset, e.g. 2026-11-24T09:30:00+08:00; got {text!r}",
            field,
        ) from None
    if value.tzinfo is None:
        raise InvalidInput("naive_datetime", f"{field} needs a UTC offset (e.g. +08:00); got {text!r}", field)
    return value


def now() -> datetime:
    """Current instant, timezone-aware (Asia/Shanghai offset)."""
    if _override is not None:
        return _override
    fixed = os.environ.get("SHOUHU_NOW")
    if fixed:
        return parse_instant(fixed, "SHOUHU_NOW").astimezone(CHINA_TZ)
    return datetime.now(CHINA_TZ)


def set_now(value: datetime | None) -> None:
    """Move the clock in-process (tests, demo); None returns to SHOUHU_NOW or the wall clock."""
    global _override
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    _override = value.astimezone(CHINA_TZ) if value is not None else None


@contextmanager
def held_at(value: datetime) -> Iterator[datetime]:
    """Hold the clock at `value` for a block (a sweeper tick runs entirely "as of" one instant)."""
    global _override
    before = _override
    set_now(value)
    try:
        yield now()
    finally:
        _override = before


def advance(**delta: float) -> datetime:
    """Move the clock forward by a timedelta's keyword arguments and return the new time."""
    set_now(now() + timedelta(**delta))
    return now()


def as_aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC, so reattach it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC).astimezone(CHINA_TZ)
    return value.astimezone(CHINA_TZ)
