"""The pages over HTTP (a real app, real database, real flows): sign-in with CSRF and lock-out,
the intake form keeping what was typed, task forms, the case file masked by role, the board."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import PASSWORD, csrf, make_report
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AccessRecord
from services import accounts
from shouhu import db


def wrong_checksum(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def test_sign_in_needs_csrf_and_locks_after_repeated_failures(db_url: str) -> None:
    from web.app import create_app

    accounts.set_password("sx-police", PASSWORD, must_change=False)
    client = TestClient(
        create_app(), raise_server_exceptions=False, client=("198.51.100.200", 50000)
    )  # its own address
    assert client.get("/tasks", follow_redirects=False).headers["location"].startswith("/login")
    token = csrf(client.get("/login").text)
    assert (
        client.post("/login", data={"username": "sx-police", "password": PASSWORD}).status_code == 403
    )  # no CSRF token
    for _ in range(5):
        r = client.post("/login", data={"username": "sx-police", "password": "wrong password!", "csrf": token})
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    locked = client.post("/login", data={"username": "sx-police", "password": PASSWORD, "csrf": token})
    assert locked.status_code == 401  # the right password is refused while locked
    with Session(db.engine()) as s:
        reasons = [
            r.reason
            for r in s.exec(
                select(AccessRecord).where(
                    AccessRecord.actor == "sx-police",
                    AccessRecord.action == "login",
                    AccessRecord.target == "198.51.100.200",
                )
            ).all()
        ]
    assert sorted(reasons) == sorted(
        ["wrong_password"] * 4 + ["wrong_password; account locked for this source for 15 min", "locked"]
    ), reasons


def test_the_session_cookie_is_httponly_and_samesite(browser_like) -> None:
    client = browser_like("sx-intake")
    page = client.get("/login")
    header = page.headers.get("set-cookie", "")
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()


def test_intake_form_keeps_what_was_typed_and_names_the_field(browser_like) -> None:
    client = browser_like("sx-intake")
    form = client.get("/reports/new")
    assert form.status_code == 200 and "登记强制报告" in form.text
    report = make_report()
    data = {
        "csrf": csrf(form.text),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1),
        "channel": "电话报警",
        "situations": ["guardian_neglect"],
        "description": "孩子无人照料",
        "reporter.name": "周老师",
        "reporter.phone": "13700000000",
        "reporter.unit": "中心小学",
        "reporter.unit_type": "school",
        "child.name": report["child"]["name"],
        "child.id_number": wrong_checksum(report["child"]["id_number"]),
        "child.birth_date": report["child"]["birth_date"],
        "child.gender": "female",
        "child.township": "sx-t-sc",
    }
    bad = client.post("/reports/new", data=data)
    assert bad.status_code == 400 and 'class="field-error"' in bad.text and report["child"]["name"] in bad.text  # kept
    assert re.search(r'field-error">\s*<label for="child.id_number"', bad.text) and "校验位不正确" in bad.text
    good = client.post(
        "/reports/new", data={**data, "child.id_number": report["child"]["id_number"]}, follow_redirects=False
    )
    assert good.status_code == 303 and good.headers["location"].startswith("/cases/SX-")
    again = client.post(
        "/reports/new", data={**data, "child.id_number": report["child"]["id_number"]}, follow_redirects=False
    )
    assert again.headers["location"] == good.headers["location"]  # the same form sent twice registers once
    caseworker = browser_like("sx-supervisor-sc")
    refused = caseworker.post(
        "/reports/new",
        data={
            **data,
            "child.id_number": report["child"]["id_number"],
            "idempotency_key": "other",
            "csrf": csrf(caseworker.get("/tasks").text),
        },
    )
    assert refused.status_code == 403 and "本次访问已记录" in refused.text  # the 403 page; recorded


def test_task_form_case_file_and_board_by_role(browser_like) -> None:
    from services import reports

    report = make_report()
    opened = reports.submit_report(report, "sx-intake")
    police = browser_like("sx-police")
    inbox = police.get("/tasks")
    task_id = re.search(
        rf'href="/tasks/([0-9a-f-]+)">出警调查[^<]*</a></td>\s*<td[^>]*><a href="/cases/{opened["case_no"]}"',
        inbox.text,
    ).group(1)
    form = police.get(f"/tasks/{task_id}")
    assert "已采取的措施" in form.text
    wrong = police.post(f"/tasks/{task_id}", data={"csrf": csrf(form.text), "unfounded": "false"})
    assert (
        wrong.status_code == 400
        and "此项必填" in wrong.text
        and re.search(r'field-error">\s*<label for="measures"', wrong.text)
    )
    done = police.post(
        f"/tasks/{task_id}",
        data={"csrf": csrf(form.text), "unfounded": "false", "measures": ["admonish_guardian"]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    case_page = police.get(f"/cases/{opened['case_no']}")
    assert (
        report["child"]["name"] in case_page.text
        and report["reporter"]["name"] in case_page.text
        and "哈希链校验通过" in case_page.text
    )
    manager = browser_like("sx-manager")
    masked = manager.get(f"/cases/{opened['case_no']}")
    assert masked.status_code == 200 and report["child"]["name"] not in masked.text and "已脱敏" in masked.text
    outsider = browser_like("sx-director-xz")
    refused = outsider.get(f"/cases/{opened['case_no']}")
    unknown = outsider.get(f"/cases/{opened['case_no'][:-5]}99999")
    assert refused.status_code == unknown.status_code == 404 and report["child"]["name"] not in refused.text
    assert refused.text == unknown.text  # another area's case looks exactly like one that does not exist
    assert police.get("/board").status_code == 403
    inbox_rows = rows_of(police.get("/inbox").text)
    assert any(
        f'href="/cases/{opened["case_no"]}"' in r and "出警" in r for r in inbox_rows
    )  # the station's message about the case

    from shouhu import clock
    from tasks.sweep import tick

    neglected = reports.submit_report(
        make_report(), "sx-intake"
    )  # nobody acts on this one: three days later it is 督办
    clock.advance(days=3)
    tick()
    manager = browser_like("sx-manager")  # (the earlier sign-in expired on the way: sessions last the pack's 8 h)
    board = manager.get("/board")
    listed = [r for r in rows_of(board.text) if f'href="/cases/{neglected["case_no"]}"' in r]
    assert listed and "督办" in listed[0] and "第 3 级" in listed[0] and "<svg" in board.text
    exported = manager.get("/board.csv").text.lstrip("\ufeff").splitlines()
    assert exported[0].startswith("案件编号") and any(
        line.startswith(neglected["case_no"] + ",") and ",是," in line for line in exported
    )


def rows_of(html: str) -> list[str]:
    """The table rows of a page, each as its HTML."""
    return re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)


def test_the_compliance_chart_draws_only_what_was_measured() -> None:
    from web.chart import compliance_svg

    svg = compliance_svg(
        ["11-03", "11-10", "11-17", "11-24"], {"泗城镇人民政府·评估帮扶": [100.0, None, 0.0, 50.0], "<b>": [None] * 4}
    )
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 3  # no line across the empty week
    assert "&lt;b&gt;" in svg and "<b>" not in svg  # unit names are escaped


# ---- what people read of errors (issue 15 §3) -------------------------------------------------
def test_a_browser_gets_chinese_error_pages_and_the_api_keeps_its_json_shape(
    browser_like, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped address, a wrong method, an error inside: a page in Chinese for a person (signed in
    or not), {"error": {"code","message","field"}} under /api/ — never FastAPI's {"detail": …}."""
    from fastapi.testclient import TestClient
    from readable import unreadable, visible_text, vocabulary_codes

    from services import accounts
    from services import cases as cases_service
    from web.app import create_app

    codes = vocabulary_codes()
    html_accept = {"accept": "text/html,application/xhtml+xml"}
    signed_in, anonymous = browser_like("sx-police"), TestClient(create_app(), raise_server_exceptions=False)
    token = {"authorization": f"Bearer {accounts.create_token('sx-police', 'errors')['token']}"}

    def page(client: TestClient, method: str, url: str, status: int, heading: str) -> None:
        r = client.request(method, url, headers=html_accept)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), (url, r.status_code)
        text = visible_text(r.text)
        assert heading in text and "detail" not in r.text and unreadable(text, codes) == [], (url, text)
        assert not re.search(r"[A-Za-z]{4,}", text.replace("Shouhu", "")), (url, text)  # not a word of English

    def api(method: str, url: str, status: int, code: str) -> None:
        r = signed_in.request(method, url, headers={**html_accept, **token})
        assert r.status_code == status and r.headers["content-type"] == "application/json", (url, r.status_code)
        body = r.json()
        assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "field"}, body
        assert body["error"]["code"] == code, body

    for client in (signed_in, anonymous):
        page(client, "GET", "/no-such-page", 404, "未找到")
        page(client, "GET", "/static/no-such.css", 404, "未找到")
        page(client, "DELETE", "/login", 405, "不支持的操作")
    page(signed_in, "GET", "/tasks/not-a-task", 404, "未找到")
    page(signed_in, "POST", "/cases", 405, "不支持的操作")
    api("GET", "/api/v1/no-such-thing", 404, "not_found")
    api("DELETE", "/api/v1/cases", 405, "method_not_allowed")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cases_service, "list_cases", broken)
    page(signed_in, "GET", "/cases", 500, "出错了")
    api("GET", "/api/v1/cases", 500, "internal")


