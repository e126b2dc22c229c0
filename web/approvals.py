"""审批 and 重新办理 on the web: the deciding unit's list of pending approvals, the decide form and the
reopen form on the case page — each through services.approvals (the access rule, the second pair of
eyes, the recording). The API routes are in web.api, so the OpenAPI document names them.

Posts redirect back to the case (post/redirect/get); a refused form comes back with the error at its
field and what was typed, nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import approvals
from services.accounts import User
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput
from shouhu.vocab import APPROVAL_KINDS_ZH, APPROVAL_STATUS_ZH
from shouhu.wording import format_due, time_left
from web import messages
from web.session import check_csrf, page_user
from web.templating import render, unit_name

router = APIRouter()
FIELD_ERRORS_ZH = {
    ("missing_field", "reason"): "必填：请填写理由",
    ("missing_field", "approve"): "必填：请选择同意或不同意",
    ("invalid_value", "approve"): "必填：请选择同意或不同意",
}


@router.get("/approvals", response_class=HTMLResponse, include_in_schema=False)
def approvals_page(request: Request, status: str = Query("pending"), user: User = Depends(page_user)) -> HTMLResponse:
    chosen = status if status in approvals.STATUSES else "pending"
    rows = [
        {
            **a,
            "kind_text": APPROVAL_KINDS_ZH[a["kind"]],
            "status_text": APPROVAL_STATUS_ZH[a["status"]],
            "unit_text": unit_name(user.jurisdiction, a["unit"]),
            "due_text": format_due(datetime.fromisoformat(a["due_at"])),
            "left": time_left(datetime.fromisoformat(a["due_at"]), now()) if a["status"] == "pending" else "",
        }
        for a in approvals.list_approvals(user.username, None, chosen)
    ]
    return render(
        request,
        "approvals",
        user,
        title="审批",
        nav="approvals",
        rows=rows,
        status=chosen,
        statuses=list(APPROVAL_STATUS_ZH.items()),
    )


def case_context(request: Request, user: User, ref: str, case: dict[str, Any]) -> dict[str, Any]:
    """What the case page shows of approvals: each with its state, the decide form for those who
    decide, and the reopen form on a closed case."""
    problem = request.session.pop("approvals_problem", None) or {}
    rows = [
        {
            **a,
            "due_text": format_due(datetime.fromisoformat(a["due_at"])),
            "decided_text": format_due(datetime.fromisoformat(a["decided_at"])) if a["decided_at"] else "",
        }
        for a in approvals.case_approvals(ref, user.username)
    ]
    waiting = any(a["status"] == "pending" for a in rows)
    return {
        "approvals": rows,
        "approvals_problem": problem,
        "may_reopen": case["stage"] == "closed" and not waiting and user.role in approvals.REOPENING_ROLES,
    }


def _back(request: Request, case_no: str, problem: dict[str, Any] | None = None) -> Response:
    if problem:
        request.session["approvals_problem"] = problem
    return RedirectResponse(f"/cases/{case_no}#approvals", status_code=303)


def _said(exc: InvalidInput | Conflict) -> str:
    field = (exc.field or "").split(".")[-1]
    return FIELD_ERRORS_ZH.get((exc.code, field)) or messages.zh(exc)


@router.post("/approvals/{approval_id}/decide", include_in_schema=False)
async def decide_submit(request: Request, approval_id: str, user: User = Depends(page_user)) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    sent = form.get("csrf")
    check_csrf(request, sent if isinstance(sent, str) else None)
    case_no = str(form.get("case_no") or "")
    choice, reason = str(form.get("approve") or ""), str(form.get("reason") or "")
    values = {"form": "decide", "approval_id": approval_id, "approve": choice, "reason": reason}
    if choice not in ("true", "false"):
        return _back(request, case_no, {**values, "field": "approve", "message": "必填：请选择同意或不同意"})
    try:
        case = await run_in_threadpool(
            approvals.decide_approval, approval_id, {"approve": choice == "true", "reason": reason}, user.username
        )
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, Forbidden) or exc.code.startswith("unknown_"):
            raise
        return _back(
            request, case_no, {**values, "field": (exc.field or "reason").split(".")[-1], "message": _said(exc)}
        )
    request.session["flash"] = "已同意" if choice == "true" else "已退回重新办理"
    return _back(request, case.get("case_no") or case_no)


@router.post("/cases/{ref}/reopen", include_in_schema=False)
async def reopen_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    sent = form.get("csrf")
    check_csrf(request, sent if isinstance(sent, str) else None)
    reason = str(form.get("reason") or "")
    values = {"form": "reopen", "reason": reason}
    if not reason.strip():
        return _back(request, ref, {**values, "field": "reason", "message": "必填：请填写理由"})
    try:
        case = await run_in_threadpool(approvals.reopen_case, ref, {"reason": reason}, user.username)
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, Forbidden) or exc.code.startswith("unknown_"):
            raise
        return _back(request, ref, {**values, "field": "reason", "message": _said(exc)})
    request.session["flash"] = "已提请审批重新办理" if case.get("approval_id") else "案件已重新办理"
    return _back(request, case.get("case_no") or ref)
