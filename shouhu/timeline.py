"""The case timeline: append-only, hash-chained, verifiable by a court or an inspector.

Each event's hash covers its content and the previous event's hash, so editing, deleting or
reordering any event breaks the chain from that point on.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, col, select

from models import Case, TimelineEvent
from shouhu.clock import now

GENESIS = "0" * 64


def _digest(case_id: uuid.UUID, seq: int, at: datetime, kind: str, stage: str, actor: str, summary: str, payload: dict[str, Any], prev_hash: str) -> str:
    body = json.dumps(
        [str(case_id), seq, at.astimezone(timezone.utc).isoformat(timespec="microseconds"), kind, stage, actor, summary, payload, prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, case: Case, kind: str, actor: str, summary: str, payload: dict[str, Any] | None = None,
           batch: list[tuple[Any, dict[str, Any]]] | None = None) -> None:
    """Add one event after the case's head. The caller holds the case row locked (see Transition).

    With `batch`, the row is collected for one bulk insert (the sweeper's fast path) instead.
    """
    seq, prev = case.timeline_seq + 1, case.timeline_head
    at = now()
    payload = json.loads(json.dumps(payload or {}, default=str, ensure_ascii=False))
    row = {"id": uuid.uuid4(), "case_id": case.id, "seq": seq, "at": at, "kind": kind, "stage": case.stage, "actor": actor,
           "summary": summary, "payload": payload, "prev_hash": prev,
           "hash": _digest(case.id, seq, at, kind, case.stage, actor, summary, payload, prev)}
    case.timeline_seq, case.timeline_head = seq, row["hash"]
    if batch is not None:
        batch.append((TimelineEvent, row))
    else:
        session.add(TimelineEvent(**row))
    session.add(case)


def events(session: Session, case_id: uuid.UUID) -> list[TimelineEvent]:
    return list(session.exec(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(col(TimelineEvent.seq))).all())


def verify(session: Session, case_id: uuid.UUID) -> int | None:
    """The seq of the first event that does not check out, or None if the chain is whole.

    The chain must also end at the head recorded on the case: a truncated tail is missing
    events, reported at the first missing seq.
    """
    case = session.get(Case, case_id)
    prev, expected_seq = GENESIS, 1
    for e in events(session, case_id):
        if e.seq != expected_seq or e.prev_hash != prev:
            return expected_seq if e.seq != expected_seq else e.seq
        if _digest(e.case_id, e.seq, e.at, e.kind, e.stage, e.actor, e.summary, e.payload, e.prev_hash) != e.hash:
            return e.seq
        prev, expected_seq = e.hash, expected_seq + 1
    if case is not None and (expected_seq - 1 != case.timeline_seq or prev != case.timeline_head):
        return expected_seq
    return None
