"""Server-rendered pages (zh-CN): sign-in, intake form, task inbox and forms, case file, managers'
board with CSV export, and the unit's messages. Every page calls the same service layer as the
API and CLI, so the access rule and the validation are the ones already tested there."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import accounts, monthly
from services import cases as cases_service
from services import deadlines as deadlines_service
from services import documents as documents_service
from services import messages as messages_service
from services import notes as notes_service
from services import reports as reports_service
from services import stats as stats_service
from services import tasks as tasks_service
from services.accounts import User
from shouhu import policy
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Forbidden, InvalidInput, NotFound, ShouhuError
from shouhu.inputs import OUTCOMES
from shouhu.vocab import EVENT_NAMES_ZH, STAGE_NAMES_ZH, named
from shouhu.wording import event_summary, format_due, span, task_title, time_left
from web import approvals as approvals_web
from web import chart, forms, intake, messages
from web import context as case_context
from web import handovers as handover_pages
from web.errors import status_of
from web.forms import read_form
from web.session import check_csrf, page_user
from web.templating import render, unit_name

router = APIRouter(include_in_schema=False)
SOON = timedelta(hours=24)
STEPS = [
    ("report", "强制报告"),
    ("emergency", "应急处置"),
    ("assessment", "评估帮扶"),
    ("intervention", "监护干预"),
    ("closed", "结案"),
]


def _urgency(due_at: datetime, status: str = "open") -> str:
    if status != "open":
        return ""
    return "overdue" if due_at < now() else ("soon" if due_at - now() < SOON else "")


# ---- sign-in ---------------------------------------------------------------------------
def safe_next(target: object) -> str:
    """Where to go after signing in: a path on this site only (never //host, a scheme or odd characters)."""
    text = str(target or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text or len(text) > 500 or not text.isprintable():
        return "/"
    return text


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the query parameter is ?next=
    return render(request, "login", None, title="登录", next=safe_next(next), username="", error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    username, target = str(form.get("username", "")).strip(), safe_next(form.get("next"))
    source = request.client.host if request.client else ""
    try:
        user = await run_in_threadpool(
            accounts.login, username, str(form.get("password", "")), source
        )  # Argon2 is slow on purpose
    except accounts.AuthFailed:
        return render(
            request,
            "login",
            None,
            status_code=401,
            title="登录",
            next=target,
            username=username,
            error="用户名或密码错误，或因多次失败暂时无法登录。",
        )  # the same words for every reason (the reason is recorded)
    sid = await run_in_threadpool(accounts.start_session, user, source)
    request.session.clear()  # a new session on sign-in (no fixation)
    request.session.update({"sid": sid})
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    await run_in_threadpool(accounts.end_session, request.session.get("sid"), "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(user: User = Depends(page_user)) -> Response:
    target = {
        "police_intake": "/reports/new",
        "manager": "/board",
        "admin": "/admin/users",
        "village_director": "/visits",
    }.get(user.role, "/tasks")
    return RedirectResponse(target, status_code=303)


# ---- intake ----------------------------------------------------------------------------
# The form is shown only to those who may register (others: the 403 page, recorded); a submitted
# form comes back with every problem at its field at once, the first focused (web.intake).
def _report_page(
    request: Request, user: User, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    groups = intake.report_fields(user)
    errors = intake.in_form_order(groups, errors)
    return render(
        request,
        "report_new",
        user,
        status_code=status_code,
        title="登记强制报告",
        nav="report",
        groups=groups,
        field_labels=intake.labels_of(groups),
        values=values,
        errors=errors,
        first_error=next((name for name in errors if name != intake.FORM_ERROR), None),
        idempotency_key=values.get("idempotency_key") or str(uuid.uuid4()),
    )


@router.get("/reports/new")
async def report_form(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    await run_in_threadpool(reports_service.check_may_open_form, user.username)
    return _report_page(request, user, {}, {})


@router.post("/reports/new")
async def report_submit(request: Request, user: User = Depends(page_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    await run_in_threadpool(reports_service.check_may_open_form, user.username)
    values = intake.shown_back(form)
    data, errors = intake.read_report(user, form)
    if errors:
        return _report_page(request, user, values, errors, status_code=400)
    try:
        result = await run_in_threadpool(reports_service.submit_report, data, user.username)  # it runs a flow
    except InvalidInput as exc:
        if isinstance(exc, (Forbidden, NotFound)):
            raise  # the error page (a refusal is recorded)
        return _report_page(request, user, values, {intake.form_field(exc.field): messages.zh(exc)}, status_code=400)
    if result.get("status") == "queued":  # stored; the orchestrator does not answer: applied when it does
        request.session["flash"] = f"报告已受理并保存，案件编号 {result['case_no']}。{result['message']}"
        return RedirectResponse("/cases", status_code=303)
    request.session["flash"] = f"已登记：案件 {result['case_no']}" + (
        "（并入该儿童的在办案件）" if result["attached_to_existing"] else ""
    )
    return RedirectResponse(f"/cases/{result['case_no']}", status_code=303)


# ---- tasks -----------------------------------------------------------------------------
def _task_row(user: User, t: dict[str, Any], jurisdiction: str | None = None) -> dict[str, Any]:
    county = jurisdiction or user.jurisdiction  # a case sent here from another county: its own units
    p = policy.pack(county)
    due = datetime.fromisoformat(t["due_at"])
    return {
        **t,
        **handover_pages.task_row(user, t, county),
        "title": task_title(p, t["kind"], t["subject"]),
        "owner_name": unit_name(county, t["owner_unit"]),
        "due": format_due(due.astimezone(CHINA_TZ)),
        "urgency": _urgency(due, t["status"]),
        "left": time_left(due, now()) if t["status"] == "open" else "",
    }


@router.get("/tasks")
def task_inbox(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    def urgent_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The most overdue first, then the least time left."""
        return sorted(rows, key=lambda r: datetime.fromisoformat(r["due_at"]))

    mine = urgent_first(
        [_task_row(user, t) for t in tasks_service.list_tasks_for(user.username, mine=True, limit=500)["items"]]
    )
    others = urgent_first(
        [
            _task_row(user, t)
            for t in tasks_service.list_tasks_for(user.username, mine=False, limit=500)["items"]
            if t["owner_unit"] != user.unit
        ]
    )
    sections = [{"title": f"本单位（{unit_name(user.jurisdiction, user.unit)}）的任务", "rows": mine}]
    if others:
        sections.append({"title": "辖区内其他单位的任务", "rows": others})
    return render(request, "tasks", user, title="待办任务", nav="tasks", sections=sections, as_of=format_due(now()))


def _task_page(
    request: Request, user: User, task_id: str, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    task = tasks_service.task_detail(task_id, user.username)
    p = policy.pack(task["jurisdiction"])
    due = datetime.fromisoformat(task["due_at"])
    title = task_title(p, task["kind"], task["subject"])
    summary = cases_service.case_summary(
        task["case_no"], user.username, record_read=True, view="task"
    )  # the page shows the case: one recorded read
    return render(
        request,
        "task",
        user,
        status_code=status_code,
        title=title,
        nav="tasks",
        task_id=task["task_id"],
        task_title=title,
        case_no=task["case_no"],
        owner_name=unit_name(task["jurisdiction"], task["owner_unit"]),
        due=format_due(due),
        overdue=_urgency(due, task["status"]) == "overdue",
        status=task["status"],
        fields=_fields_for(p, task["kind"]),
        values=values,
        errors=errors,
        acknowledge=tasks_service.ACKNOWLEDGEMENTS.get(task["kind"]),
        context=case_context.sections(summary, task["kind"], task["task_id"]),
        context_masked=summary["masked"],
        context_title="案情",
        **handover_pages.task_context(user, task),
    )


def _fields_for(p: policy.Pack, kind: str) -> list[forms.FormField]:
    if kind in tasks_service.ACKNOWLEDGEMENTS:
        return []  # one tap
    return forms.fields_of(OUTCOMES[kind], case_context.choices(p))


@router.get("/tasks/{task_id}")
def task_form(request: Request, task_id: str, user: User = Depends(page_user)) -> HTMLResponse:
    return _task_page(request, user, task_id, {}, {})


@router.post("/tasks/{task_id}")
async def task_submit(request: Request, task_id: str, user: User = Depends(page_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    task = tasks_service.task_detail(task_id, user.username)
    fields = _fields_for(policy.pack(task["jurisdiction"]), task["kind"])
    values = {f.name: (form.getlist(f.name) if f.kind == "checkboxes" else form.get(f.name)) for f in fields}
    try:
        case = await run_in_threadpool(
            tasks_service.complete_task, task_id, forms.parse_form(fields, form), user.username
        )
    except (ValueError, ShouhuError) as exc:
        field = (getattr(exc, "field", None) or "notes").removeprefix("outcome.").split(".")[0]
        message = messages.zh(exc) if isinstance(exc, ShouhuError) else "日期或时间格式不正确"
        return _task_page(
            request,
            user,
            task_id,
            values,
            {field if field in values else "notes": message},
            status_code=status_of(exc) if isinstance(exc, ShouhuError) else 400,
        )
    request.session["flash"] = f"已受理并保存。{case['message']}" if case.get("status") == "queued" else "已提交"
    return RedirectResponse(f"/cases/{case['case_no']}", status_code=303)


# ---- cases -----------------------------------------------------------------------------
@router.get("/cases")
def cases(
    request: Request, offset: int = Query(0, ge=0, le=10_000_000), user: User = Depends(page_user)
) -> HTMLResponse:
    page = cases_service.list_cases(user.username, limit=50, offset=max(0, offset))
    names = {u.code: u.name for u in policy.pack(user.jurisdiction).unit_list}
    return render(
        request, "cases", user, title="案件", nav="cases", stage_names=STAGE_NAMES_ZH, unit_names=names, **page
    )


TIMELINE_FILTERS_ZH = {"all": "全部", "tasks": "办理经过", "notes": "工作记录", "messages": "消息", "reads": "查阅记录"}


@router.get("/cases/{ref}")
def case_file(
    request: Request, ref: str, kind: str = Query("all", max_length=20), user: User = Depends(page_user)
) -> HTMLResponse:
    case = cases_service.show_case(
        ref, user.username
    )  # one recorded read per page view; the rest read under the same check
    timeline = cases_service.case_timeline(ref, user.username, record_read=False, group=kind)
    summary = cases_service.case_summary(ref, user.username)
    check = cases_service.verify_case(ref, user.username, record_read=False)
    documents = documents_service.case_documents(ref, user.username, record_read=False)
    p = policy.pack(case["jurisdiction"])
    reached = {"emergency": 1, "assessment": 2, "intervention": 3, "closed": 4}[case["stage"]]
    entered_intervention = any(t["stage"] == "intervention" for t in case["tasks"])
    steps = []
    for i, (key, name) in enumerate(STEPS):
        if key == "intervention" and not entered_intervention:
            state = ""  # not every case needs 监护干预
        elif case["stage"] == "closed":
            state = "done"
        else:
            state = "done" if i < reached else ("current" if i == reached else "")
        steps.append((key, name, state))
    notifications = [
        {
            **n,
            "at": format_due(datetime.fromisoformat(n["at"])),
            "unit_name": unit_name(case["jurisdiction"], n["unit"]),
        }
        for n in messages_service.case_messages(ref, user.username)
    ]
    tasks = [_task_row(user, t, case["jurisdiction"]) for t in case["tasks"]]
    return render(
        request,
        "case",
        user,
        title=case["case_no"],
        nav="cases",
        case=case,
        steps=steps,
        tasks=tasks,
        documents=documents,
        notifications=notifications,
        timeline=[{**e, "summary": event_summary(e["kind"], e["summary"])} for e in timeline],
        timeline_filter=kind,
        timeline_filters=list(TIMELINE_FILTERS_ZH.items()),
        context=[s for s in case_context.sections(summary) if s["key"] != "child"],
        context_masked=summary["masked"],
        context_title="案情摘要",
        verified=check["ok"],
        broken_at=check["broken_at"],
        stage_names=STAGE_NAMES_ZH,
        event_names=EVENT_NAMES_ZH,
        unit_names={u.code: u.name for u in p.unit_list},
        **_notes_context(request, user, ref),
        **handover_pages.case_context(user, case),
        **approvals_web.case_context(request, user, ref, case),
    )


def file_size(size: int) -> str:
    """As people read a file's size: 512 字节, 38 KB, 2.4 MB (a small photo is not "0 KB")."""
    if size < 1024:
        return f"{size} 字节"
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"


def _notes_context(request: Request, user: User, ref: str) -> dict[str, Any]:
    """工作记录与附件 for the case page (the page's read is already recorded)."""
    problem = request.session.pop("notes_problem", None)
    return {
        "notes": [
            {
                **n,
                "at_text": format_due(datetime.fromisoformat(n["at"])),
                "kind_text": notes_service.NOTE_KINDS_ZH.get(n["kind"] or "", "其他"),
            }
            for n in notes_service.list_notes(ref, user.username, record_read=False)
        ],
        "attachments": [
            {
                **a,
                "at_text": format_due(datetime.fromisoformat(a["created_at"])),
                "size_text": file_size(a["size"]),
                "image": a["content_type"].startswith("image/"),
            }
            for a in notes_service.list_attachments(ref, user.username)
        ],
        "may_write": user.role in notes_service.WRITING_ROLES,
        "note_kinds": list(notes_service.NOTE_KINDS_ZH.items()),
        "problem": problem or {},
    }


@router.get("/documents/{document_id}")
def document(document_id: str, user: User = Depends(page_user)) -> HTMLResponse:
    """The stored document as issued, with a bar (not printed) leading back to the case and to its PDF."""
    shown = documents_service.show_document(document_id, user.username)
    bar = (
        '<nav class="shouhu-bar" style="font:14px sans-serif;padding:8px;border-bottom:1px solid #ccc;margin-bottom:12px">'
        f'<a href="/cases/{html.escape(shown["case_no"])}">← 返回案件 {html.escape(shown["case_no"])}</a> · '
        f'<a href="/documents/{html.escape(shown["document_id"])}/pdf">打印或下载 PDF</a>'
        + (" · 已脱敏" if shown["masked"] else "")
        + "</nav><style>@media print{.shouhu-bar{display:none}}</style>"
    )
    content = shown["content"]
    at = re.search(r"<body[^>]*>", content)
    return HTMLResponse(content[: at.end()] + bar + content[at.end() :] if at else bar + content)


@router.get("/documents/{document_id}/pdf")
def document_pdf(document_id: str, user: User = Depends(page_user)) -> Response:
    """The document as PDF (Chinese fonts embedded), shown in the browser's viewer to print or save."""
    shown, data = documents_service.document_pdf(document_id, user.username)
    return pdf_response(shown, data, inline=True)


def pdf_response(shown: dict[str, Any], data: bytes, inline: bool) -> Response:
    name = quote(f"{shown['case_no']}-{shown['title']}.pdf")
    disposition = "inline" if inline else "attachment"
    return Response(
        data, media_type="application/pdf", headers={"content-disposition": f"{disposition}; filename*=UTF-8''{name}"}
    )


@router.get("/inbox")
def inbox(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    return render(request, "inbox", user, title="消息", nav="inbox", messages=messages_service.inbox(user.unit))


# ---- managers' board -------------------------------------------------------------------
WEEKS = 8
BOARD_ROWS = 500  # the most urgent first (督办, then level, then due); the CSV has them all


def _board_rows(user: User, limit: int | None = BOARD_ROWS) -> list[dict[str, Any]]:
    p = policy.pack(user.jurisdiction)
    rows = deadlines_service.list_breaches(user.jurisdiction, None, True, actor=user, limit=limit)
    for b in rows:
        b["title"] = (
            task_title(p, b["kind"], b["subject"]) if b["kind"] in p.tasks or b["subject"] else named(b["kind"])
        )
        b["owner_name"] = unit_name(user.jurisdiction, b["owner_unit"])
        b["due"] = format_due(datetime.fromisoformat(b["due_at"]))
        b["late"] = span(timedelta(minutes=b["late_by_minutes"]))
    return rows


@router.get("/board")
def board(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    if user.role not in stats_service.SLA_ROLES:
        raise Forbidden("not_permitted", "the board is for managers and civil affairs", "as")
    breaches = _board_rows(user)
    summary: dict[tuple[str, str], dict[str, Any]] = {}
    counted = deadlines_service.breach_summary(user.username)
    for c in counted:
        row = summary.setdefault(
            (c["owner_unit"], c["stage"]),
            {"unit_name": unit_name(user.jurisdiction, c["owner_unit"]), "stage": c["stage"], "levels": {}, "top": 0},
        )
        row["levels"][c["level"]] = row["levels"].get(c["level"], 0) + c["count"]
        row["top"] += c["count"] if c["level"] >= 3 or c["supervised"] else 0
    total = sum(c["count"] for c in counted)
    today = now().astimezone(CHINA_TZ).date()
    weeks, by_unit = stats_service.weekly_compliance(user.jurisdiction, today - timedelta(days=7 * WEEKS), WEEKS)
    series = {
        f"{unit_name(user.jurisdiction, unit)}·{named(stage, STAGE_NAMES_ZH)}": values
        for (unit, stage), values in by_unit.items()
    }
    failed = [
        {**f, "unit_name": unit_name(user.jurisdiction, f["unit"])}
        for f in messages_service.outbox("failed", user.jurisdiction)
    ]
    return render(
        request,
        "board",
        user,
        title="督办看板",
        nav="board",
        jurisdiction=policy.pack(user.jurisdiction).name,
        as_of=format_due(now()),
        breaches=breaches,
        total=total,
        shown=BOARD_ROWS,
        summary=sorted(summary.values(), key=lambda r: (-r["top"], r["unit_name"])),
        weeks=WEEKS,
        chart=chart.compliance_svg(weeks, series),
        chart_weeks=[chart.week_name(w) for w in weeks],
        chart_rows=sorted(series.items()),
        supervised=sum(c["count"] for c in counted if c["supervised"]),
        failed=failed,
        stage_names=STAGE_NAMES_ZH,
        month=monthly.current_month(),
    )


@router.get("/board.csv")
def board_csv(user: User = Depends(page_user)) -> Response:
    if user.role not in stats_service.SLA_ROLES:
        raise Forbidden("not_permitted", "the board is for managers and civil affairs", "as")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["案件编号", "任务", "责任单位", "阶段", "时限", "级别", "督办", "已逾期（分钟）"])
    for b in _board_rows(user, limit=None):
        writer.writerow(
            [
                b["case_no"],
                b["title"],
                b["owner_name"],
                named(b["stage"], STAGE_NAMES_ZH),
                b["due"],
                b["level"],
                "是" if b["supervised"] else "",
                b["late_by_minutes"],
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",  # BOM: Excel opens UTF-8 Chinese correctly
        headers={"Content-Disposition": f'attachment; filename="board-{now():%Y%m%d}.csv"'},
    )


@router.get("/board/stats.xlsx")
def board_stats(month: str | None = Query(None, max_length=20), user: User = Depends(page_user)) -> Response:
    """The month's statistics for the 民政局 (counts only): default this month by the clock."""
    from urllib.parse import quote

    name, content = monthly.workbook_for(user.username, user.jurisdiction, month)
    return Response(
        content,
        media_type=monthly.XLSX,
        headers={"Content-Disposition": f"attachment; filename=\"stats.xlsx\"; filename*=UTF-8''{quote(name)}"},
    )
