"""Statistics for managers — SLA figures: on-time compliance per unit and stage, and the case clocks that matter.

Times to dispatch, to assessment start and to plan are measured from the case's opening:
dispatch = the police emergency task done; assessment start = the township notified (its
assessment task opened); plan = the assessment (with its assistance plan) done.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Task
from shouhu import access, db, policy
from shouhu.clock import CHINA_TZ
from shouhu.errors import Forbidden, InvalidInput


def _day(text: str, field: str) -> date:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput("bad_date", f"--{field} must be a date YYYY-MM-DD; got {str(text)[:40]!r}", field) from None
    low = policy.input_limits().oldest_year
    if not low <= day.year <= 2200:
        raise InvalidInput("out_of_range", f"--{field} must be between {low} and 2200", field)
    return day


def _minutes(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p90": None, "n": 0}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
        "n": len(ordered),
    }


def report(start_text: str, end_text: str, jurisdiction: str | None = None) -> dict[str, Any]:
    start, end = _day(start_text, "from"), _day(end_text, "to")
    if end < start:
        raise InvalidInput("bad_range", "--to is before --from", "to")
    if jurisdiction:
        policy.pack(jurisdiction)
    lo = datetime.combine(start, time.min, CHINA_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, CHINA_TZ)
    with Session(db.engine()) as s:
        query = (
            select(Task, Case)
            .join(Case, col(Case.id) == Task.case_id)
            .where(Task.due_at >= lo, Task.due_at < hi, Task.status != "cancelled")
        )
        if jurisdiction:
            query = query.where(Case.jurisdiction == jurisdiction)
        due_rows = s.exec(query).all()
        cases = select(Case).where(Case.opened_at >= lo, Case.opened_at < hi)
        if jurisdiction:
            cases = cases.where(Case.jurisdiction == jurisdiction)
        opened = s.exec(cases).all()
        case_tasks = s.exec(select(Task).where(col(Task.case_id).in_([c.id for c in opened]))).all() if opened else []

    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"due": 0, "on_time": 0, "late": 0, "open_overdue": 0}
    )
    for task, _case in due_rows:
        g = groups[(task.owner_unit, task.stage)]
        g["due"] += 1
        if task.status == "done":
            g["on_time" if task.completed_at is not None and task.completed_at <= task.due_at else "late"] += 1
        elif task.due_at < hi:
            g["open_overdue"] += 1
    units = [
        {
            "unit": unit,
            "stage": stage,
            **g,
            "compliance_pct": round(100 * g["on_time"] / g["due"], 1) if g["due"] else None,
        }
        for (unit, stage), g in sorted(groups.items())
    ]

    by_case: dict[Any, list[Task]] = defaultdict(list)
    for task in case_tasks:
        by_case[task.case_id].append(task)
    # (measure, unit) → minutes from the case's opening; the unit is the one whose task it was
    clocks: dict[tuple[str, str], list[float]] = defaultdict(list)

    def minutes(since: datetime, at: datetime) -> float:
        return (at - since).total_seconds() / 60

    for case in opened:
        for task in by_case[case.id]:
            if task.kind == "police_arrival" and task.completed_at:
                clocks[("arrival", task.owner_unit)].append(minutes(case.opened_at, task.completed_at))
            if task.kind == "emergency_response" and task.completed_at:
                clocks[("dispatch", task.owner_unit)].append(minutes(case.opened_at, task.completed_at))
            if task.kind == "assessment":
                clocks[("assessment_start", task.owner_unit)].append(minutes(case.opened_at, task.created_at))
                if task.completed_at:
                    clocks[("plan", task.owner_unit)].append(minutes(case.opened_at, task.completed_at))
    overall = {
        m: [v for (measure, _), vs in clocks.items() if measure == m for v in vs]
        for m in ("arrival", "dispatch", "assessment_start", "plan")
    }
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "jurisdiction": jurisdiction,
        "units": units,
        "cases_opened": len(opened),
        "minutes_to_arrival": _minutes(overall["arrival"]),
        "minutes_to_dispatch": _minutes(overall["dispatch"]),
        "minutes_to_assessment_start": _minutes(overall["assessment_start"]),
        "minutes_to_plan": _minutes(overall["plan"]),
        "case_clocks_by_unit": [{"measure": m, "unit": u, **_minutes(vs)} for (m, u), vs in sorted(clocks.items())],
    }


def weekly_compliance(
    jurisdiction: str, first_day: date, weeks: int
) -> tuple[list[str], dict[tuple[str, str], list[float | None]]]:
    """On-time % per (owner unit, stage) per week (tasks due that week, cancelled ones left out): one small
    aggregate query per week, so the board's chart costs the same at 100 or 100,000 cases."""
    from sqlalchemy import case as when_then
    from sqlalchemy import func

    labels: list[str] = []
    series: dict[tuple[str, str], list[float | None]] = {}
    with Session(db.engine()) as s:
        for i in range(weeks):
            start = first_day + timedelta(days=7 * i)
            lo = datetime.combine(start, time.min, CHINA_TZ)
            on_time = func.sum(
                when_then(((col(Task.status) == "done") & (col(Task.completed_at) <= Task.due_at), 1), else_=0)
            )
            rows = s.exec(
                select(Task.owner_unit, Task.stage, func.count(), on_time)
                .join(Case, col(Case.id) == Task.case_id)
                .where(
                    Case.jurisdiction == jurisdiction,
                    Task.due_at >= lo,
                    Task.due_at < lo + timedelta(days=7),
                    Task.status != "cancelled",
                )
                .group_by(Task.owner_unit, Task.stage)
            ).all()
            labels.append(f"{start:%m-%d}")
            for unit, stage, due, done in rows:
                series.setdefault((unit, stage), [None] * weeks)[i] = round(100 * (done or 0) / due, 1)
    return labels, series


SLA_ROLES = {"manager", "civil_affairs"}


def sla_for(actor_name: str, start: str, end: str) -> dict[str, Any]:
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    if actor.role not in SLA_ROLES:
        raise Forbidden(
            "not_permitted", f"{actor.username} may not read the SLA report (managers and civil affairs)", "as"
        )
    return report(start, end, actor.jurisdiction)
