"""The village verification round: every child on a jurisdiction's ledger, once per period.

seed 001 §二(一)6: 村（居）民委员会每季度核实困境儿童家庭情况、监护情况、就学情况. Rows are
generated set-based (one INSERT … SELECT per jurisdiction and period), never one by one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class VerificationVisit(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("child_id", "period"),)
    id: uuid.UUID = uuid_pk()
    jurisdiction: str = Field(index=True)
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    unit: str = Field(index=True)  # the child's village committee (its township if no village on file)
    period: str = Field(index=True)  # 2026Q4, 2026-11
    due_at: datetime = when(index=True)
    status: str = Field(default="open", index=True)
    outcome: dict = json_field()
    completed_by: str | None = None
    completed_at: datetime | None = when(nullable=True)
    created_at: datetime = when()
