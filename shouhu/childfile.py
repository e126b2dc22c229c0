"""The child's own file on the ledger (一人一档): categories in force, started and ended with their
source, each change on the child's timeline (`ChildEvent`).

Coverage — who the village rounds visit — is "a category in force on that day": started on or before
it and not yet ended (`ended_on` is the first day it no longer holds). A category ending on a future
day (a phase-out, seed 003 §一(一)) keeps the child covered until then. Every face and step that starts or ends coverage goes through here.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models import ChildCategory, ChildEvent, VerificationVisit
from shouhu.clock import now


def in_force(day: date, categories: list[str] | None = None) -> ColumnElement[bool]:
    """A condition on `ChildCategory`: the category holds on `day` (optionally: one of `categories`)."""
    held = and_(
        col(ChildCategory.started_on) <= day,
        or_(col(ChildCategory.ended_on).is_(None), col(ChildCategory.ended_on) > day),
    )
    return and_(held, col(ChildCategory.category).in_(categories)) if categories is not None else held


def covered(child_id: Any, day: date, categories: list[str] | None = None, probe: bool = False) -> ColumnElement[bool]:
    """EXISTS a category in force for `child_id` (a column or a value) on `day`.

    `probe`: asked row by row through the (child, category) index. A county's round asks it of its
    own 100,000 children; as a join PostgreSQL would hash every category of the province instead,
    once per county. `OFFSET 0` keeps the question a correlated probe (the planner does not flatten it).
    """
    if not probe:
        return exists().where(ChildCategory.child_id == child_id, in_force(day, categories))
    question = sa_select(literal(1)).where(ChildCategory.child_id == child_id, in_force(day, categories)).offset(0)
    return question.exists()


def record_event(s: Session, child_id: uuid.UUID, actor: str, kind: str, summary: str, payload: dict[str, Any]) -> None:
    """Append to the child's timeline (sequence numbers per child, unique: a concurrent writer conflicts)."""
    last = s.exec(select(func.max(ChildEvent.seq)).where(ChildEvent.child_id == child_id)).one()
    s.add(
        ChildEvent(
            child_id=child_id, seq=(last or 0) + 1, at=now(), actor=actor, kind=kind, summary=summary, payload=payload
        )
    )


def enrol(
    s: Session, child_id: uuid.UUID, codes: dict[str, str], source: str, day: date, actor: str, why: str
) -> list[str]:
    """Start each category (code → its label) the child is not already in on `day`; returns those started."""
    held = set(  # a category ending on a later day (a phase-out) does not count: this one has no end yet
        s.exec(
            select(ChildCategory.category).where(
                ChildCategory.child_id == child_id,
                col(ChildCategory.started_on) <= day,
                col(ChildCategory.ended_on).is_(None),
            )
        ).all()
    )
    started = [code for code in codes if code not in held]
    for code in started:
        s.add(ChildCategory(child_id=child_id, category=code, started_on=day, source=source, created_at=now()))
    if started:
        labels = "、".join(codes[c] for c in started)
        record_event(
            s,
            child_id,
            actor,
            "category_started",
            f"{why}，列入台账（{labels}）",
            {
                "categories": started,
                "source": source,
            },
        )
    return started


def end_categories(
    s: Session,
    child_id: uuid.UUID,
    on: date,
    actor: str,
    why: str,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
) -> list[str]:
    """End the child's categories still running on `on` (only those from `source`, if given): from `on`
    they no longer hold. Returns the categories ended."""
    query = select(ChildCategory).where(
        ChildCategory.child_id == child_id,
        or_(col(ChildCategory.ended_on).is_(None), col(ChildCategory.ended_on) > on),
    )
    if source is not None:
        query = query.where(ChildCategory.source == source)
    ended = []
    for held in s.exec(query).all():
        held.ended_on = max(on, held.started_on)
        s.add(held)
        ended.append(held.category)
    if ended:
        record_event(
            s,
            child_id,
            actor,
            "category_ended",
            why,
            {"categories": ended, "ended_on": on.isoformat(), "source": source, **(detail or {})},
        )
    return ended


def cancel_uncovered_visits(s: Session, jurisdiction: str, day: date, child_id: uuid.UUID | None = None) -> int:
    """Open visits of children no longer covered on `day` are cancelled (one set-based UPDATE)."""
    statement = (
        update(VerificationVisit)
        .where(
            col(VerificationVisit.jurisdiction) == jurisdiction,
            col(VerificationVisit.status) == "open",
            ~covered(VerificationVisit.child_id, day, probe=True),
        )
        .values(status="cancelled", outcome={"reason": "left_coverage", "on": day.isoformat()})
        .execution_options(synchronize_session=False)
    )
    if child_id is not None:
        statement = statement.where(col(VerificationVisit.child_id) == child_id)
    return int(getattr(s.execute(statement), "rowcount", 0) or 0)
