"""Village verification visits after the round is generated: completing one, escalating the overdue.

seed 001 §二(一)6: 村（居）民委员会……每季度核实困境儿童家庭情况、监护情况、就学情况. A county's
round has up to a million rows, so overdue escalation is set-based: per period and level, one
GROUP BY and one message per responsible unit with its count, never a message per child.
Levels and their delays are the pack's `escalation` chain for `verification_visit` (default
chain unless the pack names one): level 1 at period end to the village committee, each next
level one step up the supervisor chain, the last marked 督办 with the coordination office told.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from models import AccessRecord, Counter, Notification, User, VerificationVisit
from notifications.render import render, visits_link
from shouhu import citation, policy, units, workdays
from shouhu.clock import CHINA_TZ, now
from shouhu.daily import claim
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import VerificationOutcome
from shouhu.vocab import LABELS_ZH
from shouhu.wording import format_due
from tasks.rounds import period_of

KIND = "verification_visit"
VISIT_ROLES = {"village_director", "township_caseworker"}
OVERSIGHT_ROLES = {"civil_affairs", "manager"}


def recent_periods(day: date, every: str, count: int = 4) -> list[tuple[str, datetime]]:
    """This period and the ones before it, newest first: (key, last instant)."""
    out, cursor = [], day
    for _ in range(count):
        key, end = period_of(cursor, every)
        out.append((key, end))
        first = (
            date.fromisoformat(f"{key[:4]}-{int(key[5:]) * 3 - 2:02d}-01")
            if "Q" in key
            else date.fromisoformat(f"{key}-01")
        )
        cursor = first - timedelta(days=1)
    return out


def check_may_see(actor: User, unit: str) -> None:
    """The unit's own village director, the township above it, or the county's oversight roles."""
    p = policy.pack(actor.jurisdiction)
    if actor.role in OVERSIGHT_ROLES or (actor.role in VISIT_ROLES and actor.unit in units.chain_up(p, unit)):
        return
    raise Forbidden(
        "unit_may_not_see", f"{actor.username} ({actor.role}, {actor.unit}) may not see the ledger of {unit}", "as"
    )


def record_access(
    session: Session, actor: str, action: str, target: str, allowed: bool = True, reason: str = ""
) -> None:
    session.add(AccessRecord(at=now(), actor=actor, action=action, target=target, allowed=allowed, reason=reason))


def complete(session: Session, visit_id: uuid.UUID, actor: User, outcome: VerificationOutcome) -> dict[str, Any]:
    """Record the visit. A concern found (guardianship, schooling, a situation) asks for a report."""
    visit = session.exec(select(VerificationVisit).where(VerificationVisit.id == visit_id).with_for_update()).first()
    if visit is None or visit.jurisdiction != actor.jurisdiction:
        raise NotFound("unknown_visit", f"no verification visit {visit_id}", "visit")
    if actor.role not in VISIT_ROLES or actor.unit not in units.chain_up(policy.pack(visit.jurisdiction), visit.unit):
        raise Forbidden(
            "unit_may_not_complete",
            f"the visit belongs to {visit.unit}; {actor.username} is {actor.role} in {actor.unit}",
            "as",
        )
    if visit.status != "open":
        raise Conflict("visit_not_open", f"visit {visit.id} is already {visit.status}", "visit")
    today = now().astimezone(CHINA_TZ).date()
    if outcome.visited_on > today:
        raise InvalidInput(
            "visited_in_future",
            f"outcome.visited_on {outcome.visited_on} is after today ({today})",
            "outcome.visited_on",
        )
    at = now()
    visit.status, visit.completed_by, visit.completed_at = "done", actor.username, at
    visit.outcome = outcome.model_dump(mode="json")
    session.add(visit)
    record_access(session, actor.username, "visit_complete", str(visit.id))
    concern = outcome.guardianship != "adequate" or outcome.schooling == "out_of_school" or bool(outcome.concerns)
    result: dict[str, Any] = {
        "visit_id": str(visit.id),
        "status": visit.status,
        "period": visit.period,
        "late": at > visit.due_at,
        "report_needed": concern,
    }
    if concern:
        p = policy.pack(visit.jurisdiction)
        rule = p.unit(visit.unit)
        township, village = (rule.parent, rule.code) if rule.type == "village" and rule.parent else (rule.code, None)
        detail = f"{LABELS_ZH[outcome.guardianship]}，{LABELS_ZH[outcome.schooling]}"
        for target in dict.fromkeys(
            units.resolve(p, s, township, village) for s in p.notify["verification_concern"].to
        ):
            queue(
                session,
                p,
                target,
                "verification_concern",
                f"verification_concern:{visit.id}",
                ask=f"{rule.name} {visit.period} 核实走访发现需关注情形",
                due=None,
                detail=detail,
                link_unit=visit.unit,
            )
        result["advice"] = (
            "核实发现困境情形：请立即向公安机关报告（强制报告意见 art. 4；未保法 art. 11），由接警员登记后进入应急处置"
        )
    return result


def queue(
    session: Session,
    p: policy.Pack,
    unit: str,
    event: str,
    key: str,
    ask: str,
    due: datetime | None,
    detail: str,
    link_unit: str,
) -> None:
    """One message to a unit about the ledger (no case): unit and counts only, never a child."""
    subject, body = render(
        event,
        case_no="—",
        stage="核实走访",
        ask=ask,
        due=format_due(due) if due else "—",
        link=visits_link(session, link_unit),
        unit_name=p.unit(unit).name,
        jurisdiction=p.name,
        detail=detail,
    )
    if session.exec(select(Notification.id).where(Notification.dedupe_key == key, Notification.unit == unit)).first():
        return
    session.add(
        Notification(
            jurisdiction=p.pack,
            unit=unit,
            event=event,
            template=event,
            dedupe_key=key,
            subject=subject,
            body=body,
            created_at=now(),
        )
    )


def escalate_overdue(session: Session, as_of: datetime) -> int:
    """Each level whose time has come, once per (jurisdiction, period, level): one message per unit behind.

    Idle ticks cost one indexed read: the markers of every level already due are fetched at once.
    """
    due: list[tuple[policy.Pack, str, datetime, int, str]] = []
    for jurisdiction in policy.jurisdiction_names():
        p = policy.pack(jurisdiction)
        levels, holidays = p.levels(KIND), frozenset(p.holidays.value)
        for period, end in recent_periods(as_of.astimezone(CHINA_TZ).date(), p.verification_visits.value, 2):
            for level, rule in enumerate(levels, start=1):
                at = end if rule.after is None else workdays.add(end, rule.after, holidays).at
                if at <= as_of:
                    due.append((p, period, end, level, f"verification_overdue:{jurisdiction}:{period}:{level}"))
    if not due:
        return 0
    done = set(session.exec(select(Counter.name).where(col(Counter.name).in_([d[4] for d in due]))).all())
    return sum(
        _escalate(session, p, period, end, level, marker) for p, period, end, level, marker in due if marker not in done
    )


def _escalate(session: Session, p: policy.Pack, period: str, end: datetime, level: int, marker: str) -> int:
    if not claim(session, marker):
        return 0
    behind = session.exec(
        select(VerificationVisit.unit, func.count())
        .where(
            VerificationVisit.jurisdiction == p.pack,
            VerificationVisit.period == period,
            VerificationVisit.status == "open",
        )
        .group_by(VerificationVisit.unit)
    ).all()
    levels = len(p.levels(KIND))
    last, sent = level == levels, 0
    for unit, count in behind:
        for target in units.recipients(p, unit, level, levels):
            queue(
                session,
                p,
                target,
                "verification_overdue",
                f"verification_overdue:{period}:{level}:{unit}",
                ask=f"{p.unit(unit).name} {period} 核实走访 {count} 户未完成",
                due=end,
                detail=f"第 {level} 级{'，督办' if last else ''}（依据：{citation.readable(p.verification_visits.source, p)}）",
                link_unit=unit,
            )
            sent += 1
    return sent


def visit_view(v: VerificationVisit, child: Any, as_of: datetime) -> dict[str, Any]:
    return {
        "visit_id": str(v.id),
        "period": v.period,
        "unit": v.unit,
        "status": v.status,
        "due_at": v.due_at.isoformat(),
        "overdue": v.status == "open" and as_of > v.due_at,
        "child_id": str(v.child_id),
        "child_name": child.name,
        "birth_date": child.birth_date.isoformat(),
        "village": child.village,
        "completed_by": v.completed_by,
        "completed_at": v.completed_at.isoformat() if v.completed_at else None,
    }


def summary(session: Session, jurisdiction: str, period: str | None, as_of: datetime) -> list[dict[str, Any]]:
    """Per unit and period: visits due, done, open, overdue (counts only: for managers)."""
    past_due = func.sum(case((col(VerificationVisit.due_at) < as_of, 1), else_=0))
    query = select(
        VerificationVisit.unit,
        VerificationVisit.period,
        VerificationVisit.status,
        func.count(),
        past_due,  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns
    ).where(VerificationVisit.jurisdiction == jurisdiction)
    if period:
        query = query.where(VerificationVisit.period == period)
    rows = session.exec(
        query.group_by(VerificationVisit.unit, VerificationVisit.period, VerificationVisit.status)
    ).all()
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for unit, key, status, count, overdue in rows:
        if status == "cancelled":  # the child left coverage: not due
            continue
        row = table.setdefault(
            (unit, key), {"unit": unit, "period": key, "total": 0, "done": 0, "open": 0, "overdue": 0}
        )
        row["total"] += count
        row["done" if status == "done" else "open"] += count
        if status == "open":
            row["overdue"] += int(overdue or 0)
    return sorted(table.values(), key=lambda r: (r["period"], -r["overdue"], r["unit"]))
