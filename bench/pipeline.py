"""Benchmark: report → first task open with its notifications queued, and whole cases.

Runs in process on an ephemeral Prefect server, on SQLite and on PostgreSQL (skipped with a
note if unreachable). Prints p50/p95 intake latency over N reports, the share of it that is
Prefect's overhead (the same work applied directly, without a flow run, is the baseline),
and the time for whole cases through all four steps.

    uv run python bench/pipeline.py [--reports 200] [--cases 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from shouhu import running

running.prepare_prefect_environment()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_backend(label: str, url: str, reports: int, cases: int) -> None:
    from conftest import make_report

    from cli import demo
    from flows.intake import open_case_for_report
    from models import Command
    from services import reports as reports_service
    from services import setup
    from shouhu import clock, db
    from shouhu.inputs import ReportIn
    from tasks.apply import rehearse

    os.environ["SHOUHU_DATABASE_URL"] = url
    clock.set_now(datetime.fromisoformat("2026-11-24T09:00:00+08:00"))
    setup.init(demo=True)
    reports_service.submit_report(make_report(), "sx-intake")  # warm-up: imports, first flow run

    with_flow: list[float] = []
    for _ in range(reports):
        started = time.perf_counter()
        reports_service.submit_report(make_report(), "sx-intake")
        with_flow.append(time.perf_counter() - started)

    direct: list[float] = []
    for _ in range(reports):
        report = ReportIn.model_validate(make_report()).model_dump(mode="json")
        command = Command(
            kind="report",
            idempotency_key=str(uuid.uuid4()),
            actor="sx-intake",
            payload={"report": report},
            created_at=clock.now(),
        )
        started = time.perf_counter()
        rehearse(command, open_case_for_report)
        with db.transaction() as s:
            s.add(command)
            s.flush()
            open_case_for_report(s, command)
        direct.append(time.perf_counter() - started)

    p50, p95 = pct(with_flow, 50), pct(with_flow, 95)
    base50 = pct(direct, 50)
    print(f"  intake, report → task open + notifications queued (n={reports}):")
    print(
        f"    with Prefect flow run: p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {max(with_flow) * 1000:7.1f} ms"
    )
    print(f"    same work, no flow:    p50 {base50 * 1000:7.1f} ms   p95 {pct(direct, 95) * 1000:7.1f} ms")
    print(f"    Prefect overhead share (p50): {100 * (p50 - base50) / p50:5.1f} %")

    demo.console.file = io.StringIO()  # silence the narration
    times = []
    for _ in range(cases):
        clock.set_now(datetime.fromisoformat("2026-11-24T09:00:00+08:00"))
        started = time.perf_counter()
        result = demo.run_demo("sixian")
        times.append(time.perf_counter() - started)
        assert result["ok"], result
    print(
        f"  whole case through all four steps (report → close, 14 flow runs, n={cases}): "
        f"mean {statistics.mean(times):.2f} s, max {max(times):.2f} s"
    )
    clock.set_now(None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--cases", type=int, default=3)
    args = parser.parse_args()
    from prefect.testing.utilities import prefect_test_harness

    started = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=180):
        print(f"ephemeral Prefect server up in {time.perf_counter() - started:.1f} s")
        print("SQLite:")
        bench_backend("sqlite", f"sqlite:///{Path(os.environ['SHOUHU_HOME']) / 'bench.db'}", args.reports, args.cases)
        print("PostgreSQL:")
        from pgtemp import Unreachable, temporary_database

        try:
            with temporary_database("shouhu_bench") as url:
                bench_backend("postgresql", url, args.reports, args.cases)
        except Unreachable as exc:
            print(f"  {exc}; skipped")


if __name__ == "__main__":
    main()
