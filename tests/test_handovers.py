"""Issue 16 §2–3: corrections, tasks claimed and handed over, cases transferred between counties, and a
report in another county that no longer moves the child's file away from an open case."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from conftest import arrive, make_report, user_of
from sqlmodel import Session, select

from models import Child, Deadline, Notification, TimelineEvent
from services import accounts, cases, corrections, handovers, reports
from services import tasks as tasks_service
from shouhu import clock, db, idnumber, policy
from shouhu.errors import Conflict, Forbidden, InvalidInput


def _case(jurisdiction: str = "sixian", **overrides: Any) -> dict[str, Any]:
    made = reports.submit_report(make_report(jurisdiction, **overrides), user_of(jurisdiction, "police_intake"))
    return arrive(made["case_id"], user_of(jurisdiction, "police"))


def _assessing(jurisdiction: str = "sixian") -> dict[str, Any]:
    """A case in 评估帮扶: the township's assessment open (its deadline running)."""
    case = _case(jurisdiction)
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response" and t["status"] == "open")
    return tasks_service.complete_task(
        task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, user_of(jurisdiction, "police")
    )


def _open(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in cases.show_case(case["case_id"], None, record_read=False)["tasks"] if t["status"] == "open"]


def _told(case_id: str, event: str) -> set[str]:
    with Session(db.engine()) as s:
        rows = s.exec(select(Notification).where(Notification.event == event)).all()
    return {n.unit for n in rows if n.case_id == uuid.UUID(case_id)}


def _events(case_id: str, kind: str) -> list[TimelineEvent]:
    with Session(db.engine()) as s:
        return list(
            s.exec(
                select(TimelineEvent).where(TimelineEvent.case_id == uuid.UUID(case_id), TimelineEvent.kind == kind)
            ).all()
        )


def _deadlines(case_id: str) -> dict[str, Any]:
    with Session(db.engine()) as s:
        rows = s.exec(select(Deadline).where(Deadline.case_id == uuid.UUID(case_id))).all()
    return {str(d.task_id): d.due_at for d in rows}


# ---- corrections -------------------------------------------------------------------------------
GOOD = {
    "child.name": "更正后姓名",
    "child.birth_date": None,  # filled per case: a date that keeps the ID number consistent is refused
    "situations": ["domestic_violence"],
    "village": "sx-v-sc-dg",
}
BAD = [
    ("child.name", "", "missing_field"),
    ("child.name", "名\n字", "control_character"),
    ("child.birth_date", "2030-01-01", "born_in_future"),
    ("child.birth_date", "2000-01-01", "not_a_minor"),
    ("child.birth_date", "not a date", "invalid_value"),
    ("child.id_number", "123", "bad_id_number"),
    ("situations", [], "invalid_value"),
    ("situations", ["flying"], "invalid_value"),
    ("township", "nowhere", "unknown_township"),
    ("village", "sx-v-cg-xz", "unknown_village"),  # a village of the other township
]


@pytest.mark.parametrize(("field", "value", "code"), BAD)
def test_a_wrong_value_is_refused_at_its_field_changing_nothing(
    db_url: str, prefect_server: str, field: str, value: Any, code: str
) -> None:
    case = _case()
    before = cases.case_timeline(case["case_id"], None, record_read=False)
    with pytest.raises(InvalidInput) as caught:
        corrections.correct_case(
            case["case_no"], {"field": field, "value": value, "reason": "录入错误"}, user_of("sixian", "civil_affairs")
        )
    assert caught.value.field == field, caught.value.as_json()
    assert caught.value.code == code, caught.value.as_json()
    assert cases.case_timeline(case["case_id"], None, record_read=False) == before


