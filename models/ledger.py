"""The county's ledger of children (一人一档, seed 000 §三(一), seed 002 §四(一)): their categories, the
entrusted caregiver, the child's own timeline — and the village verification round: every child on a
jurisdiction's ledger, once per period.

seed 001 §二(一)6: 村（居）民委员会每季度核实困境儿童家庭情况、监护情况、就学情况. Rows are
generated set-based (one INSERT … SELECT per jurisdiction and period), never one by one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class VerificationVisit(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("child_id", "period"),  # also the index for lookups by child (0006)
        Index("ix_verificationvisit_unit_period", "unit", "period"),  # the village's list (0010)
        Index("ix_verificationvisit_jurisdiction_period_status", "jurisdiction", "period", "status"),  # a round
        Index("ix_verificationvisit_jurisdiction_due_at", "jurisdiction", "due_at"),  # the month, the digest
    )
    id: uuid.UUID = uuid_pk()
    jurisdiction: str
    child_id: uuid.UUID = Field(foreign_key="child.id")
    unit: str  # the child's village committee (its township if no village on file)
    period: str  # 2026Q4, 2026-11
    due_at: datetime = when()
    status: str = Field(default="open")
    outcome: dict = json_field()
    completed_by: str | None = None
    completed_at: datetime | None = when(nullable=True)
    created_at: datetime = when()


class ChildCategory(SQLModel, table=True):
    """A category the child is in (the pack's `child_categories`: 留守儿童, 孤儿, 事实无人抚养儿童…), from
    when to when, and on whose word (`import:<file>`, `survey`, `report:<case no>`). A child may be in
    several at once; one that no longer applies is ended, never deleted."""

    __table_args__ = (UniqueConstraint("child_id", "category", "started_on"),)  # also the index by child (0006)
    id: uuid.UUID = uuid_pk()
    child_id: uuid.UUID = Field(foreign_key="child.id")
    category: str = Field(index=True)
    started_on: date
    ended_on: date | None = None
    source: str
    created_at: datetime = when()


class EntrustedCare(SQLModel, table=True):
    """委托照护 (seed 001 §二(二)7): who cares for the child while the parents are away — relation,
    since when, the parents' contact, and who checked the arrangement."""

    id: uuid.UUID = uuid_pk()
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    name: str
    relation: str
    phone: str | None = None
    since: date | None = None
    parents_contact: str | None = None
    checked_by: str | None = None
    checked_on: date | None = None
    ended_on: date | None = None
    created_at: datetime = when()


class ChildEvent(SQLModel, table=True):
    """The child's own timeline (一人一档): put on the ledger, changed by an import (which fields, from
    which file), a category started or ended. Cases keep their own hash-chained timelines."""

    __table_args__ = (UniqueConstraint("child_id", "seq"),)
    id: uuid.UUID = uuid_pk()
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    seq: int
    at: datetime = when()
    actor: str
    kind: str  # enrolled, updated, category_started, category_ended
    summary: str
    payload: dict[str, Any] = json_field(dict)
