"""Clocks that act: the steps of a deadline (reminders, then escalation levels) and firing them.

A deadline's plan is derived from the pack each time, never stored: reminders at the pack's
fractions of the window, then one step per escalation level after the due time. Level 1
goes to the owner unit, each next level to the supervisor of the one before, and the last
level marks the item 督办 and tells the coordination office (MECHANISM.md §4).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from models import Breach, Case, ClockFire, Deadline, Task
from shouhu import units, workdays
from shouhu.clock import now
from shouhu.policy import Pack

if TYPE_CHECKING:  # a Transition fires the steps; tasks.transition itself imports this module
    from tasks.transition import Transition

SWEEPER = "system:sweeper"


@dataclass(frozen=True)
class Step:
    name: str
    at: datetime
    level: int  # 0: a reminder or a watch; n: escalation level n


def plan(p: Pack, d: Deadline) -> list[Step]:
    if (
        d.task_id is None and d.kind != "approval"
    ):  # a watch: one step at its due time (an approval's clock acts as a task's)
        return [Step("due", d.due_at, 0)]
    window = d.due_at - d.starts_at
    steps = [Step(f"reminder_{round(f * 100)}", d.starts_at + window * f, 0) for f in p.reminders.value]
    holidays = frozenset(p.holidays.value)
    for level, rule in enumerate(p.levels(d.kind), start=1):
        at = d.due_at if rule.after is None else workdays.add(d.due_at, rule.after, holidays).at
        steps.append(Step(f"level_{level}", at, level))
    return steps


def arm(p: Pack, d: Deadline) -> None:
    """Point a new deadline at its first step."""
    steps = plan(p, d)
    d.next_step, d.next_fire_at = 0, steps[0].at if steps else None


def stop(session: Session, d: Deadline, resolution: str) -> int | None:
    """Stop the chain (task done or cancelled) and close its breach with how late it was."""
    at = now()
    d.next_fire_at = None
    breach = session.exec(select(Breach).where(Breach.deadline_id == d.id)).first()
    late_by = max(0, int((at - d.due_at).total_seconds() // 60))
    if breach is not None and breach.resolved_at is None:
        breach.resolved_at, breach.late_by_minutes, breach.resolution = at, late_by, resolution
        session.add(breach)
    session.add(d)
    return late_by if at > d.due_at else None


@dataclass
class Batch:
    """What a sweeper batch writes in bulk: new rows, and the breaches it already knows."""

    rows: list[tuple[Any, dict[str, Any]]]
    breaches: dict[Any, Any]


def open_or_raise_breach(
    session: Session,
    d: Deadline,
    case: Case,
    task: Task | None,
    level: int,
    supervised: bool,
    batch: Batch | None = None,
    owner: str | None = None,
) -> None:
    if batch is not None:
        breach = batch.breaches.get(d.id)
    else:
        breach = session.exec(select(Breach).where(Breach.deadline_id == d.id)).first()
    if breach is None:
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "deadline_id": d.id,
            "case_id": case.id,
            "task_id": d.task_id,
            "jurisdiction": case.jurisdiction,
            "kind": d.kind,
            "stage": task.stage if task else case.stage,
            "owner_unit": owner or (task.owner_unit if task else ""),
            "due_at": d.due_at,
            "level": level,
            "supervised": supervised,
            "opened_at": now(),
        }
        if batch is not None:
            batch.rows.append((Breach, row))
            batch.breaches[d.id] = row
        else:
            session.add(Breach(**row))
        return
    if isinstance(breach, dict):  # opened earlier in this same batch
        breach["level"], breach["supervised"] = level, supervised
        return
    breach.level, breach.supervised = level, supervised
    session.add(breach)


def escalate(
    t: Transition,
    d: Deadline,
    step: Step,
    batch: Batch | None,
    *,
    what: str,
    owner: str,
    shown_owner: str,
    owner_role: str,
    task: Task | None = None,
    **ids: str,
) -> None:
    """One escalation level of a task's or an approval's clock, the same procedure for both: the breach
    opened or raised, the timeline naming who was told, and the message to the units up the chain.

    `what` is the work overdue, `owner` the unit that owes it (`shown_owner` as the timeline names it,
    `owner_role` as the message does); `ids` go into the timeline payload after the deadline's."""
    levels = len(t.pack.levels(d.kind))
    last = step.level == levels
    recipients = units.recipients(t.pack, owner, step.level, levels)
    open_or_raise_breach(t.session, d, t.case, task, step.level, last, batch, owner=owner)
    names = "、".join(t.unit_name(u) for u in recipients)
    t.record(
        "deadline_escalated",
        f"{what} 逾期（{shown_owner}），第 {step.level} 级{'，督办' if last else ''}：通知 {names}",
        deadline_id=str(d.id),
        **ids,
        level=step.level,
        supervised=last,
        units=recipients,
    )
    template = "overdue" if step.level == 1 else ("supervised" if last else "escalation")
    t.notify(
        "escalation",
        template=template,
        to=[],
        unit_codes=recipients,
        ask=what,
        due=d.due_at,
        detail=f"{owner_role}：{t.unit_name(owner)}；第 {step.level} 级",
    )


def record_fire(session: Session, d: Deadline, step: Step, batch: Batch | None = None) -> None:
    """Record the fire. Its unique key is what fails on a second sweeper, before anything is sent."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "deadline_id": d.id,
        "step": step.name,
        "fired_at": now(),
        "scheduled_for": step.at,
    }
    if batch is not None:
        batch.rows.append((ClockFire, row))
        return
    session.add(ClockFire(**row))
    session.flush()
