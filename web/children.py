"""儿童 pages: search (`/children?q=…`) and the child's page (`/children/{id}`, 一人一档). The access rule,
the masking and the recording of every read and search are services.children'; here the codes become
words (categories from the pack, stages, statuses, visit findings, sources)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import children as children_service
from services.accounts import User
from shouhu import policy
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.vocab import (
    CASE_STATUS_ZH,
    CHILD_EVENT_NAMES_ZH,
    ENROLMENT_ZH,
    LABELS_ZH,
    STAGE_NAMES_ZH,
    VISIT_STATUS_ZH,
    guardian_status_name,
    named,
    relation_name,
)
from shouhu.wording import format_due
from web import messages
from web.errors import status_of
from web.forms import read_form
from web.session import check_csrf, page_user
from web.templating import render, unit_name
from web.visits import finding, period_name

router = APIRouter(include_in_schema=False)
KIND_NAMES = {"name": "姓名", "id_number": "身份证号", "case_no": "案件编号", "place": "乡镇或村", "stage": "办理阶段"}
REFUSED_SEARCH = "您看到的是脱敏信息，不能按姓名或身份证号查找儿童；请按案件编号、乡镇或村、办理阶段查找。"


def _reader(user: User) -> User:
    if user.role not in children_service.READING_ROLES:
        raise Forbidden("not_permitted", "children's files are read by those who read cases", "as")
    return user


def day_zh(iso: str | None) -> str:
    """2016-05-01 → 2016年5月1日; a masked birth date (2016) → 2016年."""
    if not iso:
        return "—"
    if re.fullmatch(r"\d{4}", iso):
        return f"{iso}年"
    day = datetime.fromisoformat(iso).astimezone(CHINA_TZ).date() if len(iso) > 10 else date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def time_zh(iso: str | None) -> str:
    return format_due(datetime.fromisoformat(iso).astimezone(CHINA_TZ)) if iso else "—"


def source_zh(source: str) -> str:
    """Where a category came from, in words: 台账导入（县台账.xlsx）, 排查, 强制报告（案件 SX-2026-00001）."""
    kind, _, detail = source.partition(":")
    if kind == "import":
        return f"台账导入（{detail}）" if detail else "台账导入"
    if kind == "report":
        return f"强制报告（案件 {detail}）" if detail else "强制报告"
    if kind == "survey":
        return "排查"
    return "其他"


def category_name(jurisdiction: str, code: str) -> str:
    known = policy.pack(jurisdiction).child_categories.value
    return known[code].label if code in known else "其他类别"


def place_name(jurisdiction: str, township: str, village: str | None) -> str:
    town = unit_name(jurisdiction, township)
    return f"{town} {unit_name(jurisdiction, village)}" if village else town


def _item(jurisdiction: str, c: dict[str, Any]) -> dict[str, Any]:
    return {
        **c,
        "place": place_name(jurisdiction, c["township"], c["village"]),
        "gender_text": LABELS_ZH.get(c["gender"], "不详"),
        "birth_text": day_zh(c["birth_date"]),
        "category_text": "、".join(category_name(jurisdiction, k) for k in c["categories"]) or "—",
        "case_text": "；".join(f"{x['case_no']}（{STAGE_NAMES_ZH.get(x['stage'], '—')}）" for x in c["open_cases"]),
    }


@router.get("/children")
def search_page(
    request: Request, q: str | None = None, kind: str | None = None, user: User = Depends(page_user)
) -> HTMLResponse:
    _reader(user)
    result, error, status = None, None, 200
    if q is not None and q.strip():
        try:
            found = children_service.search_children(q, user.username, kind or None)
        except InvalidInput as exc:
            if isinstance(exc, NotFound) or (isinstance(exc, Forbidden) and exc.code == "not_permitted"):
                raise
            status = status_of(exc)
            error = REFUSED_SEARCH if exc.code == "identity_search_not_permitted" else messages.zh(exc)
        else:
            case = found["case"]
            result = {
                **found,
                "kind_text": KIND_NAMES[found["kind"]],
                "items": [_item(user.jurisdiction, c) for c in found["items"]],
                "case": {
                    **case,
                    "stage_text": STAGE_NAMES_ZH.get(case["stage"], "—"),
                    "status_text": named(case["status"], CASE_STATUS_ZH),
                    "opened_text": day_zh(case["opened_at"]),
                }
                if case
                else None,
            }
    return render(
        request,
        "children",
        user,
        status_code=status,
        title="儿童",
        nav="children",
        q=q or "",
        kind=kind if kind in KIND_NAMES else "",
        kinds=list(KIND_NAMES.items()),
        result=result,
        error=error,
    )


@router.get("/children/{child_id}")
def child_page(request: Request, child_id: str, user: User = Depends(page_user)) -> HTMLResponse:
    _reader(user)
    return _child_page(request, user, children_service.show_child(child_id, user.username))


@router.post("/children/{child_id}/exit")
async def child_exit(request: Request, child_id: str, user: User = Depends(page_user)) -> Response:
    """退出保障范围 from the child's page (civil affairs, managers): errors at the form, nothing changed."""
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    _reader(user)
    data = {"reason": form.get("reason") or "", "notes": form.get("notes") or ""}
    if not data["reason"]:
        c = await run_in_threadpool(children_service.show_child, child_id, user.username)
        return _child_page(request, user, c, exit_error="必填：请选择退出情形", exit_values=data, status_code=400)
    try:
        left = await run_in_threadpool(children_service.exit_coverage, child_id, data, user.username)
    except InvalidInput as exc:
        if isinstance(exc, (Forbidden, NotFound)):
            raise
        c = await run_in_threadpool(children_service.show_child, child_id, user.username)
        return _child_page(request, user, c, exit_error=messages.zh(exc), exit_values=data, status_code=400)
    except Conflict as exc:
        c = await run_in_threadpool(children_service.show_child, child_id, user.username)
        return _child_page(request, user, c, exit_error=messages.zh(exc), exit_values=data, status_code=409)
    ends = day_zh(left["ends_on"])
    request.session["flash"] = (
        f"已办理退出保障范围，渐退期至{ends}，期间继续核实走访。"
        if left["ends_on"] > now().astimezone(CHINA_TZ).date().isoformat()
        else f"已办理退出保障范围，取消待走访 {left['visits_cancelled']} 次。"
    )
    return RedirectResponse(f"/children/{left['child_id']}", status_code=303)


