"""The CLI contract, run as a real subprocess: one JSON document on stdout and the exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import SHOUHU, make_report
from sqlalchemy import text


@pytest.fixture
def cli(cli: Any) -> Any:
    """conftest's CLI runner, after an `init --demo` (which must be safe to run again on a set-up database)."""
    cli("init", "--demo")
    return cli


def test_reference_data_commands(cli) -> None:
    again = cli("init", "--demo")
    assert again["ok"] is True and again["users"] == 45
    units = cli("units", "--jurisdiction", "sixian")
    assert {"code", "name", "type", "parent"} <= set(units[0])
    assert {"police_bureau", "police_station", "township", "village", "civil_affairs", "court"} <= {
        u["type"] for u in units
    }
    users = cli("users", "--jurisdiction", "mentougou")
    assert {"police_intake", "police", "township_caseworker", "village_director", "civil_affairs", "manager"} <= {
        u["role"] for u in users
    }
    err = cli("units", "--jurisdiction", "atlantis", code=2)
    assert err["error"]["code"] == "unknown_jurisdiction" and err["error"]["field"] == "jurisdiction"


def test_report_to_task_completion_with_exit_codes(cli, tmp_path: Path) -> None:
    bad = cli("report", "-", "--as", "sx-intake", stdin=make_report(situations=[]), code=2)
    assert set(bad["error"]) == {"code", "message", "field"} and bad["error"]["field"] == "situations"
    opened = cli("report", "-", "--as", "sx-intake", stdin=make_report())
    assert (
        set(opened) == {"status", "case_id", "case_no", "stage", "attached_to_existing"}
        and opened["stage"] == "emergency"
    )
    assert opened["status"] == "applied"
    case = cli("case", "show", opened["case_no"], "--as", "sx-police")
    assert case["stage"] == "emergency" and case["deadlines"]
    task = case["tasks"][0]
    assert set(task) >= {"task_id", "stage", "kind", "status", "owner_unit", "due_at"}
    listed = cli("tasks", "--unit", "sx-pcs-sc", "--status", "open")
    assert task["task_id"] in {t["task_id"] for t in listed}
    outcome = tmp_path / "outcome.json"
    outcome.write_text(
        json.dumps({"unfounded": False, "measures": ["admonish_guardian"], "notes": "已训诫"}), encoding="utf-8"
    )
    refused = cli("task", "complete", task["task_id"], str(outcome), "--as", "sx-director-dg", code=2)
    assert refused["error"]["code"] == "role_may_not_complete"
    done = cli("task", "complete", task["task_id"], str(outcome), "--as", "sx-police")
    assert done["stage"] == "assessment"
    conflict = cli("task", "complete", task["task_id"], str(outcome), "--as", "sx-police", code=3)
    assert conflict["error"]["code"] == "task_not_open"
    events = cli("case", "timeline", opened["case_id"], "--as", "sx-manager")
    assert {"seq", "at", "kind", "stage", "actor", "summary", "prev_hash", "hash"} == set(events[0])
    assert cli("case", "verify", opened["case_id"]) == {"ok": True, "broken_at": None, "reason": None}
    assert cli("case", "show", "NO-SUCH-CASE", code=2)["error"]["code"] == "unknown_case"


def test_verify_exits_1_on_a_tampered_timeline(cli, database_url: str) -> None:
    from sqlalchemy import create_engine

    opened = cli("report", "-", "--as", "sx-intake", stdin=make_report())
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE timelineevent SET actor = 'someone-else' WHERE seq = 1 AND case_id IN "
                '(SELECT id FROM "case" WHERE case_no = :n)'
            ),
            {"n": opened["case_no"]},
        )
    engine.dispose()
    assert cli("case", "verify", opened["case_no"], code=1) == {"ok": False, "broken_at": 1, "reason": "chain"}


def test_unreadable_and_non_json_input_are_exit_2(cli, tmp_path: Path) -> None:
    assert (
        cli("report", str(tmp_path / "missing.json"), "--as", "sx-intake", code=2)["error"]["code"]
        == "unreadable_input"
    )
    for name, raw, code in (
        ("garbage", b"{not json", "bad_json"),
        ("deep", b"[" * 100_000, "too_deep"),
        ("latin1", b"\xe9t\xe9", "bad_encoding"),
        ("nul", json.dumps(make_report(description="a\u0000b")).encode(), "control_character"),
    ):
        path = tmp_path / f"{name}.json"
        path.write_bytes(raw)
        refused = cli("report", str(path), "--as", "sx-intake", code=2)["error"]
        assert refused["code"] == code and refused["field"] in ("file", "description"), (name, refused)
    bom = tmp_path / "bom.json"  # a file saved by Windows Notepad: UTF-8 with a byte-order mark
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(make_report(), ensure_ascii=False).encode("utf-8"))
    assert cli("report", str(bom), "--as", "sx-intake")["status"] == "applied"
    assert (
        cli("case", "show", "SX-\u001b[2J", code=2)["error"]["code"] == "control_character"
    )  # (a NUL cannot be an argument at all)


def test_inbox_documents_and_visits_commands(cli, database_url: str, prefect_server: str, tmp_path: Path) -> None:
    opened = cli("report", "-", "--as", "sx-intake", stdin=make_report())
    inbox = cli("inbox", "--unit", "sx-pcs-sc")
    assert any(m["case_no"] == opened["case_no"] and m["event"] == "case_opened" for m in inbox)
    assert cli("inbox", "--unit", "nowhere", code=2)["error"]["code"] == "unknown_unit"
    docs = cli("case", "documents", opened["case_no"], "--as", "sx-police")
    assert [d["kind"] for d in docs] == ["intake_form"]
    assert (
        cli("case", "documents", opened["case_no"], "--as", "sx-director-xz", code=2)["error"]["code"] == "unknown_case"
    )
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": database_url,
        "SHOUHU_HOME": str(tmp_path),
        "PREFECT_API_URL": prefect_server,
    }
    html = subprocess.run(
        SHOUHU + ["document", "show", docs[0]["document_id"], "--as", "sx-police"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert html.returncode == 0 and html.stdout.startswith("<!doctype html>") and opened["case_no"] in html.stdout
    summary = cli("visits", "summary", "--jurisdiction", "sixian")
    assert isinstance(summary, list) and all(r["total"] == r["done"] + r["open"] for r in summary)
    assert (
        cli("visits", "complete", "not-a-visit", "-", "--as", "sx-director-dg", stdin={}, code=2)["error"]["code"]
        == "unknown_visit"
    )
    assert cli("outbox", "--status", "lost", code=2)["error"]["field"] == "status"
