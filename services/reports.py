"""强制报告: registering a mandatory report, which opens the child's case or joins the open one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from models import Command
from services.commands import execute, payload_digest, replay
from services.reading import recorded
from shouhu import access, db, policy
from shouhu.clock import now
from shouhu.errors import InvalidInput
from shouhu.inputs import ReportIn, check_report, parse


def submit_report(data: Any, actor_name: str | None) -> dict[str, Any]:
    """Register a mandatory report (强制报告) and run the intake flow: `{"status": "applied", …}`,
    or `{"status": "queued", "case_no", …}` when the orchestrator does not answer (applied later)."""
    report = parse(ReportIn, data)
    p = policy.pack(report.jurisdiction)
    check_report(report)
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    recorded(actor, "report_register", p.pack, lambda: access.check_may_register(actor, p.pack))
    payload: dict[str, Any] = {"report": report.model_dump(mode="json")}
    payload["digest"] = payload_digest(payload["report"])
    key = f"{p.pack}:{report.idempotency_key or uuid.uuid4()}"
    existing = replay("report", key, payload)
    if existing is not None and existing.status == "applied":
        return _report_result(existing.result)
    if existing is not None and existing.status == "rejected":
        err = existing.result["error"]
        raise InvalidInput(err["code"], err["message"], err["field"])
    if existing is not None and existing.status == "failed":
        raise InvalidInput(
            "command_failed",
            "this report was stored but could not be applied; see `shouhu commands --status failed`",
            "idempotency_key",
        )
    from flows.intake import intake, open_case_for_report

    command = existing or Command(
        kind="report", idempotency_key=key, actor=actor.username, payload=payload, created_at=now()
    )
    return _report_result(execute(command, intake, open_case_for_report, [f"jurisdiction:{p.pack}"]))


def check_may_open_form(actor_name: str | None) -> None:
    """Only those who may register a report see its form; a refusal is recorded as a submitted one is."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    recorded(actor, "report_register", actor.jurisdiction, lambda: access.check_may_register(actor, actor.jurisdiction))


def _report_result(result: dict[str, Any]) -> dict[str, Any]:
    if result.get("status") == "queued":
        return result
    return {"status": "applied", **{k: result[k] for k in ("case_id", "case_no", "stage", "attached_to_existing")}}
