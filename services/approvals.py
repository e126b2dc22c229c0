"""Approvals and reopening (issue 16 §1, §4): the deciding unit's list, its decision, a closed case reopened.

Deciding: a user of the unit the pack names (or of a unit above it, as for tasks) who may read the
case, never the one who asked (a second pair of eyes). A refusal says why. Reopening: those who work
cases, within the pack's window after closing. Each is a stored command run by the `approvals` flow;
bad input and refusals change nothing (refusals are recorded as access refusals are).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import Approval, Case, Command, User
from services.cases import show_case
from services.commands import execute
from services.reading import by_id, find_case, guard, looked_up, recorded, scoped, unknown
from shouhu import access, db, masking, units
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import ApprovalDecisionIn, ReopenIn, parse
from shouhu.policy import pack
from shouhu.vocab import APPROVAL_KINDS_ZH, APPROVAL_STATUS_ZH

STATUSES = ("pending", "approved", "refused")
DECIDING_ROLES = frozenset({"police", "township_caseworker", "civil_affairs", "manager"})
REOPENING_ROLES = frozenset({"police", "township_caseworker", "civil_affairs", "manager"})


def may_decide(actor: User, approval: Approval, jurisdiction: str) -> bool:
    """A user of the deciding unit or a unit above it, who works cases; never the one who asked."""
    return (
        actor.role in DECIDING_ROLES
        and actor.unit in units.chain_up(pack(jurisdiction), approval.unit)
        and actor.username != approval.requested_by
    )


def _check_may_decide(actor: User, approval: Approval, jurisdiction: str) -> None:
    if actor.username == approval.requested_by:
        raise Forbidden("own_decision", "the one who made a decision may not approve it: another person decides", "as")
    if not may_decide(actor, approval, jurisdiction):
        raise Forbidden(
            "unit_may_not_decide",
            f"this approval is decided by unit {approval.unit}; {actor.username} is in {actor.unit}",
            "as",
        )


def view(a: Approval, case_no: str) -> dict[str, Any]:
    """An approval as the CLI and API give it: codes and ISO times (pages name them in Chinese)."""
    return {
        "approval_id": str(a.id),
        "case_id": str(a.case_id),
        "case_no": case_no,
        "kind": a.kind,
        "requested_by": a.requested_by,
        "unit": a.unit,
        "due_at": a.due_at.isoformat(),
        "status": a.status,
        "decided_by": a.decided_by,
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
    }


def list_approvals(
    actor_name: str | None, unit: str | None = None, status: str | None = "pending"
) -> list[dict[str, Any]]:
    """`shouhu approvals`: approvals on cases this user may read, earliest due first — of `unit` when
    given, else those this user's unit decides. No child's data in the list."""
    if status not in (None, *STATUSES):
        raise InvalidInput(
            "invalid_value", f"--status must be pending, approved or refused; got {str(status)[:40]!r}", "status"
        )
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        if unit is not None and not any(u.code == unit for u in pack(actor.jurisdiction).unit_list):
            raise NotFound("unknown_unit", f"no unit {unit[:64]!r} in jurisdiction {actor.jurisdiction}", "unit")
        query = scoped(
            select(Approval, Case.case_no, Case.jurisdiction).join(Case, col(Case.id) == Approval.case_id), actor
        )
        if status:
            query = query.where(Approval.status == status)
        if unit:
            query = query.where(Approval.unit == unit)
        rows = s.exec(query.order_by(col(Approval.due_at))).all()
    return [
        view(a, case_no)
        for a, case_no, jurisdiction in rows
        if unit or actor.unit in units.chain_up(pack(jurisdiction), a.unit)
    ]


def case_approvals(ref: str, actor_name: str) -> list[dict[str, Any]]:
    """A case's approvals for its page, newest first, with whether this reader may decide each
    (the case page records its own read)."""
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        actor = guard(s, case, actor_name, "case_read")
        rows = s.exec(
            select(Approval).where(Approval.case_id == case.id).order_by(col(Approval.created_at).desc())
        ).all()
        p = pack(case.jurisdiction)
        visible = actor is None or access.may_see_identity(actor)  # the one masking rule for typed text
        return [
            {
                **view(a, case.case_no),
                "kind_text": APPROVAL_KINDS_ZH[a.kind],
                "status_text": APPROVAL_STATUS_ZH[a.status],
                "unit_text": p.unit(a.unit).name,
                "requested_by_text": _display(s, a.requested_by),
                "decided_by_text": _display(s, a.decided_by) if a.decided_by else None,
                "reason": a.reason if visible else masking.free_text(a.reason),
                "may_decide": a.status == "pending" and actor is not None and may_decide(actor, a, case.jurisdiction),
                "own": actor is not None and actor.username == a.requested_by,
            }
            for a in rows
        ]


def _display(s: Session, username: str) -> str:
    found = s.exec(select(User).where(User.username == username)).first()
    return found.display_name if found is not None else "系统"


def decide_approval(approval_ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu approval decide`: approve (the decision takes effect) or refuse with a reason (the work
    reopens); answers with the case. Bad input, a stranger or the one who asked change nothing."""
    decision = parse(ApprovalDecisionIn, data)
    if not decision.approve and not decision.reason:
        raise InvalidInput("missing_field", "reason: say why the decision is not approved", "reason")
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        approval = looked_up(
            s, actor.username, "approval_decide", approval_ref, lambda: by_id(s, Approval, approval_ref, "approval")
        )
        case = s.get_one(Case, approval.case_id)
        try:
            guard(s, case, actor.username, "approval_decide")
        except NotFound:
            raise unknown("approval", approval_ref) from None
    recorded(actor, "approval_decide", str(approval.id), lambda: _check_may_decide(actor, approval, case.jurisdiction))
    if approval.status != "pending":
        raise Conflict("approval_not_pending", f"approval {approval.id} is already {approval.status}", "approval")
    payload = {
        "approval_id": str(approval.id),
        "approve": decision.approve,
        "reason": decision.reason,
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
    }
    result = _run("decide_approval", payload, actor.username, case)
    if result.get("status") == "queued":
        return result
    return show_case(str(case.id), actor.username, record_read=False)


def reopen_case(case_ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu case reopen`: a closed case worked again (new danger) within the pack's window —
    at once, or once the unit that approves closures approves (`approval_id` in the answer)."""
    asked = parse(ReopenIn, data)
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        case = looked_up(s, actor.username, "case_reopen", case_ref, lambda: find_case(s, case_ref))
        guard(s, case, actor.username, "case_reopen")

    def check() -> None:
        if actor.role not in REOPENING_ROLES:
            raise Forbidden("not_permitted", "a case is reopened by those who work cases", "as")

    recorded(actor, "case_reopen", str(case.id), check)
    payload = {
        "case_id": str(case.id),
        "reason": asked.reason,
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
    }
    result = _run("reopen_case", payload, actor.username, case)
    if result.get("status") == "queued":
        return result
    return {**show_case(str(case.id), actor.username, record_read=False), "approval_id": result.get("approval_id")}


def _run(kind: str, payload: dict[str, Any], actor: str, case: Case) -> dict[str, Any]:
    from flows.approvals import approvals, procedure

    command = Command(kind=kind, idempotency_key=str(uuid.uuid4()), actor=actor, payload=payload, created_at=now())
    return execute(command, approvals, procedure, [case.case_no, f"jurisdiction:{case.jurisdiction}"])
