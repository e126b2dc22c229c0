"""The final review: an exit reason from the pack closes the case, with a phase-out if any — once the
unit the pack names approves the closing (issue 16; `approvals` in the pack)."""

from __future__ import annotations

from datetime import date, datetime

from models import Task
from shouhu.clock import now
from shouhu.errors import Conflict, InvalidInput
from shouhu.inputs import FinalReviewOutcome
from tasks import approvals
from tasks.transition import OPEN_WORK_KINDS, Transition


def add_months(start: datetime, months: int) -> datetime:
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(
        start.day,
        [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][
            month - 1
        ],
    )
    return start.replace(year=year, month=month, day=day)


def start_refusal_watch(t: Transition, refused_since: date | None) -> None:
    """Six months of refused guardianship opens petition ground 2 (seed 004 §三(二)5)."""
    if refused_since is None:
        return
    start = datetime.combine(refused_since, datetime.min.time(), tzinfo=now().tzinfo)
    due = add_months(start, 6)
    t.watch(
        "refusal_watch",
        due,
        f"监护人自 {refused_since} 起拒不履行监护职责，满六个月之日（{due:%Y-%m-%d}）提示民政部门",
        {"months": 6, "source": t.pack.petition_grounds.source},
    )


def review_and_close(t: Transition, task: Task, outcome: FinalReviewOutcome) -> None:
    """Exit conditions (退出, seed 003 §一(一)); a phase-out (渐退期) keeps benefits until it ends."""
    reasons = t.pack.exit_reasons.value
    if outcome.exit_reason not in reasons:
        raise InvalidInput(
            "unknown_exit_reason", f"outcome.exit_reason must be one of: {', '.join(reasons)}", "outcome.exit_reason"
        )
    still_open = [x.kind for x in t.open_tasks(OPEN_WORK_KINDS)]
    if still_open:
        raise Conflict(
            "work_still_open",
            f"the final review needs every service and visit done; still open: {', '.join(still_open)}",
            "task",
        )
    reason = reasons[outcome.exit_reason]
    if outcome.studying_until is not None and not reason.until_graduation:
        raise InvalidInput(
            "not_applicable",
            f"outcome.studying_until: only for an exit reason covered until graduation "
            f"({', '.join(k for k, r in reasons.items() if r.until_graduation) or 'none in this jurisdiction'})",
            "outcome.studying_until",
        )
    t.complete_task(task, outcome.model_dump(mode="json"))
    if approvals.needed(t, "closure"):  # a second pair of eyes first: the case stays as it is until approved
        approvals.request(t, "closure", task, outcome.model_dump(mode="json"), f"结案（{reason.label}）")
        return
    close_by_exit_reason(t, outcome.exit_reason, outcome.studying_until)


def close_by_exit_reason(t: Transition, exit_reason: str, studying_until: date | None) -> None:
    """The final review's decision takes effect: the case closes, with its phase-out if the reason has one."""
    reason = t.pack.exit_reasons.value[exit_reason]
    until = add_months(now(), reason.phase_out_months) if reason.phase_out_months else None
    studying = None
    if studying_until is not None:  # still in school at 18: covered until graduation (seed 003 §一(一)1)
        studying = datetime.combine(studying_until, datetime.min.time(), tzinfo=now().tzinfo)
        until = max(until or studying, studying)
    summary = (
        f"结案：{reason.label}"
        + (f"，渐退期至 {until:%Y-%m-%d}" if until else "")
        + ("（在校就读，保障至毕业）" if studying else "")
    )
    t.close("exit", summary, exit_reason=exit_reason, phase_out_until=until)
    if until is not None:
        t.watch(
            "phase_out",
            until,
            f"渐退期至 {until:%Y-%m-%d}，期满自动退出保障范围",
            {
                "months": reason.phase_out_months,
                "studying_until": studying_until.isoformat() if studying_until is not None else None,
                "source": t.pack.exit_reasons.source,
            },
        )


def close_unfounded(t: Transition, why: str) -> None:
    """A report found unfounded (不属实) closes the case with its reason (never put on the ledger)."""
    t.close("unfounded", "经调查报告不属实", detail=why)
