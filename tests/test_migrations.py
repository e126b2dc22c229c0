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
from typing import Any

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


@pytest.fixture
def edited_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the packs the test may edit, read instead of policies/ (caches cleared around it)."""
    from shouhu import config, policy

    folder = tmp_path / "policies"
    folder.mkdir()
    for pack in config.POLICY_DIR.glob("*.yaml"):
        (folder / pack.name).write_text(pack.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(config, "POLICY_DIR", folder)
    policy.pack.cache_clear()
    yield folder
    policy.pack.cache_clear()


def test_init_again_updates_units_and_users_in_place(db_url: str, edited_packs: Path) -> None:
    """`shouhu init` reads each table once, then matches by code: a renamed unit or moved user is
    updated, a new unit or user added, and nothing is doubled, however often it runs."""
    import yaml

    from models import Unit, User

    def rows() -> dict[str, Any]:
        with Session(db.engine()) as s:
            return {
                "units": {u.code: (u.name, u.jurisdiction, u.parent) for u in s.exec(select(Unit)).all()},
                "users": {u.username: (u.role, u.unit) for u in s.exec(select(User)).all()},
            }

    first = setup.init(demo=True)
    before = rows()
    path = edited_packs / "sixian.yaml"
    pack = yaml.safe_load(path.read_text(encoding="utf-8"))
    units = pack["units"]["value"]
    next(u for u in units if u["code"] == "sx-t-sc")["name"] = "泗城镇人民政府（更名）"
    units.append({"code": "sx-v-sc-xc", "name": "泗城镇新村村民委员会", "type": "village", "parent": "sx-t-sc"})
    users = pack["demo_users"]["value"]
    next(u for u in users if u["username"] == "sx-director-dg")["unit"] = "sx-v-sc-xc"
    users.append(
        {
            "username": "sx-director-xc2",
            "display_name": "新村儿童主任",
            "role": "village_director",
            "unit": "sx-v-sc-xc",
        }
    )
    path.write_text(yaml.safe_dump(pack, allow_unicode=True, sort_keys=False), encoding="utf-8")
    from shouhu import policy

    policy.pack.cache_clear()
    for _ in range(2):
        again = setup.init(demo=True)
        assert again["units"] == first["units"] + 1 and again["users"] == first["users"] + 1
        after = rows()
        assert after["units"]["sx-t-sc"] == ("泗城镇人民政府（更名）", "sixian", None)
        assert after["units"]["sx-v-sc-xc"] == ("泗城镇新村村民委员会", "sixian", "sx-t-sc")
        assert after["users"]["sx-director-dg"] == ("village_director", "sx-v-sc-xc")
        assert after["users"]["sx-director-xc2"] == ("village_director", "sx-v-sc-xc")
        unchanged = {k: v for k, v in after["units"].items() if k not in ("sx-t-sc", "sx-v-sc-xc")}
        assert unchanged == {k: v for k, v in before["units"].items() if k != "sx-t-sc"}
        assert set(after["users"]) == set(before["users"]) | {"sx-director-xc2"}