@pytest.mark.parametrize("field", ["child.name", "child.birth_date", "child.id_number", "situations"])
def test_a_field_is_put_right_and_the_original_stays_on_the_timeline(
    db_url: str, prefect_server: str, field: str
) -> None:
    case = _case()
    with Session(db.engine()) as s:
        child = s.exec(select(Child).where(Child.name == case["child"]["name"])).one()
    value: Any = GOOD.get(field)
    if field == "child.id_number":
        value = idnumber.make("341324", child.birth_date, 777)
    if field == "child.birth_date":
        with Session(db.engine()) as s:
            row = s.get_one(Child, child.id)
            row.id_number = None  # a file without ID number: the birth date alone is corrected
            s.add(row)
            s.commit()
        value = "2017-03-04"
    before = {
        "child.name": child.name,
        "child.birth_date": child.birth_date.isoformat(),
        "child.id_number": child.id_number,
        "situations": ["guardian_neglect"],
    }[field]
    shown = corrections.correct_case(
        case["case_no"], {"field": field, "value": value, "reason": "录入错误"}, user_of("sixian", "police")
    )
    assert shown["case_no"] == case["case_no"]
    [event] = _events(case["case_id"], "case_corrected")
    assert event.payload["field"] == field and event.payload["after"] == value
    assert event.payload["before"] == before and event.payload["reason"] == "录入错误"
    assert cases.verify_case(case["case_id"])["ok"]
    if field.startswith("child."):
        with Session(db.engine()) as s:
            got = getattr(s.get_one(Child, child.id), field.removeprefix("child."))
        assert (got.isoformat() if isinstance(got, date) else got) == value


def test_an_id_number_another_file_has_is_refused_pointing_to_the_merge(db_url: str, prefect_server: str) -> None:
    first, second = _case(), _case()
    with Session(db.engine()) as s:
        other = s.exec(select(Child).where(Child.name == second["child"]["name"])).one().id_number
    with pytest.raises(Conflict) as caught:
        corrections.correct_case(
            first["case_no"],
            {"field": "child.id_number", "value": other, "reason": "录入错误"},
            user_of("sixian", "civil_affairs"),
        )
    assert caught.value.code == "child_file_exists" and "merge" in caught.value.message
    assert caught.value.field == "child.id_number"


@pytest.mark.parametrize("who", ["township_caseworker", "village_director", "manager"])
def test_only_the_units_the_pack_names_correct(db_url: str, prefect_server: str, who: str) -> None:
    case = _case()
    with pytest.raises(Forbidden):
        corrections.correct_case(
            case["case_no"], {"field": "child.name", "value": "新名", "reason": "录入错误"}, user_of("sixian", who)
        )


def test_a_new_township_moves_the_open_tasks_with_their_deadlines_and_tells_both(
    db_url: str, prefect_server: str
) -> None:
    case = _assessing()
    due = _deadlines(case["case_id"])
    [assessment] = [t for t in _open(case) if t["kind"] == "assessment"]
    assert assessment["owner_unit"] == "sx-t-sc"
    clock.advance(hours=2)
    corrections.correct_case(
        case["case_no"],
        {"field": "township", "value": "sx-t-cg", "village": "sx-v-cg-xz", "reason": "乡镇填错"},
        user_of("sixian", "civil_affairs"),
    )
    [moved] = [t for t in _open(case) if t["kind"] == "assessment"]
    assert moved["owner_unit"] == "sx-t-cg" and moved["task_id"] == assessment["task_id"]
    assert _deadlines(case["case_id"]) == due  # every deadline kept
    assert "sx-t-sc" in _told(case["case_id"], "case_left")
    assert "sx-t-cg" in _told(case["case_id"], "case_arrived")
    shown = cases.show_case(case["case_id"], None, record_read=False)
    assert (shown["township"], shown["village"]) == ("sx-t-cg", "sx-v-cg-xz")
    [event] = _events(case["case_id"], "case_corrected")
    assert event.payload["before"]["township"] == "sx-t-sc"
    assert cases.verify_case(case["case_id"])["ok"]
    with Session(db.engine()) as s:
        body = " ".join(n.body for n in s.exec(select(Notification)).all())
    assert case["child"]["name"] not in body  # no child data in any message


