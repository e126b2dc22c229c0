"""Sign-in secrets, kept apart from the user row: a password hash (Argon2) and API tokens (hashed).

Neither a password nor a token is ever stored: Argon2id for passwords (slow on purpose), SHA-256
for tokens (long random values, so a fast hash is enough and lookup stays one indexed read).
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Credential(SQLModel, table=True):
    username: str = Field(primary_key=True, foreign_key="user.username")
    password_hash: str
    failed_attempts: int = 0
    locked_until: datetime | None = when(nullable=True)
    updated_at: datetime = when()


class ApiToken(SQLModel, table=True):
    id: uuid.UUID = uuid_pk()
    username: str = Field(foreign_key="user.username", index=True)
    name: str
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = when()
    last_used_at: datetime | None = when(nullable=True)
    revoked_at: datetime | None = when(nullable=True)
