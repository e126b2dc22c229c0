"""Deadlines that act: the sweeper tick, breaches (overdue work) for managers, the daily anchors."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models import Case, Task, User
from services.reading import scoped
from shouhu import access, db, policy, timeline
from shouhu.clock import now


def anchor_now(jurisdiction: str) -> dict[str, Any]:
    """Write today's anchor of one jurisdiction now (the sweeper does it daily by itself)."""
    from tasks import anchors

    policy.pack(jurisdiction)
    with db.transaction() as s:
        return anchors.take(s, jurisdiction, now().date().isoformat())


def sweep() -> dict[str, Any]:
    """One sweeper tick at the clock's time, as a flow run (which also resumes queued commands).

    If the orchestrator does not answer, the tick runs here, in this process, so no deadline
    waits for it: each event it writes says so on the timeline (`"orchestrator": "unavailable"`)."""
    from flows.runner import OrchestratorUnavailable, run_flow
    from flows.sweeper import sweeper

    at = now()
    try:
        return run_flow(sweeper, ["sweeper"], as_of=at.isoformat())
    except OrchestratorUnavailable:
        from notifications.dispatch import dispatch
        from tasks.sweep import tick

        with timeline.in_process("sweeper"):
            result = tick(at)
            result["dispatched"] = dispatch()
        return {**result, "orchestrator": "unavailable", "resumed": {"resumed": 0, "failed": 0, "left": 0}}


def list_breaches(
    jurisdiction: str | None = None,
    unit: str | None = None,
    open_only: bool = False,
    actor: User | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Overdue tasks for managers: level reached, 督办, how late (so far, or when done).
    With `actor`, only breaches on cases that user may read (access.case_scope), in SQL."""
    from models import Breach

    at = now()
    with Session(db.engine()) as s:
        query = (
            select(Breach, Case.case_no, Task.subject)
            .join(Case, col(Case.id) == Breach.case_id)
            .join(Task, col(Task.id) == Breach.task_id, isouter=True)
        )
        if jurisdiction:
            policy.pack(jurisdiction)
            query = query.where(Breach.jurisdiction == jurisdiction)
        if actor is not None:
            query = scoped(query, actor)
        if unit:
            query = query.where(Breach.owner_unit == unit)
        if open_only:
            query = query.where(col(Breach.resolved_at).is_(None))
        query = query.order_by(
            col(Breach.supervised).desc(), col(Breach.level).desc(), col(Breach.due_at), col(Breach.id)
        )
        if limit is not None:
            query = query.offset(offset).limit(limit)
        rows = s.exec(query).all()
    return [
        {
            "case_id": str(b.case_id),
            "case_no": case_no,
            "task_id": str(b.task_id) if b.task_id else None,
            "kind": b.kind,
            "stage": b.stage,
            "owner_unit": b.owner_unit,
            "due_at": b.due_at.isoformat(),
            "level": b.level,
            "supervised": b.supervised,
            "late_by_minutes": b.late_by_minutes if b.resolved_at else int((at - b.due_at).total_seconds() // 60),
            "resolved_at": b.resolved_at.isoformat() if b.resolved_at else None,
            "resolution": b.resolution,
            "subject": subject,
        }
        for b, case_no, subject in rows
    ]


def breaches_for(actor_name: str, open_only: bool = False, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Breaches on cases this user may read (a manager: the county), a page at a time."""
    from sqlalchemy import func

    from models import Breach

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = scoped(select(Breach.id).join(Case, col(Case.id) == Breach.case_id), actor)
        if open_only:
            query = query.where(col(Breach.resolved_at).is_(None))
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        s.expunge(actor)
    rows = list_breaches(actor.jurisdiction, None, open_only, actor=actor, limit=limit, offset=offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


def breach_summary(actor_name: str) -> list[dict[str, Any]]:
    """Open breaches counted by owner unit, stage and level (督办 apart), over all the user may read."""
    from sqlalchemy import func

    from models import Breach

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = scoped(
            select(Breach.owner_unit, Breach.stage, Breach.level, Breach.supervised, func.count()).join(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns
                Case, Case.id == Breach.case_id
            ),
            actor,
        ).where(col(Breach.resolved_at).is_(None))
        rows = s.exec(query.group_by(Breach.owner_unit, Breach.stage, Breach.level, Breach.supervised)).all()
    return [{"owner_unit": u, "stage": st, "level": lv, "supervised": sup, "count": n} for u, st, lv, sup, n in rows]
