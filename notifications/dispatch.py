"""The outbox dispatcher: route queued messages to channels, send them, retry, give up loudly.

Three short transactions around the network, never one held across it:
1. *route*: each queued notification gets one Delivery per channel of its unit (none: it is
   in the in-app inbox only and done);
2. *claim*: due deliveries are leased (`lease_until`), so a second dispatcher skips them and a
   dispatcher that dies mid-batch leaves them to be sent again when the lease runs out;
3. *send* with Apprise (threads: it is all waiting on sockets), then *record* each result.
A crash between 3 and its record repeats a message with the same id, never loses one.
Failures retry with doubling delays; after the pack's maximum the delivery is `failed`,
the unit's supervisor is told through its own channels, and the board lists it.
Each attempt and the final result are events on the case's timeline.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from models import Case, Delivery, Notification
from models.types import table_of
from notifications import routing as routing_mod
from notifications.render import case_link, render
from shouhu import db, policy, timeline
from shouhu.clock import now
from shouhu.timeline import lock_case
from shouhu.units import escalation_target
from shouhu.vocab import STAGE_NAMES_ZH

log = logging.getLogger("shouhu.dispatcher")
ACTOR = "system:dispatcher"
HEADER = "X-Shouhu-Message-Id"
SENDERS = 8
_last_error = threading.local()


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    notification_id: uuid.UUID
    case_id: uuid.UUID | None
    jurisdiction: str
    unit: str
    channel: str
    subject: str
    body: str


def message_text(notification_id: uuid.UUID, body: str) -> str:
    """The body as sent: the message id last, so any receiver (or person) can drop a repeat."""
    return f"{body}\n消息编号：{notification_id}"


def claim_size(batch: int) -> int:
    """How many deliveries one claim may lease: about what the senders can finish within a lease
    (each send taking up to the send timeout), so a batch does not sit leased while it waits for a
    free sender; what is in flight has its lease renewed (send_all)."""
    rules = [policy.pack(j).delivery.value for j in policy.jurisdiction_names()]
    per_sender = min(max(1, r.lease_seconds // (2 * r.send_timeout_seconds)) for r in rules)
    return max(1, min(batch, SENDERS * per_sender))


def dispatch(
    case_id: uuid.UUID | None = None, batch: int = 200, rounds: int = 500, routes: routing_mod.Routing | None = None
) -> dict[str, int]:
    """Route, claim, send and record until nothing is due (or `rounds` batches). Counts only."""
    routes = routes or routing_mod.current()
    stats = {"routed": 0, "sent": 0, "retrying": 0, "failed": 0}
    size = claim_size(batch)
    for _ in range(rounds):
        routed = route(routes, case_id)
        claimed = claim(case_id, size)
        stats["routed"] += routed
        if not claimed:
            if not routed:
                break
            continue
        for key, value in record(send_all(routes, claimed)).items():
            stats[key] += value
    return stats


def after_transition(case_id: uuid.UUID | str) -> None:
    """Send what a transition just queued, right away. Never fails the transition: the
    scheduled dispatcher picks up whatever this could not send."""
    try:
        dispatch(uuid.UUID(str(case_id)), rounds=3)
    except Exception:  # the messages stay queued; the scheduled dispatcher retries
        log.exception("immediate dispatch for a case failed; left for the scheduled dispatcher")


def route(routes: routing_mod.Routing, case_id: uuid.UUID | None = None, limit: int = 2000) -> int:
    at = now()
    with db.transaction() as s:
        query = select(Notification).where(Notification.status == "queued", col(Notification.routed_at).is_(None))
        if case_id is not None:
            query = query.where(Notification.case_id == case_id)
        rows = s.exec(query.order_by(col(Notification.created_at)).limit(limit).with_for_update(skip_locked=True)).all()
        for n in rows:
            n.routed_at = at
            channels = routes.channels(n.unit)
            if not channels:
                n.status, n.sent_at = "sent", at  # in the unit's in-app inbox: nothing else to do
            for c in channels:
                s.add(Delivery(notification_id=n.id, channel=c.name, next_attempt_at=at, created_at=at))
            s.add(n)
        return len(rows)


def claim(case_id: uuid.UUID | None, limit: int) -> list[Outgoing]:
    at = now()
    with db.transaction() as s:
        query = (
            select(Delivery, Notification)
            .join(Notification, col(Notification.id) == Delivery.notification_id)
            .where(
                Delivery.status == "pending",
                Delivery.next_attempt_at <= at,
                or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < at),
            )
        )
        if case_id is not None:
            query = query.where(Notification.case_id == case_id)
        rows = s.exec(
            query.order_by(col(Delivery.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True, of=table_of(Delivery))
        ).all()
        out = []
        for d, n in rows:
            d.lease_until = at + timedelta(seconds=_rule(n.jurisdiction).lease_seconds)
            s.add(d)
            out.append(Outgoing(d.id, n.id, n.case_id, n.jurisdiction, n.unit, d.channel, n.subject, n.body))
        return out


def send_all(routes: routing_mod.Routing, batch: list[Outgoing]) -> list[tuple[Outgoing, bool, str]]:
    """Send a claimed batch with SENDERS threads. While any of it is in flight its leases are
    renewed (every third of a lease), so no other dispatcher takes a message that is still being
    sent, however slowly the receiver reads it."""
    lease = max(_rule(o.jurisdiction).lease_seconds for o in batch)
    in_flight, guard, stop = {o.delivery_id for o in batch}, threading.Lock(), threading.Event()

    def renew() -> None:
        while not stop.wait(lease / 3):
            with guard:
                ids = list(in_flight)
            if ids:
                try:
                    extend_leases(ids, lease)
                except Exception:  # noqa: BLE001 - the next renewal tries again; the lease is still running
                    log.warning("could not renew the leases of %d messages in flight", len(ids))

    def one(o: Outgoing) -> tuple[Outgoing, bool, str]:
        try:
            return (o, *send_one(routes, o))
        finally:
            with guard:
                in_flight.discard(o.delivery_id)

    renewer = threading.Thread(target=renew, name="shouhu-lease-renewal", daemon=True)
    renewer.start()
    try:
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(batch))) as pool:
            return list(pool.map(one, batch))
    finally:
        stop.set()
        renewer.join()


def extend_leases(ids: list[uuid.UUID], seconds: int) -> None:
    with db.transaction() as s:
        s.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids), col(Delivery.status) == "pending", col(Delivery.lease_until).is_not(None))
            .values(lease_until=now() + timedelta(seconds=seconds))
        )


def send_one(routes: routing_mod.Routing, o: Outgoing) -> tuple[bool, str]:
    """One copy through Apprise, with the message id in the text and (where the channel has
    headers: JSON, e-mail) as the X-Shouhu-Message-Id header.

    The send may take the pack's `delivery.send_timeout_seconds` (connect and read; SMTP uses
    one timeout for both): a slow receiver that does receive must not be counted as a failure
    and sent again. Our text is plain: channels that speak HTML get it converted (escaped)."""
    import apprise
    from apprise.conversion import convert_between

    _install_error_capture()
    channel = routes.channel(o.unit, o.channel)
    if channel is None:
        return False, f"channel {o.channel} is no longer in the routing file"
    plugin = apprise.Apprise.instantiate(channel.url, suppress_exceptions=True)
    if plugin is None:
        return False, f"channel {o.channel}: not a valid Apprise URL"
    timeout = float(_rule(o.jurisdiction).send_timeout_seconds)
    for attribute in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, attribute):
            setattr(plugin, attribute, timeout)
    if hasattr(plugin, "headers") and isinstance(plugin.headers, dict):
        plugin.headers = {**plugin.headers, HEADER: str(o.notification_id)}
    text = message_text(o.notification_id, o.body)
    body_format = getattr(plugin, "notify_format", apprise.NotifyFormat.TEXT)
    _last_error.text = ""
    try:
        ok = bool(
            plugin.notify(
                body=convert_between(apprise.NotifyFormat.TEXT, body_format, text),
                title=convert_between(apprise.NotifyFormat.TEXT, body_format, o.subject),
                body_format=body_format,
            )
        )
    except Exception as exc:  # noqa: BLE001 - a plugin bug is a failed attempt, not a dead dispatcher
        return False, _clean(f"{type(exc).__name__}: {exc}")
    return ok, "" if ok else _clean(getattr(_last_error, "text", "") or "the channel refused or was unreachable")


def record(results: list[tuple[Outgoing, bool, str]]) -> dict[str, int]:
    """Record every result in one transaction; each attempt goes on its case's timeline."""
    stats = {"sent": 0, "retrying": 0, "failed": 0}
    at = now()
    with db.transaction() as s:
        for o, ok, error in sorted(results, key=lambda r: str(r[0].case_id)):  # one lock order for cases
            d = s.exec(select(Delivery).where(Delivery.id == o.delivery_id).with_for_update()).first()
            if d is None or d.status != "pending":
                continue  # another dispatcher recorded it
            rule = _rule(o.jurisdiction)
            d.attempts += 1
            d.lease_until = None
            if ok:
                d.status, d.sent_at, d.last_error = "sent", at, ""
                stats["sent"] += 1
            elif d.attempts >= rule.max_attempts:
                d.status, d.last_error = "failed", error
                stats["failed"] += 1
            else:
                delay = min(rule.max_retry_seconds, rule.first_retry_seconds * 2 ** (d.attempts - 1))
                d.next_attempt_at, d.last_error = at + timedelta(seconds=delay), error
                stats["retrying"] += 1
            s.add(d)
            n = s.get_one(Notification, o.notification_id)
            _settle(s, n, at)
            if o.case_id is not None:
                _on_timeline(s, o, d, ok)
            if d.status == "failed":
                _tell_supervisor(s, o, d)
    return stats


