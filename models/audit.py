"""Reads of personal data that live outside a case's timeline (the village ledger), and refusals.

A case file's reads go on its own hash-chained timeline; this table covers the rest, so
every read of a child's data is attributable to a user (PIPL art. 51; brief: Standards).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class AccessRecord(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    at: datetime = when(index=True)
    actor: str = Field(index=True)
    action: str  # e.g. ledger_read, visit_complete
    target: str  # a unit code, a visit id: never a child's name
    allowed: bool = True
    reason: str = ""
