"""审批: a decision that ends or narrows protection waits for the unit the pack names (issue 16 §1).

`request` completes nothing by itself: the work's task was completed by the one who decided, the
decision waits in an `Approval` with a clock (a `Deadline` of kind `approval`, no task) that reminds
and escalates as a task's does (`fire`, from the sweeper). What takes effect on approval and what
reopens on refusal is tasks/deciding.py.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from models import Approval, Deadline, Task, User
from shouhu import units, workdays
from shouhu.clock import now
from shouhu.policy import ApprovalRule
from shouhu.vocab import APPROVAL_KINDS_ZH
from shouhu.wording import format_due
from tasks import clocks
from tasks.transition import Transition

CLOCK = "approval"  # the Deadline kind of an approval's clock (escalation chain: the pack's `approval` or default)


def needed(t: Transition, kind: str) -> ApprovalRule | None:
    """The pack's rule when decisions of `kind` need approval here (None: they take effect at once)."""
    return t.pack.approvals.value.rule(kind)


def title(kind: str) -> str:
    return f"审批：{APPROVAL_KINDS_ZH[kind]}"


def actor_unit(t: Transition) -> str | None:
    found = t.session.exec(select(User).where(User.username == t.actor)).first()
    return found.unit if found is not None else None


def request(t: Transition, kind: str, task: Task | None, decision: dict[str, Any], what: str) -> Approval:
    """Put `what` before the deciding unit, with its deadline; the unit is told. The case keeps its stage."""
    rule = needed(t, kind)
    assert rule is not None and rule.decides is not None  # callers ask `needed` first
    policy = t.pack.approvals.value
    unit = units.resolve(t.pack, rule.decides, t.case.township, t.case.village)
    start = now()
    urgent = t.case.urgency == "urgent" and policy.due.urgent is not None
    duration = policy.due.urgent if urgent and policy.due.urgent else policy.due.normal
    due = workdays.add(start, duration, frozenset(t.pack.holidays.value)).at
    basis = {
        "urgency": "urgent" if urgent else "normal",
        "duration": duration.model_dump(exclude_none=True),
        "approval": kind,
        "source": t.pack.approvals.source,
        "decided_by_rule": rule.source,
    }
    deadline = Deadline(case_id=t.case.id, task_id=None, kind=CLOCK, starts_at=start, due_at=due, rule=basis)
    clocks.arm(t.pack, deadline)
    t.session.add(deadline)
    t.session.flush()
    requester_unit = (task.owner_unit if task is not None else None) or actor_unit(t) or unit
    approval = Approval(
        case_id=t.case.id,
        kind=kind,
        task_id=task.id if task is not None else None,
        decision=decision,
        requested_by=t.actor,
        requester_unit=requester_unit,
        unit=unit,
        due_at=due,
        deadline_id=deadline.id,
        created_at=start,
    )
    t.session.add(approval)
    t.session.flush()
    t.record(
        "approval_requested",
        f"{what}提请{t.unit_name(unit)}审批，时限 {format_due(due)}",
        approval_id=str(approval.id),
        kind=kind,
        unit=unit,
        due_at=due.isoformat(),
        rule=basis,
    )
    t.notify(
        "approval_requested",
        template="approval_requested",
        to=[],
        unit_codes=[unit],
        ask=title(kind),
        due=due,
        detail=f"{t.unit_name(requester_unit)}提请审批",
    )
    return approval


def pending(t: Transition) -> list[Approval]:
    return list(t.session.exec(select(Approval).where(Approval.case_id == t.case.id, Approval.status == "pending")))


def fire(t: Transition, d: Deadline, step: clocks.Step, batch: clocks.Batch | None = None) -> None:
    """One step of an approval's clock: a reminder to the deciding unit, or an escalation level
    (with its breach) to the units above it, as a task's (tasks/sweep.py `fire`)."""
    approval = t.session.exec(select(Approval).where(Approval.deadline_id == d.id)).first()
    if approval is None or approval.status != "pending":
        return
    what = title(approval.kind)
    if step.level == 0:
        t.record(
            "deadline_reminder", f"提醒：{what} 将于 {format_due(d.due_at)} 到期", deadline_id=str(d.id), step=step.name
        )
        t.notify("reminder", to=[], unit_codes=[approval.unit], ask=what, due=d.due_at)
        return
    clocks.escalate(
        t,
        d,
        step,
        batch,
        what=what,
        owner=approval.unit,
        shown_owner=t.unit_name(approval.unit),
        owner_role="审批单位",
        approval_id=str(approval.id),
    )
