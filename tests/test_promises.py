"""The README's promises that had no test of their own: scopes of a police bureau and civil
affairs, Secure cookies and CSRF on every form, the board's order, counts and undelivered list,
the daily digest's figures, the calendar's fallback, sweeping around a case someone is saving,
nothing of a child's in Prefect, and the CLI's success paths."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, arrive, make_report
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import Case, Command, Delivery, Notification, TimelineEvent, User
from services import accounts, cases, reports, tasks
from services import commands as commands_service
from shouhu import clock, db
from shouhu.errors import InvalidInput
from tasks.sweep import tick

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_a_police_bureau_and_civil_affairs_read_the_county_and_no_more(db_url: str) -> None:
    with db.transaction() as s:  # a county police bureau officer (the demo rosters have station officers only)
        s.add(
            User(username="sx-bureau", display_name="县局 值班民警", role="police", unit="sx-ga", jurisdiction="sixian")
        )
    town = reports.submit_report(make_report(), "sx-intake")
    country = reports.submit_report(
        make_report(**{"child.township": "sx-t-cg", "child.village": "sx-v-cg-xz"}), "sx-intake"
    )
    elsewhere = reports.submit_report(make_report("yantai"), "yt-intake")
    for who in ("sx-bureau", "sx-civil", "sx-manager"):
        seen = {c["case_no"] for c in cases.list_cases(who, limit=500)["items"]}
        assert seen == {town["case_no"], country["case_no"]}, who  # the whole county, never another
    assert {c["case_no"] for c in cases.list_cases("sx-supervisor-cg", limit=500)["items"]} == {country["case_no"]}
    assert {c["case_no"] for c in cases.list_cases("sx-director-dg", limit=500)["items"]} == {town["case_no"]}
    assert cases.show_case(country["case_no"], "sx-bureau")["child"]["masked"] is False
    with pytest.raises(InvalidInput):
        cases.show_case(elsewhere["case_no"], "sx-bureau")


def test_secure_cookies_and_csrf_on_every_form(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.app import create_app

    monkeypatch.setenv("SHOUHU_SECURE_COOKIES", "1")
    app = create_app()
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower() and "httponly" in page.headers["set-cookie"].lower()
    assert (
        client.post(
            "/login",
            data={"username": "sx-police", "password": PASSWORD, "csrf": csrf(page.text)},
            follow_redirects=False,
        ).status_code
        == 303
    )
    opened = reports.submit_report(make_report(), "sx-intake")
    task = cases.show_case(opened["case_no"], "sx-police", record_read=False)["tasks"][0]
    from web import pages

    forms = sorted({r.path for r in pages.router.routes if "POST" in r.methods})  # every form the pages have
    assert forms == ["/login", "/logout", "/reports/new", "/tasks/{task_id}"]
    before = commands_service.list_commands(None)
    for path in forms:
        refused = client.post(
            path.replace("{task_id}", task["task_id"]), data={"unfounded": "false", "measures": ["admonish_guardian"]}
        )
        assert refused.status_code == 403 and "CSRF" in refused.text, path
    assert commands_service.list_commands(None) == before
    assert client.get("/tasks", follow_redirects=False).status_code == 200  # logout without the token did not sign out


def test_the_board_puts_supervision_first_with_its_counts_and_what_was_not_delivered(db_url: str) -> None:
    from web.app import create_app

    first = reports.submit_report(make_report(), "sx-intake")  # sixian's police task: 12 h, then +1 h, +4 h
    arrive(first["case_id"], "sx-police")  # on scene at once: the response is the clock that runs late
    clock.advance(hours=4)
    second = reports.submit_report(make_report(), "sx-intake")
    arrive(second["case_id"], "sx-police")
    clock.set_now(T0 + timedelta(hours=16, minutes=30))
    tick()  # the first at level 3 (督办), the second at level 1
    with db.transaction() as s:
        note = Notification(
            case_id=uuid.UUID(second["case_id"]),
            jurisdiction="sixian",
            unit="sx-t-sc",
            event="task_opened",
            template="task_opened",
            dedupe_key="board-test",
            subject="s",
            body="b",
            status="failed",
            created_at=clock.now(),
        )
        s.add(note)
        s.flush()
        s.add(
            Delivery(
                notification_id=note.id,
                channel="dingtalk",
                status="failed",
                attempts=6,
                last_error="refused",
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    client = TestClient(create_app(), raise_server_exceptions=False)
    client.post(
        "/login", data={"username": "sx-manager", "password": PASSWORD, "csrf": csrf(client.get("/login").text)}
    )
    board = client.get("/board").text
    sections = board.split("<h2>")
    breaches = re.findall(r"<tr class=\"overdue\">.*?</tr>", sections[1], re.S)
    assert [re.search(r"/cases/([A-Z0-9-]+)", r).group(1) for r in breaches] == [first["case_no"], second["case_no"]]
    assert "督办" in breaches[0] and "第 3 级" in breaches[0] and "督办" not in breaches[1] and "第 1 级" in breaches[1]
    summary = re.findall(
        r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td></tr>",
        sections[2],
    )
    assert summary == [("泗县公安局泗城派出所", "应急处置", "1", "0", "1")]
    undelivered = re.findall(
        r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td><td[^>]*>(\d+)</td>", sections[4]
    )
    assert undelivered == [(second["case_no"], "泗城镇人民政府", "dingtalk", "6")]


def test_the_daily_digest_counts_what_is_open_and_late(db_url: str) -> None:
    for _ in range(2):
        arrive(reports.submit_report(make_report(), "sx-intake")["case_id"], "sx-police")
    clock.set_now(T0 + timedelta(days=1, hours=-1))  # 08:00 the next day: the pack's digest hour
    tick()
    with Session(db.engine()) as s:
        digests = s.exec(
            select(Notification).where(Notification.event == "daily_digest", Notification.jurisdiction == "sixian")
        ).all()
    assert sorted(n.unit for n in digests) == ["sx-coord", "sx-mz"]
    body = digests[0].body
    assert "在办案件 2（应急处置 2、评估帮扶 0、监护干预 0）" in body and "近24小时新立案 2" in body
    assert "未解决逾期 2（3 级 2），其中督办 2" in body, body
    tick()  # once a day
    with Session(db.engine()) as s:
        assert (
            len(
                s.exec(
                    select(Notification).where(
                        Notification.event == "daily_digest", Notification.jurisdiction == "sixian"
                    )
                ).all()
            )
            == 2
        )


def test_a_deadline_beyond_the_holiday_calendar_says_so_on_the_timeline(db_url: str) -> None:
    clock.set_now(T0.replace(year=2099, month=12, day=29))  # a Tuesday; the holiday data stops long before
    opened = reports.submit_report(
        make_report(
            **{"child.birth_date": "2090-03-01", "child.id_number": None, "discovered_at": "2099-12-29T07:00:00+08:00"}
        ),
        "sx-intake",
    )
    task = cases.show_case(opened["case_no"], "sx-police", record_read=False)["tasks"][0]
    case = tasks.complete_task(task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    assessment = next(t for t in case["tasks"] if t["kind"] == "assessment")
    assert assessment["due_at"].startswith("2100-01-01")  # three working days, Monday to Friday
    with Session(db.engine()) as s:
        notes = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.case_id == uuid.UUID(opened["case_id"]), TimelineEvent.kind == "calendar_fallback"
            )
        ).all()
    assert [n.payload["years"] for n in notes] == [[2099, 2100]] and "周一至周五" in notes[0].summary


def test_a_case_someone_is_saving_is_left_for_the_next_tick(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes the whole database for a writer; the sweeper waits instead of skipping")
    from shouhu.timeline import lock_case

    opened = reports.submit_report(make_report(), "sx-intake")
    arrive(opened["case_id"], "sx-police")
    at = T0 + timedelta(hours=40)
    with db.transaction() as s:
        lock_case(s, uuid.UUID(opened["case_id"]))  # a person's transition holds the case row
        busy = tick(at)
    assert busy["skipped_busy"] >= 1 and busy["fired"] == 0
    assert tick(at)["fired"] == 5  # the next tick fires what was left


def test_no_child_data_reaches_prefect(db_url: str) -> None:
    """A whole case through all four steps, then everything Prefect holds about its runs: only
    command ids, case numbers and flow names — no name, ID number, address or phone."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from cli.demo import run_demo

    result = run_demo("sixian")
    assert result["ok"]
    case = cases.show_case(result["case_no"], "sx-police", record_read=False)
    secrets = [case["child"]["name"], case["child"]["id_number"], "演示监护人", "13900000000", "学生连续三天未到校"]

    with Session(db.engine()) as s:
        commands = {
            str(c) for c in s.exec(select(Command.id).where(Command.case_id == uuid.UUID(result["case_id"]))).all()
        }

    async def everything() -> str:
        async with get_client() as client:
            runs: list = []
            while True:  # every page (other tests' cases in this worker share the number)
                page = await client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[result["case_no"]])),
                    limit=200,
                    offset=len(runs),
                )
                runs += page
                if len(page) < 200:
                    break
            runs = [r for r in runs if r.parameters.get("command_id") in commands]
            assert len(runs) == len(commands) > 10
            parts = [r.model_dump_json() for r in runs]
            for r in runs:
                parts += [st.model_dump_json() for st in await client.read_flow_run_states(r.id)]
            return "\n".join(parts)

    held = asyncio.run(everything())
    assert result["case_no"] in held and len(held) > 1000
    assert [s for s in secrets if s and s in held] == []