def _child_page(
    request: Request,
    user: User,
    c: dict[str, Any],
    exit_error: str = "",
    exit_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    j = c["jurisdiction"]
    p = policy.pack(j)
    may_exit = (
        user.role in children_service.LEDGER_KEEPERS
        and any(x["in_force"] and not x["ended_on"] for x in c["categories"])
        and not any(x["status"] == "open" for x in c["cases"])
    )
    return render(
        request,
        "child",
        user,
        status_code=status_code,
        title=f"儿童档案 · {c['name']}",
        nav="children",
        c={**c, "merges": [{**m, "merged_text": time_zh(m["merged_at"])} for m in c.get("merges", [])]},
        may_exit=may_exit,
        exit_reasons=[(k, r.label) for k, r in p.exit_reasons.value.items()],
        exit_error=exit_error,
        exit_values=exit_values or {},
        place=place_name(j, c["township"], c["village"]),
        gender_text=LABELS_ZH.get(c["gender"], "不详"),
        birth_text=day_zh(c["birth_date"]),
        enrolled_text=named(c["enrolled_from"], ENROLMENT_ZH),
        categories=[
            {
                **x,
                "label": category_name(j, x["category"]),
                "started_text": day_zh(x["started_on"]),
                "ended_text": day_zh(x["ended_on"]) if x["ended_on"] else "",
                "source_text": source_zh(x["source"]),
            }
            for x in c["categories"]
        ],
        guardians=[
            {
                **g,
                "relation_text": relation_name(g["relation"]),
                "status_text": guardian_status_name(g["status"]),
            }
            for g in c["guardians"]
        ],
        carers=[
            {
                **x,
                "relation_text": relation_name(x["relation"]),
                "since_text": day_zh(x["since"]) if x["since"] else "",
                "ended_text": day_zh(x["ended_on"]) if x["ended_on"] else "",
            }
            for x in c["entrusted_care"]
        ],
        cases=[
            {
                **x,
                "stage_text": STAGE_NAMES_ZH.get(x["stage"], "—"),
                "status_text": named(x["status"], CASE_STATUS_ZH),
                "opened_text": day_zh(x["opened_at"]),
                "closed_text": day_zh(x["closed_at"]) if x["closed_at"] else "",
                "earlier": bool(x["closed_at"]) and x is not c["cases"][-1],  # 此前案件: closed before the newest
            }
            for x in c["cases"]
        ],
        visits=[
            {
                **v,
                "period_text": period_name(v["period"]),
                "unit_text": unit_name(j, v["unit"]),
                "state_text": named("overdue" if v["overdue"] else v["status"], VISIT_STATUS_ZH),
                "finding_text": finding(v["outcome"]) if v["status"] == "done" else "",
                "completed_text": day_zh(v["outcome"].get("visited_on") or v["completed_at"])
                if v["status"] == "done"
                else "",
                "notes": v["outcome"].get("notes"),
            }
            for v in c["visits"]
        ],
        documents=[{**d, "created_text": time_zh(d["created_at"])} for d in c["documents"]],
        timeline=[
            {**e, "at_text": time_zh(e["at"]), "kind_text": named(e["kind"], CHILD_EVENT_NAMES_ZH, "记录")}
            for e in c["timeline"]
        ],
    )
