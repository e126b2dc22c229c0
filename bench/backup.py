"""Benchmark: `shouhu backup` and `shouhu restore` of the 100,000-case database, on SQLite and PostgreSQL.

The database is bench/web.py's, generated in SQL with bench/sweep.py's generator: 100,000 cases
(each with a task and its deadline, sealed) and 10 timeline events per case (1,000,000). The seal
key is a key file in SHOUHU_HOME, so it travels in the archive. Each backup is restored into a new
empty database and a new SHOUHU_HOME, and the restored counts are checked against the source.

    uv run python bench/backup.py [--cases 100000] [--events-per-case 10] [--gz] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))
os.environ.pop("SHOUHU_TIMELINE_KEY", None)  # the key file under SHOUHU_HOME is part of what is measured


def build(cases: int, events: int) -> dict[str, int]:
    """bench/web.py's cases and timeline events, in SQL, in the configured database."""
    from sqlalchemy import text
    from sweep import generate, seal_generated, sql_for

    from services import setup
    from shouhu import db

    setup.init(demo=True)
    eng = db.engine()
    g = sql_for(eng.dialect.name)
    with eng.begin() as conn:
        generate(conn, eng.dialect.name, cases, 0)
        conn.execute(
            text(
                "INSERT INTO timelineevent (id, case_id, seq, at, kind, stage, actor, summary, payload, prev_hash, "
                "hash) "
                f"SELECT {g['uuid']}, c.id, e.i, {g['t_start']}, 'case_read', 'emergency', 'bench', '查阅案卷：case', "
                f"{g['json']}, '{'0' * 64}', '{'1' * 64}' "
                f'FROM "case" c CROSS JOIN ({g["rows"].replace(":n", ":e")}) AS e'
            ),
            {"e": events},
        )
    seal_generated()
    return counts()


def counts() -> dict[str, int]:
    from sqlalchemy import text

    from shouhu import db

    with db.engine().connect() as conn:
        return {
            table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in ("case", "timelineevent", "task", "deadline")
        }


@contextmanager
def database(kind: str, home: Path, prefix: str) -> Iterator[str]:
    home.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        yield f"sqlite:///{home / 'shouhu.db'}"
        return
    from pgtemp import temporary_database

    with temporary_database(prefix) as url:
        yield url


def run(kind: str, cases: int, events: int, gz: bool) -> None:
    from services import backup
    from shouhu import clock, db

    clock.set_now(datetime.fromisoformat("2026-12-15T09:00:00+08:00"))
    work = Path(tempfile.mkdtemp(prefix="shouhu-bench-backup-"))
    source_home, target_home = work / "source", work / "target"
    print(f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}:")
    with database(kind, source_home, "shouhu_bench") as source:
        os.environ.update(SHOUHU_DATABASE_URL=source, SHOUHU_HOME=str(source_home))
        started = time.perf_counter()
        before = build(cases, events)
        print(
            f"  generated {before['case']:,} cases, {before['timelineevent']:,} timeline events "
            f"in {time.perf_counter() - started:.1f} s"
        )
        made = backup.backup(work / ("shouhu.tar.gz" if gz else "shouhu.tar"))
        print(
            f"  backup:  {made['seconds']:7.1f} s   archive {made['bytes'] / 1e6:,.1f} MB ({Path(made['file']).name})"
        )
        db.dispose(source)
        with database(kind, target_home, "shouhu_bench_restore") as target:
            os.environ.update(SHOUHU_DATABASE_URL=target, SHOUHU_HOME=str(target_home))
            done = backup.restore(Path(made["file"]))
            after = counts()
            print(f"  restore: {done['seconds']:7.1f} s   (into a new empty database; schema at {done['revision']})")
            assert after == before, (before, after)
            db.dispose(target)
    clock.set_now(None)
    shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--gz", action="store_true", help="write a gzip-compressed archive (.tar.gz)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    from pgtemp import Unreachable

    for kind in ("sqlite", "postgresql"):
        if args.only in (None, kind):
            try:
                run(kind, args.cases, args.events_per_case, args.gz)
            except Unreachable as exc:
                print(f"  {exc}; skipped")


if __name__ == "__main__":
    main()
