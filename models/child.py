"""The child's file (一人一档, seed 000 §三(一)) and the guardians named in reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class Child(SQLModel, table=True):
    """One file per child, found again by ID number (or name + birth date + township without one)."""

    id: uuid.UUID = uuid_pk()
    jurisdiction: str = Field(index=True)
    id_number: str | None = Field(default=None, unique=True, index=True)
    name: str
    birth_date: date
    gender: str
    township: str = Field(index=True)
    village: str | None = Field(default=None, index=True)
    address: str | None = None
    left_behind: bool = False
    created_at: datetime = when()
    school: str | None = None  # 就读学校, from the ledger
    # How the child came onto the county's ledger: a report (强制报告), an import of the county's
    # spreadsheet, or a survey (排查). Not part of the row seal (shouhu.timeline.ROW_FIELDS).
    enrolled_from: str = Field(default="report", sa_column_kwargs={"server_default": "report"})
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)
    # One child, one file (issue 16 §5): a file merged into another is kept as a stub pointing to it
    # (its timeline stays); and when the pack's retention period has passed, the identity is removed
    # (issue 16 §6). Neither is part of the row seal: both are on the timelines.
    # (No FOREIGN KEY: SQLite cannot add one to an existing table without copying `child`, which the
    # tables referencing it forbid; services.onefile only ever writes a child's id here.)
    merged_into: uuid.UUID | None = Field(default=None, index=True)
    identity_removed_at: datetime | None = when(nullable=True)


class Guardian(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    name: str
    relation: str
    status: str
    extra: dict = json_field()
    phone: str | None = None  # from the ledger (not part of the row seal)
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)


class ChildMerge(SQLModel, table=True):
    """Two files of one child made one (issue 16 §5): who, why, and exactly what moved from `other_id`
    to `keep_id` (`moved`: ids per table, values changed), so that an unmerge puts back exactly that."""

    id: uuid.UUID = uuid_pk()
    jurisdiction: str = Field(index=True)
    keep_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    other_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    reason: str
    moved: dict = json_field()
    status: str = Field(default="merged", index=True)  # merged | unmerged
    merged_by: str
    merged_at: datetime = when()
    unmerged_by: str | None = None
    unmerged_at: datetime | None = when(nullable=True)
