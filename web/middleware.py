"""The outermost layer of every response: security headers, and an unexpected error answered in
the documented shape without dropping the client's connection.

Content-Security-Policy: our pages run no script at all (script-src 'self' leaves room for a
file of our own, never an inline one), load nothing from elsewhere and cannot be framed. Stored
documents get a stricter policy: a sandbox with no scripts, their own inline print stylesheet.
Pages and API answers carry a child's data, so nothing is cached on the way.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shouhu.web")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PDF_CSP = "frame-ancestors 'none'"
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-downloads allow-top-navigation-by-user-activation"
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
INTERNAL_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>出错了 · 守护</title>'
    '<link rel="stylesheet" href="/static/app.css"></head><body><main><div class="card"><h1>出错了</h1>'
    '<p>系统内部错误。请稍后重试；如仍失败，请联系系统管理员。</p><p><a href="/">返回首页</a></p>'
    "</div></main></body></html>"
)


def security_headers(path: str) -> dict[str, str]:
    csp = (
        PDF_CSP  # the browser's own PDF viewer shows it: a sandbox would block the viewer
        if path.startswith(("/documents/", "/api/v1/documents/")) and path.endswith("/pdf")
        else DOCUMENT_CSP
        if path.startswith("/documents/")
        else ATTACHMENT_CSP
        if path.startswith(("/attachments/", "/api/v1/attachments/"))
        else PAGE_CSP
    )
    headers = {**COMMON, "content-security-policy": csp}
    if not path.startswith("/static/"):
        headers["cache-control"] = "no-store"
    return headers


class BodyTooLarge(Exception):
    """The request body is longer than `input_limits.body_bytes`."""


class Guard:
    """Pure ASGI (so an exception never reaches the server, which would close the connection).

    Also bounds every request body (`input_limits.body_bytes`): by its Content-Length at once, and
    while it streams when it has none."""

    def __init__(
        self,
        app: ASGIApp,
        body_bytes: int,
        upload_bytes: int | None = None,
        upload_paths: frozenset[str] = frozenset(),
        upload_suffixes: tuple[str, ...] = (),
    ) -> None:
        self.app, self.body_bytes = app, body_bytes
        self.upload_bytes, self.upload_paths = upload_bytes or body_bytes, upload_paths
        self.upload_suffixes = upload_suffixes

    def limit(self, scope: Scope) -> int:
        """The body limit of this request: a file upload (the ledger page; a case's attachments, page and API)
        takes `upload_bytes`, everything else `body_bytes` (the service then applies its own file limit)."""
        path = scope.get("path") or ""
        upload = path in self.upload_paths or (bool(self.upload_suffixes) and path.endswith(self.upload_suffixes))
        return self.upload_bytes if scope.get("method") == "POST" and upload else self.body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        extra = security_headers(scope.get("path", ""))
        received = 0
        limit = self.limit(scope)

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for key, value in extra.items():
                    if key not in headers:
                        headers[key] = value
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        odd = unprintable_part(scope)
        if odd is not None:
            await refused(scope.get("path", ""), odd)(scope, receive, send_with_headers)
            return
        try:
            if not length.isdigit() or int(length) > limit:
                raise BodyTooLarge()
            await self.app(scope, bounded_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await too_large(scope.get("path", ""), limit)(scope, receive, send_with_headers)
        except Exception as exc:  # the one place an unexpected error is answered
            # Never the body or the query: either may hold a child's data.
            log.error("internal error on %s %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__)
            if started:
                raise
            await internal_error(scope.get("path", ""))(scope, receive, send_with_headers)


def unprintable_part(scope: Scope) -> str | None:
    """The name of the address part (`path` or a query parameter) that holds a control character:
    no identifier, filter or page number ever does, and a database must never be asked for one."""
    if not printable(scope.get("path", "")):
        return "path"
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if not printable(key) or not printable(value):
            return key if printable(key) else "query"
    return None


def printable(text: str) -> bool:
    return all(unicodedata.category(ch) not in ("Cc", "Cs") for ch in text)


def refused(path: str, field: str) -> Any:
    message = f"{field}: holds a control character, which no address may contain"
    if path.startswith("/api/"):
        return JSONResponse(
            {"error": {"code": "control_character", "message": message, "field": field}}, status_code=400
        )
    return HTMLResponse(
        INTERNAL_PAGE.replace("出错了</h1>", "地址有误</h1>", 1).replace(
            "系统内部错误。请稍后重试；如仍失败，请联系系统管理员。", "地址中含有不允许的控制字符，请检查链接。"
        ),
        status_code=400,
    )


def too_large(path: str, limit: int) -> Any:
    error = {"error": {"code": "too_large", "message": f"body: at most {limit} bytes are accepted", "field": "body"}}
    if path.startswith("/api/"):
        return JSONResponse(error, status_code=413)
    return HTMLResponse(
        INTERNAL_PAGE.replace("出错了</h1>", "内容过大</h1>", 1).replace(
            "系统内部错误。请稍后重试；如仍失败，请联系系统管理员。", "提交的内容过大，未被受理。请删减后重试。"
        ),
        status_code=413,
    )


def internal_error(path: str) -> Any:
    if path.startswith("/api/"):
        return JSONResponse(
            {
                "error": {
                    "code": "internal",
                    "message": "internal error (logged without the request body)",
                    "field": None,
                }
            },
            status_code=500,
        )
    return HTMLResponse(INTERNAL_PAGE, status_code=500)
