"""Benchmark: a province's ledger (issue 14 "Scale": 10,000,000 ledger children) on PostgreSQL.

Targets: the quarterly round started in < 5 min, search by ID number < 50 ms, the village's visit page
< 200 ms, monthly statistics < 30 s.

    uv run python bench/province.py [--children 10000000] [--counties 100] [--townships 15] [--villages 20]

The province: `--counties` county packs in sixian's shape (sixian's rules, seed 001; a roster of
`--townships` townships with `--villages` villages each, written to a temporary policy directory
next to national.yaml), with a civil-affairs officer, a township caseworker and a village director
per county. The children are generated in SQL (generate_series, INSERT … SELECT), spread evenly over
the counties, their townships and villages (one in 21 on file at the township only), county after
county as each county's own import would write them (`--interleaved`: mixed, the worst layout for a
county's questions; a database generated before that option is laid out so): checksum-valid
ID numbers, ages 0–17, one or two categories in force, a guardian each. Children and guardians are
sealed as the application seals them (shouhu.timeline.row_seal: the same JSON, HMAC-SHA256 with
the timeline key, computed by pgcrypto); a sample is checked with `timeline.row_holds`. Not
generated: the child's own timeline (`childevent`, which no measured path reads).

Measured, through the real code paths, on one connection's worth of a shared machine:
1. the quarterly round: `tasks.rounds.start_due_rounds` on the first day of 2026Q4 (a visit for
   every covered minor, every county, each county in a transaction of its own, `SHOUHU_ROUND_WORKERS`
   of them at once);
2. a top-up: a child put on the ledger mid-quarter (`shouhu.childfile.enrol`), and the next day's
   `start_due_rounds` (which visits them, and checks every open visit's coverage);
3. search by ID number: `services.children.search_children` (as `shouhu search`, GET /api/v1/children
   and the search page call it) by the county's civil affairs, median and p95;
4. the village's visit page: `services.visits.visit_sheet` (behind /visits) by village directors,
   median and p95;
5. the monthly statistics `services.monthly.monthly` for one county, and for every county in turn
   (the province's figures are the counties' together).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))
os.environ["SHOUHU_TIMELINE_KEY"] = "province-bench-key-" + "0123456789abcdef" * 2  # pgcrypto seals with it too

from sqlalchemy import text

from shouhu import config

ROUND_DAY = date(2026, 10, 1)  # the first day of 2026Q4: the quarterly round starts
TOP_UP_DAY = date(2026, 11, 16)  # mid-quarter: a child joins the ledger, the next tick tops the round up
CREATED = "2026-09-01 09:00:00+08"  # when the ledger was imported
CREATED_ISO = "2026-09-01T01:00:00.000000+00:00"  # as row_seal writes it (UTC, microseconds)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643: the ID number's check character
CHECK = "10X98765432"


STEPS = ("search", "round", "page", "month", "province", "topup")


def code_of(county: int) -> str:
    return f"p{county:03d}"


def write_packs(folder: Path, counties: int, townships: int, villages: int) -> list[str]:
    """national.yaml and `counties` packs: sixian's rules (seed 001) with a generated roster."""
    (folder / "national.yaml").write_text((config.POLICY_DIR / "national.yaml").read_text(encoding="utf-8"))
    template = yaml.safe_load((config.POLICY_DIR / "sixian.yaml").read_text(encoding="utf-8"))
    codes = []
    for k in range(counties):
        code = code_of(k)
        units: list[dict[str, Any]] = [
            {"code": f"{code}-coord", "name": f"第{k}县联席会议办公室", "type": "coordination_office"},
            {"code": f"{code}-mz", "name": f"第{k}县民政局", "type": "civil_affairs", "supervisor": f"{code}-coord"},
            {"code": f"{code}-ga", "name": f"第{k}县公安局", "type": "police_bureau", "supervisor": f"{code}-coord"},
            {
                "code": f"{code}-pcs",
                "name": f"第{k}县公安局城关派出所",
                "type": "police_station",
                "parent": f"{code}-ga",
                "supervisor": f"{code}-ga",
                "covers": [f"{code}-t{t:02d}" for t in range(townships)],
            },
            {"code": f"{code}-fy", "name": f"第{k}县人民法院", "type": "court"},
        ]
        for t in range(townships):
            units.append(
                {"code": f"{code}-t{t:02d}", "name": f"第{t}镇人民政府", "type": "township", "supervisor": f"{code}-mz"}
            )
            for v in range(villages):
                units.append(
                    {
                        "code": f"{code}-v{t:02d}-{v:02d}",
                        "name": f"第{t}镇第{v}村民委员会",
                        "type": "village",
                        "parent": f"{code}-t{t:02d}",
                        "supervisor": f"{code}-t{t:02d}",
                    }
                )
        users = [
            {
                "username": f"{code}-civil",
                "display_name": "民政局 儿童福利股",
                "role": "civil_affairs",
                "unit": f"{code}-mz",
            },
            {
                "username": f"{code}-manager",
                "display_name": "联席会议办公室",
                "role": "manager",
                "unit": f"{code}-coord",
            },
            {
                "username": f"{code}-supervisor",
                "display_name": "儿童督导员",
                "role": "township_caseworker",
                "unit": f"{code}-t00",
            },
            {
                "username": f"{code}-director",
                "display_name": "儿童主任",
                "role": "village_director",
                "unit": f"{code}-v00-00",
            },
        ]
        pack = {
            **template,
            "pack": code,
            "name": f"第{k}县",
            "case_prefix": "P" + chr(65 + k // 26 % 26) + chr(65 + k % 26),
            "units": {"source": "local default: benchmark roster", "value": units},
            "demo_users": {"source": "local default: benchmark accounts", "value": users},
        }
        (folder / f"{code}.yaml").write_text(yaml.safe_dump(pack, allow_unicode=True, sort_keys=False))
        codes.append(code)
    return codes


def _json_text(sql: str) -> str:
    """A text value as json.dumps writes it (the generated values hold no quote or backslash)."""
    return f"'\"' || {sql} || '\"'"


def generate(
    conn: Any,
    children: int,
    counties: int,
    townships: int,
    villages: int,
    categories: list[str],
    interleaved: bool = False,
) -> None:
    """Children, their categories and guardians, in SQL; sealed as shouhu.timeline.row_seal seals."""
    key = os.environ["SHOUHU_TIMELINE_KEY"]
    per_county = -(-children // counties)
    # OFFSET 0 keeps PostgreSQL from pasting a subquery's expressions into every use (computed once a row).
    # i → county k, index j in the county, township t, village v (v = villages: on file at the township only);
    # county by county, as each county's own import writes its ledger (one county's rows lie together)
    spread = "i % :c AS k, i / :c AS j" if interleaved else "i / :per AS k, i % :per AS j"
    body17 = (
        "'34' || lpad((k % 100)::text, 2, '0') || lpad((k / 100 + 1)::text, 2, '0') "
        "|| to_char(born, 'YYYYMMDD') || lpad((j / 6200 % 1000)::text, 3, '0')"
    )
    checksum = " + ".join(f"substr(body, {n + 1}, 1)::int * {w}" for n, w in enumerate(WEIGHTS))
    child_json = (
        "'[\"Child\",' || "
        + " || ',' || ".join(
            [
                _json_text("id::text"),
                _json_text("jurisdiction"),
                _json_text("id_number"),
                _json_text("name"),
                _json_text("birth_date::text"),
                _json_text("gender"),
                _json_text("township"),
                f"COALESCE({_json_text('village')}, 'null')",
                _json_text("address"),
                "CASE WHEN left_behind THEN 'true' ELSE 'false' END",
                f"'\"{CREATED_ISO}\"'",
            ]
        )
        + " || ']'"
    )
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    # A bulk load, as a restore does it: the rows are consistent by construction, so the foreign-key
    # triggers are off for this transaction, and the secondary indexes are built once at the end.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    rebuild = _drop_secondary_indexes(conn, ("child", "childcategory", "guardian"))
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE gen ON COMMIT DROP AS "
            "SELECT gen_random_uuid() AS id, i, k, j, "
            "'p' || lpad(k::text, 3, '0') AS jurisdiction, "
            "'p' || lpad(k::text, 3, '0') || '-t' || lpad((j % :t)::text, 2, '0') AS township, "
            "CASE WHEN j / :t % (:v + 1) = :v THEN NULL ELSE "
            "'p' || lpad(k::text, 3, '0') || '-v' || lpad((j % :t)::text, 2, '0') || '-' "
            "|| lpad((j / :t % (:v + 1))::text, 2, '0') END AS village, "
            "DATE '2009-01-02' + (j % 6200) AS born "
            f"FROM (SELECT i, {spread} FROM generate_series(0, :n - 1) AS g(i)) AS r"
        ),
        {"n": children, "per": per_county, "c": counties, "t": townships, "v": villages},
    )
    assert per_county // 6200 < 1000, "too many children per county for unique ID numbers"
    conn.execute(
        text(
            "INSERT INTO child (id, jurisdiction, id_number, name, birth_date, gender, township, village, address, "
            "left_behind, created_at, school, enrolled_from, seal) "
            f"SELECT id, jurisdiction, id_number, name, birth_date, gender, township, village, address, left_behind, "
            f"TIMESTAMPTZ '{CREATED}', '中心小学', 'import', "
            f"encode(hmac({child_json}, :key, 'sha256'), 'hex') FROM ("
            "SELECT id, jurisdiction, body || substr(:check, ("
            + checksum
            + ") % 11 + 1, 1) AS id_number, '儿童' || i AS name, born AS birth_date, "
            "CASE WHEN i % 2 = 1 THEN 'male' ELSE 'female' END AS gender, township, village, "
            "township || COALESCE(village, '') || (j % 40) || '组' AS address, "
            "(i % :cats = :lb OR (i % 3 = 0 AND (i + 3) % :cats = :lb)) AS left_behind "
            f"FROM (SELECT *, {body17} AS body FROM gen OFFSET 0) AS b OFFSET 0) AS c ORDER BY id"
        ),
        {"key": key, "check": CHECK, "cats": len(categories), "lb": categories.index("left_behind")},
    )
    # one category each (the pack's categories in turn), a second for every third child
    for second in (False, True):
        pick = f"(i + 3) % {len(categories)}" if second else f"i % {len(categories)}"
        conn.execute(
            text(
                "INSERT INTO childcategory (id, child_id, category, started_on, ended_on, source, created_at) "
                "SELECT * FROM (SELECT gen_random_uuid() AS id, id AS child_id, "
                f"(CAST(:codes AS text[]))[{pick} + 1], DATE '2026-09-01', NULL::date, 'import:台账.xlsx', "
                f"TIMESTAMPTZ '{CREATED}' FROM gen" + (" WHERE i % 3 = 0" if second else "") + ") AS c ORDER BY id"
            ),
            {"codes": categories},
        )
    guardian_json = (
        "'[\"Guardian\",' || "
        + " || ',' || ".join(
            [_json_text("id::text"), _json_text("child_id::text"), _json_text("name"), "'\"祖父\"'", "'\"不详\"'"]
        )
        + " || ',{}]'"
    )
    conn.execute(
        text(
            "INSERT INTO guardian (id, child_id, name, relation, status, extra, phone, seal) "
            "SELECT id, child_id, name, '祖父', '不详', '{}'::json, '138' || lpad(i::text, 8, '0'), "
            f"encode(hmac({guardian_json}, :key, 'sha256'), 'hex') FROM "
            "(SELECT gen_random_uuid() AS id, id AS child_id, '监护人' || i AS name, i FROM gen) AS g ORDER BY id"
        ),
        {"key": key},
    )
    for statement in rebuild:
        conn.execute(text(statement))


