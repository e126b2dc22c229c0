"""A throwaway PostgreSQL database, created and dropped around a block (tests and benchmarks)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = os.environ.get("SHOUHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Unreachable(Exception):
    """PostgreSQL could not be reached; the message says where and why."""


@contextmanager
def temporary_database(prefix: str = "shouhu_test", template: str | None = None) -> Iterator[str]:
    """Yields a `postgresql+psycopg://` URL to a new database — empty, or a copy of `template`
    (which must have no open connections) — and drops it afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    except psycopg.OperationalError as exc:
        raise Unreachable(f"PostgreSQL unreachable at {ADMIN_URL}: {exc}") from None
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    try:
        yield url
    finally:
        from shouhu import db

        db.dispose(url)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
