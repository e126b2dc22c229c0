"""A protective episode for one child, the reports behind it, its human tasks and deadlines.

Three things are deliberately separate tables:
- `Command`: what a person asked (a report, a task outcome), stored before any flow runs, so
  nothing is lost if a flow crashes and a retried flow run applies it once. Flow parameters
  carry only its id: no child's data ever reaches Prefect's database.
- `Reporter`: who reported, kept apart from the report (only police and managers may see it).
- `Deadline`: the computed clock behind a task, with the rule and source that produced it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class Command(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("kind", "idempotency_key"),)
    id: uuid.UUID = uuid_pk()
    kind: str  # report | complete_task
    idempotency_key: str
    actor: str
    payload: dict = json_field()
    status: str = Field(default="pending", index=True)  # pending | applied | rejected | failed (resume gave up)
    attempts: int = 0  # runs of its flow started by the resumer (flows.resume.resume_pending)
    last_error: str = ""
    result: dict = json_field()
    case_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = when()
    applied_at: datetime | None = when(nullable=True)


class Counter(SQLModel, table=True):
    """Case-number sequences per jurisdiction and year."""

    name: str = Field(primary_key=True)
    value: int = 0


class Case(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_no: str = Field(unique=True, index=True)
    jurisdiction: str = Field(index=True)
    child_id: uuid.UUID = Field(foreign_key="child.id", index=True)
    township: str = Field(index=True)
    village: str | None = Field(default=None, index=True)
    stage: str = Field(index=True)  # emergency | assessment | intervention | closed
    status: str = Field(default="open", index=True)  # open | phase_out | closed
    urgency: str = "normal"
    risk_level: str | None = None
    close_reason: str | None = None
    exit_reason: str | None = None
    phase_out_until: datetime | None = when(nullable=True)
    opened_at: datetime = when()
    closed_at: datetime | None = when(nullable=True)
    version: int = 1
    # A transfer to another county waiting for its civil affairs to accept (issue 16 §3): until then both
    # counties read the case (shouhu.access). Not sealed: the request and its answer are timeline events.
    transfer_to: str | None = Field(default=None, index=True)
    # The timeline's head, so that deleting the newest events is detected too.
    timeline_seq: int = 0
    timeline_head: str = "0" * 64
    # HMAC of the state above and the head, under a key the database does not hold (shouhu.timeline).
    seal: str = Field(default="", sa_column_kwargs={"server_default": ""})


class Report(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    command_id: uuid.UUID = Field(foreign_key="command.id", unique=True)
    jurisdiction: str
    channel: str
    situations: list[str] = json_field(list)
    description: str
    discovered_at: datetime | None = when(nullable=True)
    reported_at: datetime = when()
    registered_by: str
    late: bool = False
    late_by_minutes: int | None = None
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)


class Reporter(SQLModel, table=True):
    """Confidential: 强制报告 reporter identity (未保法 art. 117; 强制报告意见 arts. 12–16)."""

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="report.id", unique=True)
    name: str
    phone: str
    unit: str
    unit_type: str
    supervising_unit: str | None = None
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)


class Task(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    stage: str
    kind: str = Field(index=True)
    subject: str | None = None  # the service referred, the visit number, …
    status: str = Field(default="open", index=True)  # open | done | cancelled
    owner_unit: str = Field(index=True)
    role: str
    # The person of the owning unit who works it (认领 or 转交, issue 16 §3); not sealed: each change is
    # a timeline event.
    assignee: str | None = Field(default=None, index=True)
    due_at: datetime = when(index=True)
    outcome: dict = json_field()
    completed_by: str | None = None
    completed_at: datetime | None = when(nullable=True)
    created_at: datetime = when()
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)


class Deadline(SQLModel, table=True):
    """A clock: a task's due time, or a watch with no task (e.g. the six-month refusal watch).

    `next_fire_at` is the time of the next reminder or escalation step (null once the chain is
    over or the clock stopped); the sweeper only ever reads rows whose `next_fire_at` has come,
    through its index, so an idle tick costs the same with ten or a million open clocks.
    """

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    task_id: uuid.UUID | None = Field(default=None, foreign_key="task.id", unique=True)
    kind: str
    starts_at: datetime = when()
    due_at: datetime = when(index=True)
    rule: dict = json_field()  # the policy rule, its urgency and its source
    status: str = Field(default="open", index=True)  # open | met | missed | cancelled | fired
    resolved_at: datetime | None = when(nullable=True)
    next_step: int = 0
    next_fire_at: datetime | None = when(nullable=True, index=True)
    seal: str = Field(
        default="", sa_column_kwargs={"server_default": ""}
    )  # HMAC of this row (shouhu.timeline.ROW_FIELDS)
    # The escalation level reached and 督办 live on the task's Breach, not here.


class ClockFire(SQLModel, table=True):
    """One fired step of one clock. The unique key is what makes firing happen once."""

    __table_args__ = (UniqueConstraint("deadline_id", "step"),)
    id: uuid.UUID = uuid_pk()
    deadline_id: uuid.UUID = Field(foreign_key="deadline.id", index=True)
    step: str
    fired_at: datetime = when()
    scheduled_for: datetime = when()


class Breach(SQLModel, table=True):
    """An overdue task: opened at level 1, raised level by level, resolved when the task is done."""

    id: uuid.UUID = uuid_pk()
    deadline_id: uuid.UUID = Field(foreign_key="deadline.id", unique=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    task_id: uuid.UUID | None = Field(default=None, foreign_key="task.id")
    jurisdiction: str = Field(index=True)
    kind: str
    stage: str
    owner_unit: str = Field(index=True)
    due_at: datetime = when()
    level: int = 1
    supervised: bool = False
    opened_at: datetime = when()
    resolved_at: datetime | None = when(nullable=True, index=True)
    late_by_minutes: int | None = None
    resolution: str | None = None  # done | cancelled
