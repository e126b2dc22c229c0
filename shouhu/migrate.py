"""The schema's history: Alembic revisions in `migrations/`, applied by `shouhu init` and `shouhu db upgrade`.

A database with no revision recorded is recognised before anything is written: empty → built from
the first revision; made by `create_all` before migrations existed (commit 91c9aef, the baseline) →
stamped 0001 and upgraded, its data kept; already equal to today's models → stamped head. Anything
else stops with a clear error rather than guessing.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from shouhu import config, db
from shouhu.errors import InvalidInput

MIGRATIONS = config.PROJECT_ROOT / "migrations"
BASELINE = "0001"
# Tables that came after the baseline: a database without them and without a revision is the baseline.
AFTER_BASELINE = {"websession", "loginthrottle", "setting"}


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    newest = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if newest is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return newest


def current(url: str | None = None) -> dict[str, Any]:
    """`shouhu db current`: the revision the database is at, and the newest one this code has."""
    with db.engine(url).connect() as conn:
        at = MigrationContext.configure(conn).get_current_revision()
    return {"current": at, "head": head(), "up_to_date": at == head()}


def differences(connection: Connection) -> list[Any]:
    """What the database lacks or has beyond today's models (empty: they agree)."""
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)


def upgrade(url: str | None = None) -> dict[str, Any]:
    """`shouhu db upgrade` (and `shouhu init`): bring the database to the newest revision."""
    with db.engine(url).begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        cfg = _config(conn)
        if before is None:
            tables = set(inspect(conn).get_table_names())
            if tables & set(SQLModel.metadata.tables):
                if not differences(conn):
                    command.stamp(cfg, "head")  # made by create_all from today's models
                elif "case" in tables and not tables & AFTER_BASELINE:
                    command.stamp(cfg, BASELINE)  # made by create_all at the baseline (91c9aef)
                else:
                    raise InvalidInput(
                        "unknown_schema",
                        "the database has Shouhu tables but no recorded revision and matches "
                        "neither the baseline nor today's schema; restore a backup or migrate it by hand",
                        "database",
                    )
        start = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(cfg, "head")
        after = MigrationContext.configure(conn).get_current_revision()
    # rows written before seals existed (revision 0002) are sealed once by the application (it has the key)
    return {"from": before, "to": after, "head": head(), "seal_legacy": start in (None, BASELINE)}