# ---- assign and claim -----------------------------------------------------------------------------
def _colleague(username: str, unit: str, role: str, jurisdiction: str = "sixian") -> str:
    accounts.add_user(
        {"username": username, "role": role, "unit": unit, "display_name": "张三", "jurisdiction": jurisdiction},
        user_of(jurisdiction, "manager"),
    )
    return username


def test_a_task_is_claimed_and_given_within_its_unit(db_url: str, prefect_server: str) -> None:
    case = _assessing()
    [task] = [t for t in _open(case) if t["kind"] == "assessment"]
    worker = user_of("sixian", "township_caseworker", "sx-t-sc")
    shown = handovers.claim_task(task["task_id"], worker)
    assert next(t for t in shown["tasks"] if t["task_id"] == task["task_id"])["assignee"] == worker
    other = _colleague("sx-zhang", "sx-t-sc", "township_caseworker")
    shown = handovers.assign_task(task["task_id"], other, worker)
    assert next(t for t in shown["tasks"] if t["task_id"] == task["task_id"])["assignee"] == other
    kinds = [e.kind for e in _events(case["case_id"], "task_claimed") + _events(case["case_id"], "task_assigned")]
    assert kinds == ["task_claimed", "task_assigned"]
    assert cases.verify_case(case["case_id"])["ok"]


@pytest.mark.parametrize(
    "who", ["other_unit", "disabled", "other_county", "wrong_role_target", "disabled_target", "other_unit_target"]
)
def test_who_may_not_claim_or_give_a_task(db_url: str, prefect_server: str, who: str) -> None:
    case = _assessing()
    [task] = [t for t in _open(case) if t["kind"] == "assessment"]
    worker = user_of("sixian", "township_caseworker", "sx-t-sc")
    if who == "other_unit":
        with pytest.raises(InvalidInput):  # another township's caseworker: not even seen
            handovers.claim_task(task["task_id"], user_of("sixian", "township_caseworker", "sx-t-cg"))
        with pytest.raises(Forbidden):  # county civil affairs read it but it is not their unit's
            handovers.claim_task(task["task_id"], user_of("sixian", "civil_affairs"))
        with pytest.raises(Forbidden):
            handovers.assign_task(task["task_id"], "sx-civil", user_of("sixian", "civil_affairs"))
    elif who == "disabled":
        gone = _colleague("sx-gone", "sx-t-sc", "township_caseworker")
        accounts.set_disabled(gone, True, user_of("sixian", "manager"))
        with pytest.raises(Forbidden):
            handovers.claim_task(task["task_id"], gone)
    elif who == "other_county":
        with pytest.raises(InvalidInput):
            handovers.claim_task(task["task_id"], user_of("yantai", "township_caseworker"))
    elif who == "wrong_role_target":
        with pytest.raises(InvalidInput) as caught:
            handovers.assign_task(task["task_id"], user_of("sixian", "village_director", "sx-v-sc-dg"), worker)
        assert caught.value.field == "to"
    elif who == "disabled_target":
        gone = _colleague("sx-gone2", "sx-t-sc", "township_caseworker")
        accounts.set_disabled(gone, True, user_of("sixian", "manager"))
        with pytest.raises(InvalidInput) as caught:
            handovers.assign_task(task["task_id"], gone, worker)
        assert caught.value.code == "account_disabled"
    else:
        with pytest.raises(InvalidInput) as caught:
            handovers.assign_task(task["task_id"], user_of("sixian", "township_caseworker", "sx-t-cg"), worker)
        assert caught.value.code == "not_in_unit"
    assert all(t["assignee"] is None for t in _open(case))


