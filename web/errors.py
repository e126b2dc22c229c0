"""One JSON error shape for the API, the same codes as the CLI: {"error": {"code","message","field"}}."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shouhu.accounts import AuthFailed
from shouhu.errors import Conflict, Forbidden, NotFound, PolicyError, ShouhuError

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


def install(app: FastAPI) -> None:
    @app.exception_handler(ShouhuError)
    async def _shouhu(request: Request, exc: ShouhuError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthFailed) else None
        return JSONResponse(exc.as_json(), status_code=status_of(exc), headers=headers)

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
