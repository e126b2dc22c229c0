"""Village verification visits: who may see and complete them, and escalation when overdue.

The rounds of other tests share this database, so every count here is read from the
database at the moment and compared with what the system said, never assumed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from conftest import make_report, on_ledger
from sqlalchemy import func
from sqlmodel import Session, select

from models import AccessRecord, Notification, VerificationVisit
from services import reports, visits
from shouhu import clock, db
from shouhu.errors import Conflict, InvalidInput
from tasks import sweep

VILLAGE = "sx-v-sc-dg"
GOOD = {"visited_on": "2030-04-20", "guardianship": "adequate", "schooling": "in_school", "family_changed": False}


def open_count(period: str, unit: str) -> int:
    with Session(db.engine()) as s:
        return s.exec(
            select(func.count())
            .select_from(VerificationVisit)
            .where(
                VerificationVisit.period == period, VerificationVisit.unit == unit, VerificationVisit.status == "open"
            )
        ).one()


def messages(prefix: str) -> list[Notification]:
    with Session(db.engine()) as s:
        return list(s.exec(select(Notification).where(Notification.dedupe_key.startswith(prefix))).all())


def test_director_lists_and_completes_visits_and_others_are_refused(db_url: str) -> None:
    clock.set_now(datetime.fromisoformat("2030-04-10T09:00:00+08:00"))
    report = make_report()
    reports.submit_report(report, "sx-intake")
    on_ledger([report])
    sweep.tick(datetime.fromisoformat("2030-04-10T09:00:00+08:00"))
    mine = visits.list_visits("sx-director-dg", VILLAGE, "2030Q2", open_only=True)
    assert report["child"]["name"] in {v["child_name"] for v in mine}
    visit = next(v for v in mine if v["child_name"] == report["child"]["name"])

    with pytest.raises(InvalidInput) as refused:
        visits.list_visits("sx-director-xz", VILLAGE, "2030Q2")
    assert refused.value.code == "unit_may_not_see" and report["child"]["name"] not in refused.value.message
    with Session(db.engine()) as s:
        records = s.exec(
            select(AccessRecord).where(AccessRecord.target == VILLAGE, AccessRecord.action == "ledger_read")
        ).all()
    assert {(r.actor, r.allowed) for r in records} >= {("sx-director-dg", True), ("sx-director-xz", False)}

    with pytest.raises(InvalidInput) as bad:
        visits.complete_visit(visit["visit_id"], {**GOOD, "schooling": "home"}, "sx-director-dg")
    assert bad.value.field == "outcome.schooling"
    with pytest.raises(InvalidInput) as future:
        visits.complete_visit(visit["visit_id"], {**GOOD, "visited_on": "2030-05-01"}, "sx-director-dg")
    assert future.value.code == "visited_in_future"
    with pytest.raises(InvalidInput) as other:
        visits.complete_visit(visit["visit_id"], GOOD, "sx-director-xz")
    assert other.value.code == "unit_may_not_complete"
    assert visits.list_visits("sx-director-dg", VILLAGE, "2030Q2", open_only=True) == mine  # nothing changed

    found = {**GOOD, "visited_on": "2030-04-10", "guardianship": "absent", "concerns": ["living_alone"]}
    done = visits.complete_visit(visit["visit_id"], found, "sx-director-dg")
    assert done["report_needed"] is True and done["status"] == "done" and done["late"] is False
    with pytest.raises(Conflict):
        visits.complete_visit(visit["visit_id"], GOOD, "sx-director-dg")
    told = messages(f"verification_concern:{visit['visit_id']}")
    assert [m.unit for m in told] == ["sx-t-sc"]
    text = told[0].subject + told[0].body
    assert "监护缺失" in text and report["child"]["name"] not in text and report["child"]["id_number"] not in text
    assert "/visits?unit=sx-v-sc-dg" in text


def test_overdue_visits_escalate_once_per_level_per_unit(db_url: str) -> None:
    clock.set_now(datetime.fromisoformat("2030-04-10T09:00:00+08:00"))
    made = make_report()
    reports.submit_report(made, "sx-intake")
    on_ledger([made])
    sweep.tick(datetime.fromisoformat("2030-04-11T09:00:00+08:00"))
    period_end = datetime.fromisoformat("2030-06-30T23:59:59+08:00")
    behind = open_count("2030Q2", VILLAGE)
    assert behind >= 1

    sweep.tick(datetime.fromisoformat("2030-06-30T23:00:00+08:00"))  # before the period ends: nothing
    assert messages("verification_overdue:2030Q2:") == []
    for _ in range(2):  # the same level twice: one message
        sweep.tick(datetime.fromisoformat("2030-07-01T00:01:00+08:00"))
    level1 = [m for m in messages("verification_overdue:2030Q2:1:") if m.dedupe_key.endswith(VILLAGE)]
    assert [m.unit for m in level1] == [VILLAGE]
    assert f"{behind} 户未完成" in level1[0].subject

    sweep.tick(datetime.fromisoformat("2030-07-02T00:00:00+08:00"))  # +24 h: the township
    level2 = [m for m in messages("verification_overdue:2030Q2:2:") if m.dedupe_key.endswith(VILLAGE)]
    assert [m.unit for m in level2] == ["sx-t-sc"]
    assert messages("verification_overdue:2030Q2:3:") == []
    sweep.tick(datetime.fromisoformat("2030-07-04T00:00:00+08:00"))  # +72 h: civil affairs and 督办 to coordination
    level3 = [m for m in messages("verification_overdue:2030Q2:3:") if m.dedupe_key.endswith(VILLAGE)]
    assert sorted(m.unit for m in level3) == ["sx-coord", "sx-mz"] and all("督办" in m.body for m in level3)
    assert period_end.strftime("%Y-%m-%d") in level1[0].body

    clock.set_now(datetime.fromisoformat("2030-07-04T00:00:00+08:00"))
    summary = {(r["unit"], r["period"]): r for r in visits.visit_summary("sixian", "2030Q2")}
    row = summary[(VILLAGE, "2030Q2")]
    assert row["overdue"] == row["open"] == open_count("2030Q2", VILLAGE) and row["total"] == row["open"] + row["done"]


def test_visit_refs_and_outcomes_are_checked(db_url: str) -> None:
    with pytest.raises(InvalidInput) as unknown:
        visits.complete_visit(str(uuid.uuid4()), GOOD, "sx-director-dg")
    assert unknown.value.code == "unknown_visit"
    with pytest.raises(InvalidInput) as junk:
        visits.complete_visit("not-a-uuid", GOOD, "sx-director-dg")
    assert junk.value.code == "unknown_visit"
    with pytest.raises(InvalidInput) as missing:
        visits.list_visits(None, VILLAGE)
    assert missing.value.code == "missing_user"
