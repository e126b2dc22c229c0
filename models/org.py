"""Jurisdictions, their units (offices and committees) and the people who work in them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import false
from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class Jurisdiction(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    code: str = Field(unique=True, index=True)
    name: str
    case_prefix: str
    source: str


class Unit(SQLModel, table=True):
    """An office: police bureau or station, township, village committee, civil affairs, court…"""

    id: uuid.UUID = uuid_pk()
    code: str = Field(unique=True, index=True)
    jurisdiction: str = Field(index=True)
    name: str
    type: str
    parent: str | None = None
    supervisor: str | None = None
    # A police station's area: the township codes it answers for.
    covers: list[str] = json_field(list)


class User(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    username: str = Field(unique=True, index=True)
    display_name: str
    role: str
    unit: str = Field(index=True)
    jurisdiction: str = Field(index=True)
    # Set when the person leaves or must not act: no sign-in, no session, no token works.
    disabled_at: datetime | None = when(nullable=True)
    # Set for an account made or reset by an administrator: the person chooses their own password
    # at the first sign-in before any page opens (the administrator never knows it).
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
