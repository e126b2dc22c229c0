"""REST API /api/v1: the same service layer as the CLI, the same error codes, access by case_scope.

Handlers are plain functions (FastAPI runs them in a worker thread), because a mutation runs
its stage flow to completion before answering, as the CLI does. Request bodies are read by
`shouhu.inputs.load_json` — the CLI's reader — and validated by the same models, so a bad body
gets the same answer on every face; the OpenAPI document describes them from those models.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

from services import accounts
from services import approvals as approvals_service
from services import cases as cases_service
from services import children as children_service
from services import corrections as corrections_service
from services import deadlines as deadlines_service
from services import documents as documents_service
from services import handovers as handovers_service
from services import notes as notes_service
from services import onefile as onefile_service
from services import reports as reports_service
from services import stats as stats_service
from services import tasks as tasks_service
from services.accounts import User
from shouhu.errors import InvalidInput
from shouhu.inputs import LIMITS, OUTCOMES, LedgerExitIn, NoteIn, ReportIn, UserIn, UserMoveIn, load_json
from web.auth import api_user

router = APIRouter(prefix="/api/v1")
LIMIT = Query(50, ge=1, le=500)
OFFSET = Query(0, ge=0, le=10_000_000)
REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    str(code): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in (
        (400, "invalid input (the field is named)"),
        (401, "no or bad token"),
        (403, "not permitted"),
        (404, "unknown, or not yours to see"),
        (409, "conflict: the case moved on"),
        (413, "body too large"),
    )
}


async def json_body(request: Request) -> Any:
    return load_json(await request.body(), "body")


def body_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def completion_name(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_")) + "Completion"


def schemas() -> dict[str, Any]:
    """Components for the request bodies: the report, and one completion per task kind (its
    outcome model plus `expected_version`)."""
    models: list[type[BaseModel]] = [
        ReportIn,
        UserIn,
        UserMoveIn,
        LedgerExitIn,
        NoteIn,
        corrections_service.CorrectionIn,
        handovers_service.AssignIn,
        handovers_service.TransferIn,
        handovers_service.ReasonIn,
        handovers_service.AcceptIn,
        *dict.fromkeys(OUTCOMES.values()),
    ]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    found: dict[str, Any] = dict(top.get("$defs", {}))
    for kind, model in OUTCOMES.items():
        schema = dict(found[model.__name__])
        schema["properties"] = {
            **schema["properties"],
            "expected_version": {
                "type": "integer",
                "minimum": 1,
                "description": "refuse the write (409) if the case is no longer at this version",
            },
        }
        schema["title"] = f"{kind} outcome"
        found[completion_name(kind)] = schema
    found["Error"] = ERROR_SCHEMA
    return found


COMPLETION = {"oneOf": [{"$ref": REF.format(model=completion_name(kind))} for kind in OUTCOMES]}


@router.get("/me", tags=["accounts"], responses=ERRORS)
def me(user: User = Depends(api_user)) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "unit": user.unit,
        "jurisdiction": user.jurisdiction,
    }


@router.post(
    "/reports",
    status_code=201,
    tags=["reports"],
    responses={**ERRORS, "202": {"description": "accepted and queued"}},
    openapi_extra=body_of({"$ref": REF.format(model="ReportIn")}),
)
def create_report(report: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """Register a mandatory report (police intake): the shape of `shouhu report`. 201 when applied;
    202 when stored and queued because the orchestrator does not answer (applied exactly once later)."""
    result = reports_service.submit_report(report, user.username)
    return JSONResponse(result, status_code=202) if result.get("status") == "queued" else result


@router.get("/cases", tags=["cases"], responses=ERRORS)
def cases(
    stage: str | None = None,
    status: str | None = None,
    limit: int = LIMIT,
    offset: int = OFFSET,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    return cases_service.list_cases(user.username, stage, status, limit, offset)


@router.get("/cases/{ref}", tags=["cases"], responses=ERRORS)
def case(ref: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return cases_service.show_case(ref, user.username)


@router.get("/cases/{ref}/timeline", tags=["cases"], responses=ERRORS)
def case_timeline(
    ref: str, limit: int = Query(200, ge=1, le=1000), offset: int = OFFSET, user: User = Depends(api_user)
) -> dict[str, Any]:
    events = cases_service.case_timeline(ref, user.username)
    return {
        "items": events[offset : offset + limit],
        "total": len(events),
        "limit": limit,
        "offset": offset,
        "verified": cases_service.verify_case(ref, user.username, record_read=False)["ok"],
    }


@router.get("/children", tags=["children"], responses=ERRORS)
def children(
    q: str = Query(..., max_length=200), kind: str | None = None, user: User = Depends(api_user)
) -> dict[str, Any]:
    """Children in scope matching `q` (kind: name, id_number, case_no, place, stage; guessed when not
    given), masked per role, at most 50 with the total; a case number also gives the case. Recorded
    with its kind and count, never the text."""
    return children_service.search_children(q, user.username, kind)


@router.get("/children/{child_id}", tags=["children"], responses=ERRORS)
def child(child_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    """The child's file (一人一档): identity, categories, guardians, carer, cases, visits, documents,
    timeline. 404 `unknown_child` for an unknown child and for one outside the caller's scope alike."""
    return children_service.show_child(child_id, user.username)


