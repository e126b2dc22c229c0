"""Approvals (issue 16 §1) and reopening (§4): a closing decision and a 不属实 finding wait for the unit
the pack names; approved they take effect as before, refused (with a reason) the work reopens for the
same unit and the unit that asked is told; pending approvals escalate; a closed case reopens within
the pack's window, after it a new report opens a new case listed with the earlier ones."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from approving import approve_pending, bureau_user, decider, pending_of
from conftest import counts, make_report, user_of
from sqlmodel import Session, select
from test_cli import cli  # noqa: F401  (the CLI as a subprocess, with its own database)
from test_county_rules import to_final_review

from models import Approval, Breach, Case, ChildCategory, Command, Notification, Task, TimelineEvent
from services import approvals, cases, children, reports
from services import tasks as tasks_service
from shouhu import clock, db, policy
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from tasks import sweep

PACKS = ["yantai", "sixian", "yunyang", "wuhai", "mentougou"]


def open_task(case: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open")


def exit_reason(jurisdiction: str) -> str:
    return next(k for k, r in policy.pack(jurisdiction).exit_reasons.value.items() if not r.until_graduation)


def unfounded(jurisdiction: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A report the police find 不属实: (the case as it then is, the emergency task they answered)."""
    opened = reports.submit_report(make_report(jurisdiction), user_of(jurisdiction, "police_intake"))
    police = user_of(jurisdiction, "police")
    case = cases.show_case(opened["case_id"], police, record_read=False)
    task = open_task(case, "emergency_response")
    outcome = {"unfounded": True, "unfounded_reason": "经核查，儿童由祖母照看，情况不属实"}
    return tasks_service.complete_task(task["task_id"], outcome, police), task


