"""Benchmark: the sweeper with 1,000,000 open deadlines, and the bulk verification round.

Prints, on SQLite and PostgreSQL: an idle tick (nothing due) with 10,000 and with 1,000,000
open deadlines (targets < 100 ms, and flat); a tick firing 10,000 due escalation steps
(target >= 1,000 per second, delivery excluded: messages are only queued); peak memory; and
generating one quarter's verification visits for 1,000,000 children (target < 60 s).

    uv run python bench/sweep.py [--deadlines 1000000] [--due 10000] [--children 1000000]

Rows are generated in SQL (generate_series / a recursive CTE); the tick itself runs the
real code path (tasks.sweep.tick), without Prefect (a flow run adds ~0.2 s per tick).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from sqlalchemy import text

T = datetime.fromisoformat("2026-12-01T09:00:00+08:00")  # the 10,000 tasks fall due here
FAR = "2027-06-01 00:00:00"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sql_for(dialect: str) -> dict[str, str]:
    """Generators per dialect: N rows, a new UUID, timestamps, booleans."""
    if dialect == "postgresql":
        return {
            "rows": "SELECT i FROM generate_series(1, :n) AS g(i)",
            "uuid": "gen_random_uuid()",
            "t_due": "TIMESTAMPTZ '2026-12-01 09:00:00+08'",
            "t_start": "TIMESTAMPTZ '2026-11-24 09:00:00+08'",
            "t_far": f"TIMESTAMPTZ '{FAR}+08'",
            "false": "false",
            "json": "'{}'::json",
        }
    return {
        "rows": "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) SELECT i FROM g",
        "uuid": "lower(hex(randomblob(16)))",
        "t_due": "'2026-12-01 01:00:00.000000'",
        "t_start": "'2026-11-24 01:00:00.000000'",
        "t_far": "'2027-05-31 16:00:00.000000'",
        "false": "0",
        "json": "'{}'",
    }


def generate(conn, dialect: str, cases: int, watches_per_case: int) -> None:
    g = sql_for(dialect)
    child = uuid.uuid4()
    child_id = str(child) if dialect == "postgresql" else child.hex
    conn.execute(
        text(
            "INSERT INTO child (id, jurisdiction, name, birth_date, gender, township, village, left_behind, created_at) "
            f"VALUES (:id, 'sixian', 'bench', '2015-01-01', 'female', 'sx-t-sc', 'sx-v-sc-dg', {g['false']}, {g['t_start']})"
        ),
        {"id": child_id},
    )
    conn.execute(
        text(
            'INSERT INTO "case" (id, case_no, jurisdiction, child_id, township, village, stage, status, urgency, opened_at, version, '
            "timeline_seq, timeline_head, seal) "
            f"SELECT {g['uuid']}, 'BENCH-' || i, 'sixian', :child, 'sx-t-sc', 'sx-v-sc-dg', 'emergency', 'open', 'normal', {g['t_start']}, 1, 0, "
            f"'{'0' * 64}', '' FROM ({g['rows']}) AS r"
        ),
        {"n": cases, "child": child_id},
    )
    conn.execute(
        text(
            "INSERT INTO task (id, case_id, stage, kind, status, owner_unit, role, due_at, outcome, created_at) "
            f"SELECT {g['uuid']}, id, 'emergency', 'emergency_response', 'open', 'sx-pcs-sc', 'police', {g['t_due']}, {g['json']}, {g['t_start']} "
            "FROM \"case\" WHERE case_no LIKE 'BENCH-%'"
        )
    )
    # Each task's clock points at its level-1 step (after the two reminders), due at T.
    conn.execute(
        text(
            "INSERT INTO deadline (id, case_id, task_id, kind, starts_at, due_at, rule, status, next_step, next_fire_at) "
            f"SELECT {g['uuid']}, case_id, id, kind, created_at, due_at, {g['json']}, 'open', 2, due_at FROM task "
            "WHERE owner_unit = 'sx-pcs-sc' AND status = 'open'"
        )
    )
    if watches_per_case:
        conn.execute(
            text(
                "INSERT INTO deadline (id, case_id, task_id, kind, starts_at, due_at, rule, status, next_step, next_fire_at) "
                f"SELECT {g['uuid']}, c.id, NULL, 'refusal_watch', {g['t_start']}, {g['t_far']}, {g['json']}, 'open', 0, {g['t_far']} "
                f"FROM \"case\" c CROSS JOIN ({g['rows'].replace(':n', ':w')}) AS w WHERE c.case_no LIKE 'BENCH-%'"
            ),
            {"n": cases, "w": watches_per_case},
        )


def seal_generated(before: datetime | None = None) -> int:
    """Seal the rows made in SQL that the benchmark will write to — cases, children, tasks and
    the deadlines due before `before` (the application seals what it writes; a row without a
    valid seal would be recorded as tampered with on its first write — shouhu.timeline)."""
    from sqlmodel import Session, col, select

    from models import Case, Child, Deadline, Task
    from shouhu import db, timeline

    sealed = 0
    with Session(db.engine()) as s:
        for model in (Case, Child, Task, Deadline):
            while True:
                query = select(model).where(col(model.seal) == "")
                if model is Deadline and before is not None:
                    query = query.where(col(Deadline.next_fire_at) <= before)
                rows = s.exec(query.limit(5000)).all()
                if not rows:
                    break
                for row in rows:
                    row.seal = timeline.seal(row) if model is Case else timeline.row_seal(row)
                s.commit()
                sealed += len(rows)
    return sealed


def timed_idle_ticks(tick, as_of: datetime, runs: int = 5) -> float:
    tick(as_of)  # the day's markers (verification top-up) are claimed once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        tick(as_of)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def run(label: str, url: str, deadlines: int, due: int, children: int, batch: int = 500) -> None:
    os.environ["SHOUHU_DATABASE_URL"] = url
    from services import setup
    from shouhu import clock, db
    from tasks import rounds
    from tasks.sweep import tick

    clock.set_now(datetime.fromisoformat("2026-11-24T09:00:00+08:00"))
    setup.init(demo=True)
    eng = db.engine()
    dialect = eng.dialect.name
    print(f"{label}:")
    started = time.perf_counter()
    with eng.begin() as conn:
        generate(conn, dialect, due, 0)
    seal_generated(T)
    print(f"  generated {due:,} cases with due tasks in {time.perf_counter() - started:.1f} s")
    idle_small = timed_idle_ticks(tick, T - timedelta(hours=1))
    started = time.perf_counter()
    with eng.begin() as conn:
        g = sql_for(dialect)
        conn.execute(
            text(
                "INSERT INTO deadline (id, case_id, task_id, kind, starts_at, due_at, rule, status, next_step, next_fire_at) "
                f"SELECT {g['uuid']}, c.id, NULL, 'refusal_watch', {g['t_start']}, {g['t_far']}, {g['json']}, 'open', 0, {g['t_far']} "
                f"FROM \"case\" c CROSS JOIN ({g['rows'].replace(':n', ':w')}) AS w WHERE c.case_no LIKE 'BENCH-%'"
            ),
            {"w": max(0, (deadlines - due) // due)},
        )
        if dialect == "postgresql":
            conn.execute(text("ANALYZE deadline"))
    with eng.connect() as conn:
        open_count = conn.execute(text("SELECT count(*) FROM deadline WHERE status = 'open'")).scalar()
    print(f"  generated the rest: {open_count:,} open deadlines in all, {time.perf_counter() - started:.1f} s")
    idle_large = timed_idle_ticks(tick, T - timedelta(hours=1))
    print(
        f"  idle tick (nothing due), median of 5: {idle_small * 1000:6.1f} ms with {due:,} open; {idle_large * 1000:6.1f} ms with {open_count:,} open"
    )

    before = peak_mb()
    started = time.perf_counter()
    stats = tick(T + timedelta(minutes=1), batch=batch)
    elapsed = time.perf_counter() - started
    print(
        f"  tick firing {stats['fired']:,} due steps (batches of {batch}): {elapsed:.1f} s = {stats['fired'] / elapsed:,.0f} fired/s "
        f"(errors {stats['errors']}); peak RSS {peak_mb():.0f} MB (before {before:.0f} MB)"
    )

    started = time.perf_counter()
    with eng.begin() as conn:
        g = sql_for(dialect)
        conn.execute(
            text(
                "INSERT INTO child (id, jurisdiction, name, birth_date, gender, township, village, left_behind, created_at) "
                f"SELECT {g['uuid']}, 'sixian', 'bench', '2015-01-01', 'female', 'sx-t-sc', 'sx-v-sc-dg', {g['false']}, {g['t_start']} "
                f"FROM ({g['rows']}) AS r"
            ),
            {"n": children},
        )
        if dialect == "postgresql":
            conn.execute(text("ANALYZE child"))
    print(f"  generated {children:,} children on the ledger in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with db.transaction() as session:
        made = rounds.generate_verification_round(session, "sixian", date(2027, 1, 5))
    print(
        f"  verification round 2027Q1 for the ledger: {made:,} visits in {time.perf_counter() - started:.1f} s (one INSERT … SELECT); "
        f"peak RSS {peak_mb():.0f} MB"
    )
    from tasks import verification

    started = time.perf_counter()
    with clock.held_at(datetime.fromisoformat("2027-04-01T00:01:00+08:00")), db.transaction() as session:
        sent = verification.escalate_overdue(session, clock.now())
    print(
        f"  overdue escalation of 2027Q1's open visits at period end: {sent} unit messages in {time.perf_counter() - started:.1f} s "
        "(one GROUP BY)"
    )
    clock.set_now(None)
    db.dispose(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadlines", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if args.only != "postgresql":
        run(
            "SQLite",
            f"sqlite:///{Path(os.environ['SHOUHU_HOME']) / 'sweep-bench.db'}",
            args.deadlines,
            args.due,
            args.children,
            args.batch,
        )
    if args.only != "sqlite":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pgtemp import Unreachable, temporary_database

        try:
            with temporary_database("shouhu_bench") as url:
                run("PostgreSQL", url, args.deadlines, args.due, args.children, args.batch)
        except Unreachable as exc:
            print(f"{exc}; skipped")


if __name__ == "__main__":
    main()
