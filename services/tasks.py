"""Tasks: completing one (its step's flow records the outcome and opens what follows), acknowledging
a one-tap task, and the task lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Command, Task, Unit
from services.cases import show_case
from services.commands import execute
from services.reading import (
    find_task,
    guard,
    looked_up,
    recorded,
    scoped,
    task_view,
    unknown,
)
from shouhu import access, db
from shouhu.clock import as_aware, now
from shouhu.errors import Conflict, InvalidInput, NotFound
from shouhu.inputs import OUTCOMES, parse
from shouhu.vocab import STEP_OF_TASK
from shouhu.wording import seconds_left


def complete_task(task_ref: str, data: Any, actor_name: str | None, acknowledgement: bool = False) -> dict[str, Any]:
    """Record a task's outcome and run the flow of the step the task belongs to."""
    if not isinstance(data, dict):
        raise InvalidInput("not_an_object", "the outcome must be a JSON object", None)
    with Session(db.engine()) as s:
        task = looked_up(s, actor_name, "task_complete", task_ref, lambda: find_task(s, task_ref))
        case = s.get_one(Case, task.case_id)
        actor = access.user(s, actor_name)
        try:
            guard(s, case, actor.username, "task_complete")  # another area's task is answered as an unknown one
        except NotFound:
            raise unknown("task", task_ref) from None
    recorded(actor, "task_complete", str(task.id), lambda: access.check_may_complete(actor, task, case.jurisdiction))
    if acknowledgement and task.kind not in ACKNOWLEDGEMENTS:
        raise InvalidInput(
            "not_an_acknowledgement",
            f"task: a {task.kind} task is completed with an outcome (shouhu task complete), "
            f"not acknowledged; acknowledged: {', '.join(sorted(ACKNOWLEDGEMENTS))}",
            "task",
        )
    if task.status != "open":
        raise Conflict("task_not_open", f"task {task.id} is already {task.status}", "task")
    with Session(db.engine()) as s:
        waiting = s.exec(select(Command).where(Command.kind == "complete_task", Command.status == "pending")).all()
    if any(c.payload.get("task_id") == str(task.id) for c in waiting):
        raise Conflict(
            "completion_pending",
            f"task {task.id} already has an outcome waiting to be applied (queued); it is applied "
            "when the orchestrator answers",
            "task",
        )
    data = dict(data)
    expected = data.pop("expected_version", None)
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 1):
        raise InvalidInput(
            "invalid_value",
            "outcome.expected_version: a positive whole number (the case's version)",
            "outcome.expected_version",
        )
    parse(OUTCOMES[task.kind], data, "outcome")
    step = STEP_OF_TASK.get(task.kind, task.stage)  # the final review: the stage it opened in
    payload = {
        "task_id": str(task.id),
        "outcome": data,
        "expected_version": expected,
        "stage": step,
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
    }
    flow_fn, procedure = _stage_flow(step)
    command = Command(
        kind="complete_task", idempotency_key=str(uuid.uuid4()), actor=actor.username, payload=payload, created_at=now()
    )
    result = execute(command, flow_fn, procedure, [case.case_no, f"jurisdiction:{case.jurisdiction}"])
    if result.get("status") == "queued":
        return result
    return show_case(str(case.id), actor.username, record_read=False)


ACKNOWLEDGEMENTS = {"police_arrival": "已到场"}  # tasks done by saying so (one tap, no outcome): the button's words


def acknowledge_task(task_ref: str, actor_name: str | None) -> dict[str, Any]:
    """出警到场 and the like: the task is done by acknowledging it (exit 3 if it already was)."""
    return complete_task(task_ref, {}, actor_name, acknowledgement=True)


def _stage_flow(stage: str) -> tuple[Any, Any]:
    from flows.runner import stage_flow

    return stage_flow(stage)


def list_tasks(
    unit: str | None = None, stage: str | None = None, status: str | None = None, jurisdiction: str | None = None
) -> list[dict[str, Any]]:
    if status not in (None, "open", "done", "cancelled"):
        raise InvalidInput("invalid_value", f"--status must be open, done or cancelled; got {status!r}", "status")
    if stage not in (None, "emergency", "assessment", "intervention"):
        raise InvalidInput(
            "invalid_value", f"--stage must be emergency, assessment or intervention; got {stage!r}", "stage"
        )
    with Session(db.engine()) as s:
        query = select(Task)
        if unit:
            if s.exec(select(Unit).where(Unit.code == unit)).first() is None:
                raise NotFound("unknown_unit", f"no unit {unit!r}", "unit")
            query = query.where(Task.owner_unit == unit)
        if stage:
            query = query.where(Task.stage == stage)
        if status:
            query = query.where(Task.status == status)
        if jurisdiction:
            query = query.join(Case, col(Case.id) == Task.case_id).where(Case.jurisdiction == jurisdiction)
        return [listed(t, now()) for t in s.exec(query.order_by(col(Task.due_at))).all()]


def listed(t: Task, at: datetime) -> dict[str, Any]:
    """A task as a list shows it: with `seconds_left` until it is due (negative once late; null when not open)."""
    return {**task_view(t), "seconds_left": seconds_left(as_aware(t.due_at), at) if t.status == "open" else None}


def list_tasks_for(
    actor_name: str, mine: bool = False, status: str | None = "open", limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Tasks on cases this user may read; `mine`: those their unit owns. Earliest due first."""
    from sqlalchemy import func

    if status not in (None, "open", "done", "cancelled"):
        raise InvalidInput("invalid_value", f"status must be open, done or cancelled; got {status!r}", "status")
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = scoped(select(Task, Case.case_no).join(Case, col(Case.id) == Task.case_id), actor)
        if mine:
            query = query.where(Task.owner_unit == actor.unit)
        if status:
            query = query.where(Task.status == status)
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(col(Task.due_at)).offset(offset).limit(limit)).all()
    at = now()
    return {
        "items": [{**listed(t, at), "case_no": case_no} for t, case_no in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def task_detail(task_ref: str, actor_name: str) -> dict[str, Any]:
    """One task for its page: the task, its case number and county — an unknown task and one on a
    case outside the reader's scope are the same `unknown_task`."""
    with Session(db.engine()) as s:
        task = looked_up(s, actor_name, "task_read", task_ref, lambda: find_task(s, task_ref))
        case = s.get_one(Case, task.case_id)
        try:
            guard(s, case, actor_name, "task_read")
        except NotFound:
            raise unknown("task", task_ref) from None
        return {**task_view(task), "case_no": case.case_no, "jurisdiction": case.jurisdiction}
