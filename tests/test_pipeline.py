"""The four steps end to end, per seed jurisdiction, and the rules each step enforces."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from approving import approve_pending
from conftest import counts, make_report, user_of
from sqlalchemy import text
from sqlmodel import Session, col, select

from cli.demo import run_demo
from models import Case, Command, Deadline, Notification, Task, TimelineEvent
from services import cases, reports
from services import commands as commands_service
from services import tasks as tasks_service
from shouhu import clock, db, policy
from shouhu.errors import Conflict, InvalidInput
from tasks import sweep


def open_task(case: dict, kind: str) -> dict:
    return next(t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open")


@pytest.mark.parametrize("jurisdiction", ["yantai", "sixian", "yunyang", "wuhai", "mentougou"])
def test_a_case_runs_from_report_to_close(
    db_url: str, jurisdiction: str, prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole case in each county — and everything people read of it (issue 12 §2.9, issue 15 §3):
    every document, message and timeline line; on SQLite also every page every person of the county
    reaches, each task's form as it is filled in. The clock has microseconds, as a real one does."""
    clock.set_now(clock.now().replace(microsecond=123456))
    proofreader = Proofreader(jurisdiction, pages=db_url.startswith("sqlite"))
    proofreader.watch_task_forms(monkeypatch)
    demo = run_demo(jurisdiction)
    assert demo["ok"] is True
    pending = reports.submit_report(
        make_report(
            jurisdiction,
            guardians=[
                {"name": "测试祖母", "relation": "grandmother", "status": "elderly"},
                {"name": "测试父亲", "relation": "father", "status": "working_away"},
            ],
            **{"reporter.unit_type": "kindergarten"},
        ),
        user_of(jurisdiction, "police_intake"),
    )  # a case still open: its forms, its intake form
    proofreader.everything([demo, pending])
    assert proofreader.problems == {}, "\n".join(f"{where}: {found}" for where, found in proofreader.problems.items())
    with Session(db.engine()) as s:
        case = s.get(Case, uuid.UUID(demo["case_id"]))
        tasks = s.exec(select(Task).where(Task.case_id == case.id)).all()
        deadlines = s.exec(select(Deadline).where(Deadline.case_id == case.id)).all()
    assert case.stage == "closed" and case.exit_reason == "placed"
    assert {t.kind for t in tasks} >= {
        "emergency_response",
        "assessment",
        "service",
        "follow_up_visit",
        "guardian_measures",
        "temporary_guardianship",
        "court_petition",
        "court_ruling",
        "placement",
        "final_review",
    }
    assert all(t.status == "done" for t in tasks)
    assert all(d.status == "met" for d in deadlines), [(d.kind, d.status) for d in deadlines]
    assert cases.verify_case(str(case.id))["ok"]
    # every step was a Prefect flow run tagged with the case number
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    async def runs() -> list:
        async with get_client() as client:
            found: list = []
            while True:  # (pages of 200: other tests' cases in this worker share the case number)
                page = await client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[case.case_no])),
                    limit=200,
                    offset=len(found),
                )
                found += page
                if len(page) < 200:
                    break
            mine = [r for r in found if r.parameters.get("command_id") in commands]
            return [(r, (await client.read_flow(r.flow_id)).name) for r in mine]

    with Session(db.engine()) as s:
        commands = {str(c) for c in s.exec(select(Command.id).where(Command.case_id == case.id)).all()}
    assert len(commands) == 1 + len(tasks) + 1  # the report, one command per task completed, the closing's approval
    # (other tests' cases have the same numbers in their own databases: a run is ours by its command)
    found = asyncio.run(runs())
    assert {name for _, name in found} == {"intake", "emergency", "assessment", "intervention", "approvals"}
    assert sorted(r.parameters["command_id"] for r, _ in found) == sorted(commands)  # one run per command
    assert all(set(r.parameters) == {"command_id"} and r.state_type.value == "COMPLETED" for r, _ in found)