def _settle(s: Session, n: Notification, at: datetime) -> None:
    statuses = set(s.exec(select(Delivery.status).where(Delivery.notification_id == n.id)).all())
    if "failed" in statuses:
        n.status = "failed"
    elif statuses == {"sent"}:
        n.status, n.sent_at = "sent", at
    s.add(n)


def _on_timeline(s: Session, o: Outgoing, d: Delivery, ok: bool) -> None:
    if o.case_id is None:  # a message about no case (the digest) has no timeline
        return
    case = lock_case(s, o.case_id)
    unit = _unit_name(o.jurisdiction, o.unit)
    if ok:
        summary = f"消息 {o.notification_id} 经 {o.channel} 送达 {unit}（第 {d.attempts} 次）"
    elif d.status == "failed":
        summary = f"消息 {o.notification_id} 经 {o.channel} 发送 {d.attempts} 次均失败，已告知上级：{d.last_error}"
    else:
        summary = f"消息 {o.notification_id} 经 {o.channel} 发送失败（第 {d.attempts} 次），{d.next_attempt_at:%H:%M:%S} 重试：{d.last_error}"
    kind = "delivery_failed" if d.status == "failed" else "delivery_attempt"
    timeline.append(
        s,
        case,
        kind,
        ACTOR,
        summary,
        {
            "notification_id": str(o.notification_id),
            "channel": o.channel,
            "unit": o.unit,
            "attempt": d.attempts,
            "ok": ok,
            "status": d.status,
        },
    )


