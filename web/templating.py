"""Every page and error page renders through here: one Jinja2 environment with autoescape on for every
template name (Starlette's default escapes only *.html), and the words pages use for codes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from services.accounts import User
from shouhu import config, policy
from shouhu.errors import ShouhuError
from shouhu.vocab import (
    CASE_STATUS_ZH,
    EVENT_NAMES_ZH,
    LABELS_ZH,
    MESSAGE_STATUS_ZH,
    STAGE_NAMES_ZH,
    TASK_STATUS_ZH,
    URGENCY_ZH,
    named,
)
from shouhu.wording import format_time
from web.session import csrf_token

templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(config.TEMPLATE_DIR / "web"), autoescape=True))
# Codes stay in JSON; pages name them in Chinese from shouhu.vocab (`x | named(case_status)`: a code
# no table names reads 其他, never the code) and say every moment as `x | when` (2026-11-24 09:00).
templates.env.filters.update(named=named, when=format_time)
templates.env.globals.update(
    labels=LABELS_ZH,
    case_status=CASE_STATUS_ZH,
    task_status=TASK_STATUS_ZH,
    message_status=MESSAGE_STATUS_ZH,
    urgency_names=URGENCY_ZH,
    stage_names=STAGE_NAMES_ZH,
    event_names=EVENT_NAMES_ZH,
    zh={**LABELS_ZH, **MESSAGE_STATUS_ZH, **TASK_STATUS_ZH, **CASE_STATUS_ZH},
)


def render(request: Request, name: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    unit = unit_name(user.jurisdiction, user.unit) if user else ""
    return templates.TemplateResponse(
        request,
        f"{name}.html.j2",
        {
            "user": user,
            "unit_name": unit,
            "csrf": csrf_token(request),
            "flash": request.session.pop("flash", None),
            **context,
        },
        status_code=status_code,
    )


def unit_name(jurisdiction: str, code: str) -> str:
    try:
        return policy.pack(jurisdiction).unit(code).name
    except ShouhuError:
        return code
