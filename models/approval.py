"""A second pair of eyes on a decision that ends or narrows protection (issue 16 §1, §4).

A closing decision (`closure`), a police finding of 不属实 (`unfounded`) and the reopening of a
closed case (`reopen`) wait here for the unit the pack names. While one is pending the case keeps
its stage and status; its clock (a `Deadline` of kind `approval`, no task) escalates as a task's does.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class Approval(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    kind: str = Field(index=True)  # closure | unfounded | reopen
    task_id: uuid.UUID | None = Field(default=None, foreign_key="task.id")  # the work the decision ends
    decision: dict = json_field()  # what takes effect on approval (exit reason, why unfounded, why reopened)
    requested_by: str
    requester_unit: str
    unit: str = Field(index=True)  # the unit that must decide
    due_at: datetime = when()
    deadline_id: uuid.UUID | None = Field(default=None, foreign_key="deadline.id")
    status: str = Field(default="pending", index=True)  # pending | approved | refused
    decided_by: str | None = None
    decided_at: datetime | None = when(nullable=True)
    reason: str = ""  # the decider's reason (required on refusal)
    created_at: datetime = when()
