"""Benchmark: importing a county's ledger from XLSX (issue 14 target: 100,000 rows in < 60 s on
PostgreSQL), and importing the same file again (nothing changes).

    uv run python bench/ledger.py [--rows 100000] [--backend postgresql|sqlite|both]

The workbook is generated (sixian's townships and villages, checksum-valid ID numbers, one to two
categories, a guardian, every fifth child with an entrusted caregiver); the import runs the real code
path (services.ledger.import_ledger) as civil affairs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))
os.environ.setdefault("SHOUHU_NOW", "2026-12-01T09:00:00+08:00")

from openpyxl import Workbook

from services import ledger, setup
from shouhu import db, idnumber

PLACES = [("泗城镇", "东关村"), ("草沟镇", "新庄村"), ("泗城镇", ""), ("草沟镇", "")]
CATEGORIES = ["留守儿童", "孤儿", "事实无人抚养儿童", "家庭贫困儿童", "残疾儿童"]


def workbook(path: Path, rows: int) -> None:
    rng = random.Random(14)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(list(ledger.HEADERS))
    for n in range(rows):
        born = date(2009, 1, 1) + timedelta(days=rng.randrange(365 * 16))
        body = f"341324{born:%Y%m%d}{n % 1000:03d}"
        ident = body + idnumber.check_character(body)
        if n >= 1000:  # the first thousand share no birth date and sequence; later ones may: make them unique
            body = f"3413{n // 1000 % 100:02d}{born:%Y%m%d}{n % 1000:03d}"
            ident = body + idnumber.check_character(body)
        township, village = PLACES[n % len(PLACES)]
        cats = "、".join(rng.sample(CATEGORIES, rng.choice((1, 2))))
        carer = n % 5 == 0
        sheet.append(
            [
                f"儿童{n:06d}",
                ident,
                "男" if n % 2 else "女",
                born.isoformat(),
                township,
                village,
                cats,
                f"监护人{n:06d}",
                "祖父",
                f"138{n:08d}",
                f"{township}{village}{n % 50}组",
                "中心小学",
                f"照护人{n:06d}" if carer else "",
                "外祖母" if carer else "",
                "",
                "",
                "",
            ]
        )
    book.save(path)


def run(url: str, path: Path, rows: int) -> None:
    os.environ["SHOUHU_DATABASE_URL"] = url
    setup.init(demo=True)
    started = time.monotonic()
    first = ledger.import_ledger(path, "sixian", "sx-civil")
    took = time.monotonic() - started
    assert not first["errors"], first["errors"][:3]
    started = time.monotonic()
    again = ledger.import_ledger(path, "sixian", "sx-civil")
    again_took = time.monotonic() - started
    print(
        f"  {url.split(':')[0]:<20} import {rows:,} rows: {took:6.1f} s ({rows / took:,.0f} rows/s; created "
        f"{first['created']:,}) · same file again: {again_took:6.1f} s (unchanged {again['unchanged']:,})"
    )
    db.dispose(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shouhu-ledger-bench-"))
    path = folder / "ledger.xlsx"
    started = time.monotonic()
    workbook(path, args.rows)
    print(
        f"workbook of {args.rows:,} rows written in {time.monotonic() - started:.1f} s ({path.stat().st_size / 1e6:.1f} MB)"
    )
    if args.backend in ("sqlite", "both"):
        run(f"sqlite:///{folder / 'shouhu.db'}", path, args.rows)
    if args.backend in ("postgresql", "both"):
        from pgtemp import Unreachable, temporary_database

        try:
            with temporary_database("shouhu_ledger_bench") as url:
                run(url, path, args.rows)
        except Unreachable as exc:
            print(f"  postgresql: skipped ({exc})")


if __name__ == "__main__":
    main()
