"""Faults mid-burst: the orchestrator stopped, the API server killed with SIGKILL, database
connections cut, a receiver that answers slowly. Each ends with every acknowledged report present
exactly once, nothing left pending, and every message delivered once.

The figures each test reaches (acknowledged, queued, applied, lost) are printed with -s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import make_report
from receivers import Webhook, free_port
from sqlalchemy import func
from sqlmodel import Session, select

from models import Case, Command, Delivery, Notification, Report, TimelineEvent
from services import accounts, cases, deadlines, tasks
from services import commands as commands_service
from services import messages as messages_service
from services import reports as reports_service
from shouhu import clock, db, policy
from shouhu.errors import Conflict

ROOT = Path(__file__).resolve().parent.parent
STATION = "sx-pcs-sc"  # the police station of every make_report() child


@pytest.fixture
def station_hook(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Webhook, Path]]:
    """The station's messages go to a real webhook; what earlier tests left queued is sent first."""
    from notifications.dispatch import dispatch

    hook = Webhook()
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump({"units": {STATION: [{"name": "webhook", "url": hook.url}]}}), encoding="utf-8")
    monkeypatch.setenv("SHOUHU_ROUTING", str(path))
    dispatch()
    hook.received.clear()
    yield hook, path
    hook.stop()


def keyed_reports(tag: str, n: int) -> list[dict[str, Any]]:
    return [make_report(idempotency_key=f"{tag}-{uuid.uuid4().hex[:8]}-{i}") for i in range(n)]


def ledger(keys: list[str]) -> dict[str, Any]:
    """Per idempotency key: its command's status and how many reports and cases it made."""
    with Session(db.engine()) as s:
        rows = s.exec(select(Command).where(Command.kind == "report")).all()
        by_key = {c.idempotency_key.split(":", 1)[1]: c for c in rows if c.idempotency_key.split(":", 1)[1] in keys}
        reports = Counter(
            r.command_id
            for r in s.exec(select(Report).where(Report.command_id.in_([c.id for c in by_key.values()]))).all()
        )
    return {
        k: {
            "status": by_key[k].status if k in by_key else None,
            "reports": reports.get(by_key[k].id, 0) if k in by_key else 0,
            "case_no": (by_key[k].result or {}).get("case_no") if k in by_key else None,
        }
        for k in keys
    }


def opened_messages(case_nos: list[str]) -> dict[str, list[str]]:
    """The station's case_opened message ids per case."""
    with Session(db.engine()) as s:
        rows = s.exec(
            select(Notification.id, Case.case_no)
            .join(Case, Case.id == Notification.case_id)
            .where(Notification.event == "case_opened", Notification.unit == STATION, Case.case_no.in_(case_nos))
        ).all()
    out: dict[str, list[str]] = {}
    for nid, no in rows:
        out.setdefault(no, []).append(str(nid))
    return out


def delivered_once(hook: Webhook, ids: list[str]) -> None:
    arrived = Counter(hook.ids())
    assert all(arrived[i] == 1 for i in ids), {i: arrived[i] for i in ids if arrived[i] != 1}


def settle_and_check(hook: Webhook, reports: list[dict[str, Any]], acknowledged: dict[str, dict[str, Any]]) -> None:
    """After the fault: the sweeper applies whatever was stored but never run; then every report
    was acknowledged, applied exactly once under the acknowledged case number, and its message
    delivered once."""
    assert len(acknowledged) == len(reports)
    clock.advance(seconds=policy.orchestrator_rule().resume_after_seconds)
    deadlines.sweep()
    state = ledger([r["idempotency_key"] for r in reports])
    assert all(v["status"] == "applied" and v["reports"] == 1 for v in state.values()), state
    assert all(acknowledged[k]["case_no"] == v["case_no"] for k, v in state.items())
    messages = opened_messages([v["case_no"] for v in state.values()])
    assert all(len(v) == 1 for v in messages.values()) and len(messages) == len(reports)
    messages_service.dispatch_now()
    delivered_once(hook, [i for v in messages.values() for i in v])


# ---- the orchestrator goes away ---------------------------------------------------------------
@pytest.fixture
def own_prefect(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Prefect server of this test's own (the session's test server must stay up), which the
    test can kill and start again on the same port."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from cli.serve import PrefectChild

    child = PrefectChild(free_port())
    child.start()
    url = f"http://127.0.0.1:{child.port}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield child
    child.stop()


