"""The village pages (走访): the list a message's link opens, by role; recording a visit with every
error at its field; a finding of danger telling the township and naming the police station; overdue
visits with their days; the previous finding; escaping; page size; and a phone in a real browser."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from conftest import CHROMIUM, PASSWORD, csrf, make_report, on_ledger
from sqlmodel import Session, select

from models import AccessRecord, Notification, VerificationVisit
from services import accounts, reports, visits
from shouhu import clock, db
from tasks import sweep

VILLAGE = "sx-v-sc-dg"
DIRECTOR = "sx-director-dg"
CSS = (Path(__file__).resolve().parent.parent / "web" / "static" / "app.css").read_bytes()
GOOD = {"guardianship": "adequate", "schooling": "in_school", "family_changed": "false"}
HOSTILE = '</textarea><script>alert("v")</script><img src=x onerror=alert(2)>'
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def child_in_round(**overrides: Any) -> dict[str, Any]:
    """A child reported in 东关村 and on the ledger, then the sweeper's tick that generates this quarter's round."""
    return children_in_round(1, **overrides)[0]


def children_in_round(count: int, **overrides: Any) -> list[dict[str, Any]]:
    """Children reported in 东关村 and on the county's ledger (留守儿童), then the tick that generates the
    round (once a day: all first)."""
    made = [make_report(**overrides) for _ in range(count)]
    for report in made:
        reports.submit_report(report, "sx-intake")
    on_ledger(made)
    sweep.tick(clock.now())
    return made


def visit_of(name: str) -> dict[str, Any]:
    return next(v for v in visits.list_visits(DIRECTOR, VILLAGE) if v["child_name"] == name and v["status"] == "open")


def cards(page: str) -> list[str]:
    return re.findall(r'<li class="(?:overdue|open|done)">.*?</li>', page, re.S)


def small(page: Any) -> None:
    assert len(page.content) + len(CSS) < 100_000, len(page.content)


def plain(page: str) -> str:
    """What a person reads: the text of <main>, without tags."""
    main = page.split("<main>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def no_codes(page: str, typed: str = "") -> None:
    text = plain(page).replace(typed, "") if typed else plain(page)
    assert not re.search(r"[A-Za-z]{3,}", text.replace("Shouhu", "")), re.findall(r"[A-Za-z_]{3,}", text)[:10]
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)


def test_the_director_sees_her_village_and_records_a_visit(browser_like: Any) -> None:
    report = child_in_round(**{"child.address": "东关村三组 12 号"})
    director = browser_like(DIRECTOR)
    assert director.get("/", follow_redirects=False).headers["location"] == "/visits"
    listed = director.get(f"/visits?unit={VILLAGE}")  # the link of the village's messages
    assert listed.status_code == 200 and 'href="/visits" class="active">走访' in listed.text
    small(listed)
    no_codes(listed.text)
    card = next(c for c in cards(listed.text) if report["child"]["name"] in c)
    assert "东关村三组 12 号" in card and "母亲 测试监护人（外出务工）" in card and "12月31日" in card
    assert "待走访" in card and "首次走访" in card
    assert 'id="unit"' not in listed.text  # one village: nothing to choose
    assert director.get("/visits").text.count(report["child"]["name"]) == listed.text.count(report["child"]["name"])

    visit = visit_of(report["child"]["name"])
    form = director.get(f"/visits/{visit['visit_id']}")
    assert form.status_code == 200 and report["child"]["name"] in form.text and "泗城镇东关村民委员会" in form.text
    for label in (
        "走访日期",
        "监护情况",
        "就学情况",
        "家庭情况有变化",
        "发现的困境情形",
        "情况记录",
        "监护缺失",
        "失学辍学",
    ):
        assert label in form.text
    small(form)
    no_codes(form.text)

    bad = director.post(
        f"/visits/{visit['visit_id']}",
        data={"csrf": csrf(form.text), "visited_on": "2026-12-01", "family_changed": "false", "notes": HOSTILE},
    )  # in the future, and guardianship and schooling missing: all three shown at once
    assert bad.status_code == 400
    for field in ("visited_on", "guardianship", "schooling"):
        assert re.search(rf'field-error">\s*<label for="{field}"', bad.text), field
    assert "走访日期不能晚于今天" in bad.text and "此项必填" in bad.text and "请更正标出的 3 项" in bad.text
    assert "<script>alert" not in bad.text and "&lt;/textarea&gt;&lt;script&gt;" in bad.text  # kept, escaped
    assert visit_of(report["child"]["name"])["status"] == "open"  # nothing changed
    assert director.post(f"/visits/{visit['visit_id']}", data={**GOOD, "visited_on": "2026-11-24"}).status_code == 403

    done = director.post(
        f"/visits/{visit['visit_id']}",
        data={**GOOD, "csrf": csrf(form.text), "visited_on": "2026-11-24", "notes": HOSTILE},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/visits?unit={VILLAGE}"
    after = director.get(done.headers["location"])
    assert "已记录" in after.text and "未发现困境情形" in after.text
    card = next(c for c in cards(after.text) if report["child"]["name"] in c)
    assert "已走访" in card and "监护到位，在校，家庭情况无变化" in card and "11月24日" in card
    shown = director.get(f"/visits/{visit['visit_id']}")
    assert (
        "<script>alert" not in shown.text
        and "onerror=alert(2)&gt;" in shown.text
        and '<form method="post" action="/visits' not in shown.text
    )
    no_codes(shown.text, typed=HOSTILE)


def test_a_finding_of_danger_tells_the_township_and_names_the_police_station(browser_like: Any) -> None:
    report = child_in_round()
    visit = visit_of(report["child"]["name"])
    director = browser_like(DIRECTOR)
    form = director.get(f"/visits/{visit['visit_id']}")
    done = director.post(
        f"/visits/{visit['visit_id']}",
        data={
            "csrf": csrf(form.text),
            "visited_on": "2026-11-24",
            "guardianship": "absent",
            "schooling": "out_of_school",
            "family_changed": "true",
            "concerns": ["living_alone"],
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = director.get(done.headers["location"])
    banner = re.search(r'<div class="banner bad" role="alert" id="report">.*?</div>', page.text, re.S).group(0)
    assert "已告知泗城镇人民政府" in banner and "泗县公安局泗城派出所" in banner and "110" in banner
    assert 'href="/reports/new"' not in page.text  # the police register reports; the director calls them
    assert "《未成年人保护法》第十一条" in banner
    no_codes(page.text)
    again = director.get(f"/visits/{visit['visit_id']}")
    assert "已告知泗城镇人民政府" in again.text and "监护缺失，失学辍学，家庭情况有变化；发现：独自居住" in again.text
    assert director.get(done.headers["location"]).text.count('id="report"') == 0  # the banner is shown once
    with Session(db.engine()) as s:
        told = s.exec(
            select(Notification.unit).where(Notification.dedupe_key == f"verification_concern:{visit['visit_id']}")
        ).all()
    assert told == ["sx-t-sc"]
    police = browser_like("sx-police")
    assert police.get(f"/visits/{visit['visit_id']}").status_code == 403  # police read cases, not the ledger


def test_township_sees_its_villages_managers_the_county_and_others_are_refused(browser_like: Any) -> None:
    report = child_in_round()
    visit = visit_of(report["child"]["name"])
    township = browser_like("sx-supervisor-sc")
    page = township.get("/visits")
    assert page.status_code == 200 and report["child"]["name"] in page.text
    chooser = re.search(r'<select id="unit" name="unit">.*?</select>', page.text, re.S).group(0)
    assert "泗城镇东关村民委员会" in chooser and "新庄村" not in chooser
    assert 'href="/visits" class="active">走访' in page.text
    assert township.get(f"/visits/{visit['visit_id']}").status_code == 200
    assert township.get("/visits?unit=sx-v-cg-xz").status_code == 403

    manager = browser_like("sx-manager")
    county = manager.get(f"/visits?unit={VILLAGE}")
    chooser = re.search(r'<select id="unit" name="unit">.*?</select>', county.text, re.S).group(0)
    assert "泗城镇东关村民委员会" in chooser and "草沟镇新庄村民委员会" in chooser
    assert report["child"]["name"] not in county.text and "已脱敏" in county.text  # managers read masked
    assert 'href="/visits"' not in county.text.split("<main>")[0]  # 走访 is not in the manager's nav
    small(county)
    detail = manager.get(f"/visits/{visit['visit_id']}")
    assert detail.status_code == 200 and '<form method="post" action="/visits' not in detail.text
    assert manager.get("/visits?unit=sx-v-cg-xz").status_code == 200
    civil = browser_like("sx-civil")
    assert report["child"]["name"] in civil.get(f"/visits?unit={VILLAGE}").text

    other = browser_like("sx-director-xz")
    refused = other.get(f"/visits?unit={VILLAGE}")
    assert refused.status_code == 403 and report["child"]["name"] not in refused.text and "已记录" in refused.text
    assert other.get(f"/visits/{visit['visit_id']}").status_code == 403
    form = other.get("/visits")
    assert (
        other.post(
            f"/visits/{visit['visit_id']}", data={**GOOD, "csrf": csrf(form.text), "visited_on": "2026-11-24"}
        ).status_code
        == 403
    )
    assert browser_like("sx-police").get("/visits").status_code == 403
    assert other.get("/visits?unit=no-such-unit").status_code == 404
    assert other.get(f"/visits/{uuid.uuid4()}").status_code == 404
    assert other.get("/visits/not-a-visit").status_code == 404
    assert other.get("/visits?period=2026Q9").status_code in (400, 403)
    assert visit_of(report["child"]["name"])["status"] == "open"
    with Session(db.engine()) as s:
        records = {
            (r.actor, r.target, r.allowed)
            for r in s.exec(select(AccessRecord).where(AccessRecord.action.in_(["ledger_read", "visit_read"]))).all()
        }
    assert {
        ("sx-director-xz", VILLAGE, False),
        ("sx-director-xz", visit["visit_id"], False),
        ("sx-supervisor-sc", "sx-v-cg-xz", False),
        ("sx-supervisor-sc", VILLAGE, True),
        ("sx-manager", VILLAGE, True),
    } <= records


def test_overdue_visits_come_first_with_their_days_and_the_last_finding_is_shown(browser_like: Any) -> None:
    behind, visited = children_in_round(2)
    visits.complete_visit(
        visit_of(visited["child"]["name"])["visit_id"],
        {"visited_on": "2026-11-24", "guardianship": "inadequate", "schooling": "in_school", "family_changed": False},
        DIRECTOR,
    )
    later = datetime.fromisoformat("2027-01-05T09:00:00+08:00")
    clock.set_now(later)
    sweep.tick(later)  # the first quarter's round
    director = browser_like(DIRECTOR)
    page = director.get("/visits")
    assert "2027年第一季度（本期）" in page.text
    listed = cards(page.text)
    names = [next(n for n in (behind["child"]["name"], visited["child"]["name"]) if n in c) for c in listed]
    assert names[0] == behind["child"]["name"] and 'class="overdue"' in listed[0]
    assert "已逾期 5 天" in listed[0] and "2026年12月31日" in listed[0] and "2026年第四季度" in listed[0]
    fresh = next(c for c in listed if visited["child"]["name"] in c)
    assert "上次：2026年第四季度：监护不到位，在校，家庭情况无变化" in fresh and "需关注" in fresh
    assert "3月31日" in fresh
    assert re.search(r"<b>已逾期 \d+天(\d+小时)?</b>", listed[0]) and re.search(r"<b>剩余 8\d天(\d+小时)?</b>", fresh)
    assert listed.index(fresh) > 0 and len(listed) == 3  # overdue, then the two open this quarter
    no_codes(page.text)
    earlier = director.get("/visits?period=2026Q4")
    assert "2026年第四季度" in earlier.text and len(cards(earlier.text)) == 2
    with Session(db.engine()) as s:
        assert s.exec(select(VerificationVisit).where(VerificationVisit.period == "2027Q1")).all()


def test_a_village_director_records_a_visit_on_a_phone(site: str, database_url: str) -> None:
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    report = child_in_round()
    accounts.set_password(DIRECTOR, PASSWORD, must_change=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True).new_page()
        phone.goto(f"{site}/login?next=/visits%3Funit%3D{VILLAGE}")  # as from the link in a message
        phone.fill("#username", DIRECTOR)
        phone.fill("#password", PASSWORD)
        phone.click("main button[type=submit]")
        phone.wait_for_url(f"{site}/visits?unit={VILLAGE}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(ARTIFACTS / f"{backend}-visits-01-list-on-a-phone.png"), full_page=True)
        phone.click(f"li:has-text('{report['child']['name']}') a.button")
        assert report["child"]["name"] in phone.inner_text("h1")
        phone.select_option("#guardianship", "absent")
        phone.select_option("#schooling", "in_school")
        phone.select_option("#family_changed", "false")
        phone.check("input[name=concerns][value=living_alone]")
        phone.fill("#notes", "孩子独自在家，父母均在外务工")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(ARTIFACTS / f"{backend}-visits-02-form-on-a-phone.png"), full_page=True)
        phone.click("main button[type=submit]")
        phone.wait_for_url(f"{site}/visits?unit={VILLAGE}")
        alert = phone.inner_text("#report")
        assert "已告知泗城镇人民政府" in alert and "泗县公安局泗城派出所" in alert
        assert phone.evaluate("document.scripts.length") == 0
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(ARTIFACTS / f"{backend}-visits-03-danger-on-a-phone.png"), full_page=True)
        browser.close()
    assert visits.list_visits(DIRECTOR, VILLAGE, open_only=True) == []


def test_a_big_village_is_paged_and_every_page_stays_small(browser_like: Any) -> None:
    """A village with more children than a page holds (120 here; 220 made a 100 KB page before paging):
    50 a page, overdue first across pages, the counts of the whole list on every page."""
    made = [make_report() for _ in range(120)]
    on_ledger(made)
    sweep.tick(clock.now())
    director = browser_like(DIRECTOR)
    first = director.get("/visits")
    assert "共 120 名儿童" in first.text and "第 1 / 3 页" in first.text and len(cards(first.text)) == 50
    small(first)
    seen = []
    for n in (1, 2, 3):
        page = director.get(f"/visits?unit={VILLAGE}&page={n}")
        assert page.status_code == 200 and "共 120 名儿童" in page.text
        small(page)
        seen += [m["child"]["name"] for c in cards(page.text) for m in made if m["child"]["name"] in c]
    assert sorted(seen) == sorted(m["child"]["name"] for m in made)  # every child once, on some page
    assert 'page=2">下一页' in first.text and "上一页" not in first.text
    assert director.get(f"/visits?unit={VILLAGE}&page=0").status_code == 400
    assert "第 3 / 3 页" in director.get(f"/visits?unit={VILLAGE}&page=99").text
