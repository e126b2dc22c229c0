"""End to end in a real browser (Debian's chromium, driven by playwright): an officer files a report,
the police record the emergency response, the township caseworker sees the assessment task and
completes it, the clock moves, and the manager's board shows the breach with its level.
Screenshots of every page are kept in tests/artifacts/ (look at them: Chinese must render)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from conftest import CHROMIUM, make_report

from services import accounts
from shouhu import clock

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "correct horse battery"
T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")


def test_report_to_assessment_to_breach_on_the_board(site: str, database_url: str) -> None:
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    for user in ("sx-intake", "sx-police", "sx-supervisor-sc", "sx-manager"):
        accounts.set_password(user, PASSWORD, must_change=False)
    clock.set_now(T0)
    report = make_report()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def sign_in(username: str):
            page = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
            page.goto(f"{site}/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            return page

        def shot(page, name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)

        # 1. the intake officer files the report; a mistake is shown inline and what was typed stays
        officer = sign_in("sx-intake")
        officer.wait_for_url(f"{site}/reports/new")
        shot(officer, "01-login-then-intake-form")
        officer.select_option("#channel", "电话报警")
        officer.check("input[name=situations][value=guardian_neglect]")
        officer.fill("#description", "孩子独自在家，无人照料")
        officer.fill("[id='reporter.name']", report["reporter"]["name"])
        officer.fill("[id='reporter.phone']", report["reporter"]["phone"])
        officer.fill("[id='reporter.unit']", report["reporter"]["unit"])
        officer.select_option("[id='reporter.unit_type']", "school")
        officer.fill("[id='child.name']", report["child"]["name"])
        officer.fill("[id='child.birth_date']", "2035-01-01")  # in the future: refused
        officer.select_option("[id='child.gender']", "female")
        officer.select_option("[id='child.township']", "sx-t-sc")
        officer.select_option("[id='child.village']", "sx-v-sc-dg")
        officer.click("main button[type=submit]")
        assert officer.locator(".error").first.is_visible()
        assert officer.input_value("[id='child.name']") == report["child"]["name"]
        shot(officer, "02-intake-form-error")
        officer.fill("[id='child.birth_date']", report["child"]["birth_date"])
        officer.fill("[id='child.id_number']", report["child"]["id_number"])
        officer.click("main button[type=submit]")
        officer.wait_for_url(f"{site}/cases/**")
        case_no = officer.url.rsplit("/", 1)[1]
        assert "已登记" in officer.inner_text(".banner")
        shot(officer, "03-case-file-after-intake")

        # 2. the police record the emergency response from their task inbox
        police = sign_in("sx-police")
        police.wait_for_url(f"{site}/tasks")
        police.click(f"tr:has(a[href='/cases/{case_no}']):has-text('出警到场') a[href^='/tasks/']")
        assert police.inner_text("main button[type=submit]") == "已到场"  # one tap, nothing to fill in
        assert police.locator("main form input:not([type=hidden]), main form select, main form textarea").count() == 0
        shot(police, "04a-arrival-one-tap")
        police.click("main button[type=submit]")
        police.wait_for_url(f"{site}/cases/{case_no}")
        police.goto(f"{site}/tasks")
        police.click(f"tr:has(a[href='/cases/{case_no}']):has-text('出警调查') a[href^='/tasks/']")
        police.select_option("#unfounded", "false")
        police.check("input[name=measures][value=admonish_guardian]")
        shot(police, "04-emergency-task-form")
        police.click("main button[type=submit]")
        police.wait_for_url(f"{site}/cases/{case_no}")

        # 3. the township caseworker sees the assessment and completes it
        worker = sign_in("sx-supervisor-sc")
        worker.wait_for_url(f"{site}/tasks")
        row = worker.locator(f"tr:has(a[href='/cases/{case_no}'])")
        assert "调查评估" in row.inner_text()
        shot(worker, "05-township-task-inbox")
        row.locator("a[href^='/tasks/']:not([href$='#handover'])").click()
        worker.select_option("#safety", "at_risk")
        worker.select_option("#guardianship", "inadequate")
        worker.fill("#health", "良好")
        worker.select_option("#risk_level", "medium")
        worker.check("input[name=services][value=guardianship_guidance]")
        worker.select_option("#intervention_needed", "false")
        worker.fill("#plan", "每月入户指导监护人")
        shot(worker, "06-assessment-form")
        worker.click("main button[type=submit]")
        worker.wait_for_url(f"{site}/cases/{case_no}")
        assert "哈希链校验通过" in worker.content()
        shot(worker, "07-case-file-after-assessment")

        # 4. three weeks pass with the guidance service not done: the sweeper escalates it to 督办
        from tasks import sweep

        later = T0 + timedelta(days=21)
        clock.set_now(later)
        sweep.tick(later)
        manager = sign_in("sx-manager")
        manager.wait_for_url(f"{site}/board")
        breach = manager.locator(f"tr:has(a[href='/cases/{case_no}'])").first
        assert "督办" in breach.inner_text() and "第 3 级" in breach.inner_text()
        assert manager.locator("svg").count() >= 1
        shot(manager, "08-managers-board")
        manager.goto(f"{site}/cases/{case_no}")
        assert report["child"]["name"] not in manager.content()  # masked for managers
        shot(manager, "09-case-file-masked-for-manager")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True).new_page()
        phone.goto(f"{site}/login")
        phone.fill("#username", "sx-supervisor-sc")
        phone.fill("#password", PASSWORD)
        phone.click("main button[type=submit]")
        phone.wait_for_url(f"{site}/tasks")
        shot(phone, "10-task-inbox-on-a-phone")
        row = phone.locator(f"tr:has(a[href='/cases/{case_no}'])").first
        assert row.is_visible() and "服务转介" in row.inner_text()  # the overdue service, readable on the phone
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # one column: nothing to scroll sideways
        browser.close()


def test_a_hostile_case_runs_no_script_in_the_browser(site: str, database_url: str) -> None:
    """Every typed field of a case holds script: opened by the police, the caseworker and the
    manager (case file, every document, the task forms, the reflected login link), the browser
    shows no dialog and finds no script element, and the CSP refuses inline script."""
    from hostile import Marks, walk_hostile_case
    from playwright.sync_api import sync_playwright

    from services import documents as documents_service

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    clock.set_now(T0)
    closed = walk_hostile_case(Marks("BR"), sequence=201)
    documents = documents_service.case_documents(closed["case_id"], "sx-police", record_read=False)
    for user in ("sx-police", "sx-supervisor-sc", "sx-manager"):
        accounts.set_password(user, PASSWORD, must_change=False)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        anonymous = browser.new_context(locale="zh-CN").new_page()
        anonymous.on("dialog", lambda d: (dialogs.append(f"login: {d.message}"), d.dismiss()))
        anonymous.goto(f"{site}/login?next=/%22%3E%3Cscript%3Ealert(document.cookie)%3C/script%3E")
        assert anonymous.evaluate("document.scripts.length") == 0
        for user in ("sx-police", "sx-supervisor-sc", "sx-manager"):
            page = browser.new_context(locale="zh-CN").new_page()
            page.on("dialog", lambda d, u=user: (dialogs.append(f"{u}: {d.message}"), d.dismiss()))
            page.goto(f"{site}/login")
            page.fill("#username", user)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            for path in [
                f"/cases/{closed['case_no']}",
                *(f"/tasks/{t['task_id']}" for t in closed["tasks"][:4]),
                *(f"/documents/{d['document_id']}" for d in documents),
            ]:
                page.goto(f"{site}{path}")
                assert page.evaluate("document.scripts.length") == 0, (user, path)
                assert (
                    page.evaluate(
                        "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length"
                    )
                    == 0
                )
            blocked = page.evaluate("""() => { try { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                                        document.body.appendChild(s); return window.__ran === 1; } catch (e) { return 'error'; } }""")
            if user == "sx-manager":
                page.goto(f"{site}/cases/{closed['case_no']}")
                page.screenshot(path=str(ARTIFACTS / f"{backend}-11-hostile-case-masked.png"), full_page=True)
            assert blocked in (False, "error"), "an inline script ran: the CSP does not forbid it"
        browser.close()
    assert dialogs == []


def test_a_manager_adds_a_colleague_who_chooses_her_own_password_on_a_phone(site: str, database_url: str) -> None:
    """人员管理 in a real browser: the manager adds a village director; the temporary password is shown
    once; the new colleague signs in on a phone, is led to 修改密码, and then reaches her tasks."""
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        manager = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
        manager.goto(f"{site}/login")
        manager.fill("#username", "sx-manager")
        manager.fill("#password", PASSWORD)
        manager.click("main button[type=submit]")
        manager.click("text=人员管理")
        manager.fill("#username", "sx-wang-fang")
        manager.fill("#display_name", "王芳")
        manager.select_option("#role", "village_director")
        manager.select_option("#unit", "sx-v-sc-dg")
        manager.click("main form button[type=submit]")
        banner = manager.locator(".banner.ok").inner_text()
        assert "已新增账户" in banner and "王芳" in banner
        temporary = manager.locator(".banner.ok code").inner_text()
        manager.screenshot(path=str(ARTIFACTS / f"{backend}-admin-01-added.png"), full_page=True)

        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True).new_page()
        phone.goto(f"{site}/login")
        phone.fill("#username", "sx-wang-fang")
        phone.fill("#password", temporary)
        phone.click("main button[type=submit]")
        phone.wait_for_url(f"{site}/account/password")
        assert "临时密码" in phone.inner_text("main")
        phone.goto(f"{site}/tasks")
        phone.wait_for_url(f"{site}/account/password")  # nothing opens before she has chosen
        phone.fill("#current_password", temporary)
        phone.fill("#new_password", "her own long password")
        phone.fill("#repeat_password", "her own long password")
        phone.click("main button[type=submit]")
        phone.wait_for_url(f"{site}/visits")  # a village director's home: the children to visit
        assert "密码已修改" in phone.inner_text("main")
        phone.screenshot(path=str(ARTIFACTS / f"{backend}-admin-02-phone-after-password.png"), full_page=True)

        manager.goto(f"{site}/admin/records")
        assert "新增账户" in manager.inner_text("main") and "sx-wang-fang" in manager.inner_text("main")
        browser.close()


def test_civil_affairs_imports_the_countys_spreadsheet_in_the_browser(site: str, database_url: str) -> None:
    """儿童台账 in a real browser: a spreadsheet with a bad row is refused row by row, nothing written;
    the county's sample goes in; the same file again changes nothing."""
    from playwright.sync_api import sync_playwright

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    samples = Path(__file__).resolve().parent.parent / "samples"
    ARTIFACTS.mkdir(exist_ok=True)
    accounts.set_password("sx-civil", PASSWORD, must_change=False)
    bad = ARTIFACTS / f"{backend}-bad-ledger.csv"
    lines = (samples / "ledger-sample.csv").read_text(encoding="utf-8-sig").splitlines()
    bad.write_text("\n".join([lines[0], lines[1], lines[2].replace("sx-t-sc", "火星镇", 1)]) + "\n", encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
        page.goto(f"{site}/login")
        page.fill("#username", "sx-civil")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.click("text=儿童台账")
        page.set_input_files("#file", str(bad))
        page.click("main form button[type=submit]")
        text = page.inner_text("main")
        assert "第 3 行" in text and "火星镇" in text and "本次没有写入任何内容" in text
        page.screenshot(path=str(ARTIFACTS / f"{backend}-ledger-01-refused.png"), full_page=True)
        page.set_input_files("#file", str(samples / "ledger-sample.xlsx"))
        page.click("main form button[type=submit]")
        assert "新建 4" in page.inner_text("main") and "已写入" in page.inner_text("main")
        page.set_input_files("#file", str(samples / "ledger-sample.xlsx"))
        page.click("main form button[type=submit]")
        assert "新建 0，更新 0，未变 4" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / f"{backend}-ledger-02-again.png"), full_page=True)
        browser.close()