def closing(jurisdiction: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A final review that closes the case: (the case as it then is, the review task)."""
    case = to_final_review(jurisdiction)
    task = open_task(case, "final_review")
    worker = user_of(jurisdiction, "township_caseworker", task["owner_unit"])
    return tasks_service.complete_task(task["task_id"], {"exit_reason": exit_reason(jurisdiction)}, worker), task


DECISIONS = {"closure": closing, "unfounded": unfounded}
DECIDING_UNIT_TYPE = {"closure": "civil_affairs", "unfounded": "police_bureau"}


def told(case_id: str, event: str) -> list[str]:
    with Session(db.engine()) as s:
        return list(
            s.exec(
                select(Notification.unit).where(Notification.case_id == uuid.UUID(case_id), Notification.event == event)
            ).all()
        )


@pytest.mark.parametrize("jurisdiction", PACKS)
@pytest.mark.parametrize("kind", ["closure", "unfounded"])
def test_a_decision_that_ends_protection_waits_refused_it_reopens_approved_it_takes_effect(
    db_url: str, jurisdiction: str, kind: str
) -> None:
    """Every pack × {closing, 不属实}: pending keeps the case as it was; refusing reopens the same work
    for the same unit with a fresh deadline and tells it; approving (the redone work, asked again) closes."""
    p = policy.pack(jurisdiction)
    case, task = DECISIONS[kind](jurisdiction)
    before = (case["stage"], case["status"])
    assert before[1] == "open" and before[0] != "closed"  # pending: the case keeps its stage and status
    assert not [
        t for t in case["tasks"] if t["status"] == "open" and t["kind"] == task["kind"]
    ]  # nothing reopened twice
    [waiting] = pending_of(case["case_id"])
    assert waiting["kind"] == kind and p.unit(waiting["unit"]).type == DECIDING_UNIT_TYPE[kind]
    assert told(case["case_id"], "approval_requested") == [waiting["unit"]]
    listed = approvals.list_approvals(decider(waiting, jurisdiction))
    assert [a["approval_id"] for a in listed if a["case_id"] == case["case_id"]] == [waiting["approval_id"]]
    assert set(listed[0]) >= {"approval_id", "case_id", "case_no", "kind", "requested_by", "due_at", "status"}

    refused = approve_pending(case, approve=False, reason="走访记录不全，请补充核查")
    assert (refused["stage"], refused["status"]) == before
    redo = open_task(refused, task["kind"])
    assert redo["task_id"] != task["task_id"] and redo["owner_unit"] == task["owner_unit"]
    assert datetime.fromisoformat(redo["due_at"]) > clock.now()
    assert task["owner_unit"] in told(case["case_id"], "approval_refused")
    assert pending_of(case["case_id"]) == []

    clock.advance(hours=2)
    actor = user_of(jurisdiction, "police" if kind == "unfounded" else "township_caseworker", task["owner_unit"])
    outcome = (
        {"unfounded": True, "unfounded_reason": "补充核查后仍不属实"}
        if kind == "unfounded"
        else {"exit_reason": exit_reason(jurisdiction)}
    )
    again = tasks_service.complete_task(redo["task_id"], outcome, actor)
    assert (again["stage"], again["status"]) == before
    closed = approve_pending(again)
    assert closed["stage"] == "closed" and closed["status"] in ("closed", "phase_out")
    assert closed["close_reason"] == ("unfounded" if kind == "unfounded" else "exit")
    assert cases.verify_case(case["case_id"])["ok"]
    kinds = [e["kind"] for e in cases.case_timeline(case["case_id"], record_read=False)]
    assert kinds.count("approval_requested") == 2 and "approval_refused" in kinds and "approval_granted" in kinds
    assert kinds.index("approval_granted") < kinds.index("case_closed")


def test_a_pack_that_turns_an_approval_off_closes_at_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`required: false` in a pack: the 不属实 finding closes the case as it did before approvals."""
    import tasks.transition

    real = policy.pack("sixian")
    rules = real.approvals.value
    off = rules.model_copy(
        update={
            "decisions": {
                **rules.decisions,
                "unfounded": rules.decisions["unfounded"].model_copy(update={"required": False}),
            }
        }
    )
    changed = real.model_copy(update={"approvals": real.approvals.model_copy(update={"value": off})})
    monkeypatch.setattr(tasks.transition, "pack", lambda name: changed if name == "sixian" else policy.pack(name))
    case, _ = unfounded("sixian")
    assert (case["stage"], case["close_reason"]) == ("closed", "unfounded") and pending_of(case["case_id"]) == []
    closure = closing("sixian")[0]  # closing still waits
    assert closure["stage"] != "closed" and len(pending_of(closure["case_id"])) == 1


def test_bad_decisions_are_refused_at_their_fields_and_change_nothing(db_url: str) -> None:
    case, _ = unfounded("sixian")
    [waiting] = pending_of(case["case_id"])
    officer = bureau_user("sixian")
    tables = (Approval, Command, TimelineEvent, Notification, Task)
    before = counts(*tables)
    bad: list[tuple[Any, str, str]] = [
        ({}, "missing_field", "approve"),
        ({"approve": "yes"}, "invalid_value", "approve"),
        ({"approve": 1}, "invalid_value", "approve"),
        ({"approve": False}, "missing_field", "reason"),
        ({"approve": False, "reason": "   "}, "missing_field", "reason"),
        ({"approve": True, "reason": "x" * 100_000}, "too_long", "reason"),
        ({"approve": True, "why": "多余"}, "unknown_field", "why"),
        ([], "not_an_object", ""),
    ]
    for data, code, field in bad:
        with pytest.raises(InvalidInput) as err:
            approvals.decide_approval(waiting["approval_id"], data, officer)
        assert (err.value.code, err.value.field or "") == (code, field), data
    for ref in ("nope", str(uuid.uuid4())):
        with pytest.raises(NotFound) as err:
            approvals.decide_approval(ref, {"approve": True}, officer)
        assert err.value.code == "unknown_approval"
    for stranger in ("sx-civil", "sx-supervisor-sc", "sx-intake"):  # another unit; a role that does not decide
        with pytest.raises(Forbidden):
            approvals.decide_approval(waiting["approval_id"], {"approve": True}, stranger)
    with pytest.raises(Forbidden) as err:  # the one who found it 不属实 may not approve it
        approvals.decide_approval(waiting["approval_id"], {"approve": True}, waiting["requested_by"])
    assert err.value.code in ("own_decision", "unit_may_not_decide")
    assert {k: v for k, v in counts(*tables).items()} == before
    assert cases.show_case(case["case_id"], "sx-police", record_read=False)["stage"] == "emergency"
    approve_pending(case)
    with pytest.raises(Conflict) as late:
        approvals.decide_approval(waiting["approval_id"], {"approve": False, "reason": "再议"}, officer)
    assert late.value.code == "approval_not_pending"
    with pytest.raises(InvalidInput) as err:
        approvals.list_approvals(officer, status="maybe")
    assert err.value.field == "status"


def test_the_one_who_asked_may_not_approve_another_of_the_unit_above_may(db_url: str) -> None:
    """Self-approval: civil affairs asks to reopen (it decides reopenings); the unit above it decides."""
    closed = approve_pending(closing("sixian")[0])
    asked = approvals.reopen_case(closed["case_id"], {"reason": "邻居反映儿童再次独自在家"}, "sx-civil")
    assert asked["approval_id"] and asked["stage"] == "closed"
    with pytest.raises(Forbidden) as err:
        approvals.decide_approval(asked["approval_id"], {"approve": True}, "sx-civil")
    assert err.value.code == "own_decision"
    reopened = approvals.decide_approval(asked["approval_id"], {"approve": True, "reason": "同意"}, "sx-manager")
    assert (reopened["stage"], reopened["status"]) == ("assessment", "open")


def test_a_pending_approval_escalates_through_the_sweeper_and_its_breach_closes_when_decided(db_url: str) -> None:
    case, _ = unfounded("sixian")
    [waiting] = pending_of(case["case_id"])
    due = datetime.fromisoformat(waiting["due_at"])
    sweep.tick(due - timedelta(minutes=1))  # reminders only
    with Session(db.engine()) as s:
        assert s.exec(select(Breach).where(Breach.case_id == uuid.UUID(case["case_id"]))).all() == []
    levels = policy.pack("sixian").levels("approval")
    sweep.tick(due + timedelta(days=10))  # every level has come
    with Session(db.engine()) as s:
        breach = s.exec(select(Breach).where(Breach.case_id == uuid.UUID(case["case_id"]))).one()
        escalated = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.case_id == uuid.UUID(case["case_id"]), TimelineEvent.kind == "deadline_escalated"
            )
        ).all()
        messages = s.exec(
            select(Notification).where(
                Notification.case_id == uuid.UUID(case["case_id"]), Notification.event == "escalation"
            )
        ).all()
    assert (breach.owner_unit, breach.level, breach.supervised) == (waiting["unit"], len(levels), True)
    assert [e.payload["level"] for e in escalated] == list(range(1, len(levels) + 1))
    assert all(e.payload["approval_id"] == waiting["approval_id"] for e in escalated)
    assert waiting["unit"] in {m.unit for m in messages} and "sx-coord" in {m.unit for m in messages}
    assert all("审批" in m.subject for m in messages)
    sweep.tick(due + timedelta(days=20))  # nothing fires twice
    with Session(db.engine()) as s:
        assert len(s.exec(select(TimelineEvent).where(TimelineEvent.kind == "deadline_escalated")).all()) == len(levels)
    clock.set_now(due + timedelta(days=20))
    approve_pending(case)
    with Session(db.engine()) as s:
        done = s.exec(select(Breach).where(Breach.case_id == uuid.UUID(case["case_id"]))).one()
    assert done.resolved_at is not None and done.late_by_minutes and done.late_by_minutes > 0
    assert cases.verify_case(case["case_id"])["ok"]


