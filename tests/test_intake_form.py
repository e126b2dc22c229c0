"""The report form (issue 15 §4): every problem of a submit at once, each at its field (必填 for
what is missing), the first focused and the summary leading to it; closed lists as selects; the
village list grouped by township and checked against it; the 留守 box; the form only for those
who may register. A real browser fills it at a phone's width."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from conftest import CHROMIUM, PASSWORD, csrf, make_report
from hostile import PAYLOADS, allowed_tags, markup_problems
from sqlmodel import Session, select

from models import AccessRecord, Child, ChildCategory
from services import accounts, cases, tasks
from shouhu import db, policy

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def field_errors(page: str) -> dict[str, str]:
    """Each problem shown at a field: {field: message}."""
    return dict(re.findall(r'<div class="error" id="([^"]+)-error">([^<]+)</div>', page))


def focused(page: str) -> list[str]:
    """The fields the page focuses on load (autofocus)."""
    return re.findall(r'<(?:input|select|textarea)\b[^>]*?(?:id|name)="([^"]+)"[^>]*\bautofocus\b', page)


def townships() -> dict[str, list[str]]:
    p = policy.pack("sixian")
    return {
        t.code: [v.code for v in p.unit_list if v.type == "village" and v.parent == t.code]
        for t in p.unit_list
        if t.type == "township"
    }


def filled(form: str, **overrides: Any) -> dict[str, Any]:
    """A complete form for a fresh child (what the page would send), with `overrides`."""
    report = make_report()
    data = {
        "csrf": csrf(form),
        "idempotency_key": str(uuid.uuid4()),
        "channel": "电话报警",
        "situations": ["guardian_neglect"],
        "description": "孩子独自在家，无人照料",
        "reporter.name": "周老师",
        "reporter.phone": "13700000000",
        "reporter.unit": "中心小学",
        "reporter.unit_type": "school",
        "child.name": report["child"]["name"],
        "child.id_number": report["child"]["id_number"],
        "child.birth_date": report["child"]["birth_date"],
        "child.gender": "female",
        "child.township": report["child"]["township"],
        "child.village": report["child"]["village"],
        "guardian.name": "王某",
        "guardian.relation": "paternal_grandmother",
        "guardian.status": "elderly",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_half_filled_form_shows_every_problem_at_its_field_at_once(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new").text
    half = {
        "csrf": csrf(form),
        "idempotency_key": str(uuid.uuid4()),
        "channel": "110接警",
        "description": "邻居反映孩子多日无人照料",
        "reporter.name": "李某",
        "child.name": "小明",
        "child.birth_date": "2035-01-01",  # in the future
        "child.id_number": "34132420150308012",  # 17 characters
        "child.township": "sx-t-sc",
        "guardian.name": "王某",  # relation and situation not chosen
    }
    page = client.post("/reports/new", data=half)
    assert page.status_code == 400
    errors = field_errors(page.text)
    assert errors == {
        "situations": "此项必填",
        "reporter.phone": "此项必填",
        "reporter.unit": "此项必填",
        "reporter.unit_type": "此项必填",
        "child.id_number": "身份证号格式不正确（18 位）",
        "child.birth_date": "出生日期不能晚于今天",
        "child.gender": "此项必填",
        "guardian.relation": "此项必填",
        "guardian.status": "此项必填",
    }, errors
    assert "取值不正确" not in page.text
    for name in errors:  # each at its field, marked for assistive technology too
        assert re.search(rf'<div class="field-error[^"]*">\s*<label for="{re.escape(name)}"', page.text), name
    summary = re.search(r'<div class="banner bad error-summary"[^>]*>(.*?)</div>', page.text, re.S).group(1)
    assert "9 处" in summary and "报告人联系电话：此项必填" in summary
    assert re.findall(r'<a href="#([^"]+)">', summary) == list(errors)  # in the order of the form
    assert focused(page.text) == ["situations"]  # the first problem, focused without any script
    assert page.text.count("autofocus") == 1
    assert 'value="邻居反映孩子多日无人照料"' not in page.text and "邻居反映孩子多日无人照料" in page.text  # kept


def test_a_missing_id_check_and_a_bad_date_are_said_in_chinese(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new").text
    page = client.post(
        "/reports/new",
        data=filled(form, **{"child.birth_date": "2015-02-30", "discovered_at": "明天", "reporter.phone": "12"}),
    )
    errors = field_errors(page.text)
    assert errors == {
        "discovered_at": "时间格式不正确",
        "reporter.phone": "至少 3 个字符",
        "child.birth_date": "日期格式不正确",
    }
    assert focused(page.text) == ["discovered_at"]


def test_a_village_of_another_township_is_refused_at_the_village_field(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new").text
    by_township = townships()
    first, other = [t for t, villages in by_township.items() if villages][:2]
    page = client.post(
        "/reports/new", data=filled(form, **{"child.township": first, "child.village": by_township[other][0]})
    )
    assert page.status_code == 400
    assert field_errors(page.text) == {"child.village": "该村（居）不属于所选乡镇"}
    assert focused(page.text) == ["child.village"]
    good = client.post(
        "/reports/new",
        data=filled(form, **{"child.township": other, "child.village": by_township[other][0]}),
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"].startswith("/cases/")


def test_the_left_behind_box_puts_the_child_on_the_ledger_as_left_behind_once_founded(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new").text
    assert re.search(r'<input type="checkbox" id="child.left_behind" name="child.left_behind" value="true"', form)
    data = filled(form, **{"child.left_behind": "true"})
    done = client.post("/reports/new", data=data, follow_redirects=False)
    assert done.status_code == 303, field_errors(done.text)
    case_no = done.headers["location"].rsplit("/", 1)[1]
    with Session(db.engine()) as s:
        child = s.exec(select(Child).where(Child.name == data["child.name"])).one()
        assert child.left_behind is True
        child_id = child.id
    case = cases.show_case(case_no, "sx-police", record_read=False)
    for t in case["tasks"]:
        if t["kind"] == "police_arrival" and t["status"] == "open":
            case = tasks.acknowledge_task(t["task_id"], "sx-police")
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response" and t["status"] == "open")
    p = policy.pack("sixian")
    measures = sorted({"admonish_guardian"} | set(p.least_measures(["guardian_neglect"])))
    tasks.complete_task(task["task_id"], {"unfounded": False, "measures": measures}, "sx-police")
    with Session(db.engine()) as s:
        held = {c.category for c in s.exec(select(ChildCategory).where(ChildCategory.child_id == child_id)).all()}
    assert held == {p.report_category.value, "left_behind"}
    assert p.child_categories.value["left_behind"].label == "留守儿童"


def test_closed_lists_are_choices(browser_like) -> None:
    form = browser_like("sx-intake").get("/reports/new").text
    for name in ("channel", "reporter.unit_type", "child.gender", "child.township", "child.village"):
        assert re.search(rf'<select id="{re.escape(name)}"', form), name
    for name, option in (("guardian.relation", "母亲"), ("guardian.status", "外出务工"), ("channel", "110接警")):
        select_html = re.search(rf'<select id="{re.escape(name)}".*?</select>', form, re.S).group(0)
        assert f">{option}</option>" in select_html, name
    villages = re.search(r'<select id="child.village".*?</select>', form, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)" data-group="([^"]+)">', villages)
    assert {code for _, code in groups} == {t for t, v in townships().items() if v}
    assert 'data-depends-on="child.township"' in villages
    assert '<script src="/static/intake.js" defer></script>' in form  # optional; no inline script


def test_a_choice_not_on_the_list_is_refused_and_hostile_text_comes_back_escaped(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new").text
    hostile = {
        "channel": PAYLOADS[0],
        "description": PAYLOADS[4],
        "child.name": PAYLOADS[1],
        "reporter.name": PAYLOADS[2],
        "child.address": PAYLOADS[5],
        "guardian.relation": PAYLOADS[3],
        "idempotency_key": PAYLOADS[0],
    }
    page = client.post("/reports/new", data=filled(form, **hostile))
    assert page.status_code == 400
    errors = field_errors(page.text)
    assert errors["channel"] == "请从列表中选择" and errors["guardian.relation"] == "请从列表中选择"
    assert not markup_problems(page.text, allowed_tags())
    assert "&lt;/textarea&gt;&lt;script&gt;" in page.text and "<img src=x" not in page.text


def test_the_form_is_shown_only_to_those_who_may_register(browser_like) -> None:
    manager = browser_like("sx-manager")
    page = manager.get("/reports/new")
    assert page.status_code == 403 and "本次访问已记录" in page.text
    assert 'href="/reports/new"' not in manager.get("/board").text
    refused = manager.post("/reports/new", data=filled(page.text))
    assert refused.status_code == 403
    with Session(db.engine()) as s:
        records = s.exec(
            select(AccessRecord).where(AccessRecord.actor == "sx-manager", AccessRecord.action == "report_register")
        ).all()
    assert [(r.allowed, r.reason) for r in records] == [(False, "role_may_not_register")] * 2
    assert browser_like("sx-police").get("/reports/new").status_code == 200  # the police register too


def test_a_phone_sized_browser_fills_the_form_with_and_after_its_errors(site: str, database_url: str) -> None:
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    accounts.set_password("sx-intake", PASSWORD, must_change=False)
    report = make_report()
    by_township = townships()
    township = report["child"]["township"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
        ).new_page()
        page.goto(f"{site}/login")
        page.fill("#username", "sx-intake")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/reports/new")
        page.click("main button[type=submit]")  # nothing filled in
        page.wait_for_selector(".error-summary")
        errors = page.locator(".error").all_inner_texts()
        assert len(errors) == 11 and set(errors) == {"此项必填"}, errors  # every required field
        assert page.evaluate("document.activeElement.id") == "channel"  # the first problem is focused
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        page.screenshot(path=str(ARTIFACTS / f"{backend}-intake-phone-01-errors.png"), full_page=True)
        page.click(".error-summary a[href='#child.gender']")  # the summary leads to the field
        assert page.evaluate("location.hash") == "#child.gender"

        page.select_option("#channel", "电话报警")
        page.check("input[name=situations][value=guardian_neglect]")
        page.fill("#description", "孩子独自在家，无人照料")
        page.fill("[id='reporter.name']", "周老师")
        page.fill("[id='reporter.phone']", "13700000000")
        page.fill("[id='reporter.unit']", "中心小学")
        page.select_option("[id='reporter.unit_type']", "school")
        page.fill("[id='child.name']", report["child"]["name"])
        page.fill("[id='child.birth_date']", report["child"]["birth_date"])
        page.select_option("[id='child.gender']", "male")
        page.select_option("[id='child.township']", township)
        shown = page.eval_on_selector_all("[id='child.village'] option", "os => os.map(o => o.value).filter(v => v)")
        assert shown == by_township[township]  # only the villages of the township chosen
        page.select_option("[id='child.village']", by_township[township][0])
        page.check("[id='child.left_behind']")
        page.fill("[id='guardian.name']", "王某")
        page.select_option("[id='guardian.relation']", "paternal_grandmother")
        page.select_option("[id='guardian.status']", "elderly")
        page.screenshot(path=str(ARTIFACTS / f"{backend}-intake-phone-02-filled.png"), full_page=True)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/cases/**")
        assert "已登记" in page.inner_text(".banner")
        page.screenshot(path=str(ARTIFACTS / f"{backend}-intake-phone-03-registered.png"), full_page=True)
        browser.close()
    with Session(db.engine()) as s:
        child = s.exec(select(Child).where(Child.name == report["child"]["name"])).one()
    assert child.left_behind is True and child.village == by_township[township][0]