@router.post(
    "/children/{child_id}/exit",
    tags=["children"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="LedgerExitIn")}),
)
def child_exit(child_id: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> dict[str, Any]:
    """退出保障范围: `{"reason": EXIT_REASON, "notes"}` (the pack's exit reasons). A reason with a phase-out
    keeps the child covered until `ends_on`; else open visits are cancelled. Civil affairs and managers."""
    return children_service.exit_coverage(child_id, body, user.username)


@router.get("/cases/{ref}/documents", tags=["documents"], responses=ERRORS)
def case_documents(ref: str, user: User = Depends(api_user)) -> dict[str, Any]:
    docs = documents_service.case_documents(ref, user.username)
    return {"items": docs, "total": len(docs)}


@router.get("/cases/{ref}/notes", tags=["notes"], responses=ERRORS)
def case_notes(ref: str, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    """The case's notes (工作记录), oldest first: `[{"seq","at","author","kind","text"}]` (text masked for managers)."""
    return notes_service.list_notes(ref, user.username)


@router.post(
    "/cases/{ref}/notes",
    tags=["notes"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="NoteIn")}),
)
def add_case_note(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> dict[str, Any]:
    """Add a note (append-only, on the timeline): `{"kind": phone_call|home_visit|meeting|other, "text"}`."""
    return notes_service.add_note(ref, body, user.username)


@router.get("/cases/{ref}/attachments", tags=["notes"], responses=ERRORS)
def case_attachments(ref: str, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    """The case's attachments, newest first; `may_open` false for managers (names masked)."""
    return notes_service.list_attachments(ref, user.username)


@router.post(
    "/cases/{ref}/attachments",
    tags=["notes"],
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "note": {"type": "string", "maxLength": LIMITS.long_text},
                        },
                    }
                }
            },
        }
    },
)
async def add_case_attachment(ref: str, request: Request, user: User = Depends(api_user)) -> dict[str, Any]:
    """Keep a photo, scan or PDF (multipart `file`, optional `note`): its type is told by the bytes
    (JPEG, PNG, WebP, PDF), its size at most `input_limits.attachment_bytes`; the SHA-256 goes on the timeline."""
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception as exc:
        raise InvalidInput("invalid_body", "body: multipart/form-data with a `file` part", "body") from exc
    upload = form.get("file")
    data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    note = form.get("note")
    return await run_in_threadpool(
        notes_service.add_attachment,
        ref,
        getattr(upload, "filename", None),
        data,
        user.username,
        note if isinstance(note, str) else "",
    )


@router.get(
    "/attachments/{attachment_id}",
    tags=["notes"],
    responses={
        **ERRORS,
        "200": {"description": "the file (its sniffed type)", "content": {"application/octet-stream": {}}},
    },
)
def attachment(attachment_id: str, user: User = Depends(api_user)) -> Response:
    """The attachment's file, for readers of its case who see identities (recorded on the case's timeline)."""
    view, path = notes_service.open_attachment(attachment_id, user.username)
    return FileResponse(path, media_type=view["content_type"], filename=view["name"])


@router.get(
    "/documents/{document_id}/pdf",
    tags=["documents"],
    responses={**ERRORS, "200": {"description": "the document as PDF", "content": {"application/pdf": {}}}},
)
def document_pdf(document_id: str, user: User = Depends(api_user)) -> Response:
    """The document printed to PDF (Chinese fonts embedded; masked for managers, the read recorded)."""
    shown, data = documents_service.document_pdf(document_id, user.username)
    name = quote(f"{shown['case_no']}-{shown['title']}.pdf")
    return Response(
        data, media_type="application/pdf", headers={"content-disposition": f"attachment; filename*=UTF-8''{name}"}
    )


