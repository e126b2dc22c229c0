"""Real parts: a Prefect test server (one per session), real SQLite and real PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shouhu import running

PASSWORD = "correct horse battery"
SHOUHU = [sys.executable, "-m", "cli"]  # the CLI, as a subprocess


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    os.environ["SHOUHU_HOME"] = str(tmp_path_factory.mktemp("shouhu_home"))
    # One key for every process of the session (the CLI tests use their own SHOUHU_HOME), as in production.
    os.environ["SHOUHU_TIMELINE_KEY"] = "test timeline key: 32 characters or more, never a real one"
    running.prepare_prefect_environment()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


T0 = datetime.fromisoformat("2026-11-24T09:00:00+08:00")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One initialised database per backend and session (schema, packs, units, demo users): each
    test gets a copy of it, so no test ever reads a row another test wrote."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'shouhu.db'}"
        _initialise(url)
        yield url
        return
    from pgtemp import Unreachable, temporary_database

    try:
        with temporary_database("shouhu_tmpl") as url:
            _initialise(url)
            yield url
    except Unreachable as exc:
        if os.environ.get("SHOUHU_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required (SHOUHU_REQUIRE_POSTGRES) but {exc}")
        pytest.skip(str(exc))


def _initialise(url: str) -> None:
    from services import setup
    from shouhu import clock, db

    before = os.environ.get("SHOUHU_DATABASE_URL")
    os.environ["SHOUHU_DATABASE_URL"] = url
    try:
        with clock.held_at(T0):
            setup.init(demo=True)
    finally:
        db.dispose(url)  # closed: SQLite folds its write-ahead log in; a PostgreSQL template must be idle to be copied
        if before is None:
            os.environ.pop("SHOUHU_DATABASE_URL", None)
        else:
            os.environ["SHOUHU_DATABASE_URL"] = before


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    """This test's own database: a copy of the initialised template (a file copy on SQLite,
    CREATE DATABASE … TEMPLATE on PostgreSQL), dropped afterwards."""
    from shouhu import db

    if database_template.startswith("sqlite"):
        path = tmp_path / "shouhu.db"
        source = Path(database_template.removeprefix("sqlite:///"))
        assert (
            not source.with_name(source.name + "-wal").exists()
            or not source.with_name(source.name + "-wal").stat().st_size
        )
        shutil.copyfile(source, path)
        url = f"sqlite:///{path}"
        yield url
        db.dispose(url)
        return
    from pgtemp import temporary_database

    with temporary_database("shouhu_test", template=database_template.rsplit("/", 1)[1]) as url:
        yield url


@pytest.fixture
def db_url(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This test's own database, its own SHOUHU_HOME (keys, anchors, routing), the clock at T0."""
    from shouhu import clock

    monkeypatch.setenv("SHOUHU_DATABASE_URL", database_url)
    monkeypatch.setenv("SHOUHU_HOME", str(tmp_path / "home"))
    clock.set_now(T0)
    yield database_url
    clock.set_now(None)


_children = itertools.count()


@pytest.fixture
def cli(database_url: str, prefect_server: str, tmp_path: Path) -> Any:
    """The CLI as a real subprocess on this test's database: `cli(*args, stdin=, code=)` → its one JSON
    document, with the exit code checked (shared so every CLI contract test runs it the same way)."""
    env = {
        **os.environ,
        "SHOUHU_DATABASE_URL": database_url,
        "SHOUHU_HOME": str(tmp_path),
        "PREFECT_API_URL": prefect_server,
        "SHOUHU_NOW": "2026-11-24T09:00:00+08:00",
    }
    env.pop("SHOUHU_USER", None)

    def run(*args: str, stdin: Any = None, code: int = 0) -> Any:
        proc = subprocess.run(
            [*SHOUHU, *args, "--json"],
            input=json.dumps(stdin, ensure_ascii=False) if stdin is not None else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-2000:])
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stdout  # exactly one JSON document
        return json.loads(lines[0])

    return run


