"""One error shape on every face: {"error": {"code","message","field"}} for the API (the CLI's codes),
an error page in Chinese for the pages — for our own errors, FastAPI's validation, unknown routes,
wrong methods and bodies that cannot be read alike. Unexpected errors are web.middleware.Guard's."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.accounts import AuthFailed
from shouhu.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyError,
    ShouhuError,
)
from shouhu.inputs import invalid_from
from web.session import CsrfFailed, LoginRequired, PasswordChangeRequired

HEADINGS = {
    400: "填写有误",
    401: "请登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持的操作",
    409: "状态已变化",
    413: "内容过大",
}
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}


def status_of(exc: ShouhuError) -> int:
    if isinstance(exc, AuthFailed):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if exc.code == "too_large":
        return 413
    if exc.code == "pdf_unavailable":
        return 503
    return 400


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(request: Request, status: int, exc: ShouhuError | None, message: str | None = None) -> Response:
    """An error as a page: a refusal says only that it is refused (and was recorded)."""
    from web import messages
    from web.session import optional_page_user
    from web.templating import render

    if message is None:
        message = {
            403: "您没有查看或办理此项的权限。本次访问已记录。",
            404: "没有找到您要的内容。",
            405: "此地址不支持这种操作。",
        }.get(status) or (messages.zh(exc) if exc else "请求无法处理。")
    user = optional_page_user(request)
    return render(
        request,
        "error",
        user,
        status_code=status,
        title=HEADINGS.get(status, "出错了"),
        heading=HEADINGS.get(status, "出错了"),
        message=message,
    )


def answer(request: Request, exc: ShouhuError) -> Response:
    if not _is_api(request):
        return _page(request, status_of(exc), exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthFailed) else None
    return JSONResponse(exc.as_json(), status_code=status_of(exc), headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ShouhuError)
    async def _shouhu(request: Request, exc: ShouhuError) -> Response:
        return answer(request, exc)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return _page(request, 403, None, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")

    @app.exception_handler(RequestValidationError)
    async def _shape(request: Request, exc: RequestValidationError) -> Response:
        err = dict(exc.errors()[0])
        err["loc"] = tuple(err.get("loc", ()))[1:]  # ("query", "limit") → limit
        return answer(request, invalid_from(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = {404: f"no such address: {request.url.path[:200]}", 405: f"{request.method} is not allowed here"}.get(
            exc.status_code, str(exc.detail)
        )
        error = (NotFound if exc.status_code == 404 else InvalidInput)(
            code, message, "body" if exc.status_code == 400 else None
        )
        if not _is_api(request):
            return _page(request, exc.status_code, error)
        return JSONResponse(error.as_json(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(PolicyError)
    async def _policy(request: Request, exc: PolicyError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": "policy_invalid", "message": str(exc), "field": f"{exc.file}:{exc.key}"}},
            status_code=500,
        )
