"""The production topology, tested (README "Production"): Prefect's server on PostgreSQL, a
`process` work pool with two workers running the deployed `prefect.yaml` (the sweeper and the
dispatcher, every minute), and two `shouhu serve --every 0` replicas on one Shouhu PostgreSQL
database, running the report flows in their own process against that server.

A few reports are made two hours before (`shouhu report`), so their police deadlines are due while
a burst of reports goes through both replicas and the scheduled runs fire on the workers; one
worker (with the flow runs it is executing) and one replica are killed with SIGKILL mid-burst, and
the client resends what was not acknowledged, with the same keys, to the other replica. Then two hours
pass for the workers (their flow runs get a later SHOUHU_NOW through the deployments' job
variables), so the police deadlines opened by the reports come due, and the next scheduled
sweeper and dispatcher runs, on the surviving worker, fire and send them.

Checked: every report applied once under the case number it was acknowledged with, every
deadline step that has come fired once (and its escalation written and its breach raised once),
every message delivered once to a real webhook. The figures are printed, passed or not.

Each process has its own SHOUHU_HOME and PREFECT_HOME and shares what production shares: the
two databases, PREFECT_API_URL, SHOUHU_TIMELINE_KEY and the routing file. The clock is fixed
(SHOUHU_NOW), the same for every process during the burst, so that leases and the resume delay
mean what they mean in production, where clocks agree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import make_report
from receivers import Webhook, free_port

pytestmark = pytest.mark.topology

ROOT = Path(__file__).resolve().parent.parent


def _entry_point() -> list[str]:
    """`shouhu`, as pyproject's [project.scripts] declares it, run by this interpreter."""
    import tomllib

    module, _, function = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"][
        "shouhu"
    ].partition(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; sys.exit({function}())"]


SHOUHU = _entry_point()
T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")  # the burst: every process
T1 = T0 + timedelta(
    hours=2
)  # the workers' flow runs afterwards: the police deadlines (1 h, escalated at +0.5 h, +1 h) have come
EARLY = 6  # reports made two hours before the burst: their deadlines are due during it
REPORTS = 32  # the burst: 16 per replica
INTAKE = "intake-desk"  # the account the reports are made by (its API token for the replicas)
KILL_REPLICA_AFTER = 4  # the second replica is killed after it has acknowledged this many


# ---- processes ---------------------------------------------------------------------------------
class Processes:
    """Every process the test starts: each in its own process group, its output in a log file;
    all of them (and anything they started) are killed at the end, whatever happened."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started[name] = proc
        return proc

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def kill(self, name: str) -> list[int]:
        """SIGKILL the process group and every descendant (a machine that dies): the pids that were alive."""
        proc = self.started[name]
        victims = [proc.pid, *descendants(proc.pid)]
        for pid in victims:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        return victims

    def stop_all(self) -> None:
        for name, proc in self.started.items():
            if proc.poll() is None:
                kids = descendants(proc.pid)
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
                for pid in kids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            if proc.poll() is None:
                self.kill(name)


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        out += kids
        frontier += kids
    return out


def wait_until(
    what: str, check: Any, timeout: float, procs: Processes | None = None, watch: tuple[str, ...] = ()
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in watch:
            assert procs.started[name].poll() is None, f"{name} exited:\n{procs.log(name)}"
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s" + "".join(f"\n--- {n}:\n{procs.log(n)}" for n in watch))


def answers(url: str) -> bool:
    return httpx.get(url, timeout=3).status_code == 200


def run(command: list[str], env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(command)}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


# ---- Prefect's API -----------------------------------------------------------------------------
class PrefectAPI:
    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(f"{self.url}{path}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def deployments(self) -> dict[str, dict[str, Any]]:
        return {d["name"]: d for d in self.post("/deployments/filter", {})}

    def runs(self, deployment_id: str) -> list[dict[str, Any]]:
        return self.post(
            "/flow_runs/filter",
            {"deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200},
        )


def instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# ---- the test ----------------------------------------------------------------------------------
def test_two_replicas_and_two_workers_lose_nothing_when_one_of_each_is_killed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from pgtemp import Unreachable, temporary_database

    started = time.monotonic()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs)
    hook = Webhook()
    figures: dict[str, Any] = {}  # printed at the end, passed or not
    with ExitStack() as cleanup:
        cleanup.callback(hook.stop)

        def show() -> None:
            with capsys.disabled():
                print(f"\n  topology: {figures}", flush=True)

        cleanup.callback(show)
        try:
            prefect_db = cleanup.enter_context(temporary_database("shouhu_topo_prefect"))
            shouhu_db = cleanup.enter_context(temporary_database("shouhu_topo"))
        except Unreachable as exc:
            if os.environ.get("SHOUHU_REQUIRE_POSTGRES"):
                pytest.fail(f"PostgreSQL required (SHOUHU_REQUIRE_POSTGRES) but {exc}")
            pytest.skip(str(exc))
        cleanup.callback(procs.stop_all)  # runs before the databases are dropped

        # The environment production shares between machines; everything else is per process.
        prefect_port = free_port()
        api = f"http://127.0.0.1:{prefect_port}/api"
        routing_file = tmp_path / "routing.yaml"
        from shouhu import policy

        units = sorted(
            {
                u.code
                for j in policy.jurisdiction_names()
                for u in (policy.pack(j).units.value if policy.pack(j).units else [])
            }
        )
        routing_file.write_text(
            yaml.safe_dump({"units": {u: [{"name": "webhook", "url": hook.url}] for u in units}}), encoding="utf-8"
        )
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHOUHU_"))}
        shared = {
            **base,
            "SHOUHU_DATABASE_URL": shouhu_db,
            "SHOUHU_ROUTING": str(routing_file),
            "SHOUHU_NOW": T0.isoformat(),
            "SHOUHU_TIMELINE_KEY": "topology test timeline key: 32 characters or more, never a real one",
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
        }

        def own(name: str, **extra: str) -> dict[str, str]:
            home = tmp_path / name
            (home / "prefect").mkdir(parents=True)
            return {**shared, "SHOUHU_HOME": str(home), "PREFECT_HOME": str(home / "prefect"), **extra}

        # 1. Prefect's server on its own PostgreSQL database
        server_env = own(
            "prefect-server",
            PREFECT_API_DATABASE_CONNECTION_URL=prefect_db.replace("+psycopg", "+asyncpg"),
            PREFECT_UI_ENABLED="false",
            PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
        )
        server_env.pop("PREFECT_API_URL")
        procs.start(
            "prefect-server",
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)],
            server_env,
        )
        # 2. Shouhu's database: schema, packs, units and users, once (not by racing replicas)
        run([*SHOUHU, "init"], own("init"))
        desk = next(
            u.unit for u in policy.pack("sixian").demo_users.value if u.role == "police_intake"
        )  # the county's intake desk
        run(
            [
                *SHOUHU,
                "user",
                "add",
                INTAKE,
                "--role",
                "police_intake",
                "--unit",
                desk,
                "--name",
                "接警台",
                "--jurisdiction",
                "sixian",
                "--json",
            ],
            own("user"),
        )
        token = json.loads(
            run([*SHOUHU, "user", "token", "create", INTAKE, "--name", "topology test", "--json"], own("token"))
        )["token"]
        wait_until("Prefect's server answers", lambda: answers(f"{api}/health"), 240, procs, ("prefect-server",))
        # 3. the work pool and the deployments of prefect.yaml
        cli_env = own("deploy", SHOUHU_CHECKOUT=str(ROOT))  # the pull step's directory, resolved here
        run([sys.executable, "-m", "prefect", "work-pool", "create", "shouhu", "--type", "process"], cli_env)
        run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"], cli_env, timeout=300)
        prefect = PrefectAPI(api)
        deployments = prefect.deployments()
        assert set(deployments) == {"sweeper", "dispatcher"}, sorted(deployments)
        figures["pull_steps"] = deployments["sweeper"]["pull_steps"]
        # 4. two workers (they poll every 2 s and take a run when it is due, not 10 s early)
        workers = ["worker-1", "worker-2"]
        for name in workers:
            procs.start(
                name,
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", "shouhu", "--name", name],
                own(name, PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_WORKER_PREFETCH_SECONDS="1"),
            )
        # 5. two replicas of the web app, on the one Shouhu database and the one Prefect server
        replicas = {}
        for name in ("replica-1", "replica-2"):
            port = free_port()
            procs.start(name, [*SHOUHU, "serve", "--host", "127.0.0.1", "--port", str(port), "--every", "0"], own(name))
            replicas[name] = f"http://127.0.0.1:{port}"
        # 6. meanwhile, reports made two hours before the burst (`shouhu report`, its flow run on the same
        #    server): their police deadlines are due at T0, so the sweeper has work while the burst goes on
        early = [make_report(idempotency_key=f"early-{uuid.uuid4().hex[:8]}-{i}") for i in range(EARLY)]
        reporting = [
            subprocess.Popen(
                [*SHOUHU, "report", "-", "--as", INTAKE, "--json"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=own(f"early-{i}", SHOUHU_NOW=(T0 - timedelta(hours=2)).isoformat()),
            )
            for i in range(EARLY)
        ]
        cleanup.callback(lambda: [p.kill() for p in reporting if p.poll() is None])
        acknowledged: dict[str, dict[str, Any]] = {}
        for report, proc in zip(early, reporting, strict=True):
            out, err = proc.communicate(json.dumps(report), timeout=300)
            assert proc.returncode == 0, out + err[-2000:]
            acknowledged[report["idempotency_key"]] = json.loads(out)
        assert {a["status"] for a in acknowledged.values()} == {"applied"}, acknowledged
        for name, url in replicas.items():
            wait_until(f"{name} answers", lambda url=url: answers(f"{url}/healthz"), 180, procs, (name,))
        setup_seconds = time.monotonic() - started

        # 7. the burst, started at the next scheduled slot, so that the workers' runs (the sweeper
        #    firing the early reports' deadlines, the dispatcher sending) go on while it lasts
        def next_slot() -> datetime | None:
            upcoming = [
                instant(r["expected_start_time"])
                for d in deployments.values()
                for r in prefect.runs(d["id"])
                if r["state_type"] == "SCHEDULED"
            ]
            return min((t for t in upcoming if t and t > datetime.now().astimezone()), default=None)

        slot = wait_until(
            "Prefect's scheduler has scheduled the deployments' runs (Prefect 3.8's scheduler fails on SQLAlchemy 2.1: "
            "`Can't evaluate bulk DML statement`, see the server's log)",
            next_slot,
            90,
            procs,
            ("prefect-server",),
        )
        time.sleep(max(0.0, (slot - datetime.now().astimezone()).total_seconds()))
        reports = [make_report(idempotency_key=f"topo-{uuid.uuid4().hex[:8]}-{i}") for i in range(REPORTS)]
        by: Counter[str] = Counter()
        refused: list[tuple[str, int, str]] = []
        lock = threading.Lock()

        def send(first: str, todo: list[dict[str, Any]]) -> None:
            """A client: its replica first; what gets no answer goes, same key, to the other (a load balancer's failover)."""
            order = [first, *(n for n in replicas if n != first)]
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
                for report in todo:
                    for name in order:
                        try:
                            answer = client.post(f"{replicas[name]}/api/v1/reports", json=report)
                        except httpx.HTTPError:
                            order = [n for n in order if n != name] + [name]  # down: the other one first from now on
                            continue
                        with lock:
                            if answer.status_code in (201, 202):
                                acknowledged[report["idempotency_key"]] = answer.json()
                                by[name] += 1
                            else:
                                refused.append((report["idempotency_key"], answer.status_code, answer.text[:300]))
                        break

        senders = [threading.Thread(target=send, args=(name, reports[i::2])) for i, name in enumerate(replicas)]
        burst_started = time.monotonic()
        for s in senders:
            s.start()
        killed_worker, killed_runs, killed_replica_at = None, [], None

        def running_on(worker: str) -> list[dict[str, Any]]:
            """The deployments' flow runs in state Running whose process is this worker's child."""
            kids = set(descendants(procs.started[worker].pid))
            if not kids:
                return []
            running = prefect.post(
                "/flow_runs/filter",
                {
                    "flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}},
                    "deployments": {"id": {"any_": [d["id"] for d in deployments.values()]}},
                },
            )
            return [
                r
                for r in running
                if r.get("infrastructure_pid") and int(str(r["infrastructure_pid"]).rsplit(":", 1)[-1]) in kids
            ]

        while any(s.is_alive() for s in senders):
            with lock:
                done = len(acknowledged) - EARLY
            if killed_replica_at is None and by["replica-2"] >= KILL_REPLICA_AFTER:
                procs.kill("replica-2")  # mid-burst: its next report is in flight
                killed_replica_at = done
            if killed_worker is None:
                busy = {w: running_on(w) for w in workers}
                target = next((w for w, runs in busy.items() if runs), None)
                if target or done >= REPORTS * 9 // 10:  # else, late in the burst, whichever has a child (or the first)
                    target = target or next((w for w in workers if descendants(procs.started[w].pid)), workers[0])
                    killed_worker, killed_runs = target, [r["name"] for r in busy[target]]
                    procs.kill(killed_worker)  # with the flow runs it is executing
            time.sleep(0.2)
        burst_seconds = time.monotonic() - burst_started
        figures.update(
            setup_s=round(setup_seconds),
            burst_s=round(burst_seconds),
            acknowledged=dict(by),
            refused=len(refused),
            replica_2_killed_after=killed_replica_at,
            worker_killed=killed_worker,
            its_running_flow_runs=killed_runs,
        )
        assert killed_replica_at is not None and killed_worker is not None, "both kills must land mid-burst"
        assert not refused, refused
        assert len(acknowledged) == EARLY + REPORTS, f"{EARLY + REPORTS - len(acknowledged)} reports never acknowledged"
        killed_at = datetime.now().astimezone()
        survivor = next(w for w in workers if w != killed_worker)

        # 7. messages a killed process had claimed: their lease, held at T0, runs out when the time moves
        from sqlalchemy import create_engine
        from sqlmodel import Session, select

        from models import (
            Breach,
            Case,
            ClockFire,
            Command,
            Deadline,
            Delivery,
            Notification,
            Report,
            TimelineEvent,
        )

        engine = create_engine(shouhu_db)
        cleanup.callback(engine.dispose)
        wait_until(f"{survivor} is idle", lambda: not descendants(procs.started[survivor].pid), 120, procs, (survivor,))
        with Session(engine) as s:
            orphaned = {
                str(d.notification_id)
                for d in s.exec(
                    select(Delivery).where(Delivery.status == "pending", Delivery.lease_until.is_not(None))
                ).all()
            }
        sent_before_recorded = {i for i in orphaned if i in set(hook.ids())}  # the send landed, its record did not
        figures.update(orphaned_leases=len(orphaned), sent_before_recorded=len(sent_before_recorded))

        # 8. two hours pass for the workers' flow runs; the next scheduled sweeper and dispatcher runs take them
        moved_at = datetime.now().astimezone()
        for d in deployments.values():
            answer = httpx.patch(
                f"{api}/deployments/{d['id']}",
                json={"job_variables": {"env": {"SHOUHU_NOW": T1.isoformat()}}},
                timeout=30,
            )
            assert answer.status_code == 204, answer.text

        def after_the_move() -> dict[str, dict[str, Any]] | None:
            done = {}
            for name, d in deployments.items():
                runs = [
                    r
                    for r in prefect.runs(d["id"])
                    if r["state_type"] == "COMPLETED"  # taken by a worker after the move
                    and instant(r["expected_start_time"]) > moved_at + timedelta(seconds=3)
                ]
                if not runs:
                    return None
                done[name] = runs[0]
            return done

        wait_until(
            "a sweeper and a dispatcher run on the surviving worker after the clock moved",
            after_the_move,
            180,
            procs,
            ("prefect-server", survivor),
        )
        runs = {name: prefect.runs(d["id"]) for name, d in deployments.items()}
        states = {
            name: Counter(r["state_type"] for r in rs if r["state_type"] != "SCHEDULED") for name, rs in runs.items()
        }
        figures["runs"] = {k: dict(v) for k, v in states.items()}
        assert not any(r["state_type"] == "FAILED" for rs in runs.values() for r in rs), states
        # a run the killed worker held may be told Crashed; any other run that started completed (or is still going)
        assert all(
            r["state_type"] in ("COMPLETED", "RUNNING", "PENDING")
            for rs in runs.values()
            for r in rs
            if r["state_type"] != "SCHEDULED"
            and (r["name"] not in killed_runs and instant(r["start_time"] or r["expected_start_time"]) > killed_at)
        ), states

        # ---- every acknowledged report applied once, under the case number it was acknowledged with
        keys = [r["idempotency_key"] for r in early + reports]
        with Session(engine) as s:
            commands = {
                c.idempotency_key.split(":", 1)[1]: c
                for c in s.exec(select(Command).where(Command.kind == "report")).all()
            }
            made = Counter(r.command_id for r in s.exec(select(Report)).all())
            case_nos = set(s.exec(select(Case.case_no)).all())
        assert sorted(commands) == sorted(keys)
        assert all(commands[k].status == "applied" and made[commands[k].id] == 1 for k in keys), {
            k: (commands[k].status, made[commands[k].id]) for k in keys
        }
        assert all((commands[k].result or {}).get("case_no") == acknowledged[k]["case_no"] for k in keys)
        assert (
            case_nos == {a["case_no"] for a in acknowledged.values()} and len(case_nos) == EARLY + REPORTS
        )  # fresh children: a case each

        # ---- every step that has come (as of T1) fired once; each escalation written once, each breach at its level
        from tasks import clocks

        with Session(engine) as s:
            deadlines = s.exec(select(Deadline)).all()
            jurisdiction = {c.id: c.jurisdiction for c in s.exec(select(Case)).all()}
            fires = Counter((f.deadline_id, f.step) for f in s.exec(select(ClockFire)).all())
            escalated = Counter(
                (e.payload["deadline_id"], e.payload["level"])
                for e in s.exec(select(TimelineEvent).where(TimelineEvent.kind == "deadline_escalated")).all()
            )
            reminded = Counter(
                (e.payload["deadline_id"], e.payload["step"])
                for e in s.exec(select(TimelineEvent).where(TimelineEvent.kind == "deadline_reminder")).all()
            )
            breaches = Counter(b.deadline_id for b in s.exec(select(Breach)).all())
            levels = {b.deadline_id: b.level for b in s.exec(select(Breach)).all()}
        due = {
            (d.id, step.name): step
            for d in deadlines
            for step in clocks.plan(policy.pack(jurisdiction[d.case_id]), d)
            if step.at <= T1
        }
        figures.update(
            deadlines=len(deadlines),
            steps_due=len(due),
            steps_fired=sum(fires.values()),
            escalations=sum(escalated.values()),
        )
        assert due, "no deadline step came due: the test proves nothing about the sweeper"
        assert fires == Counter(due.keys()), {
            "missing": set(due) - set(fires),
            "unexpected": set(fires) - set(due),
            "twice": {k for k, n in fires.items() if n > 1},
        }
        level_steps = {(str(d), step.level) for (d, _), step in due.items() if step.level > 0}
        assert escalated == Counter(level_steps), escalated
        assert all(n == 1 for n in reminded.values()), reminded
        top = Counter()
        for (d, _), step in due.items():
            top[d] = max(top[d], step.level)
        assert breaches == Counter({d for d, level in top.items() if level}) and all(
            levels[d] == top[d] for d in levels
        )

        # ---- every message delivered once to the webhook (the message id travels as X-Shouhu-Message-Id)
        with Session(engine) as s:
            notifications = s.exec(select(Notification)).all()
            deliveries = s.exec(select(Delivery)).all()
        assert notifications and all(n.status == "sent" for n in notifications), Counter(
            n.status for n in notifications
        )
        routed = Counter(d.notification_id for d in deliveries)
        assert all(routed[n.id] == 1 for n in notifications), Counter(
            (n.unit, n.event, routed[n.id]) for n in notifications if routed[n.id] != 1
        )
        assert all(d.status == "sent" and d.attempts == 1 for d in deliveries), Counter(
            (d.status, d.attempts) for d in deliveries
        )
        arrived = Counter(hook.ids())
        figures.update(
            messages=len(notifications),
            by_event=dict(Counter(n.event for n in notifications)),
            arrivals=sum(arrived.values()),
        )
        assert set(arrived) == {str(n.id) for n in notifications}, (
            "a message arrived that is not ours, or one never arrived"
        )
        twice = {i: n for i, n in arrived.items() if n != 1}
        # A process killed between a send and its record: the message went out and goes out again
        # when its lease runs out (at least once, its id marking the repeat). Anything else: once.
        assert set(twice) <= sent_before_recorded and all(n == 2 for n in twice.values()), twice
        figures.update(twice=len(twice), elapsed_s=round(time.monotonic() - started), passed=True)
