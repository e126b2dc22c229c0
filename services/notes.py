"""Case notes and attachments (issue 15 §6): what the people working a case write down (a phone call, a
home visit) and the photos, scans and PDFs they keep with it.

A note is an event on the case's hash-chained timeline (append-only: never edited or deleted), with
its author and time. An attachment is a file under `$SHOUHU_HOME/attachments` and a row, its SHA-256
on the timeline. Both need a named user who may read the case and works it (`WRITING_ROLES`);
managers read notes with free text masked and see attachments listed but not opened (a photo of a
child cannot be masked). Every opening of a file is recorded; a refusal is recorded and answered as
an unknown case is.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models import Attachment, TimelineEvent
from services.reading import UNKNOWN_CASE, by_id, find_case, guard, looked_up, record_reading, refuse
from shouhu import access, attachments, config, db, masking, policy, timeline
from shouhu.clock import now
from shouhu.errors import Forbidden, InvalidInput, NotFound
from shouhu.inputs import AttachmentNoteIn, NoteIn, parse

WRITING_ROLES = frozenset({"police", "township_caseworker", "village_director", "civil_affairs"})
NOTE_KINDS_ZH = {"phone_call": "电话联系", "home_visit": "入户走访", "meeting": "会商", "other": "其他"}


def _writer(s: Session, ref: str, actor_name: str | None, action: str) -> tuple[Any, Any]:
    """The case, locked, and its writer: a named user who may read the case and works cases."""
    actor = access.user(s, actor_name or config.settings().user)
    case = looked_up(s, actor.username, action, ref, lambda: find_case(s, ref))
    guard(s, case, actor.username, action)
    if actor.role not in WRITING_ROLES:
        refuse(s, actor, action, str(case.id))
        raise Forbidden("not_permitted", "notes and attachments are added by those who work the case", "as")
    return timeline.lock_case(s, case.id), actor


def add_note(ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu case note`: append a note to the case's timeline; bad input changes nothing."""
    note = parse(NoteIn, data)
    with db.transaction() as s:
        case, actor = _writer(s, ref, actor_name, "note_add")
        label = NOTE_KINDS_ZH[note.kind]
        timeline.append(
            s, case, "case_note", actor.username, f"工作记录（{label}）", {"kind": note.kind, "text": note.text}
        )
        seq = case.timeline_seq
    return {"case_no": case.case_no, "seq": seq, "kind": note.kind, "author": actor.username}


def list_notes(ref: str, actor_name: str | None, record_read: bool = True) -> list[dict[str, Any]]:
    """The case's notes, oldest first (free text masked for those who see identities masked)."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name or config.settings().user)
        case = looked_up(s, actor.username, "note_read", ref, lambda: find_case(s, ref))
        guard(s, case, actor.username, "note_read")
        visible = access.may_see_identity(actor)
        events = s.exec(
            select(TimelineEvent)
            .where(TimelineEvent.case_id == case.id, TimelineEvent.kind == "case_note")
            .order_by(col(TimelineEvent.seq))
        ).all()
        case_id = case.id
    if record_read:
        record_reading(case_id, actor.username, "notes")
    return [
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "author": e.actor,
            "kind": e.payload.get("kind"),
            "text": e.payload.get("text", "") if visible else masking.free_text(e.payload.get("text", "")),
        }
        for e in events
    ]


def add_attachment(ref: str, name: str | None, data: bytes, actor_name: str | None, note: str = "") -> dict[str, Any]:
    """`shouhu case attach`: keep a photo, scan or PDF with the case. The type is told by the bytes and
    must be one the national pack allows (`input_limits.attachment_types`), the size at most
    `input_limits.attachment_bytes`; the file is written before the row, so a crash leaves at most an
    unreferenced file, never a row without its file."""
    limits = policy.input_limits()
    kind = attachments.sniff(data)
    if not data:
        raise InvalidInput("missing_field", "file: choose a photo, scan or PDF", "file")
    if len(data) > limits.attachment_bytes:
        raise InvalidInput(
            "too_large",
            f"file: at most {limits.attachment_bytes // (1024 * 1024)} MiB, this is {len(data)} bytes",
            "file",
        )
    if kind is None or kind not in limits.attachment_types:
        allowed = ", ".join(t.split("/")[1].upper() for t in limits.attachment_types)
        raise InvalidInput("attachment_type", f"file: a photo, scan or PDF ({allowed}), told by its content", "file")
    note = parse(AttachmentNoteIn, {"note": note}).note
    with db.transaction() as s:
        case, actor = _writer(s, ref, actor_name, "attachment_add")
        row = Attachment(
            case_id=case.id,
            name=attachments.clean_name(name, kind),
            content_type=kind,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            note=note,
            added_by=actor.username,
            created_at=now(),
        )
        attachments.store(case.id, row.id, data)
        s.add(row)
        timeline.append(
            s,
            case,
            "attachment_added",
            actor.username,
            f"添加附件（{attachments.TYPE_NAMES_ZH[kind]}）",
            {"attachment_id": str(row.id), "content_type": kind, "size": len(data), "sha256": row.sha256},
        )
        return _view(row)


def _view(a: Attachment) -> dict[str, Any]:
    return {
        "attachment_id": str(a.id),
        "case_id": str(a.case_id),
        "name": a.name,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "note": a.note,
        "added_by": a.added_by,
        "created_at": a.created_at.isoformat(),
    }


def list_attachments(ref: str, actor_name: str | None) -> list[dict[str, Any]]:
    """The case's attachments, newest first; `may_open` says whether this reader may open them."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name or config.settings().user)
        case = looked_up(s, actor.username, "attachment_list", ref, lambda: find_case(s, ref))
        guard(s, case, actor.username, "attachment_list")
        visible = access.may_see_identity(actor)
        rows = s.exec(
            select(Attachment).where(Attachment.case_id == case.id).order_by(col(Attachment.created_at).desc())
        ).all()
    return [
        {**_view(a), "may_open": visible, **({} if visible else {"name": "附件", "note": masking.free_text(a.note)})}
        for a in rows
    ]


def open_attachment(attachment_ref: str, actor_name: str | None) -> tuple[dict[str, Any], Path]:
    """The file of one attachment, for a reader of its case who sees identities; recorded on the case's
    timeline (查阅案卷：附件). An unknown id and one out of scope are the same `unknown_attachment`."""
    unknown = NotFound("unknown_attachment", "no such attachment among those you may read", "attachment")
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name or config.settings().user)
        found: Attachment = looked_up(
            s,
            actor.username,
            "attachment_read",
            attachment_ref,
            lambda: by_id(s, Attachment, attachment_ref, "attachment"),
        )
        case = find_case(s, str(found.case_id))
        try:
            guard(s, case, actor.username, "attachment_read")
        except NotFound:
            raise unknown from None
        if not access.may_see_identity(actor):
            refuse(s, actor, "attachment_read", str(found.id))
            raise Forbidden("identity_masked", "a photo or scan cannot be masked: managers see the list only", "as")
        view, path = _view(found), attachments.path_of(found.case_id, found.id)
    if not path.is_file():
        raise NotFound(
            "attachment_missing", "the file is not on this machine (restore it from the backup)", "attachment"
        )
    record_reading(uuid.UUID(view["case_id"]), actor.username, f"attachment:{view['attachment_id']}")
    return view, path


__all__ = [
    "NOTE_KINDS_ZH",
    "UNKNOWN_CASE",
    "WRITING_ROLES",
    "add_attachment",
    "add_note",
    "list_attachments",
    "list_notes",
    "open_attachment",
]
