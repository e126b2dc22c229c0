"""Benchmark: the board and the task inbox with 100,000 cases and 1,000,000 timeline events on
PostgreSQL (target < 300 ms each), and requests per second for the intake form's POST.

Rows are generated in SQL (bench/sweep.py's generator plus timeline events and breaches); pages
are rendered by the real app in process (FastAPI's TestClient: no network in the figure), signed
in as the county manager (board) and the station's officer (task inbox). Intake POSTs run the
real intake flow on an ephemeral Prefect server.

    uv run python bench/web.py [--cases 100000] [--events-per-case 10] [--posts 50]
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from shouhu import running

running.prepare_prefect_environment()
PASSWORD = "correct horse battery"


def timed(fn, runs: int = 7) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def run(url: str, cases: int, events: int, posts: int) -> None:
    from datetime import datetime

    from conftest import make_report
    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sweep import generate, seal_generated, sql_for

    from services import accounts, setup
    from shouhu import clock, db

    os.environ["SHOUHU_DATABASE_URL"] = url
    clock.set_now(datetime.fromisoformat("2026-12-15T09:00:00+08:00"))
    setup.init(demo=True)
    eng = db.engine()
    g = sql_for(eng.dialect.name)
    started = time.perf_counter()
    with eng.begin() as conn:
        generate(conn, eng.dialect.name, cases, 0)
        conn.execute(
            text(
                "INSERT INTO timelineevent (id, case_id, seq, at, kind, stage, actor, summary, payload, prev_hash, hash) "
                f"SELECT {g['uuid']}, c.id, e.i, {g['t_start']}, 'case_read', 'emergency', 'bench', '查阅案卷：case', {g['json']}, "
                f"'{'0' * 64}', '{'1' * 64}' FROM \"case\" c CROSS JOIN ({g['rows'].replace(':n', ':e')}) AS e"
            ),
            {"e": events},
        )
        conn.execute(
            text(  # one case in twenty has an open breach, a third of those 督办
                "INSERT INTO breach (id, deadline_id, case_id, task_id, jurisdiction, kind, stage, owner_unit, due_at, level, supervised, opened_at) "
                f"SELECT {g['uuid']}, d.id, d.case_id, d.task_id, 'sixian', d.kind, 'emergency', 'sx-pcs-sc', d.due_at, "
                f"1 + (abs(('x' || substr(md5(d.id::text), 1, 8))::bit(32)::int) % 3), false, d.due_at FROM deadline d "
                "WHERE abs(('x' || substr(md5(d.id::text), 1, 8))::bit(32)::int) % 20 = 0"
            )
        )
        conn.execute(text("UPDATE breach SET supervised = (level = 3)"))
        conn.execute(text("ANALYZE"))
    seal_generated()
    with eng.connect() as conn:
        n_cases = conn.execute(text('SELECT count(*) FROM "case"')).scalar()
        n_events = conn.execute(text("SELECT count(*) FROM timelineevent")).scalar()
        n_breaches = conn.execute(text("SELECT count(*) FROM breach")).scalar()
    print(
        f"  generated {n_cases:,} cases, {n_events:,} timeline events, {n_breaches:,} open breaches in {time.perf_counter() - started:.1f} s"
    )

    from web.app import create_app

    app = create_app()

    def client_for(username: str) -> TestClient:
        accounts.set_password(username, PASSWORD, must_change=False)
        client = TestClient(app)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token})
        return client

    manager, police = client_for("sx-manager"), client_for("sx-police")
    for label, client, path in (
        ("board (manager, 8 weeks of SLA)", manager, "/board"),
        ("task inbox (station officer)", police, "/tasks"),
        ("case list, first page (manager)", manager, "/cases"),
    ):
        assert client.get(path).status_code == 200
        median, worst = timed(functools.partial(client.get, path))
        print(f"  {label:34s} median {median * 1000:7.1f} ms   max {worst * 1000:7.1f} ms")

    intake = client_for("sx-intake")
    form = intake.get("/reports/new").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    started = time.perf_counter()
    for _ in range(posts):
        r = make_report()
        data = {
            "csrf": token,
            "channel": "电话",
            "situations": ["guardian_neglect"],
            "description": "孩子无人照料",
            "reporter.name": "周老师",
            "reporter.phone": "13700000000",
            "reporter.unit": "中心小学",
            "reporter.unit_type": "school",
            "child.name": r["child"]["name"],
            "child.id_number": r["child"]["id_number"],
            "child.birth_date": r["child"]["birth_date"],
            "child.gender": "female",
            "child.township": "sx-t-sc",
        }
        assert intake.post("/reports/new", data=data, follow_redirects=False).status_code == 303
    elapsed = time.perf_counter() - started
    print(
        f"  intake form POST (report → case, one flow run each, sequential): {posts / elapsed:.1f} requests/s "
        f"({elapsed / posts * 1000:.0f} ms each)"
    )
    clock.set_now(None)
    db.dispose(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--posts", type=int, default=50)
    args = parser.parse_args()
    from pgtemp import Unreachable, temporary_database
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        print("PostgreSQL:")
        try:
            with temporary_database("shouhu_bench") as url:
                run(url, args.cases, args.events_per_case, args.posts)
        except Unreachable as exc:
            print(f"  {exc}; skipped")


if __name__ == "__main__":
    main()
