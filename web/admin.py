"""Staff administration pages (managers and admins) and everyone's own password page.

Every action goes through services.accounts — the same rules, validation and AdminRecord as the
CLI and the API. A new account's temporary password is shown once, on the page that made it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import accounts
from services.accounts import User
from shouhu import policy
from shouhu.access import ADMINISTERING_ROLES, ROLE_UNIT_TYPES
from shouhu.errors import Forbidden, ShouhuError
from shouhu.vocab import ROLE_NAMES_ZH, named
from shouhu.wording import format_time
from web import forms, messages
from web.errors import status_of
from web.forms import read_form
from web.session import check_csrf, current_user, page_user
from web.templating import render, unit_name

router = APIRouter(include_in_schema=False)
ACTION_ZH = {
    "user_add": "新增账户",
    "user_move": "调整单位",
    "user_disable": "停用账户",
    "user_enable": "启用账户",
    "password_reset": "重设密码",
    "token_create": "新建接口令牌",
    "token_revoke": "吊销接口令牌",
    "sessions_end": "结束登录会话",
}


def _administrator(user: User) -> User:
    if user.role not in ADMINISTERING_ROLES:
        raise Forbidden("role_may_not_administer", "staff administration is for managers and admins", "as")
    return user


def _fields(user: User) -> list[forms.FormField]:
    units = [(u.code, u.name) for u in policy.pack(user.jurisdiction).unit_list]
    roles = [(r, named(r, ROLE_NAMES_ZH)) for r in ROLE_UNIT_TYPES]
    F = forms.FormField  # noqa: N806 - a class, aliased short for the field lists
    return [
        F("username", "用户名（小写字母、数字、. _ -）", "text", True),
        F("display_name", "姓名", "text", True),
        F("role", "角色", "select", True, roles),
        F("unit", "单位", "select", True, units),
    ]


def _users_page(
    request: Request,
    user: User,
    values: dict[str, Any],
    errors: dict[str, str],
    created: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = [
        {**u, "role_name": named(u["role"], ROLE_NAMES_ZH), "unit_name": unit_name(user.jurisdiction, u["unit"])}
        for u in accounts.list_users(user.jurisdiction, user.username)
    ]
    return render(
        request,
        "admin_users",
        user,
        status_code=status_code,
        title="人员管理",
        nav="admin",
        rows=rows,
        fields=_fields(user),
        values=values,
        errors=errors,
        created=created,
    )


@router.get("/admin/users")
def users(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    return _users_page(request, _administrator(user), {}, {})


@router.post("/admin/users")
async def add_user(request: Request, user: User = Depends(page_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    _administrator(user)
    values = {k: str(form.get(k) or "").strip() for k in ("username", "display_name", "role", "unit")}
    try:
        created = await run_in_threadpool(
            accounts.add_user, {**values, "jurisdiction": user.jurisdiction}, user.username
        )
    except ShouhuError as exc:
        field = exc.field if exc.field in values else "username"
        return _users_page(request, user, values, {field: messages.zh(exc)}, status_code=status_of(exc))
    created = {
        **created,
        "role_name": named(created["role"], ROLE_NAMES_ZH),
        "unit_name": unit_name(user.jurisdiction, created["unit"]),
    }
    return _users_page(request, user, {}, {}, created=created)


@router.get("/admin/users/{username}")
def user_page(request: Request, username: str, user: User = Depends(page_user)) -> HTMLResponse:
    return _user_page(request, _administrator(user), username, {})


def _user_page(
    request: Request, user: User, username: str, errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    account = accounts.get_user(username, user.username)
    if account["jurisdiction"] != user.jurisdiction:
        raise Forbidden("other_jurisdiction", "another county's account", "as")
    fitting = ROLE_UNIT_TYPES[account["role"]]
    units = [(u.code, u.name) for u in policy.pack(user.jurisdiction).unit_list if u.type in fitting]
    return render(
        request,
        "admin_user",
        user,
        status_code=status_code,
        title=f"账户 {account['username']}",
        nav="admin",
        account={
            **account,
            "role_name": named(account["role"], ROLE_NAMES_ZH),
            "unit_name": unit_name(user.jurisdiction, account["unit"]),
        },
        units=units,
        tokens=accounts.list_tokens(username, user.username),
        errors=errors,
    )


@router.post("/admin/users/{username}")
async def user_action(request: Request, username: str, user: User = Depends(page_user)) -> Response:
    """One form per action (move, disable, enable, revoke a token); each says what it did."""
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    _administrator(user)
    action = str(form.get("action") or "")
    acts = {
        "move": lambda: accounts.move_user(username, {"unit": str(form.get("unit") or "")}, user.username),
        "disable": lambda: accounts.set_disabled(username, True, user.username),
        "enable": lambda: accounts.set_disabled(username, False, user.username),
        "revoke": lambda: accounts.revoke_token(str(form.get("token_id") or ""), user.username),
    }
    done = {
        "move": "已调整单位",
        "disable": "已停用：登录会话已结束，接口令牌已吊销",
        "enable": "已启用",
        "revoke": "已吊销该令牌",
    }
    if action not in acts:
        return _user_page(request, user, username, {"action": "未知的操作"}, status_code=400)
    try:
        await run_in_threadpool(acts[action])
    except ShouhuError as exc:
        return _user_page(request, user, username, {action: messages.zh(exc)}, status_code=status_of(exc))
    request.session["flash"] = done[action]
    return RedirectResponse(f"/admin/users/{username}", status_code=303)


@router.get("/admin/records")
def records(request: Request, user: User = Depends(page_user)) -> HTMLResponse:
    rows = [
        {**r, "action_name": named(r["action"], ACTION_ZH), "at": format_time(r["at"])}
        for r in accounts.admin_records(_administrator(user).jurisdiction, user.username)
    ]
    return render(request, "admin_records", user, title="账户操作记录", nav="admin", rows=rows)


# ---- one's own password (forced at the first sign-in after an account is made or reset) ----
@router.get("/account/password")
def password_form(request: Request, user: User = Depends(current_user)) -> HTMLResponse:
    return render(request, "account_password", user, title="修改密码", errors={}, forced=user.must_change_password)


@router.post("/account/password")
async def password_change(request: Request, user: User = Depends(current_user)) -> Response:
    form = await read_form(request)
    check_csrf(request, form.get("csrf"))
    if str(form.get("new_password") or "") != str(form.get("repeat_password") or ""):
        return render(
            request,
            "account_password",
            user,
            status_code=400,
            title="修改密码",
            forced=user.must_change_password,
            errors={"repeat_password": "两次输入的新密码不一致"},
        )
    data = {
        "current_password": str(form.get("current_password") or ""),
        "new_password": str(form.get("new_password") or ""),
    }
    try:
        await run_in_threadpool(accounts.change_own_password, user.username, data)
    except ShouhuError as exc:
        field = exc.field if exc.field in ("current_password", "new_password") else "new_password"
        return render(
            request,
            "account_password",
            user,
            status_code=status_of(exc),
            title="修改密码",
            forced=user.must_change_password,
            errors={field: messages.zh(exc)},
        )
    source = request.client.host if request.client else ""
    sid = await run_in_threadpool(
        accounts.start_session, user, source
    )  # every other session ended with the old password
    request.session.clear()
    request.session.update({"sid": sid, "flash": "密码已修改"})
    return RedirectResponse("/", status_code=303)
