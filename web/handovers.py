"""更正与移交 on the pages: the correction form on the case page (for those the pack allows), a case sent
to another county and accepted (or refused) there, a task claimed (认领) or handed on (转交) from its
page. Each posts to services.corrections / services.handovers and redirects back (post/redirect/get);
a refused form comes back as the message at its field, nothing changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import corrections, handovers
from services import tasks as tasks_service
from services.accounts import User
from shouhu import policy
from shouhu.errors import Forbidden, InvalidInput, ShouhuError
from shouhu.wording import format_due, task_title
from web import messages
from web.forms import read_form
from web.session import check_csrf, page_user
from web.templating import render, unit_name

router = APIRouter(include_in_schema=False)
FIELD_LABELS_ZH = {
    "township": "乡镇（街道）",
    "village": "村（居）",
    "child.name": "儿童姓名",
    "child.birth_date": "出生日期",
    "child.id_number": "身份证号",
    "situations": "报告情形",
}


def case_context(user: User, case: dict[str, Any]) -> dict[str, Any]:
    """What the case page offers this reader: the correction form, sending, withdrawing, accepting."""
    offers = handovers.may_transfer(user.username, case)
    receiving = case.get("transfer_to")
    places: list[tuple[str, str]] = []
    if offers["accept"] and receiving:
        p = policy.pack(receiving)
        for t in (u for u in p.unit_list if u.type == "township"):
            places.append((t.code, t.name))
            places += [(f"{t.code}/{v.code}", f"{t.name}{v.name}") for v in p.unit_list if v.parent == t.code]
    return {
        "may_correct": case["status"] == "open" and corrections.may_correct(user.username, case["case_id"]),
        "correct_fields": list(FIELD_LABELS_ZH.items()),
        "place_names": [
            u.name for u in policy.pack(case["jurisdiction"]).unit_list if u.type in ("township", "village")
        ],
        "transfer": offers,
        "transfer_counties": handovers.counties_to(case["jurisdiction"]),
        "transfer_to_name": policy.pack(receiving).name if receiving else None,
        "accept_places": places,
        "handover_problem": None,
    }


def task_context(user: User, task: dict[str, Any]) -> dict[str, Any]:
    """What a task's page offers: 认领 for its unit's people, 转交 to a colleague or another unit."""
    mine = task["owner_unit"] == user.unit and task["status"] == "open" and task["jurisdiction"] == user.jurisdiction
    return {
        "may_hand_on": mine,
        "may_claim": mine and user.role == task["role"] and task.get("assignee") != user.username,
        "colleagues": handovers.unit_colleagues(user.username, task["role"]) if mine else [],
        "other_units": [
            (code, name)
            for code, name in handovers.units_for(task["jurisdiction"], task["role"])
            if code != task["owner_unit"]
        ]
        if mine
        else [],
        "assignee_name": handovers.display_names([task.get("assignee")]).get(task.get("assignee") or ""),
    }


def _refused(request: Request, exc: InvalidInput, target: str) -> Response:
    if isinstance(exc, Forbidden) or exc.code.startswith("unknown_case") or exc.code == "unknown_task":
        raise exc
    label = FIELD_LABELS_ZH.get(exc.field or "", "")
    request.session["flash"] = (f"{label}：" if label else "") + messages.zh(exc)
    return RedirectResponse(target, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    return {k: str(v).strip() for k, v in form.items() if k != "csrf"}


@router.post("/cases/{ref}/correct")
async def correct_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await _form(request)
    field = form.get("field", "")
    value: Any = form.get("value", "")
    if field == "situations":
        value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
    data: dict[str, Any] = {"field": field, "value": value, "reason": form.get("reason", "")}
    try:
        await run_in_threadpool(corrections.correct_case, ref, data, user.username)
    except (InvalidInput, ShouhuError) as exc:
        if not isinstance(exc, InvalidInput):
            request.session["flash"] = messages.zh(exc)
            return RedirectResponse(f"/cases/{ref}", status_code=303)
        return _refused(request, exc, f"/cases/{ref}#handover")
    request.session["flash"] = f"已更正{FIELD_LABELS_ZH.get(field, '')}"
    return RedirectResponse(f"/cases/{ref}", status_code=303)


@router.post("/cases/{ref}/transfer")
async def transfer_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await _form(request)
    try:
        if form.get("action") == "withdraw":
            await run_in_threadpool(handovers.withdraw_transfer, ref, {"reason": form.get("reason", "")}, user.username)
            request.session["flash"] = "移交已撤回"
        else:
            data = {"to": form.get("to", ""), "reason": form.get("reason", "")}
            await run_in_threadpool(handovers.transfer_case_from, ref, data, user.username)
            request.session["flash"] = "已申请移交，待接收县民政部门接收"
    except ShouhuError as exc:
        if isinstance(exc, InvalidInput):
            return _refused(request, exc, f"/cases/{ref}#handover")
        request.session["flash"] = messages.zh(exc)
    return RedirectResponse(f"/cases/{ref}", status_code=303)


@router.post("/cases/{ref}/accept")
async def accept_submit(request: Request, ref: str, user: User = Depends(page_user)) -> Response:
    form = await _form(request)
    try:
        if form.get("action") == "refuse":
            await run_in_threadpool(handovers.withdraw_transfer, ref, {"reason": form.get("reason", "")}, user.username)
            request.session["flash"] = "已拒绝接收"
            return RedirectResponse("/cases", status_code=303)
        township, _, village = form.get("place", "").partition("/")
        data = {"township": township, **({"village": village} if village else {})}
        await run_in_threadpool(handovers.accept_transfer, ref, data, user.username)
    except ShouhuError as exc:
        if isinstance(exc, InvalidInput):
            return _refused(request, exc, f"/cases/{ref}#handover")
        request.session["flash"] = messages.zh(exc)
        return RedirectResponse(f"/cases/{ref}", status_code=303)
    request.session["flash"] = "已接收案件"
    return RedirectResponse(f"/cases/{ref}", status_code=303)


@router.get("/tasks/{task_id}/handover")
def task_handover_form(request: Request, task_id: str, user: User = Depends(page_user)) -> HTMLResponse:
    """转交 on a page of its own: the task's page stays one tap where it is one (出警到场)."""
    task = tasks_service.task_detail(task_id, user.username)
    offers = task_context(user, task)
    if not offers["may_hand_on"]:
        raise Forbidden("unit_may_not_assign", "only the owning unit hands a task on", "as")
    title = task_title(policy.pack(task["jurisdiction"]), task["kind"], task["subject"])
    return render(
        request,
        "task_handover",
        user,
        title=f"转交：{title}",
        nav="tasks",
        task_id=task["task_id"],
        task_title=title,
        case_no=task["case_no"],
        owner_name=unit_name(task["jurisdiction"], task["owner_unit"]),
        due=format_due(datetime.fromisoformat(task["due_at"])),
        **offers,
    )


