"""Messages: a unit's in-app inbox, the outbox of external deliveries, the routing file, a dispatch run."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Unit
from shouhu import config, db, policy, timeline
from shouhu.errors import InvalidInput, NotFound


def inbox(unit: str, limit: int = 100) -> list[dict[str, Any]]:
    """A unit's messages, newest first, each with its external deliveries."""
    from models import Delivery, Notification

    with Session(db.engine()) as s:
        if s.exec(select(Unit).where(Unit.code == unit)).first() is None:
            raise NotFound("unknown_unit", f"no unit {unit!r}", "unit")
        rows = s.exec(
            select(Notification, Case.case_no)
            .join(Case, col(Case.id) == Notification.case_id, isouter=True)
            .where(Notification.unit == unit)
            .order_by(col(Notification.created_at).desc())
            .limit(limit)
        ).all()
        ids = [n.id for n, _ in rows]
        deliveries: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for d in s.exec(select(Delivery).where(col(Delivery.notification_id).in_(ids))).all() if ids else []:
            deliveries.setdefault(d.notification_id, []).append(
                {
                    "channel": d.channel,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_error": d.last_error or None,
                    "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                }
            )
    return [
        {
            "id": str(n.id),
            "at": n.created_at.isoformat(),
            "event": n.event,
            "case_no": case_no,
            "subject": n.subject,
            "body": n.body,
            "status": n.status,
            "deliveries": deliveries.get(n.id, []),
        }
        for n, case_no in rows
    ]


def outbox(status: str | None = None, jurisdiction: str | None = None) -> list[dict[str, Any]]:
    """External deliveries for the managers' board: `failed` ones are what nobody received."""
    from models import Delivery, Notification

    if status not in (None, "pending", "sent", "failed"):
        raise InvalidInput("invalid_value", f"--status must be pending, sent or failed; got {status!r}", "status")
    with Session(db.engine()) as s:
        query = (
            select(Delivery, Notification, Case.case_no)
            .join(Notification, col(Notification.id) == Delivery.notification_id)
            .join(Case, col(Case.id) == Notification.case_id, isouter=True)
        )
        if status:
            query = query.where(Delivery.status == status)
        if jurisdiction:
            policy.pack(jurisdiction)
            query = query.where(Notification.jurisdiction == jurisdiction)
        rows = s.exec(query.order_by(col(Delivery.created_at).desc()).limit(1000)).all()
    return [
        {
            "notification_id": str(n.id),
            "case_no": case_no,
            "unit": n.unit,
            "event": n.event,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
            "last_error": d.last_error or None,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        }
        for d, n, case_no in rows
    ]


def check_routing() -> dict[str, Any]:
    """Load and check the routing file now (what `dispatch` and `serve` do at start)."""
    from notifications import routing

    routes = routing.load()
    return {"ok": True, "file": routes.path, "units": {u: [c.name for c in cs] for u, cs in routes.units.items()}}


def record_web_address(address: str) -> dict[str, str]:
    """`shouhu serve` at its start: from now on the messages of this database link to SHOUHU_BASE_URL
    when it is set, else to `address` (the serve's own) — recorded in the database, where every
    process that queues a message (CLI, another replica, a Prefect worker) reads it."""
    from sqlalchemy.exc import IntegrityError

    from notifications import render

    def record() -> dict[str, str]:
        with db.transaction() as s:
            render.record_web_address(s, config.settings().base_url or address)
        return link_base()

    try:
        return record()
    except IntegrityError:  # another replica inserted the row at that moment: now there is one to update
        return record()


def link_base() -> dict[str, str]:
    """Where message links point now: `{"base", "from"}`, from SHOUHU_BASE_URL, `serve` (the address the
    last serve of this database recorded) or `default`."""
    from notifications import render

    with Session(db.engine()) as s:
        return {"base": render.link_base(s), "from": render.link_source(s)}


def dispatch_now() -> dict[str, Any]:
    """One dispatcher run (a flow run): the routing file is checked first."""
    from flows.dispatcher import dispatcher
    from flows.runner import OrchestratorUnavailable, run_flow

    check_routing()
    try:
        return run_flow(dispatcher, ["dispatcher"])
    except OrchestratorUnavailable:  # messages do not wait for the orchestrator either
        from notifications.dispatch import dispatch

        with timeline.in_process("dispatcher"):
            return {**dispatch(), "orchestrator": "unavailable"}


def case_messages(ref: str, actor_name: str) -> list[dict[str, Any]]:
    """The messages a case sent, oldest first, for its page (under the case's access rule)."""
    from models import Notification
    from services.reading import find_case, guard, looked_up

    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        guard(s, case, actor_name, "case_read")
        rows = s.exec(
            select(Notification).where(Notification.case_id == case.id).order_by(col(Notification.created_at))
        ).all()
    return [
        {"at": n.created_at.isoformat(), "unit": n.unit, "event": n.event, "subject": n.subject, "status": n.status}
        for n in rows
    ]
