"""The village pages (走访): the unit's verification round and the form that records a visit
(seed 001 §二(一)6: 家庭情况、监护情况、就学情况). The links in the village's messages
(`/visits?unit=…`) open here. Phone first: one column, no script; the access rule, the recording
of reads and the validation are services.visits', as on the CLI."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from services import visits as visits_service
from services.accounts import User
from shouhu import citation, policy
from shouhu.clock import CHINA_TZ, as_aware, now
from shouhu.errors import Forbidden, InvalidInput, NotFound, ShouhuError
from shouhu.inputs import VerificationOutcome, invalid_from
from shouhu.vocab import LABELS_ZH
from shouhu.wording import time_left
from web import forms
from web.forms import read_form
from web.messages import ERROR_ZH
from web.session import check_csrf, page_user
from web.templating import render, unit_name

router = APIRouter(include_in_schema=False)
QUARTERS = "一二三四"
# Where the national law asks the finder to report (the service's advice cites the same).
REPORT_BASIS = "强制报告意见 art. 4; 未保法 art. 11"
LABEL_OVERRIDES = {"concerns": "发现的困境情形", "notes": "情况记录"}


def period_name(period: str) -> str:
    """2026Q4 → 2026年第四季度; 2026-11 → 2026年11月; 2027-寒假重点时段巡查 → 2027年寒假重点时段巡查."""
    if m := re.fullmatch(r"(\d{4})Q([1-4])", period):
        return f"{m[1]}年第{QUARTERS[int(m[2]) - 1]}季度"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        return f"{m[1]}年{int(m[2])}月"
    if m := re.fullmatch(r"(\d{4})-(\D.*)", period):  # a patrol window: 2027-寒假重点时段巡查
        return f"{m[1]}年{m[2]}"
    return "—"


def day_name(iso: str | None) -> str:
    """2026-12-31 → 12月31日 (with the year when it is not this year's)."""
    if not iso:
        return "—"
    day = date.fromisoformat(iso[:10])
    this_year = now().astimezone(CHINA_TZ).year
    return f"{day.month}月{day.day}日" if day.year == this_year else f"{day.year}年{day.month}月{day.day}日"


def finding(outcome: dict[str, Any] | None) -> str:
    """What a visit found, in words: 监护到位，在校，家庭情况无变化；发现：独居."""
    if not outcome:
        return "—"
    parts = [
        LABELS_ZH.get(outcome.get("guardianship", ""), "—"),
        LABELS_ZH.get(outcome.get("schooling", ""), "—"),
        "家庭情况有变化" if outcome.get("family_changed") else "家庭情况无变化",
    ]
    text = "，".join(parts)
    if outcome.get("concerns"):
        text += "；发现：" + "、".join(LABELS_ZH.get(c, "其他情形") for c in outcome["concerns"])
    return text


def guardian_line(guardians: list[dict[str, Any]]) -> str:
    return (
        "；".join(
            f"{LABELS_ZH.get(g['relation'], g['relation'])} {g['name']}"
            + (f"（{LABELS_ZH.get(g['status'], g['status'])}）" if g.get("status") else "")
            for g in guardians
        )
        or "未登记"
    )


def _row(jurisdiction: str, r: dict[str, Any]) -> dict[str, Any]:
    previous = r["previous"]
    return {
        **r,
        "village_name": unit_name(jurisdiction, r["unit"]),
        "guardian_text": guardian_line(r["guardians"]),
        "due_text": day_name(r["due_on"]),
        "left_text": time_left(as_aware(datetime.fromisoformat(r["due_at"])), now()) if r["status"] == "open" else "",
        "period_text": period_name(r["period"]),
        "done_text": day_name(r["outcome"].get("visited_on") or r["completed_on"]) if r["status"] == "done" else "",
        "finding_text": finding(r["outcome"]) if r["status"] == "done" else "",
        "last_text": (f"{period_name(previous['period'])}：{finding(previous['outcome'])}" if previous else "首次走访"),
        "last_concern": bool(previous and previous["concern"]),
    }


def visit_fields() -> list[forms.FormField]:
    return [
        dataclasses.replace(f, label=LABEL_OVERRIDES[f.name]) if f.name in LABEL_OVERRIDES else f
        for f in forms.fields_of(VerificationOutcome)
    ]


def default_unit(user: User, choices: list[tuple[str, str]]) -> str:
    """The first village the person may see (a director's own); with none, their own unit (refused)."""
    return choices[0][0] if choices else user.unit  # villages come first


@router.get("/visits")
def visit_list(
    request: Request,
    unit: str | None = None,
    period: str | None = None,
    page: int = Query(1, ge=1, le=100_000),
    user: User = Depends(page_user),
) -> HTMLResponse:
    choices = visits_service.visit_units(user.username)
    chosen = unit or default_unit(user, choices)
    sheet = visits_service.visit_sheet(user.username, chosen, period or None, page)
    rows = [_row(user.jurisdiction, r) for r in sheet["rows"]]
    p = policy.pack(user.jurisdiction)
    periods = [sheet["current_period"]]
    every = p.verification_visits.value
    for _ in range(3):  # the three periods before this one
        periods.append(previous_period(periods[-1], every))
    if sheet["period"] not in periods:
        periods.append(sheet["period"])
    found = request.session.pop("visit_found", None)
    return render(
        request,
        "visits",
        user,
        title="核实走访",
        nav="visits",
        unit=chosen,
        visit_unit_name=unit_name(user.jurisdiction, chosen),
        choices=choices,
        period=sheet["period"],
        period_text=period_name(sheet["period"]),
        periods=[(key, period_name(key)) for key in periods],
        current=period is None or period == sheet["current_period"],
        rows=rows,
        counts=sheet["counts"],
        total=sheet["total"],
        page=sheet["page"],
        pages=sheet["pages"],
        page_query=urlencode({"unit": chosen, **({"period": period} if period else {})}),
        masked=sheet["masked"],
        found=_found(user, found) if found else None,
        basis=citation.readable(p.verification_visits.source, p),
    )


def previous_period(period: str, every: str) -> str:
    if every == "month":
        year, month = int(period[:4]), int(period[5:])
        return f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
    year, quarter = int(period[:4]), int(period[5:])
    return f"{year - (quarter == 1)}Q{(quarter - 2) % 4 + 1}"


def _found(user: User, visit_id: str) -> dict[str, Any] | None:
    """The next steps after a visit that found a child in difficulty (shown once, after recording)."""
    try:
        detail = visits_service.visit_detail(user.username, visit_id)
    except ShouhuError:
        return None
    return _steps(user, detail)


def _steps(user: User, detail: dict[str, Any]) -> dict[str, Any]:
    j = detail["jurisdiction"]
    p = policy.pack(j)
    return {
        "visit_id": detail["visit_id"],
        "child_name": detail["child_name"],
        "told": "、".join(unit_name(j, u) for u in detail["told"]),
        "station": unit_name(j, detail["station"]),
        "basis": citation.readable(REPORT_BASIS, p),
        "may_register": detail["may_register"],
    }


def _visit_page(
    request: Request,
    user: User,
    detail: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    row = _row(detail["jurisdiction"], detail)
    notes = (detail["previous"] or {}).get("outcome", {}).get("notes") if detail["previous"] else None
    return render(
        request,
        "visit",
        user,
        status_code=status_code,
        title=f"核实走访 · {row['child_name']}",
        nav="visits",
        v=row,
        last_notes=notes,
        fields=visit_fields(),
        values=values,
        errors=errors,
        steps=_steps(user, detail) if detail["concern"] else None,
        today=now().astimezone(CHINA_TZ).date().isoformat(),
    )


@router.get("/visits/{visit_id}")
def visit_form(request: Request, visit_id: str, user: User = Depends(page_user)) -> HTMLResponse:
    detail = visits_service.visit_detail(user.username, visit_id)
    today = now().astimezone(CHINA_TZ).date().isoformat()
    return _visit_page(request, user, detail, {"visited_on": today}, {})


def _zh(exc: ShouhuError) -> str:
    return ERROR_ZH.get(exc.code, "填写有误，请核对")


def check_all(fields: list[forms.FormField], data: dict[str, Any]) -> dict[str, str]:
    """Every problem of the form at once, each at its field (the service checks again, one by one)."""
    errors: dict[str, str] = {}
    names = {f.name for f in fields}
    try:
        VerificationOutcome.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problem = invalid_from(err)
            field = (problem.field or "notes").split(".")[0]
            errors.setdefault(field if field in names else "notes", _zh(problem))
    try:  # said here too, so it shows with the other problems
        if "visited_on" not in errors and date.fromisoformat(data["visited_on"]) > now().astimezone(CHINA_TZ).date():
            errors["visited_on"] = ERROR_ZH["visited_in_future"]
    except (KeyError, TypeError, ValueError):
        pass
    return errors


@router.post("/visits/{visit_id}")
async def visit_submit(request: Request, visit_id: str, user: User = Depends(page_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    detail = await run_in_threadpool(visits_service.visit_detail, user.username, visit_id)
    fields = visit_fields()
    values = {f.name: (form.getlist(f.name) if f.kind == "checkboxes" else form.get(f.name)) for f in fields}
    data = forms.parse_form(fields, form)
    errors = check_all(fields, data)
    if not errors:
        try:
            result = await run_in_threadpool(visits_service.complete_visit, visit_id, data, user.username)
        except InvalidInput as exc:
            if isinstance(exc, (Forbidden, NotFound)):
                raise  # the error page: refused (recorded) or unknown
            field = (exc.field or "notes").removeprefix("outcome.").split(".")[0]
            errors = {field if field in values else "notes": _zh(exc)}
    if errors:
        return _visit_page(request, user, detail, values, errors, status_code=400)
    name = detail["child_name"]
    if result["report_needed"]:
        request.session["visit_found"] = result["visit_id"]
        request.session["flash"] = f"已记录 {name} 的核实走访。发现困境情形：请按下方提示立即向公安机关报告。"
    else:
        late = "（已逾期完成）" if result["late"] else ""
        request.session["flash"] = (
            f"已记录 {name} 的核实走访{late}。未发现困境情形，下次走访在下一{period_word(detail)}的名单中。"
        )
    return RedirectResponse(f"/visits?unit={detail['unit']}", status_code=303)


def period_word(detail: dict[str, Any]) -> str:
    return "月" if "-" in detail["period"] else "季度"
