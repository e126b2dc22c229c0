"""Deadlines that act: reminders, escalation levels in order, stopping, breaches, the sweeper."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta

import pytest
from conftest import arrive, make_report
from sqlalchemy import func
from sqlmodel import Session, select

from models import ClockFire, Deadline, Notification, TimelineEvent
from services import cases as cases_service
from services import deadlines, reports, tasks
from shouhu import clock, db
from tasks import sweep

T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")  # sixian normal emergency: due 21:00 (12 h)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def emergency_case() -> tuple[dict, dict]:
    """A case whose police are on scene at once: its one running police clock is the emergency response."""
    opened = reports.submit_report(make_report(), "sx-intake")
    case = arrive(opened["case_id"], "sx-police")
    return case, next(t for t in case["tasks"] if t["kind"] == "emergency_response")


def fires(case_id: str) -> list[str]:
    with Session(db.engine()) as s:
        d = s.exec(
            select(Deadline).where(Deadline.case_id == uuid.UUID(case_id), Deadline.kind == "emergency_response")
        ).one()
        return [
            f.step
            for f in s.exec(select(ClockFire).where(ClockFire.deadline_id == d.id).order_by(ClockFire.scheduled_for))
        ]


def escalations(case_id: str) -> list[tuple[int, bool, list[str]]]:
    with Session(db.engine()) as s:
        events = s.exec(
            select(TimelineEvent)
            .where(TimelineEvent.case_id == uuid.UUID(case_id), TimelineEvent.kind == "deadline_escalated")
            .order_by(TimelineEvent.seq)
        ).all()
    return [(e.payload["level"], e.payload["supervised"], e.payload["units"]) for e in events]


def test_reminders_then_each_level_fire_once_and_in_order(db_url: str) -> None:
    case, _task = emergency_case()
    steps = ["reminder_50", "reminder_80", "level_1", "level_2", "level_3"]
    # (hours after the report, how many steps have fired by then): nothing early, each once, in order
    for hours, fired in (
        (5.9, 0),
        (6.0, 1),
        (6.0, 1),
        (9.5, 1),
        (9.6, 2),
        (11.9, 2),
        (12.0, 3),
        (12.5, 3),
        (12.9, 3),
        (13.0, 4),
        (15.9, 4),
        (16.0, 5),
        (16.0, 5),
        (40.0, 5),
    ):
        sweep.tick(at(hours))
        assert fires(case["case_id"]) == steps[:fired], hours
    # station → county police bureau → coordination office (督办 at the last level, told once)
    assert escalations(case["case_id"]) == [(1, False, ["sx-pcs-sc"]), (2, False, ["sx-ga"]), (3, True, ["sx-coord"])]
    clock.set_now(at(40))
    [breach] = [b for b in deadlines.list_breaches("sixian", open_only=True) if b["case_id"] == case["case_id"]]
    assert (breach["level"], breach["supervised"], breach["late_by_minutes"]) == (3, True, 28 * 60)
    assert cases_service.verify_case(case["case_id"])["ok"]


def test_a_late_sweeper_fires_every_level_in_one_tick_but_no_stale_reminders(db_url: str) -> None:
    case, _ = emergency_case()
    stats = sweep.tick(at(48))
    assert stats["fired"] == 5 and stats["errors"] == 0 and stats["careful_batches"] == 0  # the bulk path did it
    with Session(db.engine()) as s:
        sent = s.exec(select(Notification.event).where(Notification.case_id == uuid.UUID(case["case_id"]))).all()
    assert "reminder" not in sent and sent.count("escalation") == 3
    assert sweep.tick(at(48))["fired"] == 0


def test_completing_the_task_between_levels_stops_the_chain_and_closes_the_breach(db_url: str) -> None:
    case, task = emergency_case()
    sweep.tick(at(12.5))  # reminders + level 1
    clock.set_now(at(12.75))
    tasks.complete_task(task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    sweep.tick(at(60))
    assert fires(case["case_id"]) == ["reminder_50", "reminder_80", "level_1"]
    [breach] = [b for b in deadlines.list_breaches("sixian") if b["case_id"] == case["case_id"]]
    assert (breach["level"], breach["resolution"], breach["late_by_minutes"]) == (1, "done", 45)
    assert not [b for b in deadlines.list_breaches("sixian", open_only=True) if b["case_id"] == case["case_id"]]


def test_one_bad_row_does_not_stop_the_tick(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = emergency_case()
    second, _ = emergency_case()
    real = sweep.fire

    def broken(t, d, task, step, batch=None):
        if str(d.case_id) == first["case_id"]:
            raise ValueError("a corrupt row")
        return real(t, d, task, step, batch)

    monkeypatch.setattr(sweep, "fire", broken)
    stats = sweep.tick(at(12.5))
    assert stats["errors"] >= 1 and stats["careful_batches"] >= 1
    assert fires(second["case_id"]) == ["reminder_50", "reminder_80", "level_1"]
    assert fires(first["case_id"]) == []
    monkeypatch.setattr(sweep, "fire", real)
    sweep.tick(at(12.5))
    assert fires(first["case_id"]) == ["reminder_50", "reminder_80", "level_1"]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def test_a_crash_mid_tick_loses_nothing_and_repeats_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [emergency_case()[0] for _ in range(4)]
    real, calls = sweep.fire, {"n": 0}

    def dying(t, d, task, step, batch=None):
        calls["n"] += 1
        if calls["n"] == 7:
            raise Crash()
        return real(t, d, task, step, batch)

    monkeypatch.setattr(sweep, "fire", dying)
    with pytest.raises(Crash):
        sweep.tick(at(40))
    monkeypatch.setattr(sweep, "fire", real)
    sweep.tick(at(40))
    for case in cases:
        assert fires(case["case_id"]) == ["reminder_50", "reminder_80", "level_1", "level_2", "level_3"]
        with Session(db.engine()) as s:
            keys = s.exec(
                select(Notification.dedupe_key, Notification.unit).where(
                    Notification.case_id == uuid.UUID(case["case_id"])
                )
            ).all()
        assert len(keys) == len(set(keys))
        assert cases_service.verify_case(case["case_id"])["ok"]


def test_two_sweeper_processes_fire_each_step_exactly_once(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent sweepers are a PostgreSQL deployment; SQLite serialises writers")
    cases = [emergency_case()[0] for _ in range(40)]
    ids = [uuid.UUID(c["case_id"]) for c in cases]
    # Both processes load everything, say so, and wait for one word: they start together however busy the machine is.
    code = (
        "import sys; from datetime import datetime; from tasks.sweep import tick; from shouhu import db; db.engine().connect().close();"
        "print('ready', flush=True); sys.stdin.readline(); print(tick(datetime.fromisoformat(sys.argv[1]), batch=2))"
    )
    env = {**os.environ, "SHOUHU_DATABASE_URL": db_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, at(40).isoformat()],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    stats = [eval(out.strip().splitlines()[-1]) for out in outputs]  # our own dict repr
    assert all(st["errors"] == 0 for st in stats)
    assert all(st["clocks"] > 0 for st in stats), stats  # both took part
    assert sum(st["fired"] for st in stats) + sweep.tick(at(40))["fired"] == 40 * 5
    with Session(db.engine()) as s:
        fire_rows = s.exec(
            select(func.count())
            .select_from(ClockFire)
            .join(Deadline, Deadline.id == ClockFire.deadline_id)
            .where(Deadline.case_id.in_(ids))
        ).one()
        escalated = s.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.case_id.in_(ids), Notification.event == "escalation")
        ).one()
    assert fire_rows == 40 * 5
    assert escalated == 40 * 3  # one message per level (the last level's two recipients are the same office here)


def test_the_refusal_watch_tells_civil_affairs_once_after_six_months(db_url: str) -> None:
    case, task = emergency_case()
    case = tasks.complete_task(
        task["task_id"], {"unfounded": False, "measures": ["admonish_guardian", "warning_letter"]}, "sx-police"
    )
    visit = next(t for t in case["tasks"] if t["kind"] == "warning_letter_visit")
    assert visit["owner_unit"] == "sx-v-sc-dg" and visit["due_at"].startswith("2026-12-24")
    assessment = next(t for t in case["tasks"] if t["kind"] == "assessment")
    tasks.complete_task(
        assessment["task_id"],
        {
            "safety": "at_risk",
            "guardianship": "absent",
            "health": "一般",
            "risk_level": "medium",
            "services": [],
            "intervention_needed": False,
            "guardian_refused_since": "2026-08-01",
        },
        "sx-supervisor-sc",
    )
    sweep.tick(datetime.fromisoformat("2027-01-31T09:00:00+08:00"))
    sweep.tick(datetime.fromisoformat("2027-02-01T09:00:00+08:00"))
    sweep.tick(datetime.fromisoformat("2027-03-01T09:00:00+08:00"))
    with Session(db.engine()) as s:
        told = s.exec(
            select(Notification).where(
                Notification.case_id == uuid.UUID(case["case_id"]), Notification.event == "refusal_watch"
            )
        ).all()
        watch = s.exec(
            select(Deadline).where(Deadline.case_id == uuid.UUID(case["case_id"]), Deadline.kind == "refusal_watch")
        ).one()
    assert [n.unit for n in told] == ["sx-mz"] and watch.status == "fired"
    kinds = [e["kind"] for e in cases_service.case_timeline(case["case_id"], "sx-civil")]
    assert kinds.count("petition_ground_available") == 1


def test_sla_report_counts_on_time_and_times_to_dispatch(db_url: str) -> None:
    """On a day no other test opens cases (2029-03-14), so the figures are this test's alone."""
    from services import stats as sla

    day = datetime.fromisoformat("2029-03-14T09:00:00+08:00")
    clock.set_now(day)
    _, on_time = emergency_case()
    _, late = emergency_case()
    clock.set_now(day + timedelta(hours=2))
    tasks.complete_task(on_time["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    clock.set_now(day + timedelta(hours=14))
    tasks.complete_task(late["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    result = sla.report("2029-03-14", "2029-03-14", "sixian")
    row = next(r for r in result["units"] if r["unit"] == "sx-pcs-sc" and r["stage"] == "emergency")
    assert (row["due"], row["on_time"], row["late"], row["compliance_pct"]) == (
        4,
        3,
        1,
        75.0,
    )  # two arrivals on time, two responses
    assert result["minutes_to_arrival"] == {"median": 0.0, "p90": 0.0, "n": 2}
    assert result["minutes_to_dispatch"] == {"median": 480.0, "p90": 840.0, "n": 2}
    station = next(r for r in result["case_clocks_by_unit"] if r["measure"] == "dispatch" and r["unit"] == "sx-pcs-sc")
    assert (station["n"], station["median"]) == (2, 480.0)
    weeks, series = sla.weekly_compliance("sixian", date(2029, 3, 8), 2)  # the board's chart
    assert weeks == ["03-08", "03-15"] and series[("sx-pcs-sc", "emergency")] == [75.0, None]
