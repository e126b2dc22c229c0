"""Stored commands the orchestrator has not run yet: finding them, and counting the ones whose
flow keeps failing for a reason other than the orchestrator (after the limit they are `failed`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from models import Command, Notification
from shouhu import db, policy, units
from shouhu.clock import now


def pending(older_than: datetime, limit: int) -> list[Command]:
    with Session(db.engine()) as s:
        rows = list(
            s.exec(
                select(Command)
                .where(Command.status == "pending", col(Command.created_at) <= older_than)
                .order_by(col(Command.created_at))
                .limit(limit)
            ).all()
        )
        for row in rows:
            s.expunge(row)
    return rows


def count_failure(command_id: uuid.UUID, error: str, limit: int) -> None:
    """One more failed run; the error is a type name only (a message may quote a child's data)."""
    with db.transaction() as s:
        c = s.get(Command, command_id)
        if c is None or c.status != "pending":
            return
        c.attempts += 1
        c.last_error = error[:300]
        if c.attempts >= limit:
            c.status = "failed"
            _tell_coordination_office(s, c)
        s.add(c)


def _tell_coordination_office(s: Session, c: Command) -> None:
    """A report or outcome that was acknowledged as queued and could not be applied: people must
    know at once (counts and ids only; nothing of what it says)."""
    from notifications.render import board_link, render

    jurisdiction = c.payload.get("report", {}).get("jurisdiction") or c.payload.get("jurisdiction")
    if not jurisdiction:
        return
    p = policy.pack(jurisdiction)
    office = units.resolve(p, "coordination_office", "", None)
    what = "强制报告" if c.kind == "report" else "任务办理结果"
    subject, body = render(
        "command_failed",
        case_no=c.payload.get("case_no") or (c.payload.get("reserved") or {}).get("case_no") or "—",
        stage="—",
        ask=f"一项已受理的{what}未能自动处理",
        due="—",
        link=board_link(s),
        unit_name=p.unit(office).name,
        jurisdiction=p.name,
        detail=f"编号 {c.id}，已尝试 {c.attempts} 次（{c.last_error}）。修复后请运行 shouhu commands retry {c.id}",
    )
    s.add(
        Notification(
            jurisdiction=jurisdiction,
            unit=office,
            event="command_failed",
            template="command_failed",
            dedupe_key=f"command_failed:{c.id}:{c.attempts}",
            subject=subject,
            body=body,
            created_at=now(),
        )
    )
