"""Retention (个人信息保护法 第十九条、第四十七条; issue 16 §6): the pack's period after a child's last case
closed and last category ended, the identity is removed — by `shouhu retention run` and by the sweeper's
daily step — with the counts on the case timeline and in the managers' digest. Time is the injected clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from approving import approve_pending
from conftest import T0, make_report, on_ledger
from sqlmodel import Session, select

from models import (
    Approval,
    Case,
    Child,
    ChildEvent,
    Document,
    EntrustedCare,
    Guardian,
    Notification,
    Report,
    Task,
    TimelineEvent,
    VerificationVisit,
)
from services import cases, children, monthly, onefile, reports, retention, stats
from services import tasks as tasks_service
from shouhu import clock, db, masking
from shouhu.clock import CHINA_TZ, now
from tasks import sweep

ROOT = Path(__file__).resolve().parent.parent
CIVIL = "sx-civil"
WINDOW_ENDS = datetime(2031, 11, 24, 23, 0, tzinfo=CHINA_TZ)  # five years (the pack's default) after T0's day
PAST_IT = datetime(2031, 11, 25, 9, 30, tzinfo=CHINA_TZ)


def closed_case(report: dict[str, Any], reason: str = "经核实情况不属实") -> dict[str, Any]:
    """A report the police find unfounded, the finding approved: the case closes now (the clock)."""
    opened = reports.submit_report(report, "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police")
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response" and t["status"] == "open")
    closed = tasks_service.complete_task(task["task_id"], {"unfounded": True, "unfounded_reason": reason}, "sx-police")
    closed = approve_pending(closed)
    assert closed["status"] == "closed"
    return closed


def child_of(case_id: str) -> Child:
    with Session(db.engine()) as s:
        return s.get_one(Child, s.get_one(Case, uuid.UUID(case_id)).child_id)


def everything() -> dict[str, Any]:
    """Every row retention might touch, for "nothing changed" (a dry run)."""
    with Session(db.engine()) as s:
        return {
            model.__name__: sorted((r.model_dump() for r in s.exec(select(model)).all()), key=lambda r: str(r["id"]))
            for model in (
                Child,
                Guardian,
                EntrustedCare,
                VerificationVisit,
                Document,
                Case,
                TimelineEvent,
                ChildEvent,
                Report,
                Task,
                Approval,
            )
        }


def figures() -> dict[str, Any]:
    return {
        "monthly": monthly.statistics_for("sx-manager", "sixian", "2026-11"),
        "sla": stats.report("2026-11-01", "2026-11-30", "sixian"),
    }


@pytest.fixture
def county(db_url: str) -> dict[str, Any]:
    """At T0: a case closed (its child due after five years, with a file merged into it), a case still open,
    a child on the ledger with no case; a year later, another case closed (inside the window at the end)."""
    due = closed_case(  # the name typed into the report and the police's finding too
        make_report(
            **{"child.name": "刘晓雯", "child.address": "东关村3组12号", "description": "刘晓雯独自在家，无人照料"}
        ),
        reason="经核实刘晓雯由祖母照料，情况不属实",
    )
    due_child = child_of(due["case_id"])
    with db.transaction() as s:
        stub = Child(
            jurisdiction="sixian",
            name="刘小雯",
            birth_date=due_child.birth_date,
            gender="female",
            township=due_child.township,
            created_at=now(),
        )
        s.add(stub)
        s.add(
            EntrustedCare(child_id=due_child.id, name="刘奶奶", relation="祖母", phone="13900000009", created_at=now())
        )
    onefile.merge_children(str(due_child.id), str(stub.id), {"reason": "同一儿童"}, CIVIL)
    still_open = reports.submit_report(make_report(**{"child.name": "陈晨"}), "sx-intake")
    covered = make_report(**{"child.name": "赵台账"})
    on_ledger([covered])
    clock.set_now(T0 + timedelta(days=365))
    recent = closed_case(make_report(**{"child.name": "孙近期"}))
    clock.set_now(T0)
    return {
        "due": due,
        "due_child": str(due_child.id),
        "stub": str(stub.id),
        "open": still_open,
        "covered_id": covered["child"]["id_number"],
        "recent": recent,
    }


def test_before_the_window_ends_nothing_is_due_and_a_dry_run_changes_nothing(county: dict[str, Any]) -> None:
    clock.set_now(WINDOW_ENDS)
    assert retention.run_retention("sixian")["children"] == 0
    clock.set_now(PAST_IT)
    before = everything()
    counted = retention.run_retention("sixian", dry_run=True)
    assert (counted["children"], counted["cases"], counted["dry_run"]) == (2, 1, True)  # the stub goes with it
    assert everything() == before


def test_after_the_window_the_identity_goes_and_the_case_stays(county: dict[str, Any]) -> None:
    clock.set_now(PAST_IT)
    before = figures()
    done = retention.run_retention("sixian")
    assert (done["children"], done["cases"]) == (2, 1)
    assert retention.run_retention("sixian")["children"] == 0  # a second run finds no one
    gone = child_of(county["due"]["case_id"])
    assert (gone.name, gone.id_number, gone.address) == (masking.REMOVED_NAME, None, None)
    assert gone.birth_date and gone.township  # what the statistics count stays
    with Session(db.engine()) as s:
        stub = s.get_one(Child, uuid.UUID(county["stub"]))
        assert stub.name == masking.REMOVED_NAME and stub.identity_removed_at is not None
        family = s.exec(select(Guardian).where(Guardian.child_id == gone.id)).all()
        assert family and all((g.name, g.phone) == (masking.REMOVED_NAME, None) for g in family)
        carer = s.exec(select(EntrustedCare).where(EntrustedCare.child_id == gone.id)).one()
        assert (carer.name, carer.phone) == (masking.REMOVED_NAME, None)
        documents = s.exec(select(Document).where(Document.case_id == uuid.UUID(county["due"]["case_id"]))).all()
        assert documents
        for doc in documents:
            for text in (doc.content, doc.masked_content or ""):
                assert "刘晓雯" not in text and "刘**" not in text and "东关村3组12号" not in text
                assert "测试监护人" not in text
        case_id = uuid.UUID(county["due"]["case_id"])
        typed = [r.description for r in s.exec(select(Report).where(Report.case_id == case_id)).all()]
        typed += [
            json.dumps(t.outcome, ensure_ascii=False) for t in s.exec(select(Task).where(Task.case_id == case_id))
        ]
        assert typed and not any("刘晓雯" in text for text in typed)
        assert any(masking.REMOVED_NAME in text for text in typed)  # replaced, the rest of what was typed kept
        kept = [s.get_one(Child, s.get_one(Case, uuid.UUID(county[k]["case_id"])).child_id) for k in ("open", "recent")]
        assert all(c.name != masking.REMOVED_NAME for c in kept)
        on_the_ledger = s.exec(select(Child).where(Child.id_number == county["covered_id"])).one()
        assert on_the_ledger.name == "赵台账"
    # the case: structure, deadlines and timeline intact and verified; the removal on it, in words
    case = cases.show_case(county["due"]["case_id"], CIVIL)
    assert (case["stage"], case["status"], case["close_reason"]) == ("closed", "closed", "unfounded")
    assert cases.verify_case(county["due"]["case_id"], CIVIL)["ok"]
    line = [e for e in cases.case_timeline(county["due"]["case_id"], CIVIL) if e["kind"] == "identity_removed"]
    assert len(line) == 1 and "删除儿童身份信息" in line[0]["summary"]
    with Session(db.engine()) as s:
        event = s.exec(select(TimelineEvent).where(TimelineEvent.kind == "identity_removed")).one()
    assert (event.payload["files"], event.payload["documents"]) == (2, len(documents))
    assert figures() == before


def test_pages_and_faces_show_the_placeholder(county: dict[str, Any], browser_like: Any) -> None:
    from readable import unreadable, visible_text, vocabulary_codes

    clock.set_now(PAST_IT)
    retention.run_retention("sixian")
    child_id = str(child_of(county["due"]["case_id"]).id)
    for who in (CIVIL, "sx-manager"):
        file = children.show_child(child_id, who)
        assert file["name"] == masking.REMOVED_NAME and file["identity_removed"]
        assert all(g["name"] == masking.REMOVED_NAME for g in file["guardians"])
        page = browser_like(who).get(f"/children/{child_id}")
        assert page.status_code == 200 and masking.REMOVED_NAME in page.text and "刘晓雯" not in page.text
        assert unreadable(visible_text(page.text), vocabulary_codes()) == []
        case_page = browser_like(who).get(f"/cases/{county['due']['case_no']}")
        assert masking.REMOVED_NAME in case_page.text and "刘晓雯" not in case_page.text
        assert "删除儿童身份信息" in case_page.text
    assert "刘晓雯" not in json.dumps(cases.show_case(county["due"]["case_id"], CIVIL), ensure_ascii=False)
    assert children.search_children("刘晓雯", CIVIL)["total"] == 0


def test_the_sweepers_daily_step_and_the_digest(county: dict[str, Any]) -> None:
    clock.set_now(PAST_IT)
    ticked = sweep.tick(PAST_IT)
    assert ticked["started"]["retention"] == {"children": 2, "cases": 1}
    assert sweep.tick(PAST_IT + timedelta(hours=1))["started"]["retention"] == {"children": 0, "cases": 0}  # once a day
    with Session(db.engine()) as s:
        digests = s.exec(
            select(Notification).where(Notification.event == "daily_digest", Notification.jurisdiction == "sixian")
        ).all()
    assert digests and all("保存期限届满删除身份信息的儿童 2" in d.body for d in digests)
    assert all("刘晓雯" not in d.body for d in digests)


def test_the_cli(county: dict[str, Any]) -> None:
    env = {**os.environ, "SHOUHU_NOW": PAST_IT.isoformat()}

    def cli(*args: str) -> Any:
        proc = subprocess.run(
            [sys.executable, "-m", "cli", "retention", "run", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert proc.returncode == (2 if "nowhere" in args else 0), proc.stdout + proc.stderr
        return json.loads(proc.stdout)

    assert cli("--jurisdiction", "nowhere")["error"]["code"] == "unknown_jurisdiction"
    assert cli("--jurisdiction", "sixian", "--dry-run")["children"] == 2  # the stub is counted with its child
    assert cli()["children"] == 2
    assert cli("--jurisdiction", "sixian")["children"] == 0
    assert date.fromisoformat(cli("--jurisdiction", "sixian")["items"][0]["cutoff"]) == date(2026, 11, 25)
