"""What an approval's decision does (issue 16 §1, §4), and reopening a closed case.

Approved: the decision takes effect exactly as it would have without approval (the case closes,
with its phase-out and leaving the ledger; a 不属实 finding closes it; a closed case reopens).
Refused (with a reason): the work the decision would have ended opens again for the same unit,
with a fresh deadline from the pack, and the unit that asked is told; a refused reopening leaves
the case closed.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from models import Approval, ChildCategory, Deadline, Task
from shouhu import childfile, timeline
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Conflict
from shouhu.vocab import APPROVAL_KINDS_ZH
from tasks import approvals, clocks
from tasks.closing import add_months, close_by_exit_reason, close_unfounded
from tasks.transition import Transition


def stop_clock(t: Transition, approval: Approval) -> None:
    """The approval's clock stops (met or missed) and any breach it opened is resolved."""
    deadline = t.session.get(Deadline, approval.deadline_id) if approval.deadline_id else None
    if deadline is None:
        return
    timeline.check_row(t.session, t.case, deadline)  # a changed clock is checked before it is sealed again
    at = now()
    deadline.status, deadline.resolved_at = ("met" if at <= deadline.due_at else "missed"), at
    clocks.stop(t.session, deadline, "done")


def decide(t: Transition, approval: Approval, approve: bool, reason: str) -> None:
    if approval.status != "pending":
        raise Conflict("approval_not_pending", f"approval {approval.id} is already {approval.status}", "approval")
    stop_clock(t, approval)
    approval.status = "approved" if approve else "refused"
    approval.decided_by, approval.decided_at, approval.reason = t.actor, now(), reason
    t.session.add(approval)
    what = APPROVAL_KINDS_ZH[approval.kind]
    unit = t.unit_name(approval.unit)
    if approve:
        t.record(
            "approval_granted", f"{unit}同意{what}", approval_id=str(approval.id), kind=approval.kind, reason=reason
        )
        take_effect(t, approval)
        return
    t.record(
        "approval_refused",
        f"{unit}不同意{what}" + ("，退回重新办理" if approval.task_id else ""),
        approval_id=str(approval.id),
        kind=approval.kind,
        reason=reason,
    )
    redone = None
    if approval.task_id is not None:
        redone = t.redo_task(t.session.get_one(Task, approval.task_id))
    t.notify(
        "approval_refused",
        template="approval_refused",
        to=[],
        unit_codes=[approval.requester_unit],
        task=redone,
        ask=t.title(redone) if redone else approvals.title(approval.kind),
        detail=f"{unit}不同意{what}",
    )


def take_effect(t: Transition, approval: Approval) -> None:
    decision = approval.decision
    if approval.kind == "closure":
        until = decision.get("studying_until")
        close_by_exit_reason(t, decision["exit_reason"], date.fromisoformat(until) if until else None)
    elif approval.kind == "unfounded":
        close_unfounded(t, decision.get("unfounded_reason") or "")
    else:
        reopen_now(t, decision.get("reason") or "")


# ---- reopening a closed case (issue 16 §4) ----------------------------------------------


def reopen(t: Transition, reason: str) -> Approval | None:
    """Within the pack's window after closing, a closed case reopens — at once, or once the unit that
    approves closures approves (the pack's `approvals.decisions.reopen`). Returns the approval asked for."""
    case = t.case
    if case.stage != "closed" or case.closed_at is None:
        raise Conflict("case_not_closed", f"case {case.case_no} is not closed: it is worked, not reopened", "case")
    months = t.pack.approvals.value.reopen_months
    if now() > add_months(case.closed_at, months):
        raise Conflict(
            "reopen_window_passed",
            f"case {case.case_no} closed more than {months} months ago: a new report opens a new case",
            "case",
        )
    if approvals.pending(t):
        raise Conflict("approval_pending", f"case {case.case_no} already waits for an approval", "case")
    if approvals.needed(t, "reopen"):
        return approvals.request(t, "reopen", None, {"reason": reason}, "重新办理已结案件")
    reopen_now(t, reason)
    return None


def back_on_ledger(t: Transition) -> None:
    """The child is on the ledger again: what this case put there and has not yet left (closed today, or
    in its phase-out) simply continues; what already left starts again today."""
    case = t.case
    today = now().astimezone(CHINA_TZ).date()
    why = f"案件{case.case_no}重新办理"
    resumed = []
    for row in t.session.exec(
        select(ChildCategory).where(
            ChildCategory.child_id == case.child_id,
            ChildCategory.source == f"report:{case.case_no}",
            col(ChildCategory.ended_on) >= today,
        )
    ):
        row.ended_on = None
        t.session.add(row)
        resumed.append(row.category)
    if resumed:
        childfile.record_event(
            t.session, case.child_id, t.actor, "category_started", f"{why}，继续列入台账", {"categories": resumed}
        )
    t.put_on_ledger(why)


def reopen_now(t: Transition, reason: str) -> None:
    """The case is worked again: back to 评估帮扶 with a new assessment for the township (new danger is
    assessed first, seed 004 §三(二)4's step), the child back on the ledger, a phase-out's clock stopped."""
    case = t.case
    for watch in t.session.exec(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "phase_out", Deadline.status == "open")
    ):
        timeline.check_row(t.session, case, watch)
        watch.status, watch.resolved_at, watch.next_fire_at = "cancelled", now(), None
        t.session.add(watch)
    was = case.status
    case.status, case.closed_at, case.phase_out_until = "open", None, None
    case.close_reason, case.exit_reason = None, None
    t.move_to("assessment")
    t.record("case_reopened", "发现新的危险，案件重新办理", reason=reason, status_before=was)
    back_on_ledger(t)
    t.open_task_and_notify("assessment", detail="已结案件发现新的危险，重新办理")
