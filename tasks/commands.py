"""Stored commands the orchestrator has not run yet: finding them, and counting the ones whose
flow keeps failing for a reason other than the orchestrator (after the limit they are `failed`)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from models import Command
from shouhu import db


def pending(older_than: datetime, limit: int) -> list[Command]:
    with Session(db.engine()) as s:
        rows = list(s.exec(select(Command).where(Command.status == "pending", col(Command.created_at) <= older_than)
                           .order_by(col(Command.created_at)).limit(limit)).all())
        for row in rows:
            s.expunge(row)
    return rows


def count_failure(command_id: uuid.UUID, error: str, limit: int) -> None:
    """One more failed run; the error is a type name only (a message may quote a child's data)."""
    with db.transaction() as s:
        c = s.get(Command, command_id)
        if c is None or c.status != "pending":
            return
        c.attempts += 1
        c.last_error = error[:300]
        if c.attempts >= limit:
            c.status = "failed"
        s.add(c)
