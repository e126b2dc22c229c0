"""Time left / late by on the task list, most urgent first, and the board and the task list usable on a
390 px phone (a real browser): every number with its name beside it, nothing wider than the screen."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from conftest import CHROMIUM, PASSWORD, make_report
from sqlmodel import Session, select

from models import Task
from services import accounts, reports
from services import tasks as tasks_service
from shouhu import clock, db

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")


def due_at(task_id: str, moment: datetime) -> None:
    with Session(db.engine()) as s:
        task = s.exec(select(Task).where(Task.id == uuid.UUID(task_id))).one()
        task.due_at = moment
        s.add(task)
        s.commit()


def test_the_task_list_shows_time_left_and_how_late_most_urgent_first(browser_like) -> None:
    clock.set_now(T0)
    opened = [reports.submit_report(make_report(), "sx-intake")["case_no"] for _ in range(3)]
    mine = tasks_service.list_tasks_for("sx-police", mine=True, limit=50)["items"]
    first_of = {case_no: next(t for t in mine if t["case_no"] == case_no) for case_no in opened}
    due_at(first_of[opened[0]]["task_id"], T0 + timedelta(days=3, minutes=5))  # 剩余 3天
    due_at(first_of[opened[1]]["task_id"], T0 + timedelta(hours=2, minutes=15, seconds=40))  # 剩余 2小时15分
    due_at(first_of[opened[2]]["task_id"], T0 - timedelta(hours=1, minutes=20))  # 已逾期 1小时20分
    clock.set_now(T0 + timedelta(seconds=30))  # half a minute on: whole units are cut down, never rounded up

    page = browser_like("sx-police").get("/tasks").text
    rows = {
        task_id: row
        for row in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S)
        if (task_id := (re.search(r'href="/tasks/([0-9a-f-]+)"', row) or [None, None])[1])
    }
    ids = [t["task_id"] for t in (first_of[c] for c in opened)]
    assert "剩余 3天" in rows[ids[0]] and "剩余 2小时15分" in rows[ids[1]]
    assert "已逾期 1小时20分" in rows[ids[2]] and "已逾期</span>" in rows[ids[2]]
    order = list(rows)
    assert order.index(ids[2]) < order.index(ids[1]) < order.index(ids[0])  # the late one first, then the least left
    assert order[0] == ids[2]
    every_open = [r for r in rows.values() if 'class="left"' in r]
    assert every_open and all(re.search(r"(剩余 |已逾期 )\d+(天|小时|分)", r) for r in every_open)

    listed = tasks_service.list_tasks_for("sx-police", mine=True, limit=50)["items"]  # the API's JSON: seconds
    left = {t["task_id"]: t["seconds_left"] for t in listed}
    assert left[ids[0]] == 3 * 86400 + 300 - 30 and left[ids[1]] == 2 * 3600 + 15 * 60 + 10
    assert left[ids[2]] == -(80 * 60 + 30)


def test_board_and_task_list_on_a_390_px_phone(site: str, database_url: str) -> None:
    from playwright.sync_api import sync_playwright

    from tasks.sweep import tick

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    for user in ("sx-manager", "sx-police"):
        accounts.set_password(user, PASSWORD, must_change=False)
    clock.set_now(T0 - timedelta(days=10))
    reports.submit_report(make_report(discovered_at=None), "sx-intake")  # long overdue by now: 督办
    clock.set_now(T0)
    reports.submit_report(make_report(), "sx-intake")
    clock.advance(hours=5)
    tick()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def phone(username: str):
            page = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
            ).new_page()
            page.goto(f"{site}/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            return page

        def fits(page) -> None:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.evaluate("document.body.scrollWidth") <= 390

        def labels(page, selector: str) -> list[tuple[str, str]]:
            """Each visible cell's name as the phone shows it before the value (its ::before), and the value."""
            return page.eval_on_selector_all(
                selector,
                """cells => cells.filter(c => c.offsetParent !== null).map(c =>
                     [getComputedStyle(c, '::before').content, c.innerText.trim()])""",
            )

        manager = phone("sx-manager")
        manager.goto(f"{site}/board")
        fits(manager)
        manager.screenshot(path=str(ARTIFACTS / f"{backend}-phone-board.png"), full_page=True)
        # the summary cards: the name sits on the same line as its number, left of it
        for card in manager.locator("ul.stats li").all():
            label, number = card.locator(".label"), card.locator(".number")
            assert label.is_visible() and number.is_visible() and re.fullmatch(r"\d+", number.inner_text())
            lb, nb = label.bounding_box(), number.bounding_box()
            assert lb["x"] + lb["width"] <= nb["x"] and abs((lb["y"] + lb["height"]) - (nb["y"] + nb["height"])) < 12
        assert [c.inner_text() for c in manager.locator("ul.stats .label").all()] == [
            "未解决的逾期",
            "其中督办",
            "未送达的消息",
        ]
        assert not manager.locator("table.summary thead").is_visible()  # the header row is gone on a phone…
        counts = labels(manager, "table.summary td.count")
        assert counts and all(  # …so every number carries its name
            label.strip('"').removesuffix("：") in ("第 1 级", "第 2 级", "第 3 级及督办") and value.isdigit()
            for label, value in counts
        )
        late = labels(manager, "table.breaches td:last-child")
        assert late and all(label == '"已逾期："' and re.fullmatch(r"\d+(天|小时|分钟)\S*", v) for label, v in late)
        # the chart: a table of weeks on a phone (the SVG's 11 px text would be 6 px here)
        assert not manager.locator(".chart svg").is_visible()
        weeks = labels(manager, "table.weeks td")
        assert weeks and all(re.fullmatch(r'"\d+月\d+日起："', label) for label, _ in weeks)
        assert all(re.fullmatch(r"\d+%|无到期", value) for _, value in weeks)
        assert manager.locator("table.weeks caption").first.is_visible()
        size = manager.eval_on_selector("table.weeks td", "c => parseFloat(getComputedStyle(c).fontSize)")
        assert size >= 14

        manager.goto(f"{site}/tasks")
        fits(manager)
        manager.screenshot(path=str(ARTIFACTS / f"{backend}-phone-tasks-manager.png"), full_page=True)
        police = phone("sx-police")
        police.wait_for_url(f"{site}/tasks")
        fits(police)
        police.screenshot(path=str(ARTIFACTS / f"{backend}-phone-tasks.png"), full_page=True)
        left = labels(police, "table.tasks td.left")
        assert left and all(label == '"剩余时间："' and re.match(r"(剩余|已逾期) \d+", v) for label, v in left)
        assert any(v.startswith("已逾期") for _, v in left) and any(v.startswith("剩余") for _, v in left)

        # on a wide screen the chart is the SVG again and the week table is hidden
        wide = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
        wide.context.add_cookies(manager.context.cookies())
        wide.goto(f"{site}/board")
        assert wide.locator(".chart svg").is_visible() and not wide.locator("table.weeks").first.is_visible()
        wide.screenshot(path=str(ARTIFACTS / f"{backend}-wide-board.png"), full_page=True)
        browser.close()
