"""Applying a stored command: the one step every stage flow runs.

A command is rehearsed (run and rolled back) before it is stored, so bad input changes
nothing; then applied in one transaction. A retried flow run finds it applied and changes
nothing twice. Only transient database errors (lock timeouts, serialisation failures,
dropped connections) are retried, with back-off.

This is deliberately a plain function inside the flow run, not a Prefect task: measured
here, a bare async flow run costs ~190 ms p50 and each task run inside it ~100 ms more,
which alone would break the intake target (p95 < 300 ms). The flow run is what Prefect shows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, select

from models import Case, Command, Task
from shouhu import db
from shouhu.clock import now
from shouhu.errors import Conflict, InvalidInput, ShouhuError
from shouhu.inputs import OUTCOMES, parse
from shouhu.timeline import lock_case
from tasks.transition import Transition

Procedure = Callable[[Session, Command], dict[str, Any]]
Handler = Callable[[Transition, Task, Any], None]


RETRY_DELAYS = (0.2, 1.0, 3.0)


def _transient(exc: Exception) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or getattr(exc.orig, "sqlstate", "") in {"40001", "40P01"}
    )


def rehearse(command: Command, procedure: Procedure) -> dict[str, Any]:
    """Run the procedure and roll it back: every rule is checked, nothing is written. Returns
    what it would have done (the intake uses it to say which case a queued report opens).
    Transient database errors are retried as the apply step's are."""
    return _with_retries(lambda: _rehearse_once(command, procedure))


def _rehearse_once(command: Command, procedure: Procedure) -> dict[str, Any]:
    rehearsal = Command(**command.model_dump())  # the caller's object stays untouched
    with Session(db.engine()) as session:
        try:
            if session.get(Command, rehearsal.id) is None:
                session.add(rehearsal)
                session.flush()
            return procedure(session, session.get_one(Command, rehearsal.id))
        finally:
            session.rollback()
            session.expunge_all()


def _with_retries(step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    for delay in RETRY_DELAYS:
        try:
            return step()
        except Exception as exc:  # only transient database errors are retried
            if not _transient(exc):
                raise
            time.sleep(delay)
    return step()


def apply_command(command_id: str, procedure: Procedure) -> dict[str, Any]:
    """Apply a pending command once (a replay returns the stored result), then send what it queued."""
    result = _apply_with_retries(command_id, procedure)
    if "case_id" in result:
        from notifications.dispatch import after_transition

        after_transition(result["case_id"])
    return result


def _apply_with_retries(command_id: str, procedure: Procedure) -> dict[str, Any]:
    return _with_retries(lambda: _apply_once(command_id, procedure))


def _apply_once(command_id: str, procedure: Procedure) -> dict[str, Any]:
    try:
        with db.transaction() as session:
            command = session.exec(select(Command).where(Command.id == uuid.UUID(command_id)).with_for_update()).one()
            if command.status != "pending":
                return command.result
            result = procedure(session, command)
            command.status, command.result, command.applied_at = "applied", result, now()
            command.case_id = uuid.UUID(result["case_id"])
            return result
    except ShouhuError as exc:
        with db.transaction() as session:
            command = session.get_one(Command, uuid.UUID(command_id))
            command.status, command.result = "rejected", exc.as_json()
        return exc.as_json()


def completion(handler: Handler) -> Procedure:
    """Turn a stage handler into a procedure for a `complete_task` command."""

    def procedure(session: Session, command: Command) -> dict[str, Any]:
        task_id = uuid.UUID(command.payload["task_id"])
        found = session.get_one(Task, task_id)
        case = lock_case(session, found.case_id)
        expected = command.payload.get("expected_version")
        if expected is not None and expected != case.version:
            raise Conflict(
                "stale_version", f"case {case.case_no} is at version {case.version}, not {expected}", "expected_version"
            )
        session.refresh(found)
        if found.status != "open":
            raise Conflict("task_not_open", f"task {found.id} is already {found.status}", "task")
        outcome = parse(OUTCOMES[found.kind], command.payload["outcome"], "outcome")
        check_dates_happened(session, case, outcome)
        t = Transition(session, case, command, command.actor)
        handler(t, found, outcome)
        if case.stage != "closed":
            t.open_final_review_when_work_done()
        case.version += 1
        session.add(case)
        return {"case_id": str(case.id), "case_no": case.case_no, "stage": case.stage, "version": case.version}

    return procedure


def check_dates_happened(session: Session, case: Case, outcome: Any) -> None:
    """Every date an outcome records is of something that happened: not after today, not before
    the child was born (a refusal "since 2200" or "since 1900" is a typing error, not a fact)."""
    from models import Child

    born = session.get_one(Child, case.child_id).birth_date
    today = now().date()
    for name in type(outcome).model_fields:
        value = getattr(outcome, name)
        if not isinstance(value, date):
            continue
        day = value.astimezone(now().tzinfo).date() if isinstance(value, datetime) else value
        if day > today and name not in getattr(type(outcome), "future_dates", ()):
            raise InvalidInput("in_future", f"outcome.{name}: {day} is after today ({today})", f"outcome.{name}")
        if day < born:
            raise InvalidInput(
                "before_birth", f"outcome.{name}: {day} is before the child was born ({born})", f"outcome.{name}"
            )


def case_tags(case: Case) -> list[str]:
    return [case.case_no, f"jurisdiction:{case.jurisdiction}"]