def test_a_case_worked_on_phones_with_a_note_and_a_photo(site: str, database_url: str, tmp_path: Path) -> None:
    """Issue 15: report → emergency → assessment → the village's visit, every step on a 390 px phone, with
    a case note and a photo from the phone; every page fits the screen. Screenshots: tests/artifacts/*-phone-*."""
    import struct
    import zlib

    from playwright.sync_api import sync_playwright

    from tasks import sweep

    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    ARTIFACTS.mkdir(exist_ok=True)
    for user in ("sx-intake", "sx-police", "sx-supervisor-sc", "sx-director-dg"):
        accounts.set_password(user, PASSWORD, must_change=False)
    clock.set_now(T0)
    report = make_report()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\xc0\x40\x40" * 40 for _ in range(30))  # a 40×30 red-brown photo
    photo = tmp_path / "门口.png"
    photo.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def phone(username: str):
            page = browser.new_context(
                viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
            ).new_page()
            page.goto(f"{site}/login")
            page.fill("#username", username)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            return page

        def shot(page, name: str) -> None:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, name  # nothing sideways
            page.screenshot(path=str(ARTIFACTS / f"{backend}-phone-{name}.png"), full_page=True)

        # 1. the intake officer registers the report on a phone, the child marked 留守
        officer = phone("sx-intake")
        officer.goto(f"{site}/reports/new")
        officer.select_option("#channel", "电话报警")
        officer.check("input[name=situations][value=guardian_neglect]")
        officer.fill("#description", "孩子独自在家，无人照料")
        officer.fill("[id='reporter.name']", report["reporter"]["name"])
        officer.fill("[id='reporter.phone']", report["reporter"]["phone"])
        officer.fill("[id='reporter.unit']", report["reporter"]["unit"])
        officer.select_option("[id='reporter.unit_type']", "school")
        officer.fill("[id='child.name']", report["child"]["name"])
        officer.fill("[id='child.birth_date']", report["child"]["birth_date"])
        officer.fill("[id='child.id_number']", report["child"]["id_number"])
        officer.select_option("[id='child.gender']", "female")
        officer.select_option("[id='child.township']", "sx-t-sc")
        officer.select_option("[id='child.village']", "sx-v-sc-dg")
        officer.check("[name='child.left_behind']")
        shot(officer, "01-intake")
        officer.click("main button[type=submit]")
        officer.wait_for_url(f"{site}/cases/**")
        case_no = officer.url.rsplit("/", 1)[1].split("#")[0]
        shot(officer, "02-case-after-intake")

        # 2. the police: on scene with one tap, the response with the context in view, then a note
        police = phone("sx-police")
        police.goto(f"{site}/tasks")
        police.click(f"tr:has(a[href='/cases/{case_no}']):has-text('出警到场') a[href^='/tasks/']")
        police.click("main button[type=submit]")
        police.wait_for_url(f"{site}/cases/{case_no}")
        police.goto(f"{site}/tasks")
        police.click(f"tr:has(a[href='/cases/{case_no}']):has-text('出警调查') a[href^='/tasks/']")
        assert "孩子独自在家" in police.content()  # the report's context on the task page
        police.select_option("#unfounded", "false")
        police.check("input[name=measures][value=admonish_guardian]")
        shot(police, "03-emergency-with-context")
        police.click("main button[type=submit]")
        police.wait_for_url(f"{site}/cases/{case_no}")
        police.select_option("#note-kind", "phone_call")
        police.fill("#note-text", "已电话联系母亲，本周内回家照料")
        police.click("form[action$='/notes'] button[type=submit]")
        police.wait_for_url(f"{site}/cases/{case_no}**")
        assert "已电话联系母亲" in police.inner_text("ul.notes")
        shot(police, "04-case-with-a-note")

        # 3. the township caseworker: the assessment, then a photo from the phone kept with the case
        worker = phone("sx-supervisor-sc")
        worker.goto(f"{site}/tasks")
        worker.locator(f"tr:has(a[href='/cases/{case_no}']) a[href^='/tasks/']").first.click()
        assert "批评教育" in worker.content() or "训诫" in worker.content() or "应急处置" in worker.content()
        worker.select_option("#safety", "at_risk")
        worker.select_option("#guardianship", "inadequate")
        worker.fill("#health", "良好")
        worker.select_option("#risk_level", "medium")
        worker.check("input[name=services][value=guardianship_guidance]")
        worker.select_option("#intervention_needed", "false")
        worker.fill("#plan", "每月入户指导监护人")
        shot(worker, "05-assessment-with-context")
        worker.click("main button[type=submit]")
        worker.wait_for_url(f"{site}/cases/{case_no}")
        worker.set_input_files("#attachment-file", str(photo))
        worker.fill("#attachment-note", "门口的情况")
        worker.click("form[action$='/attachments'] button[type=submit]")
        worker.wait_for_url(f"{site}/cases/{case_no}**")
        assert "已添加附件（门口.png）" in worker.content()
        assert worker.evaluate("document.querySelector('img.thumb').naturalWidth") == 40  # the photo shows
        assert "字节" in worker.inner_text("ul.attachments")  # a small photo's size is not "0 KB"
        shot(worker, "06-case-with-a-photo")

        # 4. the child is on the ledger (a founded report, 留守): the village director visits on her phone
        sweep.tick(clock.now())
        director = phone("sx-director-dg")
        director.goto(f"{site}/visits")
        director.click(f"li:has-text('{report['child']['name']}') a.button")
        shot(director, "07-visit-form")
        director.select_option("#guardianship", "inadequate")
        director.select_option("#schooling", "in_school")
        director.select_option("#family_changed", "false")
        director.fill("#notes", "母亲已回家，继续关注")
        director.click("main button[type=submit]")
        director.wait_for_url(f"{site}/visits**")
        assert "已记录" in director.content()
        shot(director, "08-visits-after-the-visit")
        browser.close()