def test_prefect_stopped_mid_burst(
    station_hook: tuple[Webhook, Path], own_prefect: Any, capsys: pytest.CaptureFixture
) -> None:
    from flows.runner import OrchestratorUnavailable

    hook, _ = station_hook
    reports = keyed_reports("pf", 12)
    answers = [reports_service.submit_report(r, "sx-intake") for r in reports[:5]]
    assert {a["status"] for a in answers} == {"applied"}
    own_prefect.proc.send_signal(signal.SIGKILL)  # the orchestrator dies mid-burst
    own_prefect.proc.wait()
    started = time.monotonic()
    answers += [reports_service.submit_report(r, "sx-intake") for r in reports[5:]]
    queued_in = (time.monotonic() - started) / 7
    queued = [a for a in answers if a["status"] == "queued"]
    assert len(queued) == 7 and all(a["case_no"] and a["case_id"] and a["idempotency_key"] for a in queued)
    assert len({a["case_no"] for a in answers}) == 12  # every acknowledgement names its own case
    # the same child reported again while the first is still queued: it joins the case the first will open
    again_same_child = reports_service.submit_report(
        {**reports[-1], "idempotency_key": "pf-same-child", "description": "邻居再次报告"}, "sx-intake"
    )
    assert again_same_child["status"] == "queued" and again_same_child["case_no"] == answers[-1]["case_no"]
    assert again_same_child["attached_to_existing"] is True
    # two outcomes for one task while the first waits: the second is refused, not silently dropped later
    applied_task = next(
        t
        for t in cases.show_case(answers[0]["case_no"], "sx-police", record_read=False)["tasks"]
        if t["status"] == "open"
    )
    outcome = {"unfounded": False, "measures": ["admonish_guardian"]}
    assert tasks.complete_task(applied_task["task_id"], outcome, "sx-police")["status"] == "queued"
    with pytest.raises(Conflict) as twice:
        tasks.complete_task(applied_task["task_id"], {**outcome, "notes": "又一次"}, "sx-police")
    assert twice.value.code == "completion_pending"

    # while it is down: a deadline still fires and its message still goes out (in this process)
    clock.advance(hours=13)  # past the police task's reminders and due time for the applied reports
    tick = deadlines.sweep()
    assert tick["orchestrator"] == "unavailable" and tick["fired"] > 0
    with Session(db.engine()) as s:
        marked = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.kind.in_(["deadline_reminder", "deadline_escalated"]),
                TimelineEvent.summary.contains("编排服务不可用"),
            )
        ).all()
    assert marked and all(e.payload["orchestrator"] == "unavailable" for e in marked)
    with pytest.raises(OrchestratorUnavailable):
        from flows.dispatcher import dispatcher
        from flows.runner import run_flow

        run_flow(dispatcher, ["probe"])

    own_prefect.stop()
    own_prefect.start()  # it answers again (same port)
    clock.advance(seconds=policy.orchestrator_rule().resume_after_seconds)
    resumed = deadlines.sweep()
    assert resumed["resumed"] == {"resumed": 9, "failed": 0, "left": 0}, resumed["resumed"]
    with Session(db.engine()) as s:
        joined = s.exec(
            select(func.count())
            .select_from(Report)
            .join(Case, Case.id == Report.case_id)
            .where(Case.case_no == answers[-1]["case_no"])
        ).one()
    assert joined == 2  # both reports on the one case, under the number both acknowledgements gave
    assert cases.show_case(answers[0]["case_no"], "sx-police", record_read=False)["stage"] == "assessment"
    keys = [r["idempotency_key"] for r in reports]
    state = ledger(keys)
    assert all(v == {"status": "applied", "reports": 1, "case_no": v["case_no"]} for v in state.values()), state
    assert [state[a.get("idempotency_key") or k]["case_no"] for a, k in zip(answers, keys, strict=True)] == [
        a["case_no"] for a in answers
    ]
    again = [reports_service.submit_report(r, "sx-intake") for r in reports]  # a client resending changes nothing
    assert [a["case_no"] for a in again] == [a["case_no"] for a in answers]
    messages = opened_messages([a["case_no"] for a in answers])
    assert sorted(messages) == sorted(a["case_no"] for a in answers) and all(len(v) == 1 for v in messages.values())
    messages_service.dispatch_now()
    delivered_once(hook, [i for v in messages.values() for i in v])
    with capsys.disabled():
        print(
            f"\n  prefect stopped: 12 acknowledged (5 applied, 7 queued, {queued_in * 1000:.0f} ms per queued answer), "
            f"{resumed['resumed']['resumed']} applied on its return, 0 lost, 0 twice"
        )