def on_ledger_now(case_id: str) -> set[str]:
    with Session(db.engine()) as s:
        child = s.get_one(Case, uuid.UUID(case_id)).child_id
        rows = s.exec(select(ChildCategory).where(ChildCategory.child_id == child)).all()
    today = clock.now().date()
    return {r.category for r in rows if r.ended_on is None or r.ended_on > today}


def test_a_closed_case_reopens_within_the_window_with_approval(db_url: str) -> None:
    case = approve_pending(closing("sixian")[0])
    assert case["stage"] == "closed" and on_ledger_now(case["case_id"]) == set()
    worker = user_of("sixian", "township_caseworker", case["township"])
    clock.advance(days=30)
    for data, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x", "more": 1}, "more")):
        with pytest.raises(InvalidInput) as err:
            approvals.reopen_case(case["case_id"], data, worker)
        assert err.value.field == field
    with pytest.raises(Forbidden):
        approvals.reopen_case(case["case_id"], {"reason": "新的危险"}, "sx-intake")
    asked = approvals.reopen_case(case["case_id"], {"reason": "学校报告儿童身上有新伤"}, worker)
    assert asked["stage"] == "closed" and asked["approval_id"]  # waits for civil affairs
    with pytest.raises(Conflict) as err:
        approvals.reopen_case(case["case_id"], {"reason": "再次提请"}, worker)
    assert err.value.code == "approval_pending"
    reopened = approve_pending(asked)
    assert (reopened["stage"], reopened["status"], reopened["closed_at"]) == ("assessment", "open", None)
    assessment = open_task(reopened, "assessment")
    assert assessment["owner_unit"] == case["township"]
    assert on_ledger_now(case["case_id"]) == {policy.pack("sixian").report_category.value}
    kinds = [e["kind"] for e in cases.case_timeline(case["case_id"], record_read=False)]
    assert "case_reopened" in kinds and kinds.index("approval_granted") < kinds.index("case_reopened")
    with pytest.raises(Conflict) as err:
        approvals.reopen_case(case["case_id"], {"reason": "又一次"}, worker)
    assert err.value.code == "case_not_closed"
    assert cases.verify_case(case["case_id"])["ok"]


