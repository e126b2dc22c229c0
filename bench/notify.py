"""Benchmark: report → police message at a local webhook, and dispatch throughput.

Embedded mode, in process: ephemeral Prefect server, a real HTTP receiver on 127.0.0.1 in its
own process (the police station's channel in a routing file), on SQLite and PostgreSQL. Prints p50/p95 of the
time from calling `submit_report` to the police message arriving (target p95 < 1 s), then
messages dispatched per second to the webhook (each with its record and timeline event).

    uv run python bench/notify.py [--reports 200] [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("SHOUHU_HOME", tempfile.mkdtemp(prefix="shouhu-bench-"))

from shouhu import running

running.prepare_prefect_environment()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_backend(url: str, reports: int, messages: int) -> None:
    import httpx
    import yaml
    from conftest import make_report
    from sqlmodel import select

    from models import Case, Notification
    from notifications.dispatch import dispatch
    from services import reports as reports_service
    from services import setup
    from shouhu import clock, db

    hook = subprocess.Popen([sys.executable, str(ROOT / "tests" / "receivers.py")], stdout=subprocess.PIPE, text=True)
    port = int(hook.stdout.readline())

    def received(clear: bool = False) -> Any:
        return httpx.get(f"http://127.0.0.1:{port}/received{'?clear=1' if clear else ''}").json()

    hook_url = f"json://127.0.0.1:{port}/hook"
    routing = Path(os.environ["SHOUHU_HOME"]) / f"routing-{uuid.uuid4().hex[:6]}.yaml"
    routing.write_text(yaml.safe_dump({"units": {"sx-pcs-sc": [hook_url], "sx-t-sc": [hook_url]}}), encoding="utf-8")
    os.environ["SHOUHU_ROUTING"] = str(routing)
    os.environ["SHOUHU_DATABASE_URL"] = url
    clock.set_now(datetime.fromisoformat("2026-11-24T09:00:00+08:00"))
    setup.init(demo=True)
    reports_service.submit_report(make_report(), "sx-intake")  # warm-up: imports, first flow run, Apprise

    latencies, missing = [], 0
    for _ in range(reports):
        received(clear=True)
        started = time.clock_gettime(time.CLOCK_MONOTONIC)
        case_no = reports_service.submit_report(make_report(), "sx-intake")["case_no"]
        arrived = [r["at"] for r in received() if case_no in r["json"]["title"] and "新案件" in r["json"]["title"]]
        if arrived:
            latencies.append(arrived[0] - started)
        else:
            missing += 1
    print(
        f"  report → police message at the webhook (n={reports}): p50 {pct(latencies, 50) * 1000:6.1f} ms  "
        f"p95 {pct(latencies, 95) * 1000:6.1f} ms  max {max(latencies) * 1000:6.1f} ms  (not arrived: {missing})"
    )

    with db.transaction() as s:
        cases = s.exec(select(Case.id).where(Case.jurisdiction == "sixian")).all()
        s.add_all(
            Notification(
                case_id=cases[i % len(cases)],
                jurisdiction="sixian",
                unit="sx-t-sc",
                event="task_opened",
                template="task_opened",
                dedupe_key=f"bench:{uuid.uuid4()}",
                subject=f"【守护】测试消息 {i}",
                body="测试",
                created_at=clock.now(),
            )
            for i in range(messages)
        )
    received(clear=True)
    started = time.perf_counter()
    stats = dispatch(rounds=1000)
    elapsed = time.perf_counter() - started
    arrived = len(received())
    print(
        f"  dispatch of {messages:,} queued messages to the webhook: {elapsed:.1f} s = {stats['sent'] / elapsed:,.0f} messages/s "
        f"(sent {stats['sent']:,}, received {arrived:,}, retrying {stats['retrying']}, failed {stats['failed']})"
    )
    hook.kill()
    clock.set_now(None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        print("SQLite:")
        bench_backend(f"sqlite:///{Path(os.environ['SHOUHU_HOME']) / 'notify.db'}", args.reports, args.messages)
        print("PostgreSQL:")
        from pgtemp import Unreachable, temporary_database

        try:
            with temporary_database("shouhu_bench") as url:
                bench_backend(url, args.reports, args.messages)
        except Unreachable as exc:
            print(f"  {exc}; skipped")


if __name__ == "__main__":
    main()
