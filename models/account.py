"""Sign-in secrets, kept apart from the user row: a password hash (Argon2), API tokens (hashed),
browser sessions (server-side, so they can be ended) and sign-in throttles.

Neither a password, a token nor a session id is ever stored: Argon2id for passwords (slow on
purpose), SHA-256 for tokens and session ids (long random values, so a fast hash is enough and
lookup stays one indexed read).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Credential(SQLModel, table=True):
    username: str = Field(primary_key=True, foreign_key="user.username")
    password_hash: str
    updated_at: datetime = when()


class ApiToken(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    username: str = Field(foreign_key="user.username", index=True)
    name: str
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = when()
    last_used_at: datetime | None = when(nullable=True)
    revoked_at: datetime | None = when(nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries the random id; only its SHA-256 is here, and a
    session ends for good at logout, a password change, a disabled account or an administrator's
    word — the cookie alone is never enough."""

    id_hash: str = Field(primary_key=True)
    username: str = Field(foreign_key="user.username", index=True)
    source: str = ""
    created_at: datetime = when()
    last_seen_at: datetime = when()
    expires_at: datetime = when(index=True)
    ended_at: datetime | None = when(nullable=True)
    ended_reason: str = ""


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins counted per (account, source) and per source, each within a window.

    A lock per account alone would let a stranger lock the person out (a lock-out is not a
    denial-of-service tool): the per-source and per-account locks do not hold a source the
    account has signed in from recently."""

    key: str = Field(primary_key=True)  # pair:<username>|<source>, source:<source> or account:<username>
    failures: int = 0
    window_started_at: datetime = when()
    locked_until: datetime | None = when(nullable=True)
    last_success_at: datetime | None = when(nullable=True)  # pair rows: the account signed in from this source