def test_a_refused_reopening_leaves_the_case_closed_and_tells_who_asked(db_url: str) -> None:
    case = approve_pending(closing("sixian")[0])
    worker = user_of("sixian", "township_caseworker", case["township"])
    asked = approvals.reopen_case(case["case_id"], {"reason": "家长来电"}, worker)
    after = approve_pending(asked, approve=False, reason="电话核实无新的危险")
    assert (after["stage"], after["status"]) == ("closed", "closed")
    assert case["township"] in told(case["case_id"], "approval_refused")


def test_after_the_window_a_new_report_opens_a_new_case_listed_with_the_earlier_one(browser_like: Any) -> None:
    made = make_report()
    opened = reports.submit_report(made, "sx-intake")
    first = cases.show_case(opened["case_id"], "sx-police", record_read=False)
    police = tasks_service.complete_task(
        open_task(first, "emergency_response")["task_id"],
        {"unfounded": True, "unfounded_reason": "不属实"},
        "sx-police",
    )
    approve_pending(police)
    months = policy.pack("sixian").approvals.value.reopen_months
    clock.advance(days=31 * months + 1)
    with pytest.raises(Conflict) as err:
        approvals.reopen_case(opened["case_id"], {"reason": "新的危险"}, "sx-police")
    assert err.value.code == "reopen_window_passed"
    again = reports.submit_report({**made, "discovered_at": clock.now().isoformat()}, "sx-intake")
    assert again["case_no"] != opened["case_no"] and not again["attached_to_existing"]
    with Session(db.engine()) as s:
        child_id = s.get_one(Case, uuid.UUID(opened["case_id"])).child_id
    listed = children.show_child(str(child_id), "sx-civil")["cases"]
    assert [c["case_no"] for c in listed] == [opened["case_no"], again["case_no"]]
    assert [c["status"] for c in listed] == ["closed", "open"]
    page = browser_like("sx-civil").get(f"/children/{child_id}")
    assert page.status_code == 200 and page.text.count("此前案件") == 1


