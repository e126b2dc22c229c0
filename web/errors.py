"""One JSON error shape for the API, the same codes as the CLI: {"error": {"code","message","field"}}."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from urllib.parse import quote

from fastapi.responses import JSONResponse, RedirectResponse, Response

from shouhu.accounts import AuthFailed
from shouhu.errors import Conflict, Forbidden, NotFound, PolicyError, ShouhuError
from web.session import CsrfFailed, LoginRequired

log = logging.getLogger("shouhu.web")


def status_of(exc: ShouhuError) -> int:
    if isinstance(exc, AuthFailed):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 400


def _page(request: Request, status: int, exc: ShouhuError | None, message: str | None = None) -> Response:
    """An error as a page: a refusal says only that it is refused (and was recorded)."""
    from web.pages import render
    from web.session import page_user

    headings = {403: "无权访问", 404: "未找到", 409: "状态已变化", 401: "请登录"}
    if message is None:
        message = {403: "您没有查看或办理此项的权限。本次访问已记录。", 404: "没有找到您要的内容。"}.get(status, exc.message if exc else "")
    try:
        user = page_user(request)
    except Exception:  # noqa: BLE001 - an error page for someone not signed in
        user = None
    return render(request, "error", user, status_code=status, title=headings.get(status, "出错了"),
                  heading=headings.get(status, "出错了"), message=message)


def install(app: FastAPI) -> None:
    @app.exception_handler(ShouhuError)
    async def _shouhu(request: Request, exc: ShouhuError) -> Response:
        if not request.url.path.startswith("/api/"):
            return _page(request, status_of(exc), exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthFailed) else None
        return JSONResponse(exc.as_json(), status_code=status_of(exc), headers=headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _page(request, 403, None, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")

    @app.exception_handler(RequestValidationError)
    async def _shape(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"][1:]) or None
        return JSONResponse({"error": {"code": "invalid_value", "message": f"{field}: {err['msg']}", "field": field}}, status_code=400)

    @app.exception_handler(PolicyError)
    async def _policy(request: Request, exc: PolicyError) -> JSONResponse:
        return JSONResponse({"error": {"code": "policy_invalid", "message": str(exc), "field": f"{exc.file}:{exc.key}"}}, status_code=500)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)  # never the body: it may hold a child's data
        return JSONResponse({"error": {"code": "internal", "message": type(exc).__name__, "field": None}}, status_code=500)