def test_cli_success_paths(db_url: str, prefect_server: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": db_url,
        "SHOUHU_HOME": str(tmp_path),
        "PREFECT_API_URL": prefect_server,
        "SHOUHU_NOW": T0.isoformat(),
    }
    env.pop("SHOUHU_USER", None)

    def cli(*args: str, stdin: str | None = None, user: str | None = None) -> Any:
        run_env = {**env, **({"SHOUHU_USER": user} if user else {})}
        proc = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=run_env,
            cwd=ROOT,
            timeout=300,
        )
        assert proc.returncode == 0, (args, proc.stdout[-500:], proc.stderr[-500:])
        return proc.stdout

    opened = json.loads(
        cli("report", "-", "--as", "sx-intake", "--json", stdin=json.dumps(made := make_report(), ensure_ascii=False))
    )
    indented = cli("case", "show", opened["case_no"], user="sx-police")  # without --json: the same document, indented
    assert indented.startswith("{\n  ") and json.loads(indented)["case_no"] == opened["case_no"]
    cli("case", "show", opened["case_no"])  # no user: the read is attributed to the operating-system account
    arrival = next(t for t in json.loads(indented)["tasks"] if t["kind"] == "police_arrival")
    acked = json.loads(cli("task", "ack", arrival["task_id"], "--as", "sx-police", "--json"))  # 出警到场, one command
    assert next(t for t in acked["tasks"] if t["kind"] == "police_arrival")["status"] == "done"
    reads = [
        (e["actor"])
        for e in cases.case_timeline(opened["case_no"], "sx-police", record_read=False)
        if e["kind"] == "case_read"
    ]
    assert reads[0] == "sx-police" and reads[1].startswith("os:")
    sheet = tmp_path / "台账.csv"  # the county's spreadsheet names the child: the round visits the ledger
    child = made["child"]
    sheet.write_text(
        "姓名,身份证号,性别,出生日期,乡镇,村,类别\n"
        f"{child['name']},{child['id_number']},女,{child['birth_date']},{child['township']},{child['village']},留守儿童\n",
        encoding="utf-8",
    )
    imported = json.loads(cli("ledger", "import", str(sheet), "--jurisdiction", "sixian", "--as", "sx-civil", "--json"))
    assert imported["updated"] == 1 and imported["errors"] == []
    env["SHOUHU_NOW"] = (T0 + timedelta(days=2)).isoformat()
    swept = json.loads(cli("sweep", "--json"))
    assert (
        swept["fired"] == 5
        and swept["errors"] == 0
        and set(swept["started"]) >= {"digests", "anchors", "verification_visits"}
    )
    assert json.loads(cli("dispatch", "--json")) == {
        "routed": 0,
        "sent": 0,
        "retrying": 0,
        "failed": 0,
    }  # the tick already sent
    assert json.loads(cli("routing", "check", "--json"))["units"] == {}
    breaches = json.loads(cli("breaches", "--open", "--json"))
    assert [(b["case_no"], b["level"], b["supervised"]) for b in breaches] == [(opened["case_no"], 3, True)]
    report = json.loads(cli("sla", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--json"))
    assert report["cases_opened"] == 1 and report["units"][0]["open_overdue"] == 1
    visits = json.loads(cli("visits", "list", "--unit", "sx-v-sc-dg", "--as", "sx-director-dg", "--json"))
    assert [v["period"] for v in visits] == ["2026Q4"]

    def held() -> tuple[list[str], int]:
        with Session(db.engine()) as s:
            return sorted(s.exec(select(Case.case_no)).all()), len(s.exec(select(Notification.id)).all())

    before = held()
    demo = subprocess.run(
        [sys.executable, "-m", "cli", "demo"],
        capture_output=True,
        text=True,
        env={**env, "SHOUHU_NOW": ""},
        cwd=ROOT,
        timeout=300,
    )
    assert demo.returncode == 0 and "时间线校验（case verify）：通过" in demo.stdout
    # the demo keeps to its own database: the one serve and the CLI use (SHOUHU_DATABASE_URL) gets no case, no message
    assert held() == before and opened["case_no"] in before[0]
    assert "演示数据写入单独的数据库" in demo.stdout and "demo.db" in demo.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "demo.db") as conn:
        assert conn.execute("SELECT count(*) FROM \"case\" WHERE stage = 'closed'").fetchone()[0] == 1


def test_the_task_inbox_marks_what_is_due_soon_and_what_is_overdue(db_url: str) -> None:
    from web.app import create_app

    app = create_app()
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    opened = reports.submit_report(make_report(), "sx-intake")  # the police task is due in 12 h

    def row_class() -> str:
        client = TestClient(app, raise_server_exceptions=False)
        client.post(
            "/login", data={"username": "sx-police", "password": PASSWORD, "csrf": csrf(client.get("/login").text)}
        )
        html = client.get("/tasks").text
        return re.search(rf'<tr class="([a-z]*)">(?:(?!</tr>).)*href="/cases/{opened["case_no"]}"', html, re.S).group(1)

    assert row_class() == "soon"  # due within 24 h: amber
    clock.advance(hours=13)
    assert row_class() == "overdue"  # past due: red


def test_settings_are_one_object_validated_at_start(tmp_path: Path) -> None:
    """SHOUHU_SECURE_COOKIES=true means true; a value that cannot be used stops the CLI naming the
    variable; an unknown SHOUHU_* variable is warned about."""
    from shouhu import config

    env = {**os.environ, "SHOUHU_HOME": str(tmp_path), "SHOUHU_SECURE_COOKIES": "true"}
    for value, expected in (("true", True), ("on", True), ("1", True), ("false", False), ("0", False)):
        os.environ["SHOUHU_SECURE_COOKIES"] = value
        try:
            assert config.settings().secure_cookies is expected
        finally:
            del os.environ["SHOUHU_SECURE_COOKIES"]
    bad = subprocess.run(
        [sys.executable, "-m", "cli", "units", "--jurisdiction", "sixian", "--json"],
        capture_output=True,
        text=True,
        env={**env, "SHOUHU_SECURE_COOKIES": "maybe"},
        timeout=120,
    )
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["field"] == "SHOUHU_SECURE_COOKIES"
    bad = subprocess.run(
        [sys.executable, "-m", "cli", "units", "--jurisdiction", "sixian", "--json"],
        capture_output=True,
        text=True,
        env={**env, "SHOUHU_NOW": "2026-11-24T09:00"},
        timeout=120,
    )
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["field"] == "SHOUHU_NOW"
    typo = subprocess.run(
        [sys.executable, "-m", "cli", "policy", "show", "--jurisdiction", "sixian", "--json"],
        capture_output=True,
        text=True,
        env={**env, "SHOUHU_HOEM": "/elsewhere"},
        timeout=120,
    )
    assert typo.returncode == 0 and "SHOUHU_HOEM is not a Shouhu setting" in typo.stderr
