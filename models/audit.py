"""Reads of personal data that live outside a case's timeline (the village ledger), refusals, and
the administrators' actions on staff accounts.

A case file's reads go on its own hash-chained timeline; this table covers the rest, so
every read of a child's data is attributable to a user (PIPL art. 51; brief: Standards).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from models.types import json_field, uuid_pk, when


class AccessRecord(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    at: datetime = when(index=True)
    actor: str = Field(index=True)
    action: str  # e.g. ledger_read, visit_complete
    target: str  # a unit code, a visit id: never a child's name
    allowed: bool = True
    reason: str = ""


class AdminRecord(SQLModel, table=True):
    """One administrative action on a staff account (added, moved, disabled, enabled, password
    reset, token made or revoked, sessions ended): who did it, to whom, what changed. Managers
    read these; nothing here is a child's data. Numbered in the order they happened."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = when(index=True)
    jurisdiction: str = Field(index=True)
    actor: str  # the administrator (a username, or os:<login> for the local operator)
    action: (
        str  # user_add, user_move, user_disable, user_enable, password_reset, token_create, token_revoke, sessions_end
    )
    target: str = Field(index=True)  # the account's username (a token's own id in detail)
    detail: dict[str, Any] = json_field(dict)  # what changed: {"from": …, "to": …}
