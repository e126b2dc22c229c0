"""Every mutation is a stored command: validated, rehearsed (run and rolled back), stored, then run by
its flow. If the orchestrator does not answer, the stored command is the promise (`queued`)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import Command
from services.reading import by_id
from shouhu import db, policy
from shouhu.clock import now
from shouhu.errors import Conflict, InvalidInput


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def replay(kind: str, key: str, payload: dict[str, Any]) -> Command | None:
    with Session(db.engine()) as s:
        found = s.exec(select(Command).where(Command.kind == kind, Command.idempotency_key == key)).first()
    if found is not None and found.payload.get("digest") != payload.get("digest"):
        raise Conflict(
            "idempotency_key_reused",
            f"idempotency_key {key.split(':', 1)[-1]!r} was used for a different submission",
            "idempotency_key",
        )
    return found


QUEUED_ZH = "已受理并保存。编排服务暂时无法连接，恢复后一分钟内自动处理，无需重复提交。"


def execute(command: Command, flow_fn: Any, procedure: Any, tags: list[str]) -> dict[str, Any]:
    """Rehearse, store, run the stage flow. If the orchestrator does not answer, the stored
    command is the promise: the answer is `{"status": "queued", …}` and it is applied once,
    automatically, when the orchestrator answers again (resume_pending)."""
    from flows.runner import is_unavailable, run_flow
    from tasks.apply import rehearse

    rehearsal = rehearse(command, procedure)
    command = _store(command, rehearsal)
    try:
        result = run_flow(flow_fn, tags, command_id=str(command.id))
    except Exception as exc:
        stored = _command(command.id)
        if stored.status in ("applied", "rejected"):  # it was done; only the answer was lost on the way
            result = stored.result
        elif is_unavailable(exc):
            return _queued(stored)
        else:
            raise
    if "error" in result:
        err = result["error"]
        raise (Conflict if err["code"] in CONFLICTS else InvalidInput)(err["code"], err["message"], err["field"])
    return result


# Errors that mean the case moved on (exit 3): approvals and reopening (issue 16) add theirs.
CONFLICTS = {"task_not_open", "stale_version", "work_still_open"} | {
    "approval_not_pending",
    "approval_pending",
    "case_not_closed",
    "reopen_window_passed",
}


def _store(command: Command, rehearsal: dict[str, Any]) -> Command:
    """Store the command (once). A report that opens a case gets its case number and id now, so a
    queued report can be answered with the number the case will have."""
    try:
        with db.transaction() as s:
            if s.get(Command, command.id) is not None:
                return command  # a pending command being run again
            queued_case_no = _queued_for_same_child(s, command) if command.kind == "report" else None
            if (
                command.kind == "report" and queued_case_no is not None
            ):  # queued before us: the case it will open is ours too
                command.payload = {**command.payload, "attached_to": queued_case_no}
            elif command.kind == "report" and not rehearsal.get("attached_to_existing"):
                from flows.intake import next_case_no

                command.payload = {
                    **command.payload,
                    "reserved": {
                        "case_no": next_case_no(s, policy.pack(command.payload["report"]["jurisdiction"])),
                        "case_id": str(uuid.uuid4()),
                    },
                }
            elif command.kind == "report":
                command.payload = {**command.payload, "attached_to": rehearsal["case_no"]}
            s.add(command)
    except Exception:  # a concurrent twin with the same idempotency key was stored first
        twin = replay(command.kind, command.idempotency_key, command.payload)
        if twin is None:
            raise
        command = twin
    return command


def _queued_for_same_child(s: Session, command: Command) -> str | None:
    """The case number reserved by a report on the same child still waiting to be applied: the
    rehearsal cannot see that case yet, but this report will join it."""
    report = command.payload["report"]
    child = report["child"]
    for other in s.exec(select(Command).where(Command.kind == "report", Command.status == "pending")).all():
        theirs = other.payload.get("report", {})
        if theirs.get("jurisdiction") != report["jurisdiction"] or not (
            other.payload.get("reserved") or other.payload.get("attached_to")
        ):
            continue
        same = (child.get("id_number") and theirs["child"].get("id_number") == child["id_number"]) or (
            not child.get("id_number")
            and not theirs["child"].get("id_number")
            and all(theirs["child"].get(k) == child.get(k) for k in ("name", "birth_date", "township"))
        )
        if same:
            return (other.payload.get("reserved") or {}).get("case_no") or other.payload["attached_to"]
    return None


def _command(command_id: uuid.UUID) -> Command:
    with Session(db.engine()) as s:
        found = s.get_one(Command, command_id)
        s.expunge(found)
        return found


def _queued(command: Command) -> dict[str, Any]:
    """The acknowledgement of a stored command the orchestrator could not take yet."""
    answer: dict[str, Any] = {"status": "queued", "command_id": str(command.id), "message": QUEUED_ZH}
    if command.kind == "report":
        reserved = command.payload.get("reserved") or {}
        answer.update(
            {
                "idempotency_key": command.idempotency_key.split(":", 1)[1],
                "case_no": reserved.get("case_no") or command.payload.get("attached_to"),
                "case_id": reserved.get("case_id"),
                "attached_to_existing": not reserved,
            }
        )
    else:
        answer.update({"task_id": command.payload.get("task_id"), "case_no": command.payload.get("case_no")})
    return answer


def list_commands(status: str | None = "pending") -> list[dict[str, Any]]:
    """Stored commands by status, for the operator (no personal data: ids, kinds, times, counts)."""
    if status not in (None, "pending", "applied", "rejected", "failed"):
        raise InvalidInput(
            "invalid_value",
            f"--status must be pending, applied, rejected or failed; got {str(status)[:40]!r}",
            "status",
        )
    with Session(db.engine()) as s:
        query = select(Command)
        if status:
            query = query.where(Command.status == status)
        rows = s.exec(query.order_by(col(Command.created_at)).limit(1000)).all()
    return [
        {
            "command_id": str(c.id),
            "kind": c.kind,
            "status": c.status,
            "actor": c.actor,
            "created_at": c.created_at.isoformat(),
            "applied_at": c.applied_at.isoformat() if c.applied_at else None,
            "attempts": c.attempts,
            "last_error": c.last_error or None,
            "case_no": (c.result or {}).get("case_no")
            or (c.payload.get("reserved") or {}).get("case_no")
            or c.payload.get("attached_to")
            or c.payload.get("case_no"),
        }
        for c in rows
    ]


def retry_command(command_ref: str) -> dict[str, Any]:
    """Put a `failed` command back in the queue (after its cause was mended): the sweeper applies it."""
    with db.transaction() as s:
        command = by_id(s, Command, command_ref, "command")
        if command.status != "failed":
            raise Conflict(
                "not_failed", f"command {command.id} is {command.status}; only a failed one is retried", "command"
            )
        command.status, command.attempts, command.last_error = "pending", 0, ""
        command.created_at = now() - timedelta(seconds=policy.orchestrator_rule().resume_after_seconds)
        s.add(command)
    return {"command_id": str(command.id), "status": "pending"}
