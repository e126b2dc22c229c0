"""一人一档 pages (issue 16 §5): the likely duplicate files of the county for civil affairs (`/duplicates`),
merging two of them with a reason, and undoing a merge from the child's page. Who may, what is recorded
and what moves are services.onefile's; here the reasons become words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import onefile as onefile_service
from services.accounts import User
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.vocab import LABELS_ZH
from web import messages
from web.children import day_zh, place_name
from web.errors import status_of
from web.forms import read_form
from web.session import check_csrf, page_user
from web.templating import render

router = APIRouter(include_in_schema=False)
REASONS_ZH = {
    "same_name": "姓名相同",
    "same_pinyin": "姓名同音（同音字或繁简字）",
    "same_birth_date": "出生日期相同",
    "same_township": "同一乡镇",
    "same_guardian": "监护人姓名或电话相同",
    "no_id_number": "至少一份档案未登记身份证号",
}


def _child(jurisdiction: str, c: dict[str, Any]) -> dict[str, Any]:
    return {
        **c,
        "place": place_name(jurisdiction, c["township"], c["village"]),
        "gender_text": LABELS_ZH.get(c["gender"], "不详"),
        "birth_text": day_zh(c["birth_date"]),
        "case_text": "、".join(c["cases"]) or "无",
    }


def _page(
    request: Request, user: User, error: str = "", values: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    found = onefile_service.find_duplicates(user.jurisdiction, user.username)
    pairs = [
        {
            "score": x["score"],
            "reasons": "、".join(REASONS_ZH[r] for r in x["reasons"]),
            "children": [_child(user.jurisdiction, c) for c in x["children"]],
        }
        for x in found["items"]
    ]
    return render(
        request,
        "duplicates",
        user,
        status_code=status_code,
        title="疑似重复档案",
        nav="children",
        pairs=pairs,
        total=found["total"],
        error=error,
        values=values or {},
    )


@router.get("/duplicates")
def duplicates_page(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    return _page(request, user)


@router.post("/duplicates/merge")
async def merge(request: Request, user: User = Depends(page_user)) -> Response:
    """Merge the pair: the file chosen to keep stays, the other joins it (errors at the form, nothing changed)."""
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    a, b, keep = form.get("a") or "", form.get("b") or "", form.get("keep") or ""
    values = {"a": a, "b": b, "keep": keep, "reason": form.get("reason") or ""}
    if keep not in (a, b) or not values["reason"].strip():
        error = "必填：请选择保留的档案并填写合并理由"
        return await run_in_threadpool(_page, request, user, error, values, 400)
    other = b if keep == a else a
    try:
        done = await run_in_threadpool(
            onefile_service.merge_children, keep, other, {"reason": values["reason"]}, user.username
        )
    except (InvalidInput, Conflict) as exc:
        if isinstance(exc, (Forbidden, NotFound)):
            raise
        return await run_in_threadpool(_page, request, user, messages.zh(exc), values, status_of(exc))
    request.session["flash"] = "已合并为同一份档案；如有误可在档案页撤销合并。"
    return RedirectResponse(f"/children/{done['keep']}", status_code=303)


@router.post("/merges/{merge_id}/unmerge")
async def unmerge(request: Request, merge_id: str, user: User = Depends(page_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    try:
        done = await run_in_threadpool(onefile_service.unmerge_children, merge_id, user.username)
    except Conflict as exc:
        return render(
            request,
            "error",
            user,
            status_code=409,
            title="不能撤销合并",
            heading="不能撤销合并",
            message=messages.zh(exc),
        )
    request.session["flash"] = "已撤销合并，两份档案恢复合并前的内容。"
    return RedirectResponse(f"/children/{done['other']}", status_code=303)