@router.get("/documents/{document_id}", tags=["documents"], responses=ERRORS)
def document(document_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return documents_service.show_document(document_id, user.username)


@router.get("/tasks", tags=["tasks"], responses=ERRORS)
def tasks(
    mine: bool = False,
    status: str | None = "open",
    limit: int = LIMIT,
    offset: int = OFFSET,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    return tasks_service.list_tasks_for(user.username, mine, status, limit, offset)


@router.post(
    "/tasks/{task_id}/complete",
    tags=["tasks"],
    responses={**ERRORS, "202": {"description": "accepted and queued"}},
    openapi_extra=body_of(COMPLETION),
)
def complete_task(task_id: str, outcome: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """Record a task's outcome (the shapes of `shouhu task complete`); returns the case, or 202
    when stored and queued because the orchestrator does not answer."""
    result = tasks_service.complete_task(task_id, outcome, user.username)
    return JSONResponse(result, status_code=202) if result.get("status") == "queued" else result


@router.post(
    "/tasks/{task_id}/ack", tags=["tasks"], responses={**ERRORS, "202": {"description": "accepted and queued"}}
)
def acknowledge_task(task_id: str, user: User = Depends(api_user)) -> Any:
    """Acknowledge a task that is done by saying so (出警到场, `shouhu task ack`): returns the case;
    409 if it already was; 400 `not_an_acknowledgement` for a task that needs an outcome."""
    result = tasks_service.acknowledge_task(task_id, user.username)
    return JSONResponse(result, status_code=202) if result.get("status") == "queued" else result


@router.get("/breaches", tags=["managers"], responses=ERRORS)
def breaches(
    open: bool = False,  # noqa: A002 - the query parameter is ?open=
    limit: int = Query(100, ge=1, le=1000),
    offset: int = OFFSET,
    user: User = Depends(api_user),
) -> dict[str, Any]:
    return deadlines_service.breaches_for(user.username, open, limit, offset)


@router.get("/sla", tags=["managers"], responses=ERRORS)
def sla(from_: str = Query(..., alias="from"), to: str = Query(...), user: User = Depends(api_user)) -> dict[str, Any]:
    return stats_service.sla_for(user.username, from_, to)


# ---- staff administration (managers and admins of the county; services.accounts) -------------
@router.get("/users", tags=["accounts"], responses=ERRORS)
def users(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    """Every account of the caller's county: username, role, unit, display_name, disabled."""
    return accounts.list_users(user.jurisdiction, user.username)


@router.post(
    "/users",
    status_code=201,
    tags=["accounts"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="UserIn")}),
)
def add_user(data: Any = Depends(json_body), user: User = Depends(api_user)) -> dict[str, Any]:
    """A new account; the answer holds its one-time temporary password (changed at first sign-in)."""
    return accounts.add_user(data, user.username)


@router.get("/users/{username}", tags=["accounts"], responses=ERRORS)
def get_user(username: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return accounts.get_user(username, user.username)


@router.post(
    "/users/{username}/move",
    tags=["accounts"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="UserMoveIn")}),
)
def move_user(username: str, data: Any = Depends(json_body), user: User = Depends(api_user)) -> dict[str, Any]:
    return accounts.move_user(username, data, user.username)


@router.post("/users/{username}/disable", tags=["accounts"], responses=ERRORS)
def disable_user(username: str, user: User = Depends(api_user)) -> dict[str, Any]:
    """Sessions end and API tokens are revoked at once; past actions keep the name."""
    return accounts.set_disabled(username, True, user.username)


@router.post("/users/{username}/enable", tags=["accounts"], responses=ERRORS)
def enable_user(username: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return accounts.set_disabled(username, False, user.username)


@router.get("/users/{username}/tokens", tags=["accounts"], responses=ERRORS)
def user_tokens(username: str, user: User = Depends(api_user)) -> list[dict[str, Any]]:
    return accounts.list_tokens(username, user.username)


@router.post("/tokens/{token_id}/revoke", tags=["accounts"], responses=ERRORS)
def revoke_token(token_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return accounts.revoke_token(token_id, user.username)


@router.get("/admin-records", tags=["accounts"], responses=ERRORS)
def admin_records(user: User = Depends(api_user)) -> list[dict[str, Any]]:
    """What was done to the county's accounts, newest first."""
    return accounts.admin_records(user.jurisdiction, user.username)


# ---- corrections and hand-overs (issue 16 §2–3) ---------------------------------------------------
@router.post(
    "/cases/{ref}/correct",
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="CorrectionIn")}),
)
def correct_case(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """Put one field right (`shouhu case correct`): `{"field", "value", "reason"}` (+ `village` with a township)."""
    return corrections_service.correct_case(ref, body, user.username)


@router.post(
    "/cases/{ref}/transfer",
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="TransferIn")}),
)
def transfer_case(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """Send the case to another county: `{"to": JURISDICTION, "reason"}`; it waits for that county to accept."""
    return handovers_service.transfer_case_from(ref, body, user.username)


@router.post(
    "/cases/{ref}/transfer/withdraw",
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="ReasonIn")}),
)
def withdraw_transfer(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """`{"reason"}`: the sending county cancels the request, the receiving county refuses the case."""
    return handovers_service.withdraw_transfer(ref, body, user.username)


@router.post(
    "/cases/{ref}/accept",
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="AcceptIn")}),
)
def accept_transfer(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """The receiving county accepts: `{"township", "village"}` of its own units."""
    return handovers_service.accept_transfer(ref, body, user.username)


@router.post("/tasks/{task_id}/claim", tags=["tasks"], responses=ERRORS)
def claim_task(task_id: str, user: User = Depends(api_user)) -> Any:
    """Take a task of one's unit (认领)."""
    return handovers_service.claim_task(task_id, user.username)


@router.post(
    "/tasks/{task_id}/assign",
    tags=["tasks"],
    responses=ERRORS,
    openapi_extra=body_of({"$ref": REF.format(model="AssignIn")}),
)
def assign_task(task_id: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """Give a task to `{"to": USERNAME}` of its unit, or `{"unit", "reason"}` another unit (deadline kept)."""
    return handovers_service.assign_task_from(task_id, body, user.username)


@router.get("/children-duplicates", tags=["children"], responses=ERRORS)
def children_duplicates(
    jurisdiction: str = Query(..., max_length=64), user: User = Depends(api_user)
) -> dict[str, Any]:
    """Likely pairs of files of one child (score, reasons); civil affairs of the county."""
    return onefile_service.find_duplicates(jurisdiction, user.username)


@router.post(
    "/children/{keep}/merge/{other}",
    tags=["children"],
    responses=ERRORS,
    openapi_extra=body_of({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}),
)
def merge_children(
    keep: str, other: str, body: Any = Depends(json_body), user: User = Depends(api_user)
) -> dict[str, Any]:
    """OTHER's cases, visits, categories, guardians move to KEEP; the merge record (what moved)."""
    return onefile_service.merge_children(keep, other, body, user.username)


@router.post("/merges/{merge_id}/unmerge", tags=["children"], responses=ERRORS)
def unmerge_children(merge_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    """Put back exactly what the merge moved; 409 `unmerge_unsafe` with the reason when it cannot."""
    return onefile_service.unmerge_children(merge_id, user.username)


# ---- approvals and reopening (issue 16 §1, §4) ----------------------------------------------------
DECISION_SCHEMA = {
    "type": "object",
    "required": ["approve"],
    "properties": {"approve": {"type": "boolean"}, "reason": {"type": "string"}},
    "additionalProperties": False,
}
REOPEN_SCHEMA = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string"}},
    "additionalProperties": False,
}


@router.get("/approvals", tags=["approvals"], responses=ERRORS)
def list_approvals(
    unit: str | None = None, status: str | None = "pending", user: User = Depends(api_user)
) -> list[dict[str, Any]]:
    """Approvals (`shouhu approvals`): `[{"approval_id","case_id","case_no","kind","requested_by","due_at","status",…}]`
    — of `unit`, else those the caller's unit decides; earliest due first."""
    return approvals_service.list_approvals(user.username, unit, status)


@router.post(
    "/approvals/{approval_id}/decide",
    tags=["approvals"],
    responses={**ERRORS, "202": {"description": "accepted and queued"}},
    openapi_extra=body_of(DECISION_SCHEMA),
)
def decide(approval_id: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """`{"approve": bool, "reason"}` (reason required to refuse) → the case; 403 for the one who asked."""
    result = approvals_service.decide_approval(approval_id, body, user.username)
    return JSONResponse(result, status_code=202) if result.get("status") == "queued" else result


@router.post(
    "/cases/{ref}/reopen",
    tags=["approvals"],
    responses={**ERRORS, "202": {"description": "accepted and queued"}},
    openapi_extra=body_of(REOPEN_SCHEMA),
)
def reopen(ref: str, body: Any = Depends(json_body), user: User = Depends(api_user)) -> Any:
    """`{"reason"}` → the case (with `approval_id` when the reopening waits for approval); 409 after the window."""
    result = approvals_service.reopen_case(ref, body, user.username)
    return JSONResponse(result, status_code=202) if result.get("status") == "queued" else result
