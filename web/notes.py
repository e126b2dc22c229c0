"""工作记录与附件 on the case page: writing a note, keeping a photo or scan (from a phone's camera too),
and opening a kept file — each through services.notes (the access rule, the recording, the limits).

Posts redirect back to the case (post/redirect/get); a refused note or file comes back as the error at
its field with what was typed, nothing changed. Files are answered with their sniffed type, as a
download unless they are an image, under a sandboxing policy (web.middleware)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import notes
from services.accounts import User
from shouhu.errors import Forbidden, InvalidInput
from web import messages
from web.session import check_csrf, page_user

router = APIRouter(include_in_schema=False)
UPLOAD_SUFFIXES = ("/attachments",)  # POST …/attachments may carry a file (web.middleware.Guard)
FIELD_ERRORS_ZH = {
    ("missing_field", "file"): "必填：请选择照片、扫描件或 PDF 文件",
    ("too_large", "file"): "文件过大",
    ("attachment_type", "file"): "只能上传照片（JPG、PNG、WebP）或 PDF 文件",
    ("missing_field", "text"): "必填：请填写记录内容",
    ("too_short", "text"): "必填：请填写记录内容",
    ("missing_field", "kind"): "必填：请选择记录类型",
    ("invalid_value", "kind"): "必填：请选择记录类型",
}


def _error_zh(exc: InvalidInput) -> str:
    field = (exc.field or "").split(".")[-1]
    if (exc.code, field) == ("too_large", "file"):
        return FIELD_ERRORS_ZH[(exc.code, field)] + "（" + exc.message.split(",")[0].removeprefix("file: ") + "）"
    return FIELD_ERRORS_ZH.get((exc.code, field)) or messages.zh(exc)


def _back(request: Request, case_no: str, anchor: str, problem: dict[str, Any] | None = None) -> Response:
    if problem:
        request.session["notes_problem"] = problem
    return RedirectResponse(f"/cases/{case_no}#{anchor}", status_code=303)


@router.post("/cases/{ref}/notes")
async def note_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    sent = form.get("csrf")
    check_csrf(request, sent if isinstance(sent, str) else None)
    values = {k: str(form.get(k) or "") for k in ("kind", "text")}
    for field, message in (("kind", "必填：请选择记录类型"), ("text", "必填：请填写记录内容")):
        if not values[field].strip():
            return _back(request, ref, "notes", {"form": "note", "field": field, "message": message, **values})
    try:
        done = await run_in_threadpool(notes.add_note, ref, values, user.username)
    except InvalidInput as exc:
        if isinstance(exc, Forbidden) or exc.code.startswith("unknown_"):
            raise
        field = (exc.field or "text").split(".")[-1]
        return _back(request, ref, "notes", {"form": "note", "field": field, "message": _error_zh(exc), **values})
    request.session["flash"] = "已添加工作记录"
    return _back(request, done["case_no"], "notes")


@router.post("/cases/{ref}/attachments")
async def attachment_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await request.form(max_files=1, max_fields=10)
    sent = form.get("csrf")
    check_csrf(request, sent if isinstance(sent, str) else None)
    upload = form.get("file")
    note = str(form.get("note") or "")
    data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    name = getattr(upload, "filename", None)
    try:
        done = await run_in_threadpool(notes.add_attachment, ref, name, data, user.username, note)
    except InvalidInput as exc:
        if isinstance(exc, Forbidden) or exc.code.startswith("unknown_"):
            raise
        field = (exc.field or "file").split(".")[-1]
        return _back(
            request, ref, "attachments", {"form": "attachment", "field": field, "message": _error_zh(exc), "note": note}
        )
    request.session["flash"] = f"已添加附件（{done['name']}）"
    return _back(request, ref, "attachments")


@router.get("/attachments/{attachment_id}")
def attachment_file(attachment_id: str, user: User = Depends(page_user)) -> Response:
    view, path = notes.open_attachment(attachment_id, user.username)
    return file_response(view, path)


def file_response(view: dict[str, Any], path: Any) -> Response:
    """The file as kept: its sniffed type; an image shown in place, anything else downloaded."""
    inline = view["content_type"].startswith("image/")
    return FileResponse(
        path,
        media_type=view["content_type"],
        filename=view["name"],
        content_disposition_type="inline" if inline else "attachment",
    )
