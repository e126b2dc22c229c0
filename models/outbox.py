"""Notifications queued in the transition's own transaction; a dispatcher sends them."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Notification(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("dedupe_key", "unit"),)
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID | None = Field(default=None, foreign_key="case.id", index=True)
    unit: str = Field(index=True)
    event: str
    dedupe_key: str
    subject: str
    body: str
    status: str = Field(default="queued", index=True)  # queued | sent | failed
    attempts: int = 0
    created_at: datetime = when()
    sent_at: datetime | None = when(nullable=True)
