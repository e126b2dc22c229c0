"""Recurring clocks: the quarterly verification round and the holiday patrol windows."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from conftest import make_report
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Child, Task, VerificationVisit
from services import cases, reports, tasks
from shouhu import db
from tasks import rounds, sweep


def test_periods() -> None:
    assert rounds.period_of(date(2026, 11, 24), "quarter")[0] == "2026Q4"
    assert rounds.period_of(date(2026, 11, 24), "quarter")[1].isoformat() == "2026-12-31T23:59:59+08:00"
    assert rounds.period_of(date(2026, 12, 5), "month")[1].isoformat() == "2026-12-31T23:59:59+08:00"
    assert rounds.period_of(date(2027, 2, 1), "quarter")[0] == "2027Q1"


def visits(period: str) -> dict[uuid.UUID, int]:
    with Session(db.engine()) as s:
        rows = s.exec(
            select(VerificationVisit.child_id, func.count())
            .where(VerificationVisit.jurisdiction == "sixian", VerificationVisit.period == period)
            .group_by(VerificationVisit.child_id)
        ).all()
    return dict(rows)


def test_every_child_on_the_ledger_gets_one_visit_per_quarter(db_url: str) -> None:
    for _ in range(3):
        reports.submit_report(make_report(), "sx-intake")
    with Session(db.engine()) as s:
        minors = set(s.exec(select(Child.id).where(Child.jurisdiction == "sixian")).all())
    sweep.tick(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    sweep.tick(datetime.fromisoformat("2026-12-02T09:00:00+08:00"))
    q4 = visits("2026Q4")
    assert minors <= set(q4) and set(q4.values()) == {1}
    with Session(db.engine()) as s:
        ours = s.exec(
            select(VerificationVisit).where(
                VerificationVisit.period == "2026Q4",
                VerificationVisit.jurisdiction == "sixian",
                col(VerificationVisit.child_id).in_(minors),
            )
        ).all()
    assert len(ours) == len(minors) == 3
    assert {v.due_at.isoformat() for v in ours} == {"2026-12-31T23:59:59+08:00"} and {v.unit for v in ours} == {
        "sx-v-sc-dg"
    }
    sweep.tick(datetime.fromisoformat("2027-01-05T09:00:00+08:00"))
    assert set(visits("2027Q1")) == set(q4)


def test_holiday_patrol_opens_once_per_window_for_key_cases(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police", record_read=False)
    case = tasks.complete_task(
        case["tasks"][0]["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police"
    )
    assessment = next(t for t in case["tasks"] if t["kind"] == "assessment")
    tasks.complete_task(
        assessment["task_id"],
        {
            "safety": "at_risk",
            "guardianship": "inadequate",
            "health": "一般",
            "risk_level": "medium",
            "services": [],
            "intervention_needed": False,
        },
        "sx-supervisor-sc",
    )
    sweep.tick(datetime.fromisoformat("2027-01-19T09:00:00+08:00"))  # before the winter window
    sweep.tick(datetime.fromisoformat("2027-01-20T09:00:00+08:00"))
    sweep.tick(datetime.fromisoformat("2027-01-21T09:00:00+08:00"))
    with Session(db.engine()) as s:
        patrols = s.exec(
            select(Task).where(Task.case_id == uuid.UUID(case["case_id"]), Task.kind == "holiday_patrol")
        ).all()
    assert len(patrols) == 1
    assert (patrols[0].owner_unit, patrols[0].subject) == ("sx-v-sc-dg", "寒假重点时段巡查")
    assert patrols[0].due_at.isoformat() == "2027-02-20T23:59:00+08:00"
