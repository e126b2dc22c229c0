"""儿童台账 pages for civil affairs and managers: upload the county's spreadsheet (checked first, every
bad row listed by row and column), download the template and the ledger (masked for managers)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from services import ledger
from services.accounts import User
from shouhu.clock import now
from shouhu.errors import Forbidden, ShouhuError
from web import messages
from web.errors import status_of
from web.session import check_csrf, page_user
from web.templating import render

router = APIRouter(include_in_schema=False)
UPLOAD_PATHS = frozenset({"/ledger/import"})  # the one page that takes a large body (web.middleware.Guard)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _keeper(user: User) -> User:
    if user.role not in ledger.KEEPERS:
        raise Forbidden("not_permitted", "the ledger is kept by civil affairs and managers", "as")
    return user


def _page(
    request: Request, user: User, result: dict[str, Any] | None = None, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "ledger",
        user,
        status_code=status_code,
        title="儿童台账",
        nav="ledger",
        result=result,
        error=error,
        headers=list(ledger.HEADERS),
        required=ledger.REQUIRED,
    )


@router.get("/ledger")
def ledger_page(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    return _page(request, _keeper(user))


@router.post("/ledger/import")
async def ledger_import(request: Request, user: User = Depends(page_user)) -> Response:
    _keeper(user)
    form = await request.form(max_files=1, max_fields=10)
    sent = form.get("csrf")
    check_csrf(request, sent if isinstance(sent, str) else None)
    upload = form.get("file")
    name = getattr(upload, "filename", "") or ""
    suffix = Path(name).suffix.lower()
    if upload is None or isinstance(upload, str) or suffix not in (".xlsx", ".csv"):
        return _page(request, user, error="请选择 .xlsx 或 .csv 格式的台账文件", status_code=400)
    with tempfile.TemporaryDirectory(prefix="shouhu-ledger-") as folder:
        path = Path(folder) / f"ledger{suffix}"  # never the uploaded name as a path
        path.write_bytes(await upload.read())
        try:
            result = await run_in_threadpool(
                ledger.import_ledger,
                path,
                user.jurisdiction,
                user.username,
                form.get("dry_run") == "on",
                form.get("skip_bad_rows") == "on",
            )
        except ShouhuError as exc:
            return _page(request, user, error=messages.zh(exc), status_code=status_of(exc))
    return _page(
        request,
        user,
        result={**result, "file": Path(name).name[:100], "dry_run": form.get("dry_run") == "on"},
        status_code=200 if not result["errors"] else 400,
    )


@router.get("/ledger/template.xlsx")
def template(user: User = Depends(page_user)) -> Response:
    _keeper(user)
    folder = tempfile.mkdtemp(prefix="shouhu-ledger-")
    path = Path(folder) / "template.xlsx"
    ledger.write_template(path)
    return FileResponse(path, media_type=XLSX, filename="儿童台账模板.xlsx", background=BackgroundTask(_remove, path))


@router.get("/ledger/export.xlsx")
def export(user: User = Depends(page_user)) -> Response:
    _keeper(user)
    folder = tempfile.mkdtemp(prefix="shouhu-ledger-")
    path = Path(folder) / "ledger.xlsx"
    ledger.export_ledger(user.jurisdiction, path, user.username)
    return FileResponse(
        path, media_type=XLSX, filename=f"儿童台账-{now():%Y%m%d}.xlsx", background=BackgroundTask(_remove, path)
    )


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()
