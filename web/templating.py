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
from shouhu.vocab import LABELS_ZH
from web.session import csrf_token

templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(config.TEMPLATE_DIR / "web"), autoescape=True))
# Codes stay in JSON; pages name them (risk levels, case and message status) in Chinese.
templates.env.globals["zh"] = {
    **LABELS_ZH,
    "open": "在办",
    "closed": "已结案",
    "phase_out": "渐退期",
    "queued": "待发送",
    "sent": "已发送",
    "failed": "未送达",
    "routed": "发送中",
    "read": "已读",
    "pending": "待发送",
    "done": "已完成",
    "cancelled": "已取消",
}


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
