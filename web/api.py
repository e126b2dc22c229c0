"""REST API /api/v1: the same service layer as the CLI, the same error codes, access by case_scope.

Handlers are plain functions (FastAPI runs them in a worker thread), because a mutation runs
its stage flow to completion before answering, as the CLI does.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from models import User
from shouhu import service
from web.auth import api_user

router = APIRouter(prefix="/api/v1")
LIMIT = Query(50, ge=1, le=500)
OFFSET = Query(0, ge=0)


@router.get("/me", tags=["accounts"])
def me(user: User = Depends(api_user)) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role, "unit": user.unit,
            "jurisdiction": user.jurisdiction}


@router.post("/reports", status_code=201, tags=["reports"])
def create_report(report: dict[str, Any] = Body(...), user: User = Depends(api_user)) -> dict[str, Any]:
    """Register a mandatory report (police intake): the shape of `shouhu report`."""
    return service.submit_report(report, user.username)


@router.get("/cases", tags=["cases"])
def cases(stage: str | None = None, status: str | None = None, limit: int = LIMIT, offset: int = OFFSET,
          user: User = Depends(api_user)) -> dict[str, Any]:
    return service.list_cases(user.username, stage, status, limit, offset)


@router.get("/cases/{ref}", tags=["cases"])
def case(ref: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return service.show_case(ref, user.username)


@router.get("/cases/{ref}/timeline", tags=["cases"])
def case_timeline(ref: str, limit: int = Query(200, ge=1, le=1000), offset: int = OFFSET, user: User = Depends(api_user)) -> dict[str, Any]:
    events = service.case_timeline(ref, user.username)
    return {"items": events[offset:offset + limit], "total": len(events), "limit": limit, "offset": offset,
            "verified": service.verify_case(ref, user.username, record_read=False)["ok"]}


@router.get("/cases/{ref}/documents", tags=["documents"])
def case_documents(ref: str, user: User = Depends(api_user)) -> dict[str, Any]:
    docs = service.case_documents(ref, user.username)
    return {"items": docs, "total": len(docs)}


@router.get("/documents/{document_id}", tags=["documents"])
def document(document_id: str, user: User = Depends(api_user)) -> dict[str, Any]:
    return service.show_document(document_id, user.username)


@router.get("/tasks", tags=["tasks"])
def tasks(mine: bool = False, status: str | None = "open", limit: int = LIMIT, offset: int = OFFSET,
          user: User = Depends(api_user)) -> dict[str, Any]:
    return service.list_tasks_for(user.username, mine, status, limit, offset)


@router.post("/tasks/{task_id}/complete", tags=["tasks"])
def complete_task(task_id: str, outcome: dict[str, Any] = Body(...), user: User = Depends(api_user)) -> dict[str, Any]:
    """Record a task's outcome (the shapes of `shouhu task complete`); returns the case."""
    return service.complete_task(task_id, outcome, user.username)


@router.get("/breaches", tags=["managers"])
def breaches(open: bool = False, limit: int = Query(100, ge=1, le=1000), offset: int = OFFSET,  # noqa: A002
             user: User = Depends(api_user)) -> dict[str, Any]:
    return service.breaches_for(user.username, open, limit, offset)


@router.get("/sla", tags=["managers"])
def sla(from_: str = Query(..., alias="from"), to: str = Query(...), user: User = Depends(api_user)) -> dict[str, Any]:
    return service.sla_for(user.username, from_, to)
