"""How every read is done: who reads, the case by number or id, the one access rule (an unknown id and
one outside the reader's scope get the same answer, and both are recorded), and the read recorded on
the case's timeline with the reader's name. Shared by every service that reads a case."""

from __future__ import annotations

import getpass
import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Task, User
from shouhu import access, config, db, masking, timeline
from shouhu.errors import Forbidden, InvalidInput, NotFound
from shouhu.inputs import check_ref
from shouhu.wording import read_name


def recorded(actor: User, action: str, target: str, check: Any) -> None:
    """Run an access check; a refusal is recorded (who, what, why) before it is raised."""
    try:
        check()
    except Forbidden as exc:
        from tasks.verification import record_access

        with db.transaction() as s:
            record_access(s, actor.username, action, target, allowed=False, reason=exc.code)
        raise


def reader(actor_name: str | None) -> str:
    """Who is reading: --as, else SHOUHU_USER, else the local operating-system account."""
    name = actor_name or config.settings().user
    if name:
        with Session(db.engine()) as s:
            return access.user(s, name).username
    return f"os:{getpass.getuser()}"


def find_case(s: Session, ref: str) -> Case:
    check_ref(ref, "case")
    try:
        found = s.get(Case, uuid.UUID(ref))
    except ValueError:
        found = s.exec(select(Case).where(Case.case_no == ref)).first()
    if found is None:
        raise NotFound("unknown_case", UNKNOWN_CASE, "case")
    return found


def by_id(s: Session, model: Any, ref: str, field: str) -> Any:
    """A row by its UUID; a malformed or unknown id is the same `unknown_<field>` error."""
    check_ref(ref, field)
    try:
        found = s.get(model, uuid.UUID(ref))
    except ValueError:
        found = None
    if found is None:
        raise unknown(field, ref)
    return found


def looked_up(s: Session, actor_name: str | None, action: str, ref: object, find: Any) -> Any:
    """A lookup by id; an unknown id is recorded as a refusal, as an out-of-scope one is, so the
    two cost the same work and neither answer tells them apart."""
    try:
        return find()
    except InvalidInput:
        who = actor_name or config.settings().user
        if who:
            from tasks.verification import record_access

            record_access(s, str(who)[:64], action, f"unknown:{str(ref)[:64]}", allowed=False, reason="unknown")
            s.commit()
        raise


def find_task(s: Session, ref: str) -> Task:
    try:
        return by_id(s, Task, ref, "task")
    except NotFound:
        raise unknown("task", ref) from None


def record_reading(case_id: uuid.UUID, who: str, what: str) -> None:
    from shouhu.timeline import lock_case

    with db.transaction() as s:
        case = lock_case(s, case_id)
        timeline.append(s, case, "case_read", who, f"查阅案卷：{read_name(what)}", {"view": what})


def task_view(t: Task) -> dict[str, Any]:
    return {
        "task_id": str(t.id),
        "case_id": str(t.case_id),
        "stage": t.stage,
        "kind": t.kind,
        "subject": t.subject,
        "status": t.status,
        "owner_unit": t.owner_unit,
        "role": t.role,
        "assignee": t.assignee,
        "due_at": t.due_at.isoformat(),
        "completed_by": t.completed_by,
        "completed_at": t.completed_at.isoformat() if t.completed_at else None,
    }


UNKNOWN_CASE = "no such case among those you may read"


def unknown(field: str, ref: object) -> NotFound:
    """The one answer for an id that does not exist and for one the reader may not see."""
    return NotFound(f"unknown_{field}", f"no {field} {str(ref)[:64]!r} among those you may read", field)


def guard(s: Session, case: Case, who: str, action: str) -> User | None:
    """A named reader must be allowed to read the case (access.case_scope). A refusal is recorded
    and answered exactly as an unknown case is, so case numbers outside one's scope cannot be
    probed. `os:<login>` is the local operator of an embedded install, who holds the database."""
    if who.startswith("os:"):
        return None
    actor = access.user(s, who)
    if not access.may_read_case(actor, case):
        from tasks.verification import record_access

        record_access(s, actor.username, action, str(case.id), allowed=False, reason="not_permitted")
        s.commit()
        raise NotFound("unknown_case", UNKNOWN_CASE, "case")
    return actor


def child_view(s: Session, case: Case, actor: User | None) -> dict[str, Any]:
    """The child as this reader may see them (shouhu.masking: the one rule for every way out)."""
    from models import Child

    return masking.child(s.get(Child, case.child_id), visible=actor is not None and access.may_see_identity(actor))


def reporters_view(s: Session, case: Case, actor: User | None) -> list[dict[str, Any]] | None:
    """Who reported: police and managers only (强制报告意见: the reporter is protected)."""
    from models import Report, Reporter

    if actor is None or not access.may_see_reporter(actor):
        return None
    rows = s.exec(
        select(Reporter, Report)
        .join(Report, col(Report.id) == Reporter.report_id)
        .where(Report.case_id == case.id)
        .order_by(col(Report.reported_at))
    ).all()
    return [
        {
            "name": r.name,
            "phone": r.phone,
            "unit": r.unit,
            "unit_type": r.unit_type,
            "reported_at": rep.reported_at.isoformat(),
            "late": rep.late,
        }
        for r, rep in rows
    ]


def reader_of(s: Session, case: Case, actor_name: str | None, what: str) -> User:
    """Documents carry identity: a named user is required, then the case's access rule."""
    actor = access.user(s, actor_name or config.settings().user)
    guard(s, case, actor.username, what)
    return actor


def refuse(s: Session, actor: User, action: str, target: str) -> None:
    from tasks.verification import record_access

    record_access(s, actor.username, action, target, allowed=False, reason="not_permitted")
    s.commit()


def scoped(query: Any, actor: User, incoming: bool = False) -> Any:
    """Cases this actor may read (access.case_scope); `incoming`: with those sent to their county and
    not yet accepted (access.receives), which only the case list shows."""
    from sqlalchemy import and_, or_

    field, allowed = access.case_scope(actor)
    here = and_(col(Case.jurisdiction) == actor.jurisdiction, col(getattr(Case, field)).in_(allowed))
    if incoming and field == "jurisdiction" and actor.jurisdiction in allowed:
        return query.where(or_(here, col(Case.transfer_to) == actor.jurisdiction))
    return query.where(here)