def run_cli(*args: str, code: int = 0, stdin: str | None = None) -> Any:
    """The CLI as a subprocess on this process's database (as `db_url` set it): its one JSON answer,
    the exit code checked. Without `--as`, no SHOUHU_USER from the environment speaks for anyone."""
    env = {**os.environ}
    env.pop("SHOUHU_USER", None)
    proc = subprocess.run(
        [*SHOUHU, *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
        input=stdin,
    )
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    return json.loads(proc.stdout)


def make_report(jurisdiction: str = "sixian", **overrides: Any) -> dict[str, Any]:
    """A valid report for a fresh child: a new checksum-valid ID number each call, never repeated."""
    from shouhu import idnumber, policy

    p = policy.pack(jurisdiction)
    township = next(u for u in p.units.value if u.type == "township")
    village = next(u for u in p.units.value if u.type == "village" and u.parent == township.code)
    n = next(_children)
    born = date(2016, 1, 1) + timedelta(days=n // 1000)
    report: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "channel": "电话报警",
        "discovered_at": "2026-11-24T07:00:00+08:00",
        "reporter": {"name": "周老师", "phone": "13700000000", "unit": "中心小学", "unit_type": "school"},
        "child": {
            "name": f"测试儿童{n:05d}",
            "id_number": idnumber.make("341324", born, n % 1000),
            "birth_date": born.isoformat(),
            "gender": "female",
            "township": township.code,
            "village": village.code,
        },
        "guardians": [{"name": "测试监护人", "relation": "mother", "status": "working_away"}],
        "situations": ["guardian_neglect"],
        "description": "孩子无人照料",
    }
    for key, value in overrides.items():
        if "." in key:
            outer, inner = key.split(".", 1)
            report[outer] = {**report[outer], inner: value}
        else:
            report[key] = value
    return report


def on_ledger(made: list[dict[str, Any]], category: str = "留守儿童", jurisdiction: str = "sixian") -> dict[str, Any]:
    """Put reported children on the county's ledger the way a county does: civil affairs imports a
    spreadsheet (CSV here) naming them, by ID number, in `category` (a category's name, as in the file)."""
    import csv
    import tempfile

    from services import ledger

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["姓名", "身份证号", "性别", "出生日期", "乡镇", "村", "类别"])
        for r in made:
            c = r["child"]
            sex = {"female": "女", "male": "男"}[c["gender"]]
            out.writerow(
                [
                    c["name"],
                    c.get("id_number") or "",
                    sex,
                    c["birth_date"],
                    c["township"],
                    c.get("village") or "",
                    category,
                ]
            )
    civil = user_of(jurisdiction, "civil_affairs")
    result = ledger.import_ledger(Path(f.name), jurisdiction, civil)
    assert not result["errors"], result["errors"]
    return result


def user_of(jurisdiction: str, role: str, unit: str | None = None) -> str:
    from shouhu import policy

    for u in policy.pack(jurisdiction).demo_users.value:
        if u.role == role and (unit is None or u.unit == unit):
            return u.username
    raise LookupError((jurisdiction, role, unit))


def counts(*tables: Any) -> dict[str, int]:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from shouhu import db

    with Session(db.engine()) as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in tables}


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def browser_like(db_url: str) -> Iterator[Any]:
    """A function giving a signed-in TestClient per username (cookies kept per client)."""
    from web.app import create_app

    app = create_app()
    clients: list[TestClient] = []

    from fastapi.testclient import TestClient

    from services import accounts

    def signed_in(username: str) -> TestClient:
        accounts.set_password(username, PASSWORD, must_change=False)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf": csrf(page.text), "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return client

    yield signed_in


def arrive(case_id: str, police: str) -> dict[str, Any]:
    """The police say they are on scene at once (出警到场), so a test about the other clocks has only those."""
    from services import cases, tasks

    case = cases.show_case(case_id, police, record_read=False)
    for t in case["tasks"]:
        if t["kind"] == "police_arrival" and t["status"] == "open":
            case = tasks.acknowledge_task(t["task_id"], police)
    return case


CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: playwright cannot download its own here


@pytest.fixture
def site(db_url: str) -> Iterator[str]:
    """The web app served by uvicorn on a free port for a real browser (this test's database)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("SHOUHU_REQUIRE_BROWSER"):
            pytest.fail(
                f"{CHROMIUM} is required (SHOUHU_REQUIRE_BROWSER) but missing: apt-get install chromium fonts-wqy-zenhei"
            )
        pytest.skip(f"{CHROMIUM} not installed")
    import uvicorn
    from receivers import free_port

    from web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start within 30 s"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
