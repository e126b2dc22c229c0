"""The ASGI app: `uvicorn web.app:app` or `shouhu serve`. No external assets, no CDN:
the interactive docs pages (which load from a CDN) are off; the OpenAPI document is served."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from shouhu import config
from shouhu.inputs import LIMITS
from web import admin, api, children, errors, handovers, pages, session, visits
from web import approvals as approvals_web
from web import ledger as ledger_pages
from web import notes as notes_pages
from web import onefile as onefile_pages
from web.middleware import Guard


def create_app() -> FastAPI:
    app = FastAPI(
        title="Shouhu 守护",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        description="Child-protection case pipelines: reports, cases, tasks, timeline, documents, breaches, SLA.",
    )
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(ledger_pages.router)
    app.include_router(visits.router)
    app.include_router(children.router)
    app.include_router(notes_pages.router)
    app.include_router(handovers.router)
    app.include_router(onefile_pages.router)
    app.include_router(approvals_web.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    # Signed with itsdangerous; HttpOnly always; SameSite=Lax; Secure when served over HTTPS (SHOUHU_SECURE_COOKIES=1).
    app.add_middleware(
        SessionMiddleware,
        secret_key=session.secret_key(),
        session_cookie="shouhu_session",
        max_age=session.max_age(),
        same_site="lax",
        https_only=config.settings().secure_cookies,
    )

    # Outermost: security headers on every answer, bounded bodies, unexpected errors in our shape.
    app.add_middleware(
        Guard,
        body_bytes=LIMITS.body_bytes,
        upload_bytes=LIMITS.upload_bytes,
        upload_paths=ledger_pages.UPLOAD_PATHS,
        upload_suffixes=notes_pages.UPLOAD_SUFFIXES,
    )

    def openapi() -> dict:
        """FastAPI's document, plus the request-body schemas web.api reads itself."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(api.schemas())
            for path in schema.get("paths", {}).values():  # we answer 400 in our own shape, never FastAPI's 422
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to adjust the schema

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


app = create_app()