def _drop_secondary_indexes(conn: Any, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' indexes and unique constraints other than primary keys; returns the
    statements that build them again (the definitions PostgreSQL reports, so nothing is lost)."""
    found = conn.execute(
        text(
            "SELECT t.relname, ix.relname, pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ix ON ix.oid = i.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
            "WHERE t.relname = ANY(:tables) AND NOT i.indisprimary"
        ),
        {"tables": list(tables)},
    ).all()
    rebuild = []
    for table, index, index_def, constraint, constraint_def in found:
        if constraint:
            conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"'))
            rebuild.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            conn.execute(text(f'DROP INDEX "{index}"'))
            rebuild.append(index_def)
    return rebuild


def seals_hold(sample: int = 50) -> int:
    """Check `sample` generated children and guardians with the application's own seal check."""
    from sqlmodel import Session, func, select

    from models import Child, Guardian
    from shouhu import db, timeline

    with Session(db.engine()) as s:
        rows = [
            *s.exec(select(Child).order_by(func.random()).limit(sample)).all(),
            *s.exec(select(Guardian).order_by(func.random()).limit(sample)).all(),
        ]
        broken = [r for r in rows if not timeline.row_holds(r)]
    assert not broken, f"{len(broken)} generated rows do not hold their seal"
    return len(rows)


def timed(call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call(*args)
    return time.perf_counter() - started, result


def spread(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms over {len(ms)}"


def run(url: str, args: argparse.Namespace, codes: list[str], fresh: bool = True) -> None:
    os.environ["SHOUHU_DATABASE_URL"] = url
    from services import setup
    from shouhu import clock, db, policy

    clock.set_now(datetime.fromisoformat("2026-09-01T09:00:00+08:00"))
    if not fresh:  # a database a --keep run generated: only the packs are loaded, as init loads them
        from shouhu import migrate

        took, _ = timed(policy.all_packs)
        migrate.upgrade(url)  # the schema of this checkout (a kept database may predate a migration)
        if "round" not in args.steps.split(","):  # measured on the round a previous run started
            measure(url, args, codes)
            return
        with db.engine().begin() as conn:  # measured again from the start: no round, no claims yet
            conn.execute(text("TRUNCATE verificationvisit"))
            conn.execute(text("DELETE FROM counter WHERE name LIKE 'verification:%' OR name LIKE 'patrol:%'"))
        with db.engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE verificationvisit"))
        print(f"  reusing the generated database (its round undone); {len(codes)} county packs loaded in {took:.1f} s")
        measure(url, args, codes)
        return
    took, _ = timed(lambda: setup.init(demo=True))
    units = args.counties * (5 + args.townships * (args.villages + 1))
    print(f"  schema, {args.counties} county packs ({units:,} units) loaded in {took:.1f} s")
    eng = db.engine()
    categories = list(policy.pack(codes[0]).child_categories.value)
    started = time.perf_counter()
    with eng.begin() as conn:
        generate(conn, args.children, args.counties, args.townships, args.villages, categories, args.interleaved)
    took = time.perf_counter() - started
    started = time.perf_counter()
    with eng.begin() as conn:  # committed: statistics gathered in a transaction rolled back are lost
        conn.execute(text("ANALYZE"))
    with eng.connect() as conn:
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        cats = conn.execute(text("SELECT count(*) FROM childcategory")).scalar()
    print(
        f"  generated {args.children:,} children ({cats:,} categories, a guardian each) in {took:.1f} s, "
        f"analysed in {time.perf_counter() - started:.1f} s; database {size}; {seals_hold()} sampled seals hold"
    )
    if args.generate_only:
        return
    measure(url, args, codes)


def measure(url: str, args: argparse.Namespace, codes: list[str]) -> None:
    """The five figures, on a generated province (`--steps`: some of them)."""
    from shouhu import clock, db

    steps = set(args.steps.split(","))
    if not steps <= set(STEPS):
        raise SystemExit(f"--steps: one or more of {','.join(STEPS)}")
    if "search" in steps:
        search(args)
    if "round" in steps:
        quarterly_round(args)
    if "page" in steps:
        village_page(args, codes)
    if "month" in steps or "province" in steps:
        months(codes, "province" in steps)
    if "topup" in steps:
        top_up(codes)
    clock.set_now(None)
    db.dispose(url)


def search(args: argparse.Namespace) -> None:
    """3. search by ID number, as the county's civil affairs (first: it needs no visits)."""
    from services import children
    from shouhu import clock, db

    eng = db.engine()
    clock.set_now(datetime.fromisoformat(f"{ROUND_DAY}T00:01:00+08:00"))
    rng = random.Random(14)
    with eng.connect() as conn:
        picks = conn.execute(
            text(
                "SELECT jurisdiction, id_number FROM child TABLESAMPLE SYSTEM (1) REPEATABLE (14) "
                "WHERE id_number IS NOT NULL LIMIT 2000"
            )
        ).all()
    picks = rng.sample(list(picks), min(args.searches, len(picks)))
    times = []
    for jurisdiction, id_number in picks:
        took, found = timed(children.search_children, id_number, f"{jurisdiction}-civil")
        assert found["total"] == 1 and found["kind"] == "id_number", found
        times.append(took)
    print(
        f"  3. search by ID number (civil affairs, services.children.search_children): {spread(times)} (target < 50 ms)"
    )


def quarterly_round(args: argparse.Namespace) -> None:
    """1. the quarterly round, every county."""
    from shouhu import clock, db
    from tasks import rounds

    eng = db.engine()
    clock.set_now(datetime.fromisoformat(f"{ROUND_DAY}T00:05:00+08:00"))
    took, started_rounds = timed(lambda: rounds.start_due_rounds(ROUND_DAY))
    print(
        f"  1. quarterly round 2026Q4 started: {took:.1f} s — {started_rounds['verification_visits']:,} visits "
        f"created in {args.counties} counties (target < 300 s)"
    )
    with eng.begin() as conn:
        conn.execute(text("ANALYZE verificationvisit"))


def village_page(args: argparse.Namespace, codes: list[str]) -> None:
    """4. the village's visit page, as each county's village director."""
    from services import visits

    times, rows = [], 0
    for n in range(args.pages):
        code = codes[n % len(codes)]
        took, sheet = timed(visits.visit_sheet, f"{code}-director", f"{code}-v00-00")
        assert sheet["total"] > 0 and sheet["rows"], sheet
        times.append(took)
        rows = max(rows, sheet["total"])
    print(
        f"  4. the village's visit page (services.visits.visit_sheet, page 1 of 50 rows; up to {rows:,} visits "
        f"in a village): {spread(times)} (target < 200 ms)"
    )


def months(codes: list[str], province: bool) -> None:
    """5. the monthly statistics for December (the round falls due on 31 December)."""
    from services import monthly
    from shouhu import clock

    clock.set_now(datetime.fromisoformat("2027-01-02T09:00:00+08:00"))
    took, figures = timed(lambda: monthly.monthly(codes[0], "2026-12"))
    s5 = figures["sections"]
    print(
        f"  5. monthly statistics 2026-12, one county: {took:.1f} s — ledger {s5['ledger']['total']['children']:,} "
        f"children, visits due {s5['visits']['total']['due']:,} (target < 30 s)"
    )
    if not province:
        return
    totals = {"children": 0, "due": 0}
    started = time.perf_counter()
    slowest = 0.0
    for code in codes:
        took, figures = timed(monthly.monthly, code, "2026-12")
        slowest = max(slowest, took)
        totals["children"] += figures["sections"]["ledger"]["total"]["children"]
        totals["due"] += figures["sections"]["visits"]["total"]["due"]
    print(
        f"     every county in turn (the province): {time.perf_counter() - started:.1f} s, slowest county "
        f"{slowest:.2f} s — ledger {totals['children']:,} children, visits due {totals['due']:,}"
    )


def top_up(codes: list[str]) -> None:
    """2. a child joins the ledger mid-quarter; the next day's tick tops the round up (last: the slowest)."""
    from sqlmodel import select

    from models import Child, VerificationVisit
    from shouhu import childfile, clock, db
    from tasks import rounds

    clock.set_now(datetime.fromisoformat(f"{TOP_UP_DAY}T10:00:00+08:00"))
    newcomer = Child(
        jurisdiction=codes[0],
        name="新列入儿童",
        birth_date=date(2020, 5, 1),
        gender="female",
        township=f"{codes[0]}-t00",
        village=f"{codes[0]}-v00-00",
        enrolled_from="survey",
        created_at=clock.now(),
    )
    with db.transaction() as s:
        s.add(newcomer)
        s.flush()
        childfile.enrol(s, newcomer.id, {"orphan": "孤儿"}, "survey", TOP_UP_DAY, "bench", "排查发现")
    next_day = date.fromordinal(TOP_UP_DAY.toordinal() + 1)
    with db.engine().begin() as conn:  # a previous run's top-up of that day, undone
        conn.execute(text("DELETE FROM counter WHERE name LIKE :day"), {"day": f"%:{next_day}"})
    clock.set_now(datetime.fromisoformat(f"{next_day}T00:05:00+08:00"))
    took, topped = timed(lambda: rounds.start_due_rounds(next_day))
    with db.transaction() as s:
        visited = s.exec(select(VerificationVisit).where(VerificationVisit.child_id == newcomer.id)).all()
    assert [v.period for v in visited] == ["2026Q4"], visited
    print(
        f"  2. top-up the next day (one child joined mid-quarter): {took:.1f} s — the period has "
        f"{topped['verification_visits']:,} visits, the newcomer's among them"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=10_000_000)
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--townships", type=int, default=15)
    parser.add_argument("--villages", type=int, default=20, help="villages per township")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated database (it takes long at 10M)")
    parser.add_argument("--database", help="measure again on a database a --keep run generated (same shape)")
    parser.add_argument("--interleaved", action="store_true", help="the counties' children mixed on every page")
    parser.add_argument("--generate-only", action="store_true", help="with --keep: generate, measure later")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"which measures, comma-separated (default all: {','.join(STEPS)})"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shouhu-province-packs-"))
    codes = write_packs(folder, args.counties, args.townships, args.villages)
    config.POLICY_DIR = folder  # the province's packs instead of the demo counties (read at each load)
    print(
        f"PostgreSQL, a province of {args.children:,} ledger children in {args.counties} counties × "
        f"{args.townships} townships × {args.villages} villages:"
    )
    from pgtemp import ADMIN_URL, Unreachable, temporary_database

    url_of = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/{}"
    if args.database:
        run(url_of.format(args.database), args, codes, fresh=False)
        return
    try:
        if args.keep:
            import uuid

            import psycopg

            name = f"shouhu_province_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            print(f"  database {name} is kept: --database {name} measures it again; drop it when done")
            run(url_of.format(name), args, codes)
            return
        with temporary_database("shouhu_province_bench") as url:
            run(url, args, codes)
    except Unreachable as exc:
        print(f"  {exc}; skipped")


if __name__ == "__main__":
    main()
