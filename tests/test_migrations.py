"""Migrations: the models and the revisions agree, and a database made before migrations existed
(create_all at commit 91c9aef, filled by that commit's demo) upgrades with its data intact and
then runs a whole case — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from cli.demo import run_demo
from models import Case, TimelineEvent
from services import cases as cases_service
from services import setup
from shouhu import db, migrate
from shouhu.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_the_models_and_the_migrations_agree(db_url: str) -> None:
    """The session's database was built by the migrations alone: autogenerate finds nothing to add."""
    with db.engine().connect() as conn:
        assert migrate.differences(conn) == []
    assert migrate.current() == {"current": migrate.head(), "head": migrate.head(), "up_to_date": True}
    assert setup.init()["schema"] == migrate.head()  # again: nothing to do


@pytest.fixture
def baseline_database(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database of the session's backend, loaded with the 91c9aef dump (schema and one closed case)."""
    monkeypatch.setenv("SHOUHU_HOME", str(tmp_path / "home"))
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'baseline.db'}"
        with sqlite3.connect(tmp_path / "baseline.db") as conn:
            conn.executescript((FIXTURES / "baseline-91c9aef.sqlite.sql").read_text(encoding="utf-8"))
        yield url
        return
    from pgtemp import temporary_database

    with temporary_database("shouhu_baseline") as url:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute((FIXTURES / "baseline-91c9aef.postgresql.sql").read_text(encoding="utf-8"))
            conn.execute("SELECT pg_catalog.set_config('search_path', 'public', false)")
        yield url


def test_a_database_from_before_migrations_upgrades_and_runs_a_case(
    baseline_database: str, monkeypatch: pytest.MonkeyPatch, prefect_server: str
) -> None:
    monkeypatch.setenv("SHOUHU_DATABASE_URL", baseline_database)
    with Session(db.engine()) as s:
        before = (
            s.exec(select(func.count()).select_from(Case)).one(),
            s.exec(select(func.count()).select_from(TimelineEvent)).one(),
        )
    assert before[0] == 1 and before[1] > 30
    assert migrate.current()["current"] is None
    result = setup.init()  # recognised as the baseline, stamped, upgraded, its rows sealed
    assert result["schema"] == migrate.head()
    with db.engine().connect() as conn:
        assert migrate.differences(conn) == []
    with Session(db.engine()) as s:
        cases = s.exec(select(Case)).all()
        events = s.exec(select(func.count()).select_from(TimelineEvent)).one()
    assert (
        len(cases) == 1 and events == before[1] + 1
    )  # every event kept, and one saying the file was sealed at the upgrade
    old = cases[0]
    assert (old.stage, old.exit_reason) == ("closed", "placed")
    assert cases_service.verify_case(str(old.id)) == {"ok": True, "broken_at": None, "reason": None}
    assert run_demo(old.jurisdiction)["ok"]  # a whole new case on the upgraded database
    assert cases_service.verify_all()["ok"]


def test_a_database_that_is_neither_is_refused(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the recognition is the same code on both backends; one is enough")
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    with db.engine(url).begin() as conn:
        conn.execute(text('CREATE TABLE "case" (id INTEGER PRIMARY KEY)'))
        conn.execute(text("CREATE TABLE websession (id INTEGER PRIMARY KEY)"))
    with pytest.raises(InvalidInput) as err:
        migrate.upgrade(url)
    assert err.value.code == "unknown_schema"


def test_db_commands(db_url: str) -> None:
    env = {**os.environ}
    for args in (["db", "current"], ["db", "upgrade"]):
        out = subprocess.run(
            [sys.executable, "-m", "cli", *args, "--json"], capture_output=True, text=True, timeout=120, env=env
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["head"] == migrate.head()