# ---- the API server is killed ------------------------------------------------------------------
def test_api_server_killed_mid_burst(
    station_hook: tuple[Webhook, Path], database_url: str, prefect_server: str, capsys: pytest.CaptureFixture
) -> None:
    """A client sends reports to a real server process, which is killed with SIGKILL mid-burst;
    the client resends what was not acknowledged (same keys) to a new server."""
    hook, routing_file = station_hook
    token = accounts.create_token("sx-intake", "fault test")["token"]
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": database_url,
        "SHOUHU_ROUTING": str(routing_file),
        "PREFECT_API_URL": prefect_server,
        "SHOUHU_NOW": clock.now().isoformat(),
        "PYTHONPATH": str(ROOT),
    }

    def server() -> tuple[subprocess.Popen, str]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:app", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the API server did not start")

    reports = keyed_reports("kill", 16)
    acknowledged: dict[str, dict[str, Any]] = {}
    proc, base = server()

    def send(base_url: str, todo: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for r in todo:
                try:
                    answer = client.post("/api/v1/reports", json=r)
                except httpx.HTTPError:
                    continue  # no answer: not acknowledged
                if answer.status_code in (201, 202):
                    acknowledged[r["idempotency_key"]] = answer.json()

    sender = threading.Thread(target=send, args=(base, reports))
    sender.start()
    while len(acknowledged) < 5 and sender.is_alive():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # mid-burst: a request is likely in flight
    proc.wait()
    sender.join()
    before_restart = len(acknowledged)
    assert 0 < before_restart < len(reports), "the kill must land mid-burst"
    proc, base = server()
    try:
        send(base, [r for r in reports if r["idempotency_key"] not in acknowledged])  # the client resends, same keys
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    settle_and_check(hook, reports, acknowledged)
    with capsys.disabled():
        print(
            f"\n  API server killed: {before_restart} acknowledged before the kill, {len(reports)} in all after resending; "
            f"{len(reports)} applied once, 0 lost, 0 twice"
        )


# ---- database connections are cut ------------------------------------------------------------
def test_database_connections_cut_mid_burst(
    station_hook: tuple[Webhook, Path], database_url: str, capsys: pytest.CaptureFixture
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("cutting connections is a PostgreSQL server's operation (pg_terminate_backend)")
    import psycopg

    hook, _ = station_hook
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgresql") + "/postgres"
    stop, cuts = threading.Event(), Counter()

    def cutter() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            while not stop.is_set():
                n = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchone()[0]
                cuts["connections"] += n
                stop.wait(0.4)  # (every 0.15 s starved a loaded two-core machine: no attempt could finish)

    reports = keyed_reports("cut", 20)
    acknowledged, errors = {}, Counter()
    thread = threading.Thread(target=cutter)
    thread.start()
    try:
        for r in reports:
            for _ in range(30):  # a client retries what was not acknowledged, with the same key
                try:
                    acknowledged[r["idempotency_key"]] = reports_service.submit_report(r, "sx-intake")
                    break
                except Exception as exc:  # noqa: BLE001 - an unacknowledged attempt
                    errors[type(exc).__name__] += 1
    finally:
        stop.set()
        thread.join()
    db.dispose()
    assert cuts["connections"] > 0
    settle_and_check(hook, reports, acknowledged)
    with capsys.disabled():
        print(
            f"\n  connections cut: {cuts['connections']} connections terminated, {sum(errors.values())} attempts unacknowledged "
            f"({dict(errors)}), {len(acknowledged)} acknowledged, each applied once, 0 lost"
        )


# ---- a receiver that answers slowly -----------------------------------------------------------
def test_a_slow_receiver_gets_each_message_once(station_hook: tuple[Webhook, Path]) -> None:
    """The receiver takes 5 s to answer (longer than Apprise's own 4 s default): each send waits
    for it, two dispatchers at once never send the same message, and a later run resends nothing."""
    from notifications.dispatch import dispatch

    hook, _ = station_hook
    hook.delay = 5.0
    with db.transaction() as s:
        queued = [
            Notification(
                jurisdiction="sixian",
                unit=STATION,
                event="task_opened",
                template="task_opened",
                dedupe_key=f"slow:{uuid.uuid4()}",
                subject=f"【守护】测试 {i}",
                body="测试消息",
                created_at=clock.now(),
            )
            for i in range(3)
        ]
        s.add_all(queued)
    ids = [str(n.id) for n in queued]
    runs = [threading.Thread(target=dispatch) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    clock.advance(hours=1)  # past any retry and any lease
    dispatch()
    delivered_once(hook, ids)
    with Session(db.engine()) as s:
        found = s.exec(
            select(Delivery.status, Delivery.attempts).where(Delivery.notification_id.in_([n.id for n in queued]))
        ).all()
    assert sorted(found) == [("sent", 1)] * 3  # one attempt each: none was counted as failed and sent again


def test_a_lease_is_renewed_while_its_send_is_in_flight(
    station_hook: tuple[Webhook, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A send that outlasts the lease (a 3 s lease, a receiver taking 4 s): the lease is renewed
    while the send is in flight, so a second dispatcher, after the first lease ran out, takes nothing."""
    from notifications import dispatch as dispatching

    hook, _ = station_hook
    rule = policy.pack("sixian").delivery.value.model_copy(update={"lease_seconds": 3, "send_timeout_seconds": 10})
    monkeypatch.setattr(dispatching, "_rule", lambda jurisdiction: rule)
    with db.transaction() as s:
        message = Notification(
            jurisdiction="sixian",
            unit=STATION,
            event="task_opened",
            template="task_opened",
            dedupe_key=f"lease:{uuid.uuid4()}",
            subject="【守护】测试",
            body="测试消息",
            created_at=clock.now(),
        )
        s.add(message)
    hook.delay = 4.0
    first = threading.Thread(target=dispatching.dispatch)
    first.start()
    deadline = time.monotonic() + 30
    while hook.arrivals == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    claimed_until = lease_of(message.id)
    clock.advance(seconds=2)
    wait_until = time.monotonic() + 2  # the renewal comes a third of a lease (1 s) later; the send lasts 4 s
    while lease_of(message.id) == claimed_until and time.monotonic() < wait_until:
        time.sleep(0.05)
    clock.advance(seconds=2)  # past the first lease, while the send is still in flight
    assert first.is_alive()
    second = dispatching.dispatch()
    first.join()
    assert second["sent"] == 0 and hook.arrivals == 1
    delivered_once(hook, [str(message.id)])


def lease_of(notification_id: uuid.UUID) -> Any:
    with Session(db.engine()) as s:
        return s.exec(select(Delivery.lease_until).where(Delivery.notification_id == notification_id)).first()


def test_a_queued_command_that_keeps_failing_is_told_and_can_be_retried(db_url: str) -> None:
    """After `orchestrator.max_resume_attempts` failures that are not the orchestrator's, a command
    is `failed`, the coordination office is told (ids only), and `shouhu commands retry` queues it."""
    from tasks import commands as task_commands

    with db.transaction() as s:
        stuck = Command(
            kind="report",
            idempotency_key=f"sixian:stuck-{uuid.uuid4()}",
            actor="sx-intake",
            payload={"report": make_report(), "reserved": {"case_no": "SX-2026-99999", "case_id": str(uuid.uuid4())}},
            created_at=clock.now(),
        )
        s.add(stuck)
    limit = policy.orchestrator_rule().max_resume_attempts
    for _ in range(limit):
        task_commands.count_failure(stuck.id, "KeyError", limit)
    assert [c["command_id"] for c in commands_service.list_commands("failed")] == [str(stuck.id)]
    with Session(db.engine()) as s:
        told = s.exec(select(Notification).where(Notification.event == "command_failed")).all()
    assert [n.unit for n in told] == ["sx-coord"] and str(stuck.id) in told[0].body and "SX-2026-99999" in told[0].body
    assert commands_service.retry_command(str(stuck.id)) == {"command_id": str(stuck.id), "status": "pending"}
    assert [c["attempts"] for c in commands_service.list_commands("pending") if c["command_id"] == str(stuck.id)] == [0]
    with pytest.raises(Conflict):
        commands_service.retry_command(str(stuck.id))