def _tell_supervisor(s: Session, o: Outgoing, d: Delivery) -> None:
    """A message that cannot be delivered goes up one level, through the supervisor's channels."""
    p = policy.pack(o.jurisdiction)
    target = escalation_target(p, o.unit, 2)
    if target == o.unit:
        return  # the top of the chain: it stays on the managers' board
    case = s.get(Case, o.case_id) if o.case_id else None
    subject, body = render(
        "delivery_failed",
        case_no=case.case_no if case else "—",
        stage=STAGE_NAMES_ZH[case.stage] if case else "—",
        ask=f"发给 {_unit_name(o.jurisdiction, o.unit)} 的消息未能送达",
        due="—",
        link=case_link(s, case.case_no) if case else "—",
        unit_name=_unit_name(o.jurisdiction, target),
        jurisdiction=p.name,
        detail=f"消息编号 {o.notification_id}，渠道 {o.channel}，{d.attempts} 次尝试：{d.last_error}",
    )
    key = f"delivery_failed:{d.id}"
    if (
        s.exec(select(Notification.id).where(Notification.dedupe_key == key, Notification.unit == target)).first()
        is None
    ):
        s.add(
            Notification(
                case_id=o.case_id,
                jurisdiction=o.jurisdiction,
                unit=target,
                event="delivery_failed",
                template="delivery_failed",
                dedupe_key=key,
                subject=subject,
                body=body,
                created_at=now(),
            )
        )


def _rule(jurisdiction: str) -> policy.DeliveryRule:
    return policy.pack(jurisdiction).delivery.value


def _unit_name(jurisdiction: str, unit: str) -> str:
    try:
        return policy.pack(jurisdiction).unit(unit).name
    except Exception:  # noqa: BLE001 - a unit no longer in the pack: show its code
        return unit


_SECRETS = re.compile(r"([a-z0-9+]+://)[^\s/@]*@", re.IGNORECASE)


def _clean(text: str) -> str:
    """An error as stored and shown: one line, no credentials, bounded."""
    return _SECRETS.sub(r"\1***@", " ".join(text.split()))[:300]


class _ErrorCapture(logging.Handler):
    """Apprise says why a send failed only in its log: keep the last warning per thread."""

    def emit(self, record: logging.LogRecord) -> None:
        _last_error.text = record.getMessage()


_capture_lock = threading.Lock()


def _install_error_capture() -> None:
    logger = logging.getLogger("apprise")
    with _capture_lock:
        if not any(isinstance(h, _ErrorCapture) for h in logger.handlers):
            logger.addHandler(_ErrorCapture(level=logging.WARNING))
