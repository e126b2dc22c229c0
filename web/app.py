"""The ASGI app: `uvicorn web.app:app` or `shouhu serve`. No external assets, no CDN:
the interactive docs pages (which load from a CDN) are off; the OpenAPI document is served."""
from __future__ import annotations

from fastapi import FastAPI

from web import api, errors


def create_app() -> FastAPI:
    app = FastAPI(title="Shouhu 守护", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
                  description="Child-protection case pipelines: reports, cases, tasks, timeline, documents, breaches, SLA.")
    errors.install(app)
    app.include_router(api.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


app = create_app()
