"""审批与重新办理 — deciding an approval, and reopening a closed case (issue 16 §1, §4).

Procedure: the deciding unit approves (the decision takes effect: the case closes, or reopens) or
refuses with a reason (the work it would have ended opens again for the same unit, and the unit that
asked is told). A closed case reopens within the pack's window, with the approval the pack asks for.
Each is one stored command applied in one transaction on the locked case, as a task's outcome is.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from sqlmodel import Session

from models import Approval, Command
from shouhu.errors import InvalidInput
from shouhu.timeline import lock_case
from tasks import deciding
from tasks.apply import apply_command
from tasks.transition import Transition


def decide_approval(session: Session, command: Command) -> dict[str, Any]:
    found = session.get(Approval, uuid.UUID(command.payload["approval_id"]))
    if found is None:
        raise InvalidInput("unknown_approval", "no such approval among those you may decide", "approval")
    case = lock_case(session, found.case_id)
    session.refresh(found)
    t = Transition(session, case, command, command.actor)
    deciding.decide(t, found, bool(command.payload["approve"]), command.payload.get("reason") or "")
    return finish(t)


def reopen_case(session: Session, command: Command) -> dict[str, Any]:
    case = lock_case(session, uuid.UUID(command.payload["case_id"]))
    t = Transition(session, case, command, command.actor)
    asked = deciding.reopen(t, command.payload["reason"])
    return {**finish(t), "approval_id": str(asked.id) if asked else None}


def finish(t: Transition) -> dict[str, Any]:
    t.case.version += 1
    t.session.add(t.case)
    return {"case_id": str(t.case.id), "case_no": t.case.case_no, "stage": t.case.stage, "version": t.case.version}


PROCEDURES = {"decide_approval": decide_approval, "reopen_case": reopen_case}


def procedure(session: Session, command: Command) -> dict[str, Any]:
    """The procedure of a stored command of this flow, by its kind."""
    return PROCEDURES[command.kind](session, command)


@flow(name="approvals", description="审批与重新办理: decide an approval, reopen a closed case")
async def approvals(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, procedure)
