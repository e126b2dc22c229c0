"""Engine and transactions. One transaction per transition; writers are serialised per case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers every table)
from shouhu import config

_engines: dict[str, Engine] = {}


def engine(url: str | None = None) -> Engine:
    url = url or config.database_url()
    if url not in _engines:
        _engines[url] = _make_engine(url)
    return _engines[url]


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # hide_parameters: a database error must never print a child's data into a log (PIPL).
        eng = create_engine(url, hide_parameters=True, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(eng, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front: two writers never deadlock on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return eng
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def dispose(url: str | None = None) -> None:
    """Drop pooled connections (tests use this to prove state survives a process restart)."""
    eng = _engines.pop(url or config.database_url(), None)
    if eng is not None:
        eng.dispose()


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    with Session(engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
