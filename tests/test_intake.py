"""强制报告: a report opens a case with its police task, deadline and notifications."""

from __future__ import annotations

import uuid

import pytest
from conftest import counts, make_report
from sqlmodel import Session, select

from models import Case, Child, Command, Notification, Report, Reporter, Task
from services import cases, reports
from shouhu import db
from shouhu.errors import Conflict, InvalidInput


def test_a_report_opens_a_case_with_the_police_task_and_its_deadline(db_url: str) -> None:
    result = reports.submit_report(make_report(situations=["domestic_violence"]), "sx-intake")
    assert result["stage"] == "emergency" and result["attached_to_existing"] is False
    case = cases.show_case(result["case_id"], "sx-police")
    arrival, task = sorted(case["tasks"], key=lambda t: t["kind"] != "police_arrival")
    assert (task["kind"], task["owner_unit"], task["role"], task["status"]) == (
        "emergency_response",
        "sx-pcs-sc",
        "police",
        "open",
    )
    assert (arrival["kind"], arrival["owner_unit"], arrival["due_at"]) == (
        "police_arrival",
        "sx-pcs-sc",
        "2026-11-24T09:30:00+08:00",
    )
    # domestic_violence is urgent: the pack's urgent clock (1 h) applies
    assert task["due_at"] == "2026-11-24T10:00:00+08:00"
    [deadline] = [d for d in case["deadlines"] if d["kind"] == "emergency_response"]
    assert deadline["rule"]["urgency"] == "urgent" and "seed 001 §二(二)9" in deadline["rule"]["source"]
    with Session(db.engine()) as s:
        units = {n.unit for n in s.exec(select(Notification).where(Notification.case_id == uuid.UUID(case["case_id"])))}
    assert {"sx-pcs-sc", "sx-ga"} <= units


def test_notifications_carry_no_personal_data(db_url: str) -> None:
    report = make_report(discovered_at="2026-11-20T07:00:00+08:00", **{"child.address": "东关村三组18号"})
    result = reports.submit_report(report, "sx-intake")
    with Session(db.engine()) as s:
        messages = s.exec(select(Notification).where(Notification.case_id == uuid.UUID(result["case_id"]))).all()
    assert {m.event for m in messages} >= {"case_opened", "late_report"}
    secrets = [
        report["child"]["name"],
        report["child"]["id_number"],
        "东关村三组18号",
        report["reporter"]["name"],
        report["reporter"]["phone"],
    ]
    for m in messages:
        assert result["case_no"] in m.subject
        for secret in secrets:
            assert secret not in m.subject + m.body


def test_a_late_report_is_flagged_to_the_reporters_supervising_authority(db_url: str) -> None:
    result = reports.submit_report(make_report(discovered_at="2026-11-22T08:00:00+08:00"), "sx-intake")
    with Session(db.engine()) as s:
        report = s.exec(select(Report).where(Report.case_id == uuid.UUID(result["case_id"]))).one()
        late = s.exec(
            select(Notification).where(
                Notification.case_id == uuid.UUID(result["case_id"]), Notification.event == "late_report"
            )
        ).all()
    assert report.late and report.late_by_minutes == 49 * 60
    assert {n.unit for n in late} == {"sx-jt", "sx-coord"}  # school → education bureau
    kinds = [e["kind"] for e in cases.case_timeline(result["case_id"], "sx-manager")]
    assert "late_report" in kinds


def test_a_second_report_on_the_same_child_joins_the_open_case(db_url: str) -> None:
    first = make_report()
    opened = reports.submit_report(first, "sx-intake")
    second = make_report(situations=["missing"], child=first["child"])
    joined = reports.submit_report(second, "sx-intake")
    assert joined["attached_to_existing"] is True and joined["case_id"] == opened["case_id"]
    with Session(db.engine()) as s:
        assert len(s.exec(select(Report).where(Report.case_id == uuid.UUID(opened["case_id"]))).all()) == 2
        assert len(s.exec(select(Child).where(Child.id_number == first["child"]["id_number"])).all()) == 1
        case = s.get(Case, uuid.UUID(opened["case_id"]))
    assert case.urgency == "urgent"  # missing made it urgent


