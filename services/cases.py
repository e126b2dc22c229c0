"""The case file: what it holds as the reader may see it, its timeline, its integrity, the case lists."""

from __future__ import annotations

from typing import Any, cast

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
from shouhu import access, db, masking, timeline
from shouhu.clock import now
from shouhu.errors import InvalidInput
from shouhu.inputs import age_on


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
        "village": case.village,
        "transfer_to": case.transfer_to,
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


def case_summary(
    ref: str, actor_name: str | None = None, record_read: bool = False, view: str = "case"
) -> dict[str, Any]:
    """Why the case exists and what each step found, for whoever works on it (a task's page, the case
    page): the child (age, address), guardians, every report's situations, description and moment,
    the reporter for those who may see them (access.may_see_reporter), and every completed task's
    outcome in order — the police's measures and notes, the assessment's findings and plan, what later
    steps recorded. The one access rule and the one masking rule (a manager: identity in outline, no
    typed text). `record_read`: record one read as `view` (a page that has not recorded one)."""
    from models import Child, Guardian, Report

    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        actor = guard(s, case, who, "case_read")
        visible = actor is not None and access.may_see_identity(actor)
        record = s.get_one(Child, case.child_id)
        child = {**masking.child(record, visible), "age": age_on(record.birth_date, now().date()) if visible else None}
        guardians = [
            {**masking.guardian(g, visible), "phone": g.phone if visible else None}
            for g in s.exec(select(Guardian).where(Guardian.child_id == case.child_id).order_by(col(Guardian.name)))
        ]
        reports = [
            {
                "channel": r.channel,
                "situations": list(r.situations),
                "description": r.description if visible else masking.free_text(r.description),
                "discovered_at": r.discovered_at.isoformat() if r.discovered_at else None,
                "reported_at": r.reported_at.isoformat(),
                "late": r.late,
            }
            for r in s.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.reported_at)))
        ]
        reporters = reporters_view(s, case, actor)
        done = s.exec(
            select(Task)
            .where(Task.case_id == case.id, Task.status == "done")
            .order_by(col(Task.completed_at), col(Task.created_at))
        ).all()
        steps = [
            {
                **task_view(t),
                "outcome": masking.outcome(t.outcome or {}, visible),
            }
            for t in done
        ]
    if record_read:
        record_reading(case.id, who, view)

    def latest(kind: str) -> dict[str, Any] | None:
        return next((st["outcome"] for st in reversed(steps) if st["kind"] == kind), None)

    situations: list[str] = []
    for r in reports:
        situations += [x for x in cast(list[str], r["situations"]) if x not in situations]
    return {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
        "stage": case.stage,
        "status": case.status,
        "risk_level": case.risk_level,
        "urgency": case.urgency,
        "township": case.township,
        "village": case.village,
        "opened_at": case.opened_at.isoformat(),
        "masked": not visible,
        "child": child,
        "guardians": guardians,
        "situations": situations,
        "reports": reports,
        "reporters": reporters,
        "emergency": latest("emergency_response"),
        "assessment": latest("assessment"),
        "steps": steps,
    }


# Timeline rows as the case page filters them (?kind=): 办理经过 is every row not in another group.
TIMELINE_GROUPS: dict[str, set[str]] = {
    "notes": {"case_note", "attachment_added"},
    "messages": {"notification_queued", "delivery_attempt", "delivery_failed"},
    "reads": {"case_read"},
}
TIMELINE_FILTERS = ("all", "tasks", "notes", "messages", "reads")


def in_group(kind: str, group: str) -> bool:
    """Whether a timeline row of `kind` is shown under the filter `group` (TIMELINE_FILTERS)."""
    if group == "all":
        return True
    if group == "tasks":
        return not any(kind in kinds for kinds in TIMELINE_GROUPS.values())
    return kind in TIMELINE_GROUPS[group]


def case_timeline(
    ref: str, actor_name: str | None = None, record_read: bool = True, group: str = "all"
) -> list[dict[str, Any]]:
    """The case's timeline, oldest first; `group` (TIMELINE_FILTERS) keeps only its rows."""
    if group not in TIMELINE_FILTERS:
        raise InvalidInput(
            "invalid_value", f"kind must be one of {', '.join(TIMELINE_FILTERS)}; got {str(group)[:40]!r}", "kind"
        )
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
            if in_group(e.kind, group)
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
        query = scoped(select(Case), actor, incoming=True)
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
            "jurisdiction": c.jurisdiction,
            "transfer_to": c.transfer_to,
        }
        for c in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
