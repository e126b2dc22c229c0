"""The case timeline: append-only, hash-chained, sealed with a key the database does not hold.

Each event's SHA-256 covers its content and the previous event's hash, so editing, deleting or
reordering an event breaks the chain from that point on. That alone does not stop someone who
can write to the database: they can recompute the chain, cut its tail and move the case's head
back, or change the case's stage without touching an event. So the case row also carries a
**seal**: an HMAC, under `SHOUHU_TIMELINE_KEY` (kept outside the database), over the case's state
and the head of its chain. Without the key no edit of the state or the chain can be re-sealed.

Every write to a case checks its seal first (`check_seal`): if it does not match, the finding
is put on the timeline itself before anything else happens, so the next write cannot launder
the tampering by sealing over it. Documents are checked against the hash their issue recorded on
the timeline. What the seal cannot see — a whole case deleted, or the database put back to an
older copy — the daily anchors catch (shouhu.anchors).
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import os
import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, col, select

from models import (
    Case,
    Child,
    Deadline,
    Document,
    Guardian,
    Report,
    Reporter,
    Task,
    TimelineEvent,
)
from shouhu import config
from shouhu.clock import now
from shouhu.errors import InvalidInput

log = logging.getLogger("shouhu.timeline")
GENESIS = "0" * 64
# What the seal covers: the case's state and its chain's head. Changing this list is a migration
# that re-seals every case (the names, not the model, so a new column does not break old seals).
SEALED_FIELDS = (
    "id",
    "case_no",
    "jurisdiction",
    "child_id",
    "township",
    "village",
    "stage",
    "status",
    "urgency",
    "risk_level",
    "close_reason",
    "exit_reason",
    "phase_out_until",
    "opened_at",
    "closed_at",
    "version",
    "timeline_seq",
    "timeline_head",
)


# ---- the key ---------------------------------------------------------------------------
def timeline_key() -> bytes:
    """SHOUHU_TIMELINE_KEY, else a random key kept in $SHOUHU_HOME/timeline_key (mode 600).

    In production set it from a secret store and keep a copy apart from the database backups:
    whoever holds both can rewrite history; whoever loses the key cannot verify it."""
    return _key(config.settings().timeline_key, str(config.home()))


@lru_cache(maxsize=8)
def _key(given: str | None, home: str) -> bytes:
    if given:
        if len(given) < 32:
            raise ValueError("SHOUHU_TIMELINE_KEY must be at least 32 characters")
        return given.encode("utf-8")
    path = Path(home) / "timeline_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode("utf-8")


def key_fingerprint() -> str:
    """Names the key without revealing it: a database sealed with another key says so plainly."""
    return hmac.new(timeline_key(), b"shouhu timeline key", hashlib.sha256).hexdigest()[:16]


_key_checked: set[tuple[str, str]] = set()


def ensure_key(session: Session) -> None:
    """Refuse to seal or judge anything with a key other than the one this database was sealed
    with (`shouhu init` records its fingerprint): a process started without SHOUHU_TIMELINE_KEY,
    or from another directory, must not write false findings of tampering. Checked once per
    process and database."""
    from models import Setting

    place = (str(session.get_bind().engine.url), key_fingerprint())
    if place in _key_checked:
        return
    with session.no_autoflush:
        found = session.get(Setting, "timeline_key_fingerprint")
    if found is not None and found.value != place[1]:
        raise InvalidInput(
            "wrong_timeline_key",
            "SHOUHU_TIMELINE_KEY is not the key this database was sealed with "
            f"(fingerprint {found.value}); nothing was written",
            "SHOUHU_TIMELINE_KEY",
        )
    if found is not None:
        _key_checked.add(place)


# ---- events ----------------------------------------------------------------------------
def _digest(
    case_id: uuid.UUID,
    seq: int,
    at: datetime,
    kind: str,
    stage: str,
    actor: str,
    summary: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    body = json.dumps(
        [
            str(case_id),
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            kind,
            stage,
            actor,
            summary,
            payload,
            prev_hash,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_in_process: contextvars.ContextVar[str | None] = contextvars.ContextVar("in_process", default=None)
IN_PROCESS_ZH = "（编排服务不可用，由本机直接执行）"


@contextmanager
def in_process(job: str) -> Iterator[None]:
    """Mark every event written in this block as written without the orchestrator (the sweeper
    or dispatcher ran in-process because Prefect did not answer): the timeline says so."""
    token = _in_process.set(job)
    try:
        yield
    finally:
        _in_process.reset(token)


def append(
    session: Session,
    case: Case,
    kind: str,
    actor: str,
    summary: str,
    payload: dict[str, Any] | None = None,
    batch: list[tuple[Any, dict[str, Any]]] | None = None,
) -> None:
    """Add one event after the case's head. The caller holds the case row locked (see Transition).

    With `batch`, the row is collected for one bulk insert (the sweeper's fast path) instead.
    The case is re-sealed when the session flushes (see `_reseal`).
    """
    seq, prev = case.timeline_seq + 1, case.timeline_head
    at = now()
    payload = json.loads(json.dumps(payload or {}, default=str, ensure_ascii=False))
    if _in_process.get() is not None:
        payload["orchestrator"] = "unavailable"
        summary += IN_PROCESS_ZH
    digest = _digest(case.id, seq, at, kind, case.stage, actor, summary, payload, prev)
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "case_id": case.id,
        "seq": seq,
        "at": at,
        "kind": kind,
        "stage": case.stage,
        "actor": actor,
        "summary": summary,
        "payload": payload,
        "prev_hash": prev,
        "hash": digest,
    }
    case.timeline_seq, case.timeline_head = seq, digest
    if batch is not None:
        batch.append((TimelineEvent, row))
    else:
        session.add(TimelineEvent(**row))
    session.add(case)


def events(session: Session, case_id: uuid.UUID) -> list[TimelineEvent]:
    return list(
        session.exec(
            select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(col(TimelineEvent.seq))
        ).all()
    )


# ---- the seal --------------------------------------------------------------------------
def _state(case: Case) -> list[Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="microseconds")
        return str(value) if isinstance(value, uuid.UUID) else value

    return [plain(getattr(case, name)) for name in SEALED_FIELDS]


def seal(case: Case) -> str:
    body = json.dumps(_state(case), ensure_ascii=False, separators=(",", ":"), default=str)
    return hmac.new(timeline_key(), body.encode("utf-8"), hashlib.sha256).hexdigest()


# The rows a case's file is made of, each sealed on its own: what a task asked and what was done,
# a deadline's clock, a report and its reporter, the child and guardians, a document. As with
# SEALED_FIELDS, changing a list is a migration that re-seals the rows.
SealedRow = Task | Deadline | Report | Reporter | Child | Guardian | Document
ROW_FIELDS: dict[type[SealedRow], tuple[str, ...]] = {
    Task: (
        "id",
        "case_id",
        "stage",
        "kind",
        "subject",
        "status",
        "owner_unit",
        "role",
        "due_at",
        "outcome",
        "completed_by",
        "completed_at",
        "created_at",
    ),
    Deadline: (
        "id",
        "case_id",
        "task_id",
        "kind",
        "starts_at",
        "due_at",
        "rule",
        "status",
        "resolved_at",
        "next_step",
        "next_fire_at",
    ),
    Report: (
        "id",
        "case_id",
        "command_id",
        "jurisdiction",
        "channel",
        "situations",
        "description",
        "discovered_at",
        "reported_at",
        "registered_by",
        "late",
        "late_by_minutes",
    ),
    Reporter: ("id", "report_id", "name", "phone", "unit", "unit_type", "supervising_unit"),
    Child: (
        "id",
        "jurisdiction",
        "id_number",
        "name",
        "birth_date",
        "gender",
        "township",
        "village",
        "address",
        "left_behind",
        "created_at",
    ),
    Guardian: ("id", "child_id", "name", "relation", "status", "extra"),
    Document: (
        "id",
        "case_id",
        "kind",
        "title",
        "content_type",
        "content",
        "sha256",
        "masked_content",
        "masked_sha256",
        "confidential",
        "issued_by",
        "created_at",
    ),
}


def row_seal(row: Any) -> str:
    return seal_values(type(row), {f: getattr(row, f) for f in ROW_FIELDS[type(row)]}, timeline_key())


def seal_values(model: type[SealedRow], values: Mapping[str, Any], key: bytes) -> str:
    """A row's seal from its values (`row_seal` without the object): bulk writers (the ledger import)
    seal rows they insert or update set-based, with the key read once (`timeline_key()`)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="microseconds")
        return (
            value.isoformat() if hasattr(value, "isoformat") else str(value) if isinstance(value, uuid.UUID) else value
        )

    body = json.dumps(
        [model.__name__, *(plain(values[f]) for f in ROW_FIELDS[model])],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def row_holds(row: Any) -> bool:
    return hmac.compare_digest(row.seal or "", row_seal(row))


def seal_holds(case: Case) -> bool:
    return hmac.compare_digest(case.seal or "", seal(case))


@event.listens_for(Session, "before_flush")
def _reseal(session: Session, _context: Any, _instances: Any) -> None:
    """Every case written through the application is sealed as it is written (with the right key)."""
    written = [
        obj for obj in list(session.new) + list(session.dirty) if isinstance(obj, Case) or type(obj) in ROW_FIELDS
    ]
    if written:
        ensure_key(session)
    for obj in written:
        obj.seal = seal(obj) if isinstance(obj, Case) else row_seal(obj)


def check_seal(
    session: Session, case: Case, actor: str = "system:timeline", batch: list[tuple[Any, dict[str, Any]]] | None = None
) -> bool:
    """Before a write: a seal that does not hold means the database was changed behind the
    application's back. Put that on the timeline first (with what was found), so sealing the
    next write cannot hide it. The work itself goes on: protection does not stop for it."""
    ensure_key(session)
    if seal_holds(case):
        return True
    log.warning("case %s: seal does not match its state; the finding is put on its timeline", case.case_no)
    append(
        session,
        case,
        "tamper_detected",
        actor,
        "案卷数据与封印不符：数据库中的记录可能被改动过（已记录，请核查）",
        {"found": dict(zip(SEALED_FIELDS, _state(case), strict=True)), "found_seal": case.seal},
        batch=batch,
    )
    return False


def check_row(
    session: Session,
    case: Case,
    row: Any,
    actor: str = "system:timeline",
    batch: list[tuple[Any, dict[str, Any]]] | None = None,
) -> bool:
    """As check_seal, for one row of the case's file about to be written (a task being
    completed, a deadline being fired): a broken row seal goes on the timeline first."""
    ensure_key(session)
    if row_holds(row):
        return True
    log.warning(
        "case %s: a %s row does not match its seal; the finding is put on its timeline",
        case.case_no,
        type(row).__name__,
    )
    append(
        session,
        case,
        "tamper_detected",
        actor,
        "案卷中的一条记录与封印不符：数据库中的记录可能被改动过（已记录，请核查）",
        {"table": type(row).__name__, "row_id": str(row.id), "found_seal": row.seal},
        batch=batch,
    )
    return False


def seal_legacy(session: Session) -> int:
    """After the upgrade that brought seals (revision 0002): seal every row written before it, and
    say so on each case's timeline (what was there is taken as found; the chain still covers it)."""
    ensure_key(session)
    sealed = 0
    for model in ROW_FIELDS:
        for row in session.exec(select(model).where(col(model.seal) == "")).all():
            row.seal = row_seal(row)
            session.add(row)
    for case in session.exec(select(Case).where(Case.seal == "")).all():
        append(
            session,
            case,
            "sealed_at_upgrade",
            "system:upgrade",
            "系统升级：此前的案卷记录首次加封（时间线哈希链照旧校验）",
            {},
        )
        session.add(case)
        sealed += 1
    return sealed


# ---- verification ----------------------------------------------------------------------
def verify(session: Session, case_id: uuid.UUID) -> int | None:
    """The seq of the first event that does not check out, or None if the file is whole."""
    return check(session, case_id)["broken_at"]


def check(session: Session, case_id: uuid.UUID) -> dict[str, Any]:
    """The whole check of one case: `{"ok", "broken_at", "reason"}`.

    reason: `chain` (an event edited, removed or reordered), `head` (the chain does not end
    where the case says), `seal` (state or head changed without the key), `tampering_recorded`
    (an earlier write found a seal broken), `document` (a document changed, or removed, against
    what its issue recorded), `record` (a task, deadline, report, reporter, child or guardian
    row changed without the key, or one the timeline made is gone)."""
    case = session.get(Case, case_id)
    prev, expected_seq = GENESIS, 1
    recorded_docs: dict[str, dict[str, Any]] = {}
    tampered_at = None
    for e in events(session, case_id):
        if e.seq != expected_seq or e.prev_hash != prev:
            return _broken(expected_seq if e.seq != expected_seq else e.seq, "chain")
        if _digest(e.case_id, e.seq, e.at, e.kind, e.stage, e.actor, e.summary, e.payload, e.prev_hash) != e.hash:
            return _broken(e.seq, "chain")
        if e.kind in DOCUMENT_HASHED:  # issued, or its identity removed later (retention): the latest counts
            recorded_docs[e.payload.get("document_id", "")] = e.payload | {"seq": e.seq}
        if e.kind == "tamper_detected" and tampered_at is None:
            tampered_at = e.seq
        prev, expected_seq = e.hash, expected_seq + 1
    if case is None:
        return _broken(expected_seq, "head")
    if expected_seq - 1 != case.timeline_seq or prev != case.timeline_head:
        return _broken(expected_seq, "head")
    if not seal_holds(case):
        return _broken(case.timeline_seq, "seal")
    if tampered_at is not None:
        return _broken(tampered_at, "tampering_recorded")
    documents = session.exec(select(Document).where(Document.case_id == case_id)).all()
    for doc in documents:
        found = document_check(session, doc, recorded_docs.get(str(doc.id)))
        if not (found["intact"] and found["matches_timeline"]):
            return _broken(recorded_docs.get(str(doc.id), {}).get("seq", case.timeline_seq), "document")
    missing = set(recorded_docs) - {str(d.id) for d in documents}
    if missing:
        return _broken(min(recorded_docs[m]["seq"] for m in missing), "document")
    rows = _rows_of(session, case)
    for row in rows:
        if not row_holds(row):
            return _broken(case.timeline_seq, "record")
    present = {str(r.id) for r in rows}
    clocked = {str(r.task_id) for r in rows if isinstance(r, Deadline)}
    if any(isinstance(r, Task) and str(r.id) not in clocked for r in rows):  # every task is opened with its deadline
        return _broken(case.timeline_seq, "record")
    for e in events(session, case_id):  # what the timeline says was made must still be there
        made = (
            e.payload.get("task_id")
            if e.kind == "task_opened"
            else e.payload.get("report_id")
            if e.kind in ("case_opened", "report_attached")
            else None
        )
        if made and made not in present:
            return _broken(e.seq, "record")
    return {"ok": True, "broken_at": None, "reason": None}


def _rows_of(session: Session, case: Case) -> list[Any]:
    reports = list(session.exec(select(Report).where(Report.case_id == case.id)).all())
    rows: list[Any] = [
        *session.exec(select(Task).where(Task.case_id == case.id)).all(),
        *session.exec(select(Deadline).where(Deadline.case_id == case.id)).all(),
        *reports,
    ]
    if reports:
        rows += session.exec(select(Reporter).where(col(Reporter.report_id).in_([r.id for r in reports]))).all()
    child = session.get(Child, case.child_id)
    if child is not None:
        rows += [child, *session.exec(select(Guardian).where(Guardian.child_id == child.id)).all()]
    return rows


def _broken(seq: int, reason: str) -> dict[str, Any]:
    return {"ok": False, "broken_at": seq, "reason": reason}


# The events that put a document's hashes on the timeline: its issue, and the removal of the child's
# identity from it when the retention period passed (tasks.retention).
DOCUMENT_HASHED = ("document_issued", "document_redacted")


def document_check(session: Session, doc: Document, recorded: dict[str, Any] | None = None) -> dict[str, bool]:
    """A document against its stored hash (`intact`) and against the hash its issue put on the
    timeline (`matches_timeline`): rewriting the content and the stored hash together is caught."""
    if recorded is None:
        found = session.exec(
            select(TimelineEvent)
            .where(TimelineEvent.case_id == doc.case_id, col(TimelineEvent.kind).in_(DOCUMENT_HASHED))
            .order_by(col(TimelineEvent.seq).desc())
        ).all()
        recorded = next((e.payload for e in found if e.payload.get("document_id") == str(doc.id)), {})
    intact = _sha256(doc.content) == doc.sha256 and (
        doc.masked_content is None or _sha256(doc.masked_content) == doc.masked_sha256
    )
    matches = recorded.get("sha256") == doc.sha256 and recorded.get("masked_sha256") == doc.masked_sha256
    return {"intact": intact, "matches_timeline": matches}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lock_case(session: Session, case_id: uuid.UUID) -> Case:
    """The case row, locked for this transaction (SQLite: the write lock is already ours), its
    seal checked before anything is written (a broken seal goes on the timeline first)."""
    case = session.exec(select(Case).where(Case.id == case_id).with_for_update()).first()
    if case is None:
        raise InvalidInput("unknown_case", f"no case {case_id}", "case")
    check_seal(session, case)
    return case