def test_a_child_filed_elsewhere_is_worked_where_the_report_places_them(db_url: str) -> None:
    first = make_report("yantai")
    yantai_case = reports.submit_report(first, "yt-intake")
    # the same child (same ID number), now reported in sixian; the yantai case is still open
    moved = make_report("sixian", child={**first["child"], "township": "sx-t-cg", "village": "sx-v-cg-xz"})
    result = reports.submit_report(moved, "sx-intake")
    assert result["attached_to_existing"] is False  # sixian's units must respond where the child is
    case = cases.show_case(result["case_id"], "sx-police", record_read=False)
    assert case["township"] == "sx-t-cg" and case["tasks"][0]["owner_unit"] == "sx-pcs-sc"
    events = cases.case_timeline(result["case_id"], "sx-police")
    [link] = [e["summary"] for e in events if e["kind"] == "linked_case"]
    assert yantai_case["case_no"] in link
    with Session(db.engine()) as s:
        child = s.exec(select(Child).where(Child.id_number == first["child"]["id_number"])).one()
    # the file stays with yantai's open case (issue 16 §3: a transfer moves it, not a report); yantai is told
    assert (child.jurisdiction, child.township) == ("yantai", first["child"]["township"])
    told = cases.case_timeline(yantai_case["case_id"], "yt-civil")
    assert [e for e in told if e["kind"] == "reported_elsewhere" and result["case_no"] in e["summary"]]


def test_a_resent_report_changes_nothing(db_url: str) -> None:
    report = make_report(idempotency_key="school-2026-0042")
    first = reports.submit_report(report, "sx-intake")
    before = counts(Case, Report, Reporter, Task, Notification, Command)
    again = reports.submit_report(report, "sx-intake")
    assert again == first
    assert counts(Case, Report, Reporter, Task, Notification, Command) == before
    with pytest.raises(Conflict) as err:
        reports.submit_report({**report, "description": "改过的内容"}, "sx-intake")
    assert err.value.field == "idempotency_key"


BAD_INPUTS = [
    ({"jurisdiction": "atlantis"}, "jurisdiction", "unknown_jurisdiction"),
    ({"child.township": "no-such-town"}, "child.township", "unknown_township"),
    ({"situations": ["bored"]}, "situations.0", "invalid_value"),
    ({"situations": []}, "situations", "invalid_value"),
    ({"reporter.unit_type": "bank"}, "reporter.unit_type", "invalid_value"),
    ({"child.birth_date": "2030-01-01", "child.id_number": None}, "child.birth_date", "born_in_future"),
    ({"child.birth_date": "2008-01-01", "child.id_number": None}, "child.birth_date", "not_a_minor"),
    ({"child.id_number": "341324201605170010", "child.birth_date": "2016-05-17"}, "child.id_number", "bad_id_checksum"),
    (
        {"child.id_number": "341324201605180014", "child.birth_date": "2016-05-17"},
        "child.id_number",
        "id_birth_mismatch",
    ),
    ({"discovered_at": "2026-11-24T07:00:00"}, "discovered_at", "naive_datetime"),
    ({"child.nickname": "x"}, "child.nickname", "unknown_field"),
]


@pytest.mark.parametrize("override,field,code", BAD_INPUTS, ids=[b[1] + ":" + str(b[2]) for b in BAD_INPUTS])
def test_bad_input_is_refused_with_its_field_and_changes_nothing(
    db_url: str, override: dict, field: str, code: str
) -> None:
    before = counts(Case, Child, Report, Reporter, Task, Notification, Command)
    with pytest.raises(InvalidInput) as err:
        reports.submit_report(make_report(**override), "sx-intake")
    assert (err.value.field, err.value.code) == (field, code)
    assert err.value.message
    assert counts(Case, Child, Report, Reporter, Task, Notification, Command) == before


def test_only_police_register_reports(db_url: str) -> None:
    before = counts(Case, Command)
    for who, code in (
        ("sx-director-dg", "role_may_not_register"),
        ("nobody", "unknown_user"),
        ("mtg-intake", "other_jurisdiction"),
    ):
        with pytest.raises(InvalidInput) as err:
            reports.submit_report(make_report(), who)
        assert (err.value.code, err.value.field) == (code, "as")
    assert counts(Case, Command) == before
