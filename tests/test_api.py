"""The REST API per role: each role may do what it should, is refused the rest (403, recorded,
nothing leaked), and every answer uses the CLI's error codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_report
from fastapi.testclient import TestClient
from sqlalchemy import false
from sqlmodel import Session, select

from models import AccessRecord
from services import accounts
from shouhu import db


@pytest.fixture
def api(db_url: str) -> Iterator[Any]:
    from web.app import create_app

    tokens: dict[str, str] = {}
    client = TestClient(create_app(), raise_server_exceptions=False)

    def call(method: str, path: str, who: str | None, **kwargs: Any) -> Any:
        if who and who not in tokens:
            tokens[who] = accounts.create_token(who, "api test")["token"]
        headers = {"Authorization": f"Bearer {tokens[who]}"} if who else kwargs.pop("headers", {})
        return client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    yield call


def test_without_a_token_nothing_is_served(api) -> None:
    r = api("GET", "/cases", None)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = api("GET", "/cases", None, headers={"Authorization": "Bearer shh_forged"})
    assert r.status_code == 401


def test_each_role_sees_and_does_what_it_may(api) -> None:
    report = make_report()  # 泗城镇 东关村; police station 泗城派出所 covers it
    assert api("POST", "/reports", "sx-supervisor-sc", json=report).status_code == 403  # only police register
    created = api("POST", "/reports", "sx-intake", json=report)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]

    # who may read the case file, and what of it
    police = api("GET", f"/cases/{case_no}", "sx-police").json()
    assert (
        police["child"]["name"] == report["child"]["name"]
        and police["reporters"][0]["name"] == report["reporter"]["name"]
    )
    caseworker = api("GET", f"/cases/{case_no}", "sx-supervisor-sc").json()
    assert (
        caseworker["child"]["masked"] is False and caseworker["reporters"] is None
    )  # the reporter is for police and managers
    manager = api("GET", f"/cases/{case_no}", "sx-manager").json()
    assert manager["child"]["masked"] is True and report["child"]["name"] not in str(manager) and manager["reporters"]
    for outsider in ("sx-supervisor-cg", "sx-director-xz"):  # another township, another village
        refused = api("GET", f"/cases/{case_no}", outsider)
        unknown = api("GET", f"/cases/{case_no[:-5]}99999", outsider)
        # out of scope is answered exactly as a case that does not exist: numbers cannot be probed
        assert (refused.status_code, refused.json()) == (unknown.status_code, unknown.json()) == (404, refused.json())
        assert refused.json()["error"]["code"] == "unknown_case"
        assert report["child"]["name"] not in refused.text and case_no not in refused.text
        assert case_no not in str(api("GET", "/cases", outsider).json()["items"])
    with Session(db.engine()) as s:
        refusals = {
            r.actor
            for r in s.exec(
                select(AccessRecord).where(
                    AccessRecord.allowed == false(),
                    AccessRecord.action == "case_read",
                    AccessRecord.target == created.json()["case_id"],
                )
            ).all()
        }
    assert refusals == {"sx-supervisor-cg", "sx-director-xz"}

    # tasks: the police task is the station's; a caseworker may not complete it
    mine = api("GET", "/tasks?mine=true", "sx-police").json()["items"]
    task = next(t for t in mine if t["case_no"] == case_no and t["kind"] == "emergency_response")
    wrong = api(
        "POST",
        f"/tasks/{task['task_id']}/complete",
        "sx-supervisor-sc",
        json={"unfounded": False, "measures": ["admonish_guardian"]},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "role_may_not_complete"
    bad = api("POST", f"/tasks/{task['task_id']}/complete", "sx-police", json={"unfounded": False, "measures": ["fly"]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "outcome.measures.0"
    done = api(
        "POST",
        f"/tasks/{task['task_id']}/complete",
        "sx-police",
        json={"unfounded": False, "measures": ["admonish_guardian"]},
    )
    assert done.status_code == 200 and done.json()["stage"] == "assessment"
    again = api(
        "POST",
        f"/tasks/{task['task_id']}/complete",
        "sx-police",
        json={"unfounded": False, "measures": ["admonish_guardian"]},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "task_not_open"
    with Session(db.engine()) as s:
        recorded = {
            (r.actor, r.action, r.target)
            for r in s.exec(select(AccessRecord).where(AccessRecord.allowed == false())).all()
        }
    assert {
        ("sx-supervisor-sc", "report_register", "sixian"),
        ("sx-supervisor-sc", "task_complete", task["task_id"]),
    } <= recorded
    township_tasks = api("GET", "/tasks?mine=true", "sx-supervisor-sc").json()["items"]
    assert any(t["case_no"] == case_no and t["kind"] == "assessment" for t in township_tasks)

    # timeline, documents, managers' figures
    timeline = api("GET", f"/cases/{case_no}/timeline?limit=2", "sx-supervisor-sc").json()
    assert len(timeline["items"]) == 2 and timeline["total"] > 2 and timeline["verified"] is True
    assert {
        d["kind"] for d in api("GET", f"/cases/{case_no}/documents", "sx-supervisor-sc").json()["items"]
    } == set()  # intake form is confidential
    assert "intake_form" in {d["kind"] for d in api("GET", f"/cases/{case_no}/documents", "sx-police").json()["items"]}
    figures = api("GET", "/sla?from=2026-11-01&to=2026-11-30", "sx-manager").json()
    police_row = next(u for u in figures["units"] if (u["unit"], u["stage"]) == ("sx-pcs-sc", "emergency"))
    assert (police_row["due"], police_row["on_time"], police_row["compliance_pct"]) == (
        2,
        2,
        100.0,
    )  # arrival (acknowledged with the response) and response
    assert figures["cases_opened"] == 1 and figures["minutes_to_dispatch"]["n"] == 1
    assert api("GET", "/sla?from=2026-11-01&to=2026-11-30", "sx-police").status_code == 403
    assert api("GET", "/breaches?open=true", "sx-manager").json()["items"] == []  # nothing overdue yet
    from shouhu import clock
    from tasks.sweep import tick

    clock.advance(days=10)  # the township's assessment (3 working days) is now overdue, up to 督办
    tick()
    overdue = api("GET", "/breaches?open=true", "sx-manager").json()
    assert [(b["case_no"], b["kind"], b["level"], b["supervised"]) for b in overdue["items"]] == [
        (case_no, "assessment", 3, True)
    ]
    assert overdue["total"] == 1


def test_pagination_and_errors_follow_the_contract(api) -> None:
    for _ in range(3):
        api("POST", "/reports", "sx-intake", json=make_report())
    first = api("GET", "/cases?limit=2", "sx-manager").json()
    second = api("GET", "/cases?limit=2&offset=2", "sx-manager").json()
    assert len(first["items"]) == 2 and first["total"] >= 3 and first["items"] != second["items"]
    assert api("GET", "/cases?limit=0", "sx-manager").status_code == 400
    missing = api("GET", "/cases/SX-2099-99999", "sx-manager")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_case"
    bad = api("POST", "/reports", "sx-intake", json={**make_report(), "situations": []})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "situations"
    assert "/api/v1/reports" in api("GET", "/openapi.json", None).json()["paths"]