def test_a_task_handed_to_another_unit_keeps_its_deadline_and_both_are_told(db_url: str, prefect_server: str) -> None:
    case = _assessing()
    [task] = [t for t in _open(case) if t["kind"] == "assessment"]
    due = _deadlines(case["case_id"])[task["task_id"]]
    worker = user_of("sixian", "township_caseworker", "sx-t-sc")
    with pytest.raises(InvalidInput) as caught:
        handovers.assign_task(task["task_id"], None, worker, unit="sx-t-cg")
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput) as caught:
        handovers.assign_task(task["task_id"], None, worker, unit="sx-mz", reason="不适合")
    assert caught.value.code == "unit_cannot_do_task"
    handovers.assign_task(task["task_id"], None, worker, unit="sx-t-cg", reason="儿童实际住在城关")
    [moved] = [t for t in _open(case) if t["kind"] == "assessment"]
    assert moved["owner_unit"] == "sx-t-cg" and _deadlines(case["case_id"])[task["task_id"]] == due
    assert _told(case["case_id"], "case_left") == {"sx-t-sc"}
    assert _told(case["case_id"], "case_arrived") == {"sx-t-cg"}
    with pytest.raises(Forbidden):  # it is no longer theirs to hand on
        handovers.assign_task(task["task_id"], None, worker, unit="sx-t-sc", reason="退回")
    assert cases.verify_case(case["case_id"])["ok"]


# ---- transfer between counties ---------------------------------------------------------------------
def test_a_case_moves_to_another_county_when_it_accepts(db_url: str, prefect_server: str) -> None:
    case = _assessing("sixian")
    open_before = {t["task_id"]: t for t in _open(case)}
    due = _deadlines(case["case_id"])
    sender, receiver = user_of("sixian", "civil_affairs"), user_of("yantai", "civil_affairs")
    with pytest.raises(InvalidInput):  # not readable before the request
        cases.show_case(case["case_no"], receiver)
    handovers.transfer_case(case["case_no"], "yantai", {"reason": "儿童随母迁居烟台"}, sender)
    # both counties see it while it waits
    assert cases.show_case(case["case_no"], sender)["transfer_to"] == "yantai"
    assert cases.show_case(case["case_no"], receiver)["jurisdiction"] == "sixian"
    assert case["case_no"] in [c["case_no"] for c in cases.list_cases(receiver)["items"]]
    assert "yt-mz" in _told(case["case_id"], "transfer_requested")
    with pytest.raises(InvalidInput):  # a township of the receiving county is named, not of the sending one
        handovers.accept_transfer(case["case_no"], {"township": "sx-t-sc"}, receiver)
    with pytest.raises(Conflict):  # the sender does not accept its own request
        handovers.accept_transfer(case["case_no"], {"township": "sx-t-cg"}, sender)
    with pytest.raises(InvalidInput):  # a township's people there do not see it before it is theirs
        handovers.accept_transfer(case["case_no"], {"township": "yt-t-mq"}, user_of("yantai", "township_caseworker"))
    with pytest.raises(Forbidden):  # a manager there reads it but accepts nothing
        handovers.accept_transfer(case["case_no"], {"township": "yt-t-mq"}, user_of("yantai", "manager"))
    shown = handovers.accept_transfer(case["case_no"], {"township": "yt-t-mq", "village": "yt-v-mq-dl"}, receiver)
    assert (shown["jurisdiction"], shown["township"], shown["transfer_to"]) == ("yantai", "yt-t-mq", None)
    moved = {t["task_id"]: t for t in _open(case)}
    assert moved.keys() == open_before.keys()  # nothing lost, nothing duplicated
    assert {t["owner_unit"] for t in moved.values()} <= {u.code for u in policy.pack("yantai").unit_list}
    assert _deadlines(case["case_id"]) == due
    with Session(db.engine()) as s:
        children = s.exec(select(Child).where(Child.name == case["child"]["name"])).all()
    assert len(children) == 1 and children[0].jurisdiction == "yantai" and children[0].township == "yt-t-mq"
    assert "sx-t-sc" in _told(case["case_id"], "case_left") and "yt-t-mq" in _told(case["case_id"], "case_arrived")
    with pytest.raises(InvalidInput):  # the sending county no longer reads it
        cases.show_case(case["case_no"], sender)
    assert cases.verify_case(case["case_id"])["ok"]