def test_an_unfounded_report_closes_the_case_with_its_reason(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police")
    with pytest.raises(InvalidInput) as err:
        tasks_service.complete_task(open_task(case, "emergency_response")["task_id"], {"unfounded": True}, "sx-police")
    assert err.value.field == "outcome.unfounded_reason"
    case = tasks_service.complete_task(
        open_task(case, "emergency_response")["task_id"],
        {"unfounded": True, "unfounded_reason": "儿童由祖母照看，情况不属实"},
        "sx-police",
    )
    assert (case["stage"], case["status"]) == ("emergency", "open")  # until the police bureau approves (issue 16)
    case = approve_pending(case)
    assert (case["stage"], case["status"], case["close_reason"]) == ("closed", "closed", "unfounded")
    kinds = [e["kind"] for e in cases.case_timeline(case["case_id"], "sx-police")]
    assert "case_closed" in kinds


def test_yantai_requires_a_written_handover_for_a_detained_parents_child(db_url: str) -> None:
    opened = reports.submit_report(make_report("yantai", situations=["parent_detained"]), "yt-intake")
    case = cases.show_case(opened["case_id"], "yt-police")
    task = open_task(case, "emergency_response")
    before = counts(Task, TimelineEvent, Notification)
    with pytest.raises(InvalidInput) as err:
        tasks_service.complete_task(task["task_id"], {"unfounded": False, "measures": ["entrusted_care"]}, "yt-police")
    assert (
        err.value.field == "outcome.measures"
        and "written_handover" in err.value.message
        and "seed 000" in err.value.message
    )
    assert counts(Task, TimelineEvent, Notification) == before
    case = tasks_service.complete_task(
        task["task_id"], {"unfounded": False, "measures": ["written_handover", "entrusted_care"]}, "yt-police"
    )
    assert case["stage"] == "assessment"


def test_emergency_measures_notify_the_township_and_open_temporary_care(db_url: str) -> None:
    opened = reports.submit_report(make_report("mentougou"), "mtg-intake")
    case = cases.show_case(opened["case_id"], "mtg-police")
    case = tasks_service.complete_task(
        open_task(case, "emergency_response")["task_id"],
        {"unfounded": False, "measures": ["temporary_care", "warning_letter"]},
        "mtg-police",
    )
    assert case["stage"] == "assessment"
    assert open_task(case, "temporary_care")["owner_unit"] == "mtg-jz"
    assessment = open_task(case, "assessment")
    assert assessment["owner_unit"] == "mtg-t-dt" and assessment["role"] == "township_caseworker"
    with Session(db.engine()) as s:
        notes = s.exec(select(Notification).where(Notification.case_id == uuid.UUID(case["case_id"]))).all()
    township_notice = [n for n in notes if n.event == "township_notice"]
    assert {n.unit for n in township_notice} == {"mtg-t-dt", "mtg-mz"}
    assert any(n.unit == "mtg-mz" and n.event == "measure" for n in notes)


def to_assessment(jurisdiction: str) -> dict:
    opened = reports.submit_report(make_report(jurisdiction), user_of(jurisdiction, "police_intake"))
    case = cases.show_case(opened["case_id"], user_of(jurisdiction, "police"))
    measures = sorted({"admonish_guardian"} | set(policy.pack(jurisdiction).least_measures(["guardian_neglect"])))
    return tasks_service.complete_task(
        open_task(case, "emergency_response")["task_id"],
        {"unfounded": False, "measures": measures},
        user_of(jurisdiction, "police"),
    )


ASSESS = {
    "safety": "at_risk",
    "guardianship": "inadequate",
    "health": "良好",
    "risk_level": "low",
    "services": ["guardianship_guidance"],
    "intervention_needed": False,
}


def test_assessment_opens_services_and_visits_and_a_final_review_closes_with_phase_out(db_url: str) -> None:
    case = to_assessment("wuhai")
    worker = user_of("wuhai", "township_caseworker", "wh-t-xh")
    case = tasks_service.complete_task(open_task(case, "assessment")["task_id"], ASSESS, worker)
    assert case["risk_level"] == "low" and case["stage"] == "assessment"
    assert [t["subject"] for t in case["tasks"] if t["kind"] == "service"] == ["guardianship_guidance"]
    visits = [t for t in case["tasks"] if t["kind"] == "follow_up_visit"]
    assert len(visits) == 1 and visits[0]["owner_unit"] == "wh-v-xh-bj"
    case = tasks_service.complete_task(open_task(case, "service")["task_id"], {"delivered": True}, worker)
    assert not [t for t in case["tasks"] if t["kind"] == "final_review"]  # a visit is still open
    case = tasks_service.complete_task(visits[0]["task_id"], {"child_seen": True}, "wh-director-bj")
    review = open_task(case, "final_review")
    with pytest.raises(InvalidInput) as err:
        tasks_service.complete_task(review["task_id"], {"exit_reason": "bored"}, worker)
    assert err.value.field == "outcome.exit_reason"
    clock.set_now(datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
    case = tasks_service.complete_task(review["task_id"], {"exit_reason": "parent_resumed_care"}, worker)
    assert (case["stage"], case["status"]) == ("assessment", "open")  # until civil affairs approves (issue 16)
    case = approve_pending(case)
    assert (case["stage"], case["status"], case["exit_reason"]) == ("closed", "phase_out", "parent_resumed_care")
    assert case["phase_out_until"].startswith("2027-06-01")


def test_sixian_temporary_guardianship_is_taken_by_county_civil_affairs(db_url: str) -> None:
    case = to_assessment("sixian")
    case = tasks_service.complete_task(
        open_task(case, "assessment")["task_id"],
        {**ASSESS, "guardianship": "absent", "intervention_needed": True},
        "sx-supervisor-sc",
    )
    assert case["stage"] == "intervention"
    assert open_task(case, "temporary_guardianship")["owner_unit"] == "sx-mz"
    assert open_task(case, "guardian_measures")["owner_unit"] == "sx-pcs-sc"


def test_a_court_petition_needs_a_ground_that_holds(db_url: str) -> None:
    case = to_assessment("mentougou")
    case = tasks_service.complete_task(
        open_task(case, "assessment")["task_id"],
        {**ASSESS, "guardianship": "harmful", "intervention_needed": True},
        "mtg-social-dt",
    )
    case = tasks_service.complete_task(
        open_task(case, "guardian_measures")["task_id"],
        {"measures": ["criticism_education"], "guardian_changed": False},
        "mtg-police",
    )
    petition = open_task(case, "court_petition")
    for outcome, field in [
        ({"filed": True, "ground": "dislike", "petitioner": "civil_affairs"}, "outcome.ground"),
        (
            {
                "filed": True,
                "ground": "refused_six_months",
                "petitioner": "civil_affairs",
                "refused_since": "2026-09-01",
            },
            "outcome.refused_since",
        ),
        (
            {"filed": True, "ground": "serious_harm_or_abandonment", "petitioner": "civil_affairs"},
            "outcome.serious_harm",
        ),
        ({"filed": True, "ground": "unattended_danger_unchanged", "petitioner": "neighbour"}, "outcome.petitioner"),
    ]:
        with pytest.raises(InvalidInput) as err:
            tasks_service.complete_task(petition["task_id"], outcome, "mtg-civil")
        assert err.value.field == field
    case = tasks_service.complete_task(
        petition["task_id"],
        {"filed": True, "ground": "refused_six_months", "petitioner": "civil_affairs", "refused_since": "2026-05-01"},
        "mtg-civil",
    )
    ruling = open_task(case, "court_ruling")
    assert ruling["due_at"].startswith("2026-12-24")  # one month (30 days) from the petition


def test_who_may_complete_a_task_and_conflicts(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police")
    task = open_task(case, "emergency_response")
    before = counts(Task, TimelineEvent, Command)
    for who, code in (
        ("sx-supervisor-sc", "role_may_not_complete"),
        ("mtg-police", "unknown_task"),
        ("ghost", "unknown_user"),
    ):
        with pytest.raises(InvalidInput) as err:
            tasks_service.complete_task(task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, who)
        assert err.value.code == code
    with pytest.raises(InvalidInput) as err:
        tasks_service.complete_task(task["task_id"], {"unfounded": False, "measures": ["teleport"]}, "sx-police")
    assert err.value.field == "outcome.measures.0"
    with pytest.raises(Conflict) as err:
        tasks_service.complete_task(
            task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"], "expected_version": 1}, "sx-police"
        )
    assert err.value.code == "stale_version"
    assert counts(Task, TimelineEvent, Command) == before
    tasks_service.complete_task(task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police")
    with pytest.raises(Conflict) as err:
        tasks_service.complete_task(
            task["task_id"], {"unfounded": False, "measures": ["admonish_guardian"]}, "sx-police"
        )
    assert err.value.code == "task_not_open"


def test_a_retried_flow_run_changes_nothing_twice(db_url: str) -> None:
    from flows.emergency import emergency

    opened = reports.submit_report(make_report(), "sx-intake")
    case = cases.show_case(opened["case_id"], "sx-police")
    tasks_service.complete_task(
        open_task(case, "emergency_response")["task_id"],
        {"unfounded": False, "measures": ["admonish_guardian"]},
        "sx-police",
    )
    with Session(db.engine()) as s:
        command = s.exec(
            select(Command).where(Command.kind == "complete_task").order_by(Command.created_at.desc())
        ).first()
    before = counts(Task, Deadline, TimelineEvent, Notification)
    again = asyncio.run(emergency(command_id=str(command.id)))
    assert again == command.result
    assert counts(Task, Deadline, TimelineEvent, Notification) == before


def test_a_crashed_intake_is_applied_by_the_next_run_exactly_once(db_url: str) -> None:
    """A report stored but never applied (process died before the flow ran) is not lost."""
    from flows.intake import intake

    report = make_report(idempotency_key="crash-1")
    from shouhu.inputs import ReportIn

    payload = {"report": ReportIn.model_validate(report).model_dump(mode="json")}
    payload["digest"] = commands_service.payload_digest(payload["report"])
    command = Command(
        kind="report", idempotency_key="sixian:crash-1", actor="sx-intake", payload=payload, created_at=clock.now()
    )
    with db.transaction() as s:
        s.add(command)
    before = counts(Case)
    result = reports.submit_report(report, "sx-intake")  # the resend finds the pending command and applies it
    assert counts(Case)["Case"] == before["Case"] + 1
    assert asyncio.run(intake(command_id=str(command.id)))["case_id"] == result["case_id"]
    assert counts(Case)["Case"] == before["Case"] + 1


def test_a_case_survives_store_and_reload_mid_stage(db_url: str) -> None:
    case = to_assessment("yunyang")
    db.dispose()  # drop every pooled connection, as a restarted process would
    policy.pack.cache_clear()
    reloaded = cases.show_case(case["case_id"], "yy-worker-ql")
    assert reloaded["stage"] == "assessment" and reloaded["version"] == case["version"]
    done = tasks_service.complete_task(open_task(reloaded, "assessment")["task_id"], ASSESS, "yy-worker-ql")
    assert done["version"] == case["version"] + 1
    assert cases.verify_case(case["case_id"])["ok"]


def test_tampering_with_the_timeline_is_detected(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case_id = uuid.UUID(opened["case_id"])
    assert cases.verify_case(opened["case_id"], "sx-manager") == {"ok": True, "broken_at": None, "reason": None}
    with db.transaction() as s:
        s.exec(
            text("UPDATE timelineevent SET summary = 'edited' WHERE case_id = :c AND seq = 2").bindparams(
                c=case_id.hex if db.engine().dialect.name == "sqlite" else case_id
            )
        )
    assert cases.verify_case(opened["case_id"], "sx-manager") == {"ok": False, "broken_at": 2, "reason": "chain"}


@pytest.mark.parametrize("seq", [2, 5], ids=["middle", "newest"])
def test_deleting_a_timeline_event_is_detected(db_url: str, seq: int) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    case_id = uuid.UUID(opened["case_id"])
    with Session(db.engine()) as s:
        assert (
            s.get(Case, case_id).timeline_seq == 5
        )  # opened, arrival task, response task, messages queued, intake form issued
    with db.transaction() as s:
        s.exec(
            text("DELETE FROM timelineevent WHERE case_id = :c AND seq = :q").bindparams(
                c=case_id.hex if db.engine().dialect.name == "sqlite" else case_id, q=seq
            )
        )
    assert cases.verify_case(opened["case_id"]) == {
        "ok": False,
        "broken_at": seq,
        "reason": "chain" if seq == 2 else "head",
    }


def test_reads_are_recorded_with_the_reader(db_url: str) -> None:
    opened = reports.submit_report(make_report(), "sx-intake")
    cases.show_case(opened["case_id"], "sx-manager")
    events = cases.case_timeline(opened["case_id"], "sx-police")
    reads = [(e["kind"], e["actor"]) for e in events if e["kind"] == "case_read"]
    assert reads == [("case_read", "sx-manager"), ("case_read", "sx-police")]


# ---- what people read (issue 12 §2.9, issue 15 §3) -------------------------------------------
class Proofreader:
    """Reads, as people do, what a county's cases give them to read and collects what they must not
    (readable.unreadable: codes, English status words, raw timestamps). With `pages`, through the web
    app as each person of the county (the pages are the same on either database: SQLite only)."""

    def __init__(self, jurisdiction: str, pages: bool = True) -> None:
        from readable import Reader, vocabulary_codes

        from web.app import create_app

        self.jurisdiction, self.pages, self.codes = jurisdiction, pages, vocabulary_codes()
        self.reader = Reader(create_app()) if pages else None
        self.problems: dict[str, list[str]] = {}
        self.walked: dict[str, list[str]] = {}

    def check(self, where: str, text: str) -> None:
        from readable import unreadable

        found = unreadable(text, self.codes)
        if found:
            self.problems.setdefault(where, found)

    def watch_task_forms(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each task's page, open, as the person who completes it sees it just before (every form of the case).
        Passwords are hashed cheaply here: the sign-ins, which this test does not test, would take seconds."""
        if self.reader is None:
            return
        from argon2 import PasswordHasher
        from readable import visible_text

        from services import accounts

        monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        complete, reader = tasks_service.complete_task, self.reader

        def reading_first(task_ref: str, data: Any, actor_name: str | None, acknowledgement: bool = False) -> Any:
            if actor_name:
                page = reader.get(actor_name, f"/tasks/{task_ref}")
                assert page.status_code == 200 and "<form" in page.text, (actor_name, task_ref, page.status_code)
                self.check(f"{actor_name} /tasks/{task_ref} (open)", visible_text(page.text))
            return complete(task_ref, data, actor_name, acknowledgement)

        monkeypatch.setattr(tasks_service, "complete_task", reading_first)

    def everything(self, cases: list[dict[str, Any]]) -> None:
        """Every document (as issued and masked), message and timeline line of the cases; with `pages`,
        every page each person of the county reaches from their home page, from a search for the cases'
        children and from the month's statistics, after the sweeper's tick has started this period's visits."""
        from readable import shape, visible_text, walk

        from models import Document

        p = policy.pack(self.jurisdiction)
        if self.reader is not None:
            if self.jurisdiction == "sixian":  # the county's ledger too: categories, entrusted care, the export
                from services import ledger

                sample = Path(__file__).resolve().parent.parent / "samples" / "ledger-sample.xlsx"
                assert ledger.import_ledger(sample, "sixian", "sx-civil")["created"] == 4
            sweep.tick(clock.now())  # this period's verification visits: the village's list, each child's visit
            village = next(u.name for u in p.unit_list if u.type == "village")
            also = [f"/children?q={c['case_no']}" for c in cases] + [f"/children?q={village}", "/board/stats.xlsx"]
            documents: dict[bool, set[str]] = {True: set(), False: set()}  # each read once as shown, masked or not
            for u in p.demo_users.value if p.demo_users else []:
                once = documents[u.role == "manager"]
                self.walked[u.username] = walk(self.reader, u.username, self.check, also, once)
            kinds = {shape(url.split("?")[0]) for urls in self.walked.values() for url in urls}
            assert kinds >= {
                "/reports/new",
                "/tasks",
                "/tasks/{id}",
                "/cases",
                "/cases/{case}",
                "/documents/{id}",
                "/children/{id}",
                "/inbox",
                "/visits",
                "/visits/{id}",
                "/board",
                "/board.csv",
                "/board/stats.xlsx",
                "/ledger",
                "/ledger/export.xlsx",
                "/admin/users",
                "/admin/users/{username}",
                "/approvals",
            }, kinds
        with Session(db.engine()) as s:
            ids = [uuid.UUID(c["case_id"]) for c in cases]
            docs = s.exec(select(Document).where(col(Document.case_id).in_(ids))).all()
            notes = s.exec(select(Notification).where(col(Notification.case_id).in_(ids))).all()
            events = s.exec(select(TimelineEvent).where(col(TimelineEvent.case_id).in_(ids))).all()
        assert len(docs) >= 7 and len(notes) > 10
        for d in docs:
            self.check(f"document {d.kind}", visible_text(d.content))
            self.check(f"document {d.kind} (masked)", visible_text(d.masked_content or ""))
        assert all(p.document.number in d.content for d in docs if "seed" in p.documents.value[d.kind].source), (
            "documents cite the county's own document by its number"
        )
        for n in notes:
            self.check(f"message {n.event}", n.subject + "\n" + n.body)
        for e in events:
            self.check(f"timeline {e.kind}", e.summary)
