"""Documents (the official file): they carry identity, so reads need a named user; masked for roles
that may not see it (shouhu.masking); each read checks the stored hash against the timeline."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models import Case
from services.reading import (
    by_id,
    find_case,
    looked_up,
    reader_of,
    record_reading,
    refuse,
    unknown,
)
from shouhu import access, db, timeline
from shouhu.errors import InvalidInput, NotFound


def case_documents(ref: str, actor_name: str | None, record_read: bool = True) -> list[dict[str, Any]]:
    from models import Document

    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_read", ref, lambda: find_case(s, ref))
        actor = reader_of(s, case, actor_name, "documents_list")
        docs = s.exec(select(Document).where(Document.case_id == case.id).order_by(col(Document.created_at))).all()
    if record_read:
        record_reading(case.id, actor.username, "documents")
    masked = not access.may_see_identity(actor)
    return [
        {
            "document_id": str(d.id),
            "kind": d.kind,
            "title": d.title,
            "sha256": d.masked_sha256 if masked else d.sha256,
            "created_at": d.created_at.isoformat(),
            "issued_by": d.issued_by,
            "confidential": d.confidential,
        }
        for d in docs
        if not d.confidential or access.may_see_reporter(actor)
    ]


def show_document(doc_ref: str, actor_name: str | None) -> dict[str, Any]:
    """One document as this reader may see it (masked for managers, shouhu.masking); its stored
    hash is checked, and checked against the hash its issue put on the timeline.

    A document the reader may not see — another area's, or the intake form for a role that may
    not see the reporter — is answered as an unknown one (and the refusal recorded)."""
    from models import Document

    with Session(db.engine()) as s:
        doc = looked_up(s, actor_name, "document_read", doc_ref, lambda: by_id(s, Document, doc_ref, "document"))
        case = s.get_one(Case, doc.case_id)
        try:
            actor = reader_of(s, case, actor_name, "document_read")
        except NotFound:
            raise unknown("document", doc_ref) from None
        if doc.confidential and not access.may_see_reporter(actor):
            refuse(s, actor, "document_read", str(doc.id))
            raise unknown("document", doc_ref)
        masked = not access.may_see_identity(actor)
        if masked and doc.masked_content is None:
            raise InvalidInput(
                "document_not_masked",
                "this document predates masked copies; your role may read it only masked",
                "document",
            )
        check = timeline.document_check(s, doc)
    record_reading(case.id, actor.username, f"document:{doc.kind}")
    return {
        "document_id": str(doc.id),
        "case_no": case.case_no,
        "kind": doc.kind,
        "title": doc.title,
        "sha256": doc.masked_sha256 if masked else doc.sha256,
        "intact": check["intact"],
        "matches_timeline": check["matches_timeline"],
        "masked": masked,
        "created_at": doc.created_at.isoformat(),
        "content_type": doc.content_type,
        "content": doc.masked_content if masked else doc.content,
    }


def document_pdf(doc_ref: str, actor_name: str | None) -> tuple[dict[str, Any], bytes]:
    """The document as this reader may see it (`show_document`: masked for managers, the read recorded),
    printed to PDF by the system's Chromium. Returns its record (without the HTML) and the PDF."""
    from shouhu import pdf

    shown = show_document(doc_ref, actor_name)
    content = shown.pop("content")
    return shown, pdf.html_to_pdf(content)
