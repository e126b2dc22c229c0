"""Recurring clocks: the quarterly verification round and the holiday patrol windows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import pytest
from approving import approve_pending
from conftest import arrive, make_report, on_ledger, user_of
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Case, Child, ChildCategory, Task, VerificationVisit
from services import cases, children, reports, tasks
from services import visits as visits_service
from shouhu import clock, db, policy
from shouhu.errors import ShouhuError
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
            .where(
                VerificationVisit.jurisdiction == "sixian",
                VerificationVisit.period == period,
                VerificationVisit.status != "cancelled",
            )
            .group_by(VerificationVisit.child_id)
        ).all()
    return dict(rows)


def found(made: dict[str, Any], jurisdiction: str = "sixian", unfounded: bool = False) -> dict[str, Any]:
    """The report registered, then the police response: founded (the pack's least measures) or not."""
    opened = reports.submit_report(made, user_of(jurisdiction, "police_intake"))
    police = user_of(jurisdiction, "police")
    case = arrive(opened["case_id"], police)
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response" and t["status"] == "open")
    p = policy.pack(jurisdiction)
    outcome: dict[str, Any] = (
        {"unfounded": True, "unfounded_reason": "经核查不属实"}
        if unfounded
        else {"unfounded": False, "measures": sorted({"admonish_guardian"} | set(p.least_measures(made["situations"])))}
    )
    return approve_pending(tasks.complete_task(task["task_id"], outcome, police))  # 不属实: the bureau approves


def categories_of(child_id: uuid.UUID) -> list[tuple[str, str, Any]]:
    with Session(db.engine()) as s:
        return [
            (c.category, c.source, c.ended_on)
            for c in s.exec(select(ChildCategory).where(ChildCategory.child_id == child_id)).all()
        ]


def child_id_of(made: dict[str, Any]) -> uuid.UUID:
    with Session(db.engine()) as s:
        return s.exec(select(Child.id).where(Child.name == made["child"]["name"])).one()


def test_the_round_visits_the_ledger_not_every_child_ever_reported(db_url: str) -> None:
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    imported, founded, unfounded, pending, survey_only = (make_report() for _ in range(5))
    for made in (imported, pending):
        reports.submit_report(made, "sx-intake")
    on_ledger([imported, survey_only])  # one reported, one never reported (the county's own survey)
    found(founded)
    found(unfounded, unfounded=True)
    sweep.tick(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    q4 = visits("2026Q4")
    ids = {
        k: child_id_of(m)
        for k, m in zip(
            ["imp", "fnd", "unf", "pen", "srv"], (imported, founded, unfounded, pending, survey_only), strict=True
        )
    }
    assert {k for k, i in ids.items() if i in q4} == {"imp", "fnd", "srv"}
    assert {c[0] for c in categories_of(ids["fnd"])} == {"guardianship_lacking"}
    assert categories_of(ids["fnd"])[0][1].startswith("report:SX-") and categories_of(ids["unf"]) == []

    clock.set_now(datetime.fromisoformat("2026-12-02T10:00:00+08:00"))
    task = next(
        t
        for t in cases.show_case(reports_case(pending), "sx-police", record_read=False)["tasks"]
        if t["kind"] == "police_arrival"
    )
    tasks.acknowledge_task(task["task_id"], "sx-police")
    respond = next(
        t
        for t in cases.show_case(reports_case(pending), "sx-police", record_read=False)["tasks"]
        if t["kind"] == "emergency_response"
    )
    tasks.complete_task(respond["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    sweep.tick(datetime.fromisoformat("2026-12-02T10:00:00+08:00"))  # founded mid-quarter: visited this quarter
    assert ids["pen"] in visits("2026Q4") and set(visits("2026Q4").values()) == {1}

    # leaving the ledger: the open visit is cancelled, the next quarter has none; the child's file says why
    left = children.exit_coverage(str(ids["srv"]), {"reason": "placed"}, "sx-civil")
    assert left["visits_cancelled"] == 1 and left["ends_on"] == "2026-12-02"
    assert ids["srv"] not in visits("2026Q4")  # cancelled visits are not due (visits() counts the open and done)
    assert all(v["child_id"] != str(ids["srv"]) for v in visits_service.list_visits("sx-director-dg", "sx-v-sc-dg"))
    file = children.show_child(str(ids["srv"]), "sx-civil")
    assert any("退出保障范围：已妥善安置" in e["summary"] for e in file["timeline"])
    assert not any(c["in_force"] for c in file["categories"])
    sweep.tick(datetime.fromisoformat("2027-01-05T09:00:00+08:00"))
    assert set(visits("2027Q1")) >= {ids["imp"], ids["fnd"], ids["pen"]} and ids["srv"] not in visits("2027Q1")


def reports_case(made: dict[str, Any]) -> str:
    with Session(db.engine()) as s:
        return str(
            s.exec(
                select(Case.id).join(Child, col(Child.id) == Case.child_id).where(Child.name == made["child"]["name"])
            ).one()
        )


def test_leaving_the_ledger_is_refused_clearly_and_changes_nothing(db_url: str) -> None:
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    on_ledger([child := make_report()])
    reported = make_report()
    found(reported)
    kid, with_case = child_id_of(child), child_id_of(reported)
    before = categories_of(kid)
    attempts = [
        (str(kid), {"reason": "placed"}, "sx-director-dg", "not_permitted", "as"),
        (str(kid), {"reason": "no_such_reason"}, "sx-civil", "unknown_exit_reason", "reason"),
        (str(kid), {}, "sx-civil", "missing_field", "reason"),
        (str(kid), {"reason": "placed", "extra": 1}, "sx-civil", "unknown_field", "extra"),
        (str(uuid.uuid4()), {"reason": "placed"}, "sx-civil", "unknown_child", "child"),
        ("'; drop table child; --", {"reason": "placed"}, "sx-civil", "unknown_child", "child"),
        (str(kid), {"reason": "placed"}, "yt-civil", "unknown_child", "child"),  # another county's officer
        (str(with_case), {"reason": "placed"}, "sx-civil", "case_open", "child"),
    ]
    for ref, body, who, code, field in attempts:
        with pytest.raises(ShouhuError) as refused:
            children.exit_coverage(ref, body, who)
        assert (refused.value.code, refused.value.field) == (code, field), (ref, body, who)
    assert categories_of(kid) == before and len(before) == 1


def test_a_phase_out_keeps_the_child_visited_until_it_ends(db_url: str) -> None:
    """乌海 (seed 003 §一(一)): 家庭具备抚养能力 ends coverage after a six-month phase-out (渐退期)."""
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    on_ledger([child := make_report("wuhai")], category="孤儿", jurisdiction="wuhai")
    kid = child_id_of(child)
    civil = user_of("wuhai", "civil_affairs")
    left = children.exit_coverage(str(kid), {"reason": "family_able_to_care"}, civil)
    assert left["ends_on"] == "2027-06-01" and left["visits_cancelled"] == 0

    def round_of(period: str) -> set[uuid.UUID]:
        with Session(db.engine()) as s:
            return set(
                s.exec(
                    select(VerificationVisit.child_id).where(
                        VerificationVisit.period == period, VerificationVisit.status != "cancelled"
                    )
                ).all()
            )

    for day, period, visited in (
        ("2026-12-01", "2026Q4", True),
        ("2027-04-01", "2027Q2", True),  # in the phase-out: still visited
        ("2027-06-01", "2027Q2", False),  # the phase-out has ended: the open visit is cancelled
        ("2027-07-01", "2027Q3", False),
    ):
        sweep.tick(datetime.fromisoformat(f"{day}T09:00:00+08:00"))
        assert (kid in round_of(period)) is visited, (day, period)


def test_holiday_patrols_visit_the_ledgers_key_children(db_url: str) -> None:
    """泗县 seed 001 §二(二)9: 寒暑假重点时段巡查 of 监护较差、失学辍学、无户籍、重残重病 — from the ledger."""
    clock.set_now(datetime.fromisoformat("2027-01-10T09:00:00+08:00"))
    key, plain = make_report(), make_report()
    on_ledger([key], category="失学辍学儿童")
    on_ledger([plain], category="留守儿童")
    for day in ("2027-01-19", "2027-01-20", "2027-01-21"):
        sweep.tick(datetime.fromisoformat(f"{day}T09:00:00+08:00"))
    with Session(db.engine()) as s:
        patrols = s.exec(select(VerificationVisit).where(VerificationVisit.period == "2027-寒假重点时段巡查")).all()
    mine = [v for v in patrols if v.child_id in {child_id_of(key), child_id_of(plain)}]
    assert [v.child_id for v in mine] == [child_id_of(key)]
    assert mine[0].due_at.isoformat() == "2027-02-20T23:59:00+08:00" and mine[0].unit == "sx-v-sc-dg"
    sheet = visits_service.visit_sheet("sx-director-dg", "sx-v-sc-dg")
    assert any(r["visit_id"] == str(mine[0].id) for r in sheet["rows"])
    sweep.tick(datetime.fromisoformat("2027-02-21T09:00:00+08:00"))  # after the window: nothing new
    with Session(db.engine()) as s:
        assert (
            len(
                s.exec(
                    select(VerificationVisit).where(
                        VerificationVisit.period == "2027-寒假重点时段巡查",
                        VerificationVisit.child_id == child_id_of(key),
                    )
                ).all()
            )
            == 1
        )


@pytest.mark.parametrize("jurisdiction", ["sixian", "yantai", "yunyang", "wuhai", "mentougou"])
def test_a_founded_report_puts_the_child_on_the_ledger_in_every_county(db_url: str, jurisdiction: str) -> None:
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    p = policy.pack(jurisdiction)
    yes, no = make_report(jurisdiction, **{"child.left_behind": True}), make_report(jurisdiction)
    case = found(yes, jurisdiction)
    found(no, jurisdiction, unfounded=True)
    held = categories_of(child_id_of(yes))
    assert {c for c, _, _ in held} == {p.report_category.value, "left_behind"}
    assert {src for _, src, _ in held} == {f"report:{case['case_no']}"}
    assert categories_of(child_id_of(no)) == []
    sweep.tick(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    with Session(db.engine()) as s:
        listed = set(
            s.exec(select(VerificationVisit.child_id).where(VerificationVisit.jurisdiction == jurisdiction)).all()
        )
    assert child_id_of(yes) in listed and child_id_of(no) not in listed


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


def test_an_import_does_not_end_what_a_founded_report_put_on_the_ledger(db_url: str) -> None:
    """The county's file lists the child as 留守儿童 only: the category a founded report gave stays (it ends
    with the case), the file's own categories follow the file."""
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    made = make_report()
    found(made)
    on_ledger([made], category="留守儿童、孤儿")
    on_ledger([made], category="留守儿童")  # 孤儿 dropped from the file: ended; the report's category stays
    held = {(c, src.split(":")[0], ended is None) for c, src, ended in categories_of(child_id_of(made))}
    assert held == {
        ("guardianship_lacking", "report", True),
        ("left_behind", "import", True),
        ("orphan", "import", False),
    }


def test_a_county_whose_round_fails_holds_back_no_other_and_is_retried(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each county commits its round on its own (with its daily claim): one county's failure leaves the
    others' visits in place, is raised once they are done, and the next tick starts that county's round."""
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    sixian, yantai = make_report(), make_report("yantai")
    on_ledger([sixian])
    on_ledger([yantai], jurisdiction="yantai")
    real = rounds.generate_verification_round

    def failing_in_sixian(session: Session, jurisdiction: str, day: date) -> int:
        if jurisdiction == "sixian":
            raise RuntimeError("the database went away in sixian's round")
        return real(session, jurisdiction, day)

    monkeypatch.setattr(rounds, "generate_verification_round", failing_in_sixian)
    with pytest.raises(RuntimeError, match="sixian"):
        rounds.start_due_rounds(date(2026, 12, 1))

    def visited(jurisdiction: str) -> int:
        with Session(db.engine()) as s:
            return s.exec(
                select(func.count())
                .select_from(VerificationVisit)
                .where(VerificationVisit.jurisdiction == jurisdiction)
            ).one()

    assert visited("sixian") == 0 and visited("yantai") == 1  # yantai's round committed
    monkeypatch.setattr(rounds, "generate_verification_round", real)
    again = rounds.start_due_rounds(date(2026, 12, 1))  # the same day: sixian's claim was rolled back with it
    assert again["verification_visits"] == 1 and visited("sixian") == 1 and visited("yantai") == 1
    assert rounds.start_due_rounds(date(2026, 12, 1))["verification_visits"] == 0  # both claimed now