def test_the_api_lists_and_decides(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from services import accounts
    from web.app import create_app

    client = TestClient(create_app(), raise_server_exceptions=False)
    case, _ = unfounded("sixian")
    officer = bureau_user("sixian")
    token = {"Authorization": f"Bearer {accounts.create_token(officer, 'approvals')['token']}"}
    listed = client.get("/api/v1/approvals", headers=token)
    assert listed.status_code == 200 and [a["case_no"] for a in listed.json()] == [case["case_no"]]
    url = f"/api/v1/approvals/{listed.json()[0]['approval_id']}/decide"
    bad = client.post(url, headers=token, json={"approve": False})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "reason"
    police = {"Authorization": f"Bearer {accounts.create_token('sx-police', 'approvals')['token']}"}
    assert client.post(url, headers=police, json={"approve": True}).status_code == 403
    done = client.post(url, headers=token, json={"approve": True, "reason": "同意"})
    assert done.status_code == 200 and done.json()["stage"] == "closed"
    assert client.post(url, headers=token, json={"approve": True}).status_code == 409
    worker = {"Authorization": f"Bearer {accounts.create_token('sx-supervisor-sc', 'approvals')['token']}"}
    reopened = client.post(f"/api/v1/cases/{case['case_no']}/reopen", headers=worker, json={"reason": "新的危险"})
    assert reopened.status_code == 200 and reopened.json()["approval_id"]
    assert client.get("/api/v1/approvals?status=maybe", headers=token).status_code == 400


def test_civil_affairs_approves_a_closing_in_a_browser_on_a_phone(site: str, database_url: str) -> None:
    """sx-civil opens 审批 on a 390px phone, finds the pending closing, is told to choose, approves it
    with a reason; the case page then shows the approval and the case closed."""
    from pathlib import Path

    from conftest import CHROMIUM, PASSWORD
    from playwright.sync_api import sync_playwright

    from services import accounts

    artifacts = Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    case, _ = closing("sixian")
    accounts.set_password("sx-civil", PASSWORD, must_change=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
        page.goto(f"{site}/login")
        page.fill("#username", "sx-civil")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        page.click("nav a[href='/approvals']")
        page.wait_for_url(f"{site}/approvals")
        row = page.locator(f"tr:has(a[href='/cases/{case['case_no']}#approvals'])")
        assert "结案" in row.inner_text() and "待审批" in row.inner_text()
        page.screenshot(path=str(artifacts / f"{backend}-approvals-list-phone.png"), full_page=True)
        row.locator("a").click()
        page.wait_for_url(f"{site}/cases/{case['case_no']}#approvals")
        card = page.locator(".approval").first
        assert "待审批" in card.inner_text() and "泗县民政局" in card.inner_text()
        page.click(".approval button[type=submit]")  # nothing chosen: told at the field, nothing changed
        assert "请选择同意或不同意" in page.locator(".approval .error").inner_text()
        page.check(".approval input[name=approve][value=true]")
        page.fill(".approval textarea[name=reason]", "回访记录完整，同意结案")
        page.screenshot(path=str(artifacts / f"{backend}-approval-decide-phone.png"), full_page=True)
        page.click(".approval button[type=submit]")
        page.wait_for_load_state()
        card = page.locator(".approval").first
        assert "已同意" in card.inner_text() and "回访记录完整，同意结案" in card.inner_text()
        assert "已结案" in page.inner_text("h1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=str(artifacts / f"{backend}-approval-decided-phone.png"), full_page=True)
        browser.close()
    assert cases.show_case(case["case_id"], "sx-civil", record_read=False)["stage"] == "closed"


def test_the_cli_lists_decides_and_reopens_with_its_exit_codes(cli: Any) -> None:  # noqa: F811
    """`shouhu approvals`, `shouhu approval decide`, `shouhu case reopen` as real subprocesses: one JSON
    document each, exit 2 for the one who asked, 3 once decided; the coordination office (above the
    county police bureau) decides 不属实 here, the demo packs having no bureau officer."""
    opened = cli("report", "-", "--as", "sx-intake", stdin=make_report())
    case = cli("case", "show", opened["case_id"], "--as", "sx-police")
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    found = cli(
        "task",
        "complete",
        task["task_id"],
        "-",
        "--as",
        "sx-police",
        stdin={"unfounded": True, "unfounded_reason": "不属实"},
    )
    assert (found["stage"], found["status"]) == ("emergency", "open")
    [waiting] = cli("approvals", "--as", "sx-manager")
    assert {"approval_id", "case_id", "case_no", "kind", "requested_by", "due_at", "status"} <= set(waiting)
    assert (waiting["case_no"], waiting["kind"], waiting["status"]) == (opened["case_no"], "unfounded", "pending")
    assert cli("approvals", "--as", "sx-civil") == []  # civil affairs decides none of these
    assert [a["kind"] for a in cli("approvals", "--unit", "sx-ga", "--as", "sx-civil")] == ["unfounded"]
    own = cli("approval", "decide", waiting["approval_id"], "-", "--as", "sx-police", stdin={"approve": True}, code=2)
    assert own["error"]["code"] == "own_decision"
    bad = cli("approval", "decide", waiting["approval_id"], "-", "--as", "sx-manager", stdin={"approve": False}, code=2)
    assert bad["error"]["field"] == "reason"
    closed = cli(
        "approval",
        "decide",
        waiting["approval_id"],
        "-",
        "--as",
        "sx-manager",
        stdin={"approve": True, "reason": "同意"},
    )
    assert closed["stage"] == "closed"
    again = cli(
        "approval", "decide", waiting["approval_id"], "-", "--as", "sx-manager", stdin={"approve": True}, code=3
    )
    assert again["error"]["code"] == "approval_not_pending"
    asked = cli("case", "reopen", opened["case_no"], "-", "--as", "sx-police", stdin={"reason": "再次报告"})
    assert asked["stage"] == "closed" and asked["approval_id"]
    assert (
        cli("case", "reopen", opened["case_no"], "-", "--as", "sx-police", stdin={"reason": "x"}, code=3)["error"][
            "code"
        ]
        == "approval_pending"
    )


def test_the_approval_pages_read_in_chinese_and_a_refused_form_keeps_what_was_typed(browser_like: Any) -> None:
    """The 审批 list and the case page's approvals, decide and reopen forms: no code, English word or raw
    time; a refusal without a reason comes back at its field with the choice kept, nothing changed."""
    from readable import unreadable, visible_text, vocabulary_codes

    codes = vocabulary_codes()
    case, _ = closing("sixian")
    civil = browser_like("sx-civil")
    listed = civil.get("/approvals")
    assert listed.status_code == 200 and case["case_no"] in listed.text
    for status in ("approved", "refused"):
        assert unreadable(visible_text(civil.get(f"/approvals?status={status}").text), codes) == []
    page = civil.get(f"/cases/{case['case_no']}")
    assert "提交审批意见" in page.text and unreadable(visible_text(page.text), codes) == []
    [waiting] = pending_of(case["case_id"])
    from conftest import csrf

    before = counts(Approval, Command)  # (the page it comes back to records its read: that is all)
    refused = civil.post(
        f"/approvals/{waiting['approval_id']}/decide",
        data={"csrf": csrf(page.text), "case_no": case["case_no"], "approve": "false", "reason": ""},
        follow_redirects=True,
    )
    assert "必填：请填写理由" in refused.text and 'value="false" checked' in refused.text
    assert counts(Approval, Command) == before and pending_of(case["case_id"]) == [waiting]
    worker = browser_like(user_of("sixian", "township_caseworker", case["township"]))
    own = worker.get(f"/cases/{case['case_no']}")
    assert "提交审批意见" not in own.text and "须由其他人员审批" in own.text
    done = civil.post(
        f"/approvals/{waiting['approval_id']}/decide",
        data={"csrf": csrf(page.text), "case_no": case["case_no"], "approve": "true", "reason": "回访记录完整可以结束"},
        follow_redirects=True,
    )
    assert "已同意" in done.text and "重新办理" in done.text  # the closed case offers the reopen form
    assert unreadable(visible_text(done.text), codes) == []
    manager = browser_like("sx-manager").get(f"/cases/{case['case_no']}")
    assert "回访记录完整可以结束" in done.text and "回访记录完整可以结束" not in manager.text  # masked for managers