@pytest.mark.parametrize("how", ["cancelled", "refused"])
def test_a_transfer_cancelled_or_refused_leaves_the_case_where_it_was(
    db_url: str, prefect_server: str, how: str
) -> None:
    case = _assessing("sixian")
    before = {t["task_id"]: t["owner_unit"] for t in _open(case)}
    sender, receiver = user_of("sixian", "civil_affairs"), user_of("yantai", "civil_affairs")
    handovers.transfer_case(case["case_no"], "yantai", {"reason": "迁居"}, sender)
    with pytest.raises(Conflict):
        handovers.transfer_case(case["case_no"], "wuhai", {"reason": "迁居"}, sender)
    handovers.withdraw_transfer(case["case_no"], {"reason": "核实未迁居"}, sender if how == "cancelled" else receiver)
    assert len(_events(case["case_id"], f"case_transfer_{how}")) == 1
    with pytest.raises(InvalidInput):
        cases.show_case(case["case_no"], receiver)
    with pytest.raises(InvalidInput):  # no longer theirs to see, so nothing to accept
        handovers.accept_transfer(case["case_no"], {"township": "yt-t-mq"}, receiver)
    assert {t["task_id"]: t["owner_unit"] for t in _open(case)} == before
    assert {"sx-mz", "yt-mz"} <= _told(case["case_id"], "transfer_cancelled")


@pytest.mark.parametrize(
    ("who", "to", "data"),
    [
        ("township_caseworker", "yantai", {"reason": "迁居"}),
        ("police", "yantai", {"reason": "迁居"}),
        ("civil_affairs", "sixian", {"reason": "迁居"}),
        ("civil_affairs", "nowhere", {"reason": "迁居"}),
        ("civil_affairs", "yantai", {"reason": ""}),
    ],
)
def test_a_transfer_is_refused_to_whom_or_where_it_may_not_go(
    db_url: str, prefect_server: str, who: str, to: str, data: dict[str, Any]
) -> None:
    case = _case("sixian")
    with pytest.raises(InvalidInput):
        handovers.transfer_case(case["case_no"], to, data, user_of("sixian", who))
    assert cases.show_case(case["case_no"], None, record_read=False)["transfer_to"] is None


# ---- a report in another county -----------------------------------------------------------------------
def test_a_report_in_another_county_keeps_the_childs_file_and_tells_that_county(
    db_url: str, prefect_server: str
) -> None:
    first = make_report("sixian")
    made = reports.submit_report(first, user_of("sixian", "police_intake"))
    second = make_report("yantai")
    second["child"] = {**first["child"], "township": "yt-t-qy", "village": "yt-v-qy-xc"}
    other = reports.submit_report(second, user_of("yantai", "police_intake"))
    assert other["case_no"] != made["case_no"]
    with Session(db.engine()) as s:
        [child] = s.exec(select(Child).where(Child.id_number == first["child"]["id_number"])).all()
    assert (child.jurisdiction, child.township) == ("sixian", first["child"]["township"])  # not moved away
    shown = cases.show_case(other["case_id"], None, record_read=False)
    assert (shown["jurisdiction"], shown["township"]) == ("yantai", "yt-t-qy")
    assert _told(made["case_id"], "reported_elsewhere") == {"sx-mz"}
    assert len(_events(made["case_id"], "reported_elsewhere")) == 1
    assert len(_events(other["case_id"], "linked_case")) == 1
    assert cases.verify_case(made["case_id"])["ok"] and cases.verify_case(other["case_id"])["ok"]
