"""The case file: what it holds as the reader may see it, its timeline, its integrity, the case lists."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models import Case, Deadline, Task
from services.reading import (
    child_view,
    find_case,
    guard,
    looked_up,
    reader,
    record_reading,
    reporters_view,
    scoped,
    task_view,
)
from shouhu import access, db, timeline
from shouhu.errors import InvalidInput


def show_case(ref: str, actor_name: str | None = None, record_read: bool = True) -> dict[str, Any]:
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        actor = guard(s, case, who, "case_read")
        child, reporters = child_view(s, case, actor), reporters_view(s, case, actor)
        tasks = s.exec(select(Task).where(Task.case_id == case.id).order_by(col(Task.created_at), col(Task.kind))).all()
        deadlines = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.due_at))).all()
    if record_read:
        record_reading(case.id, who, "case")
    return {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
        "stage": case.stage,
        "status": case.status,
        "risk_level": case.risk_level,
        "urgency": case.urgency,
        "version": case.version,
        "township": case.township,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "close_reason": case.close_reason,
        "exit_reason": case.exit_reason,
        "phase_out_until": case.phase_out_until.isoformat() if case.phase_out_until else None,
        "child": child,
        "reporters": reporters,
        "tasks": [task_view(t) for t in tasks],
        "deadlines": [
            {
                "task_id": str(d.task_id),
                "kind": d.kind,
                "starts_at": d.starts_at.isoformat(),
                "due_at": d.due_at.isoformat(),
                "status": d.status,
                "rule": d.rule,
            }
            for d in deadlines
        ],
    }


def case_timeline(ref: str, actor_name: str | None = None, record_read: bool = True) -> list[dict[str, Any]]:
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        guard(s, case, who, "timeline_read")
        case_id = case.id
    if record_read:
        record_reading(case_id, who, "timeline")
    with Session(db.engine()) as s:
        return [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "kind": e.kind,
                "stage": e.stage,
                "actor": e.actor,
                "summary": e.summary,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in timeline.events(s, case_id)
        ]


def verify_case(ref: str, actor_name: str | None = None, record_read: bool = True) -> dict[str, Any]:
    """Check the file first (what was stored: chain, head, seal, documents), then record that it
    was checked. `{"ok", "broken_at", "reason"}` (reasons: shouhu.timeline.check)."""
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        guard(s, case, who, "timeline_verify")
        case_id = case.id
        found = timeline.check(s, case_id)
    if found["ok"] and record_read:
        record_reading(case_id, who, "verify")
    return found


def verify_all() -> dict[str, Any]:
    """Every case (chain, head, seal, documents) and every anchor (shouhu anchors): what a court
    or an inspector runs. The key must be the one the database was sealed with."""
    from models import Setting
    from tasks import anchors

    with Session(db.engine()) as s:
        recorded = s.get(Setting, "timeline_key_fingerprint")
        if recorded is not None and recorded.value != timeline.key_fingerprint():
            raise InvalidInput(
                "wrong_timeline_key",
                "SHOUHU_TIMELINE_KEY is not the key this database was sealed with",
                "SHOUHU_TIMELINE_KEY",
            )
        broken, count = [], 0
        for case_id, case_no in s.exec(select(Case.id, Case.case_no).order_by(col(Case.case_no))).all():
            count += 1
            found = timeline.check(s, case_id)
            if not found["ok"]:
                broken.append({"case_no": case_no, "broken_at": found["broken_at"], "reason": found["reason"]})
        anchored = anchors.verify(s)
    return {"ok": not broken and anchored["ok"], "cases": count, "broken": broken, "anchors": anchored}


def list_cases(
    actor_name: str, stage: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """The cases this user may read, newest first; no identity in the list."""
    from sqlalchemy import func

    if stage not in (None, "emergency", "assessment", "intervention", "closed"):
        raise InvalidInput(
            "invalid_value",
            f"stage must be emergency, assessment, intervention or closed; got {str(stage)[:40]!r}",
            "stage",
        )
    if status not in (None, "open", "phase_out", "closed"):
        raise InvalidInput(
            "invalid_value", f"status must be open, phase_out or closed; got {str(status)[:40]!r}", "status"
        )
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = scoped(select(Case), actor)
        if stage:
            query = query.where(Case.stage == stage)
        if status:
            query = query.where(Case.status == status)
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(
            query.order_by(col(Case.opened_at).desc(), col(Case.case_no).desc()).offset(offset).limit(limit)
        ).all()
    items = [
        {
            "case_id": str(c.id),
            "case_no": c.case_no,
            "stage": c.stage,
            "status": c.status,
            "urgency": c.urgency,
            "risk_level": c.risk_level,
            "township": c.township,
            "village": c.village,
            "opened_at": c.opened_at.isoformat(),
        }
        for c in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
