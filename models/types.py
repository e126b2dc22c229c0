"""Column types shared by every table: aware datetimes stored as UTC, JSON, UUID keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import JSON, Column, DateTime, Table, inspect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

CHINA_TZ = timezone(timedelta(hours=8), "CST")  # Beijing time: what people read (shouhu.clock re-exports it)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table (its `__table__`, which SQLModel does not declare to type checkers)."""
    return cast(Table, inspect(model, raiseerr=True).local_table)


class AwareDateTime(TypeDecorator):
    """Refuses naive datetimes on write; returns Asia/Shanghai-aware ones on read.

    SQLite forgets offsets, so values are normalised to UTC before storage on every backend.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every stored time must carry its offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(CHINA_TZ)


def when(nullable: bool = False, index: bool = False) -> Any:
    """A timezone-aware timestamp column."""
    return Field(default=None, sa_column=Column(AwareDateTime(), nullable=nullable, index=index))


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)
