"""The case timeline: append-only, each event hash-chained to the one before it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class TimelineEvent(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    seq: int
    at: datetime = when()
    kind: str
    stage: str
    actor: str
    summary: str
    payload: dict = json_field()
    prev_hash: str
    hash: str
