"""Benchmark: the monthly statistics (services.monthly) over a large ledger.

Generates, in SQL: N children on sixian's ledger (two townships, both sexes, ages 0–17), their
categories (one or two in force each, and one ended before the month for a third of them), one
verification visit per child due in the month (half done), and M cases opened in the month with a
report each (two situations). Then times the whole month's figures — every section, each one SQL
aggregate — on SQLite and/or PostgreSQL. The issue's target: < 30 s for 10,000,000 children.

    uv run python bench/ledger_stats.py [--children 1000000] [--cases 10000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from sqlalchemy import text

MONTH = "2026-12"


def sql_for(dialect: str) -> dict[str, str]:
    if dialect == "postgresql":
        return {
            "rows": "SELECT i FROM generate_series(1, :n) AS g(i)",
            "uuid": "gen_random_uuid()",
            "born": "DATE '2009-06-01' + (i % 6200)",
            "t": "TIMESTAMPTZ '2026-11-24 09:00:00+08'",
            "opened": "TIMESTAMPTZ '2026-12-10 09:00:00+08'",
            "due": "TIMESTAMPTZ '2026-12-31 23:59:59+08'",
            "false": "false",
            "json": "'{}'::json",
            "situations": '\'["guardian_neglect","domestic_violence"]\'::json',
        }
    return {
        "rows": "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) SELECT i FROM g",
        "uuid": "lower(hex(randomblob(16)))",
        "born": "date('2009-06-01', '+' || (i % 6200) || ' days')",
        "t": "'2026-11-24 01:00:00.000000'",
        "opened": "'2026-12-10 01:00:00.000000'",
        "due": "'2026-12-31 15:59:59.000000'",
        "false": "0",
        "json": "'{}'",
        "situations": '\'["guardian_neglect","domestic_violence"]\'',
    }


def generate(conn, dialect: str, children: int, cases: int) -> None:
    g = sql_for(dialect)
    conn.execute(
        text(
            "INSERT INTO child (id, jurisdiction, name, birth_date, gender, township, village, left_behind, created_at, "
            "enrolled_from, seal) "
            f"SELECT {g['uuid']}, 'sixian', 'bench', {g['born']}, "
            "CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, "
            "CASE WHEN i % 3 = 0 THEN 'sx-t-cg' ELSE 'sx-t-sc' END, "
            "CASE WHEN i % 3 = 0 THEN 'sx-v-cg-xz' WHEN i % 5 = 0 THEN NULL ELSE 'sx-v-sc-dg' END, "
            f"{g['false']}, {g['t']}, 'import', '' FROM ({g['rows']}) AS r"
        ),
        {"n": children},
    )
    for category, where, ended in (
        ("left_behind", "c.gender = 'male'", "NULL"),
        ("orphan", "c.gender = 'female'", "NULL"),
        ("poor_family", "c.township = 'sx-t-cg'", "NULL"),
        ("disabled", "c.township = 'sx-t-sc' AND c.village IS NULL", "'2026-06-30'"),
    ):
        conn.execute(
            text(
                "INSERT INTO childcategory (id, child_id, category, started_on, ended_on, source, created_at) "
                f"SELECT {g['uuid']}, c.id, '{category}', '2026-01-01', {ended}, 'bench', {g['t']} "
                f"FROM child c WHERE c.name = 'bench' AND {where}"
            )
        )
    conn.execute(
        text(
            "INSERT INTO verificationvisit (id, jurisdiction, child_id, unit, period, due_at, status, outcome, created_at) "
            f"SELECT {g['uuid']}, 'sixian', c.id, COALESCE(c.village, c.township), '2026Q4', {g['due']}, "
            f"CASE WHEN c.gender = 'male' THEN 'done' ELSE 'open' END, {g['json']}, {g['t']} "
            "FROM child c WHERE c.name = 'bench'"
        )
    )
    conn.execute(
        text(
            'INSERT INTO "case" (id, case_no, jurisdiction, child_id, township, village, stage, status, urgency, '
            "opened_at, version, timeline_seq, timeline_head, seal) "
            f"SELECT {g['uuid']}, 'BENCH-' || c.id, 'sixian', c.id, c.township, c.village, 'emergency', 'open', 'normal', "
            f"{g['opened']}, 1, 0, '{'0' * 64}', '' FROM (SELECT * FROM child WHERE name = 'bench' LIMIT :m) AS c"
        ),
        {"m": cases},
    )
    conn.execute(
        text(
            "INSERT INTO command (id, kind, idempotency_key, actor, payload, status, attempts, last_error, result, "
            f"case_id, created_at) SELECT {g['uuid']}, 'report', c.case_no, 'bench', {g['json']}, 'applied', 0, '', "
            f"{g['json']}, c.id, {g['opened']} FROM \"case\" c WHERE c.case_no LIKE 'BENCH-%'"
        )
    )
    conn.execute(
        text(
            "INSERT INTO report (id, case_id, command_id, jurisdiction, channel, situations, description, reported_at, "
            f"registered_by, late, seal) SELECT {g['uuid']}, m.case_id, m.id, 'sixian', 'bench', {g['situations']}, "
            f"'bench', {g['opened']}, 'bench', {g['false']}, '' FROM command m WHERE m.actor = 'bench'"
        )
    )
    if dialect == "postgresql":
        conn.execute(text("ANALYZE"))


def run(label: str, url: str, children: int, cases: int) -> None:
    os.environ["SHOUHU_DATABASE_URL"] = url
    from services import monthly, setup
    from shouhu import clock, db

    clock.set_now(datetime.fromisoformat("2026-11-24T09:00:00+08:00"))
    setup.init(demo=True)
    eng = db.engine()
    print(f"{label}:")
    started = time.perf_counter()
    with eng.begin() as conn:
        generate(conn, eng.dialect.name, children, cases)
    print(
        f"  generated {children:,} children, their categories and visits, {cases:,} cases in {time.perf_counter() - started:.1f} s"
    )
    clock.set_now(datetime.fromisoformat("2027-01-02T09:00:00+08:00"))
    for run_no in (1, 2):
        started = time.perf_counter()
        figures = monthly.monthly("sixian", MONTH)
        elapsed = time.perf_counter() - started
        s = figures["sections"]
        print(
            f"  monthly statistics {MONTH} (run {run_no}): {elapsed:.1f} s — ledger {s['ledger']['total']['children']:,} children, "
            f"visits due {s['visits']['total']['due']:,} (overdue {s['visits']['total']['overdue']:,}), "
            f"cases opened {s['cases_by_sex']['total']['opened']:,}"
        )
    clock.set_now(None)
    db.dispose(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        run("SQLite", f"sqlite:///{Path(os.environ['SHOUHU_HOME']) / 'stats-bench.db'}", args.children, args.cases)
    if args.only != "sqlite":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pgtemp import Unreachable, temporary_database

        try:
            with temporary_database("shouhu_bench") as url:
                run("PostgreSQL", url, args.children, args.cases)
        except Unreachable as exc:
            print(f"{exc}; skipped")


if __name__ == "__main__":
    main()
