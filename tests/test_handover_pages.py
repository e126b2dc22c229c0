"""Issue 16 §2–3 on the pages: the correction form for those the pack allows, 认领 / 转交 on a task, and a
case transferred in a real browser — sent from the case page, accepted on the receiving county's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import CHROMIUM, PASSWORD, arrive, csrf, make_report, user_of
from readable import unreadable, visible_text, vocabulary_codes

from services import accounts, cases, reports
from services import tasks as tasks_service

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def problems_in(page: str) -> list[str]:
    """What people must not read on the page (tests/readable.py): codes, English, raw timestamps."""
    return unreadable(visible_text(page), vocabulary_codes())


def _assessing() -> dict[str, Any]:
    made = reports.submit_report(make_report("sixian"), user_of("sixian", "police_intake"))
    case = arrive(made["case_id"], user_of("sixian", "police"))
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    return tasks_service.complete_task(
        task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, user_of("sixian", "police")
    )


def test_the_case_page_offers_correction_only_to_those_allowed(browser_like: Any, prefect_server: str) -> None:
    case = _assessing()
    civil = browser_like("sx-civil")
    page = civil.get(f"/cases/{case['case_no']}")
    assert page.status_code == 200 and "更正与移交" in page.text and "申请移交" in page.text
    assert problems_in(page.text) == []
    for who in ("sx-supervisor-sc", "sx-manager"):
        assert (
            'action="/cases/' + case["case_no"] + '/correct"'
            not in browser_like(who).get(f"/cases/{case['case_no']}").text
        )
    bad = civil.post(
        f"/cases/{case['case_no']}/correct",
        data={"csrf": csrf(page.text), "field": "child.birth_date", "value": "2999-01-01", "reason": "录入错误"},
        follow_redirects=True,
    )
    assert "出生日期" in bad.text and "更正" in bad.text
    good = civil.post(
        f"/cases/{case['case_no']}/correct",
        data={"csrf": csrf(page.text), "field": "township", "value": "草沟镇人民政府", "reason": "乡镇填错"},
        follow_redirects=True,
    )
    assert good.status_code == 200 and "已更正" in good.text
    assert cases.show_case(case["case_no"], None, record_read=False)["township"] == "sx-t-cg"
    assert problems_in(good.text) == []


def test_a_task_is_claimed_from_its_page_and_the_lists_say_by_whom(browser_like: Any, prefect_server: str) -> None:
    case = _assessing()
    task = next(t for t in case["tasks"] if t["kind"] == "assessment")
    worker = browser_like("sx-supervisor-sc")
    listed = worker.get("/tasks")
    assert "认领 / 转交" in listed.text
    page = worker.get(f"/tasks/{task['task_id']}")
    assert "认领" in page.text and f"/tasks/{task['task_id']}/handover" in page.text
    form = worker.get(f"/tasks/{task['task_id']}/handover")
    assert form.status_code == 200 and "草沟镇" in form.text and problems_in(form.text) == []
    assert browser_like("sx-civil").get(f"/tasks/{task['task_id']}/handover").status_code == 403
    done = worker.post(
        f"/tasks/{task['task_id']}/handover", data={"csrf": csrf(page.text), "action": "claim"}, follow_redirects=True
    )
    assert done.status_code == 200
    name = next(u.display_name for u in accounts_list() if u.username == "sx-supervisor-sc")
    assert f"由{name}办理" in done.text and f"由{name}办理" in worker.get("/tasks").text
    assert problems_in(worker.get("/tasks").text) == []


def accounts_list() -> list[Any]:
    from sqlmodel import Session, select

    from models import User
    from shouhu import db

    with Session(db.engine()) as s:
        return list(s.exec(select(User)).all())


def test_a_transfer_in_a_real_browser(site: str, database_url: str, prefect_server: str) -> None:
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    case = _assessing()
    for user in ("sx-civil", "yt-civil"):
        accounts.set_password(user, PASSWORD, must_change=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def sign_in(username: str) -> Any:
            page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
            page.goto(f"{site}/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            return page

        sender = sign_in("sx-civil")
        sender.goto(f"{site}/cases/{case['case_no']}")
        sender.select_option("#transfer-to", "yantai")
        sender.fill("#transfer-reason", "儿童随母亲迁居烟台")
        sender.click("button[value=send]")
        sender.wait_for_url(f"{site}/cases/{case['case_no']}")
        assert "正申请移交" in sender.content()
        sender.screenshot(path=str(ARTIFACTS / f"{backend}-transfer-1-sent.png"), full_page=True)

        receiver = sign_in("yt-civil")
        receiver.goto(f"{site}/cases")
        receiver.click(f"text={case['case_no']}")
        receiver.wait_for_url(f"{site}/cases/{case['case_no']}")
        assert receiver.evaluate("document.documentElement.scrollWidth") <= 390  # a phone's width
        receiver.select_option("#accept-place", "yt-t-mq/yt-v-mq-dl")
        receiver.screenshot(path=str(ARTIFACTS / f"{backend}-transfer-2-to-accept.png"), full_page=True)
        receiver.click("button[value=accept]")
        receiver.wait_for_url(f"{site}/cases/{case['case_no']}")
        assert "已接收案件" in receiver.content() and "正申请移交" not in receiver.content()
        receiver.screenshot(path=str(ARTIFACTS / f"{backend}-transfer-3-accepted.png"), full_page=True)
        browser.close()
    shown = cases.show_case(case["case_no"], None, record_read=False)
    assert (shown["jurisdiction"], shown["township"], shown["village"]) == ("yantai", "yt-t-mq", "yt-v-mq-dl")
