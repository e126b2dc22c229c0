"""The outbox: messages queued in the transition's own transaction, and their deliveries.

A Notification is one message to one unit; it is in that unit's in-app inbox the moment it
is committed. Each external channel the routing file gives the unit gets a Delivery, sent by
the dispatcher with retries; the notification's id travels with every copy so a receiver can
drop repeats (a crash between sending and recording may repeat a message, never lose one).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import uuid_pk, when


class Notification(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("dedupe_key", "unit"),)
    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID | None = Field(default=None, foreign_key="case.id", index=True)
    jurisdiction: str = Field(default="", index=True)
    unit: str = Field(index=True)
    event: str
    template: str = ""  # templates/notifications/<template>.txt.j2
    dedupe_key: str
    subject: str
    body: str
    # queued: not yet routed · sent: every channel delivered (or in-app only) · failed: a channel gave up
    status: str = Field(default="queued", index=True)
    created_at: datetime = when()
    routed_at: datetime | None = when(nullable=True)
    sent_at: datetime | None = when(nullable=True)


class Delivery(SQLModel, table=True):
    """One external channel's copy of a notification. `channel` is the routing entry's name, never its URL."""

    __table_args__ = (UniqueConstraint("notification_id", "channel"),)
    id: uuid.UUID = uuid_pk()
    notification_id: uuid.UUID = Field(foreign_key="notification.id", index=True)
    channel: str
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = when(index=True)
    lease_until: datetime | None = when(nullable=True)  # a dispatcher is sending it until then
    last_error: str = ""
    created_at: datetime = when()
    sent_at: datetime | None = when(nullable=True)
