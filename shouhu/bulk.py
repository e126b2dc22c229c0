"""Set-based writes inside a session's transaction: many rows inserted or updated in one statement
(SQLite: executemany) or one `COPY` (PostgreSQL), for imports of a county's size (100,000 children).

The rows are written as given: the caller has filled every column (ids, defaults, seals — see
shouhu.timeline.seal_values), since no ORM event runs. A database error is rewritten to name the
table, the kind of error and the constraint only: PostgreSQL's own message quotes the row
(`Key (id_number)=(…)`, `COPY child, line 5: "…"`), which is a child's data and must not reach a
log or an error message (PIPL).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models.types import table_of
from shouhu.errors import Conflict

COPY_BATCH = 10_000  # rows handed to COPY per write: bounds the copy buffer, not the transaction


@contextmanager
def _rewritten(table: Table, action: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        original = exc.orig if isinstance(exc, DBAPIError) else exc
        if not isinstance(exc, DBAPIError) and type(exc).__module__.split(".")[0] != "psycopg":
            raise
        diag = getattr(original, "diag", None)
        what = ", ".join(
            x
            for x in (
                type(original).__name__,
                getattr(original, "sqlstate", None) or "",
                f"constraint {diag.constraint_name}" if diag is not None and diag.constraint_name else "",
            )
            if x
        )
        raise Conflict(
            "bulk_write_failed",
            f"{table.name}: the {action} was refused by the database ({what}); nothing was written",
            table.name,
        ) from None


def insert_rows(s: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows` (dicts with the same keys, every column the table needs) into `model`'s table."""
    if not rows:
        return 0
    table = table_of(model)
    connection = s.connection()
    with _rewritten(table, "insert"):
        if connection.dialect.name == "postgresql":
            columns = list(rows[0])
            as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
            driver = connection.connection.driver_connection
            assert driver is not None
            names = ", ".join(f'"{c}"' for c in columns)
            with driver.cursor() as cursor:
                for start in range(0, len(rows), COPY_BATCH):
                    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                        for row in rows[start : start + COPY_BATCH]:
                            copy.write_row([json.dumps(row[c]) if c in as_json else row[c] for c in columns])
        else:
            connection.execute(insert(table), list(rows))
    return len(rows)


def update_rows(s: Session, model: type[Any], rows: Sequence[dict[str, Any]], key: str = "id") -> int:
    """Set the columns each row gives (the same ones in every row) where `key` matches."""
    if not rows:
        return 0
    table = table_of(model)
    columns = [c for c in rows[0] if c != key]
    statement = (
        update(table)
        .where(table.c[key] == bindparam("where_key", type_=table.c[key].type))
        .values({c: bindparam(f"set_{c}", type_=table.c[c].type) for c in columns})
    )
    with _rewritten(table, "update"):
        s.connection().execute(statement, [{"where_key": r[key], **{f"set_{c}": r[c] for c in columns}} for r in rows])
    return len(rows)