@router.post("/tasks/{task_id}/handover")
async def task_handover_submit(request: Request, task_id: str, user: User = Depends(page_user)) -> Response:
    form = await _form(request)
    try:
        if form.get("action") == "claim":
            case = await run_in_threadpool(handovers.claim_task, task_id, user.username)
            request.session["flash"] = "已认领"
        else:
            data = {k: form[k] for k in ("to", "unit", "reason") if form.get(k)}
            case = await run_in_threadpool(handovers.assign_task_from, task_id, data, user.username)
            request.session["flash"] = "已转交"
    except ShouhuError as exc:
        if isinstance(exc, InvalidInput):
            return _refused(request, exc, f"/tasks/{task_id}")
        request.session["flash"] = messages.zh(exc)
        return RedirectResponse(f"/tasks/{task_id}", status_code=303)
    return RedirectResponse(f"/cases/{case['case_no']}", status_code=303)


def task_row(user: User, t: dict[str, Any], jurisdiction: str) -> dict[str, Any]:
    """A task list's row: who it is given to (由张三办理), and 认领 / 转交 for the owning unit's people."""
    open_here = t["status"] == "open" and t["owner_unit"] == user.unit and jurisdiction == user.jurisdiction
    return {
        "assignee_name": handovers.display_names([t.get("assignee")]).get(t.get("assignee") or ""),
        "may_claim": open_here and not t.get("assignee"),
    }