def test_error_messages_on_pages_are_chinese_without_their_code(browser_like) -> None:
    """A page names what is wrong in Chinese only: no code in brackets, no English message, whatever
    the code (the API and the CLI keep both)."""
    from readable import unreadable, visible_text, vocabulary_codes

    from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
    from web import messages

    codes = vocabulary_codes()
    manager = browser_like("sx-manager")
    for url, said in [
        ("/children?q=x&kind=nonsense", "取值不正确"),
        ("/board/stats.xlsx?month=last-month", "月份格式不正确"),
    ]:
        r = manager.get(url)
        text = visible_text(r.text)
        assert r.status_code == 400 and said in text, (url, text)
        assert unreadable(text, codes) == [] and not re.search(r"（[a-z_]+）|must be", text), (url, text)
    for error in (
        InvalidInput("invalid_value", "limit: must be a number", "limit"),
        InvalidInput("something_new", "an English message", None),
        Forbidden("something_new", "an English message", None),
        NotFound("something_new", "an English message", None),
        Conflict("something_new", "an English message", None),
    ):
        said = messages.zh(error)
        assert said and not re.search(r"[A-Za-z]", said), (error.code, said)


@pytest.mark.parametrize("jurisdiction", ["yantai", "sixian", "yunyang", "wuhai", "mentougou"])
def test_every_task_form_of_every_pack_reads_in_chinese(jurisdiction: str) -> None:
    """Every field and every choice of every task's form (the demo's case fills in only some of them)."""
    from readable import unreadable, vocabulary_codes

    from shouhu import policy
    from shouhu.inputs import OUTCOMES
    from web.pages import _fields_for

    codes, p = vocabulary_codes(), policy.pack(jurisdiction)
    for kind in OUTCOMES:
        for f in _fields_for(p, kind):
            shown = [f.label] + [text for _, text in f.options]
            assert all(text and unreadable(text, codes) == [] for text in shown), (kind, f.name, shown)
