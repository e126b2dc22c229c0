"""Facts about this installation that the data depends on (e.g. which timeline key sealed it)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str
