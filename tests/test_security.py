"""Hostile input through every face: no page runs what was typed, no message or timeline line
carries it, a masked reader sees none of it, and every refused request is refused in one shape,
naming the field, having changed nothing."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import counts, make_report, user_of
from fastapi.testclient import TestClient
from hostile import (
    IDENTITY,
    ROOT,
    Marks,
    allowed_tags,
    hostile_report,
    markup_problems,
    walk_hostile_case,
)
from sqlmodel import Session, select

from models import Case, Command, Document, Notification, Report, TimelineEvent
from services import accounts, children, ledger, reports, tasks, visits
from services import cases as cases_service
from services import documents as documents_service
from shouhu import clock, db
from shouhu.errors import InvalidInput
from tasks import sweep

PASSWORD = "correct horse battery"
ROLES = ("police_intake", "police", "township_caseworker", "village_director", "civil_affairs", "manager")


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def pages(db_url: str) -> Iterator[Any]:
    """Signed-in clients per username, and the set of page templates rendered meanwhile."""
    from web import templating as web_templating
    from web.app import create_app

    env = web_templating.templates.env
    loaded: set[str] = set()
    original, cache = env.loader.get_source, env.cache

    def recording(environment: Any, name: str) -> Any:
        loaded.add(name)
        return original(environment, name)

    env.loader.get_source, env.cache = recording, None  # no cache: every render loads, and is seen
    app = create_app()
    clients: dict[str, TestClient] = {}

    def client(username: str | None) -> TestClient:
        if username is None:
            return TestClient(app, raise_server_exceptions=False)
        if username not in clients:
            accounts.set_password(username, PASSWORD, must_change=False)
            c = TestClient(app, raise_server_exceptions=False)
            r = c.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf": csrf(c.get("/login").text), "next": "/"},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            clients[username] = c
        return clients[username]

    client.loaded = loaded
    yield client
    env.loader.get_source, env.cache = original, cache


def test_no_page_or_document_runs_what_was_typed(pages: Any) -> None:
    """Every page template and every document, rendered as every role from a case whose every
    typed field is hostile: no element, attribute or link of the data's making, and a CSP."""
    marks = Marks("MK")
    closed = walk_hostile_case(marks, sequence=101)
    pending = reports.submit_report(hostile_report(Marks("PN"), sequence=102), user_of("sixian", "police_intake"))
    allowed = allowed_tags()
    seen: list[tuple[str, str, Any]] = []

    def visit(who: str | None, method: str, path: str, **kwargs: Any) -> Any:
        r = pages(who).request(method, path, **kwargs)
        seen.append((who or "anonymous", f"{method} {path}", r))
        return r

    visit(None, "GET", "/login?next=" + '/"><script>alert(document.cookie)</script>')
    visit(None, "GET", "/login?next=//evil.example/")
    visit(
        None,
        "POST",
        "/login",
        data={
            "username": '"><script>alert(1)</script>',
            "password": "x",
            "next": '"><script>',
            "csrf": csrf(pages(None).get("/login").text),
        },
    )
    documents = documents_service.case_documents(closed["case_id"], user_of("sixian", "police"), record_read=False)
    assert {d["kind"] for d in documents} == {
        "intake_form",
        "warning_letter",
        "handover",
        "assessment_report",
        "assistance_plan",
        "temporary_guardianship_decision",
        "guardianship_petition",
        "closing_report",
    }
    open_task = next(
        t
        for t in cases_service.show_case(pending["case_id"], "sx-police", record_read=False)["tasks"]
        if t["status"] == "open"
    )
    founded = reports.submit_report(hostile_report(Marks("FD"), sequence=103), user_of("sixian", "police_intake"))
    response = next(
        t
        for t in cases_service.show_case(founded["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "emergency_response"
    )
    tasks.complete_task(  # founded: the hostile child is on the ledger, so on the village's round
        response["task_id"],
        {"unfounded": False, "measures": sorted({"admonish_guardian", "stop_harm", "entrusted_care"})},
        "sx-police",
    )
    sweep.tick(clock.now())  # the quarter's round: the hostile children are on the village's list
    on_round = next(v for v in visits.list_visits("sx-director-dg", "sx-v-sc-dg") if v["status"] == "open")
    hostile_child = children.search_children(closed["case_no"], user_of("sixian", "police"))["items"][0]["child_id"]
    director = "sx-director-dg"
    visit_form = visit(director, "GET", f"/visits/{on_round['visit_id']}")
    hostile_visit = {"csrf": csrf(visit_form.text), "guardianship": "absent", "schooling": "in_school"}
    visit(
        director,
        "POST",
        f"/visits/{on_round['visit_id']}",
        data={**hostile_visit, "notes": "</textarea><script>alert(7)</script>"},
    )  # refused: shown back
    recorded = visit(
        director,
        "POST",
        f"/visits/{on_round['visit_id']}",
        data={
            **hostile_visit,
            "visited_on": "2026-11-24",
            "family_changed": "false",
            "notes": '"><script>alert(8)</script>',
        },
    )  # a danger finding: the list shows what to do next
    assert recorded.status_code == 200 and "已告知" in recorded.text  # recorded; the list shows what to do next
    visit(director, "GET", "/visits")
    for role in ROLES:
        who = user_of(
            "sixian",
            role,
            "sx-v-sc-dg" if role == "village_director" else "sx-t-sc" if role == "township_caseworker" else None,
        )
        for path in (
            "/tasks",
            "/cases",
            "/inbox",
            "/board",
            "/board.csv",
            "/approvals",
            "/approvals?status=approved",
            f"/cases/{closed['case_no']}",
            f"/cases/{pending['case_no']}",
            '/no/such/"><script>alert(1)</script>',
            "/reports/new",
            "/visits",
            "/visits?unit=sx-v-sc-dg",
            f"/visits/{on_round['visit_id']}",
            "/children",
            f"/children?q={closed['case_no']}",
            "/children?q=sx-v-sc-dg",
            '/children?kind=name&q="><script>alert(1)</script>',
            f"/children/{hostile_child}",
            "/duplicates",
            f"/tasks/{open_task['task_id']}/handover",
        ):
            visit(who, "GET", path)
        for task in closed["tasks"]:
            visit(who, "GET", f"/tasks/{task['task_id']}")
        for doc in documents:
            visit(who, "GET", f"/documents/{doc['document_id']}")
        form = visit(who, "GET", f"/tasks/{open_task['task_id']}")
        if form.status_code == 200:
            visit(
                who,
                "POST",
                f"/tasks/{open_task['task_id']}",
                data={"csrf": csrf(form.text), "unfounded": "false", "notes": "</textarea><script>alert(1)</script>"},
            )
        visit(who, "GET", "/account/password")
        visit(who, "GET", "/admin/users")
        visit(who, "GET", "/ledger")
    civil = user_of("sixian", "civil_affairs")
    hostile_csv = (
        ",".join(ledger.HEADERS)
        + "\n"
        + ",".join(
            ['"><script>alert(7)</script>', "", "女", "2016-05-01", "<img src=x onerror=alert(8)>", "", "<b>外星</b>"]
            + [""] * (len(ledger.HEADERS) - 7)
        )
    )
    visit(
        civil,
        "POST",
        "/ledger/import",
        data={"csrf": csrf(pages(civil).get("/ledger").text)},
        files={"file": ('"><svg onload=alert(9)>.csv', hostile_csv.encode("utf-8"), "text/csv")},
    )
    manager = user_of("sixian", "manager")
    listed = visit(manager, "GET", "/admin/users")
    visit(
        manager,
        "POST",
        "/admin/users",
        data={
            "csrf": csrf(listed.text),
            "username": "sx-hostile",
            "role": "village_director",
            "unit": "sx-v-sc-dg",
            "display_name": '"><script>alert(4)</script>',
        },
    )
    visit(
        manager,
        "POST",
        "/admin/users",
        data={
            "csrf": csrf(listed.text),
            "username": '"><script>alert(5)</script>',
            "role": "police",
            "unit": "sx-pcs-sc",
            "display_name": "x",
        },
    )  # refused, shown back
    visit(manager, "GET", "/admin/users/sx-hostile")
    visit(manager, "GET", "/admin/records")
    mine = visit(manager, "GET", "/account/password")
    visit(
        manager,
        "POST",
        "/account/password",
        data={
            "csrf": csrf(mine.text),
            "current_password": "<script>alert(6)</script>",
            "new_password": "x",
            "repeat_password": "x",
        },
    )
    intake = user_of("sixian", "police_intake")
    filled = {
        "csrf": csrf(pages(intake).get("/reports/new").text),
        "channel": '"><script>alert(1)</script>',
        "description": "</textarea><script>alert(2)</script>",
        "child.name": "<img src=x onerror=alert(3)>",
        "situations": ["living_alone"],
    }
    visit(
        intake, "POST", "/reports/new", data=filled
    )  # refused (fields missing): the form comes back with what was typed

    problems = []
    for who, what, r in seen:
        if r.headers.get("content-type", "").startswith("text/html"):
            assert scripts_allowed(r.headers.get("content-security-policy", "")) in ("'self'", "'none'"), (who, what)
            problems += [f"{who} {what}: {p}" for p in markup_problems(r.text, allowed)]
    assert not problems, problems[:20]
    every_page = {p.name for p in (ROOT / "templates" / "web").glob("*.j2")}
    assert every_page <= pages.loaded, every_page - pages.loaded
    statuses = {(what.split()[1].split("/")[1], r.status_code) for _, what, r in seen}
    assert (
        ("documents", 200) in statuses
        and ("cases", 200) in statuses
        and ("tasks", 200) in statuses
        and ("board", 200) in statuses
    )


def scripts_allowed(csp: str) -> str | None:
    """The effective script-src of a Content-Security-Policy (script-src, else default-src)."""
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip())
    return directives.get("script-src", directives.get("default-src"))


def test_typed_text_never_reaches_a_message_or_a_timeline_line(db_url: str) -> None:
    """Messages and timeline summaries are made of codes, names of units and numbers only:
    nothing anyone typed (a child's name, a note, a reason) is ever in them."""
    marks = Marks("TL")
    closed = walk_hostile_case(marks, sequence=103)
    case_id = uuid.UUID(closed["case_id"])
    with Session(db.engine()) as s:
        messages = s.exec(select(Notification).where(Notification.case_id == case_id)).all()
        lines = s.exec(select(TimelineEvent.summary).where(TimelineEvent.case_id == case_id)).all()
    assert len(messages) > 20 and len(lines) > 50
    for n in messages:
        assert not marks.found_in(n.subject + n.body), (n.event, marks.found_in(n.subject + n.body))
    assert not [(line, marks.found_in(line)) for line in lines if marks.found_in(line)]


def test_a_masked_reader_sees_no_identity_through_any_way_out(db_url: str) -> None:
    """The manager's view of the case through the service (CLI), the API, the pages and every
    document (API and page): the child's identity and what was typed about the family never."""
    from web.app import create_app

    marks = Marks("MS")
    closed = walk_hostile_case(marks, sequence=104)
    identity = {f for f in marks.by_field if f.split(".")[0] in IDENTITY or f in IDENTITY}
    manager = user_of("sixian", "manager")
    token = accounts.create_token(manager, "masking test")["token"]
    api = TestClient(create_app(), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    accounts.set_password(manager, PASSWORD, must_change=False)
    page = TestClient(create_app(), raise_server_exceptions=False)
    signed = page.post(
        "/login",
        data={"username": manager, "password": PASSWORD, "csrf": csrf(page.get("/login").text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    outputs = {
        "service.show_case": str(cases_service.show_case(closed["case_no"], manager)),
        "service.case_timeline": str(cases_service.case_timeline(closed["case_no"], manager)),
        "api case": ok(api.get(f"/api/v1/cases/{closed['case_no']}", headers=auth)).text,
        "api timeline": api.get(f"/api/v1/cases/{closed['case_no']}/timeline", headers=auth).text,
        "api cases": api.get("/api/v1/cases?limit=500", headers=auth).text,
        "page case": ok(page.get(f"/cases/{closed['case_no']}")).text,
        "page board": page.get("/board").text + page.get("/board.csv").text,
    }
    docs = documents_service.case_documents(closed["case_no"], manager)
    assert len(docs) == 8  # managers see every document (the reporter included), masked
    for d in docs:
        shown = documents_service.show_document(d["document_id"], manager)
        assert shown["masked"] is True and shown["intact"] and shown["matches_timeline"]
        outputs[f"service document {d['kind']}"] = shown["content"]
        from_api, from_page = (
            api.get(f"/api/v1/documents/{d['document_id']}", headers=auth),
            page.get(f"/documents/{d['document_id']}"),
        )
        assert from_api.status_code == from_page.status_code == 200
        assert (
            from_api.json()["sha256"]
            == shown["sha256"]
            != documents_service.show_document(d["document_id"], "sx-police")["sha256"]
        )
        outputs[f"api document {d['kind']}"] = from_api.text
        outputs[f"page document {d['kind']}"] = from_page.text
    child = cases_service.show_case(closed["case_no"], user_of("sixian", "police"), record_read=False)["child"]
    for where, text in outputs.items():
        assert "登录" not in text[:400] or where.startswith("api"), where  # a real page, not the sign-in form
        assert child["id_number"] not in text and child["birth_date"] not in text, (
            where
        )  # ID number and birth date masked too
    leaks = {where: marks.found_in(text, identity) for where, text in outputs.items() if marks.found_in(text, identity)}
    assert not leaks, leaks
    police = documents_service.show_document(docs[0]["document_id"], user_of("sixian", "police"))
    assert (
        police["masked"] is False and marks.by_field["child.name"] in police["content"]
    )  # the real file keeps identity


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text[:300]
    return response


def test_outcome_dates_are_of_things_that_happened(db_url: str) -> None:
    """A refusal "since 2200" or "since 1900", a ruling next year: refused by name, nothing written."""
    opened = reports.submit_report(make_report(), "sx-intake")
    task = next(
        t
        for t in cases_service.show_case(opened["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "emergency_response"
    )
    tasks.complete_task(task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    task = next(
        t
        for t in cases_service.show_case(opened["case_id"], "sx-police", record_read=False)["tasks"]
        if t["status"] == "open"
    )
    base = {
        "safety": "safe",
        "guardianship": "adequate",
        "health": "良好",
        "risk_level": "low",
        "intervention_needed": False,
    }
    before = counts(TimelineEvent, Command)
    for day, code in (("2200-12-31", "in_future"), ("1900-01-01", "before_birth")):
        with pytest.raises(InvalidInput) as refused:
            tasks.complete_task(task["task_id"], {**base, "guardian_refused_since": day}, "sx-supervisor-sc")
        assert (refused.value.code, refused.value.field) == (code, "outcome.guardian_refused_since")
    assert counts(TimelineEvent, Command) == before


def test_input_refused_on_every_face_names_the_field_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    """A NUL, an over-long text, a repeated item, a date of year 1 or before birth: the same
    refusal from the service (CLI), the API and the intake form, naming the field; no row written."""
    from web.app import create_app

    intake = user_of("sixian", "police_intake")
    token = accounts.create_token(intake, "input test")["token"]
    api = TestClient(create_app(), raise_server_exceptions=False)
    cases = [
        ("child.name", {"child.name": "张\x00三"}, "control_character"),
        ("description", {"description": "x" * 1_000_000}, "too_long"),
        ("channel", {"channel": "电" * 201}, "too_long"),
        ("idempotency_key", {"idempotency_key": "k\x00"}, "control_character"),
        ("reporter.name", {"reporter.name": "a\nb"}, "control_character"),
        (
            "channel",
            {"channel": "电话\u202e报警"},
            "control_character",
        ),  # a direction override: displays other than it reads
        ("child.name", {"child.name": "张\u200b三"}, "control_character"),  # an invisible character in a name
        ("situations", {"situations": ["living_alone", "living_alone"]}, "duplicate_item"),
        ("guardians", {"guardians": [{"name": "甲", "relation": "母亲", "status": "在家"}] * 10_000}, "too_long"),
        ("discovered_at", {"discovered_at": "0001-01-01T00:00:00+08:00"}, "out_of_range"),
        ("discovered_at", {"discovered_at": "2010-01-01T00:00:00+08:00"}, "discovered_before_birth"),
        ("child.birth_date", {"child.birth_date": "0001-01-01"}, "out_of_range"),
    ]
    before = counts(Case, Report, Command, TimelineEvent, Notification, Document)
    for field, override, code in cases:
        report = make_report(**override)
        if field == "child.birth_date":
            report["child"].pop("id_number")
        with pytest.raises(InvalidInput) as refused:
            reports.submit_report(report, intake)
        assert (refused.value.code, refused.value.field) == (code, field)
        r = api.post("/api/v1/reports", json=report, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code in (400, 413) and (r.json()["error"]["code"], r.json()["error"]["field"]) in (
            (code, field),
            ("too_large", "body"),
        )
    for raw, code in (
        (b"\xef\xbb\xbf" + b'{"a": 1}', "missing_field"),
        (b"\xff\xfe{", "bad_encoding"),
        (b"[" * 50_000, "too_deep"),
        (b'{"a": 1, "a": 2}', "bad_json"),
        (b"{not json", "bad_json"),
        (b'{"x": NaN}', "bad_json"),
    ):
        r = api.post(
            "/api/v1/reports",
            content=raw,
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == code, (raw[:20], r.text)
    for path in ("/api/v1/cases/%00", "/api/v1/cases?stage=%00", "/api/v1/tasks?status=open%00"):
        r = api.get(path, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "control_character", (path, r.text)
    assert counts(Case, Report, Command, TimelineEvent, Notification, Document) == before


# ---- every field of every input model, from the models themselves --------------------------
OUTCOME_EXAMPLES: dict[str, dict[str, Any]] = {
    "police_arrival": {"notes": "到场"},
    "emergency_response": {"unfounded": False, "measures": ["admonish_guardian"]},
    "temporary_care": {"placed_at": "县救助站"},
    "assessment": {
        "safety": "safe",
        "guardianship": "adequate",
        "health": "良好",
        "risk_level": "low",
        "intervention_needed": False,
        "services": ["legal_aid"],
    },
    "service": {"delivered": True},
    "follow_up_visit": {"child_seen": True},
    "final_review": {"exit_reason": "placed"},
    "guardian_measures": {"measures": ["admonition"], "guardian_changed": True},
    "temporary_guardianship": {"decided": False},
    "court_petition": {"filed": False},
    "court_ruling": {"revoked": False, "ruled_on": "2026-11-01"},
    "placement": {"placement": "kinship_care"},
    "warning_letter_visit": {"child_seen": True},
    "holiday_patrol": {"child_seen": True},
    "verification": {
        "visited_on": "2026-11-01",
        "guardianship": "adequate",
        "schooling": "in_school",
        "family_changed": False,
        "concerns": ["living_alone"],
    },
}


def leaf_fields(model: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, kind) of every text, date, time and list field, nested models included."""
    import datetime as dt
    import typing

    from pydantic import BaseModel

    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        args = [a for a in typing.get_args(info.annotation) if a is not type(None)] or [info.annotation]
        base = (
            args[0]
            if typing.get_origin(info.annotation) in (typing.Union, __import__("types").UnionType)
            else info.annotation
        )
        if typing.get_origin(base) is list:
            item = typing.get_args(base)[0]
            yield path, "list"
            if isinstance(item, type) and issubclass(item, BaseModel):
                yield from leaf_fields(item, f"{path}.0.")
        elif isinstance(base, type) and issubclass(base, BaseModel):
            yield from leaf_fields(base, f"{path}.")
        elif base is str:
            yield path, "text"
        elif base is dt.datetime:
            yield path, "instant"
        elif base is dt.date:
            yield path, "day"


def with_value(example: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(example)
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return data


def test_every_field_of_every_input_refuses_hostile_values_by_name() -> None:
    """Generated from the models: each text field refuses a NUL and an over-long value, each
    list a repeat and too many items, each date year 1 — always naming that very field."""
    from shouhu.inputs import LIMITS, OUTCOMES, ReportIn, VerificationOutcome, parse

    models = [
        ("report", ReportIn, {**make_report(), "guardians": [{"name": "甲", "relation": "母亲", "status": "在家"}]})
    ]
    models += [(kind, OUTCOMES[kind], OUTCOME_EXAMPLES[kind]) for kind in OUTCOMES]
    models += [("verification", VerificationOutcome, OUTCOME_EXAMPLES["verification"])]
    checked, fields = 0, 0
    for kind, model, example in models:
        parse(model, example)  # the example itself is valid
        for path, leaf in leaf_fields(model):
            fields += 1
            if leaf == "text":
                variants = [("a\x00b", "control_character"), ("x" * (LIMITS.long_text + 1), "too_long")]
            elif leaf == "list":
                item = example[path][0]  # every list field has an item in its example
                variants = [([item, item], "duplicate_item"), ([item] * (LIMITS.list_items + 1), "too_long")]
            elif leaf == "instant":
                variants = [("0001-01-01T00:00:00+08:00", "out_of_range"), ("2026-11-24T07:00:00", "naive_datetime")]
            else:
                variants = [("0001-01-01", "out_of_range")]
            for value, code in variants:
                with pytest.raises(InvalidInput) as refused:
                    parse(model, with_value(example, path, value))
                assert (refused.value.field, refused.value.code) == (path, code), (
                    kind,
                    path,
                    value if len(str(value)) < 40 else "…",
                )
                checked += 1
    assert fields > 30 and checked == 2 * fields - sum(
        1 for _, m, _ in models for _, leaf in leaf_fields(m) if leaf == "day"
    )


def test_an_internal_error_answers_in_shape_and_keeps_the_connection(db_url: str) -> None:
    """A 500 is `{"error": …}` (a page in Chinese off the API), and the same keep-alive connection
    serves the client's next request: an error must not break the client's following call."""
    import socket
    import threading
    import time

    import uvicorn
    from receivers import free_port

    from web.app import create_app

    app = create_app()

    def boom() -> None:
        raise RuntimeError("a bug, with a child's name in its message: 张三")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            answers = []
            for path in ("/api/v1/boom", "/boom", "/healthz"):  # three requests, one connection
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(1)
                length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))
                body = b""
                while len(body) < length:
                    body += conn.recv(length - len(body))
                answers.append((head.decode(), body.decode()))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    (api_head, api_body), (page_head, page_body), (ok_head, _) = answers
    assert api_head.startswith("HTTP/1.1 500") and "connection: close" not in api_head.lower()
    assert json.loads(api_body)["error"]["code"] == "internal" and "张三" not in api_body
    assert page_head.startswith("HTTP/1.1 500") and "出错了" in page_body and "张三" not in page_body
    assert ok_head.startswith("HTTP/1.1 200")
