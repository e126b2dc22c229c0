"""Resuming what was queued: each report or task completion stored while the orchestrator did not
answer runs its stage flow (a subflow of the sweeper), oldest first, exactly once — applying a
command locks its row and a second run finds it applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import tags as prefect_tags

from flows.runner import command_flow, is_unavailable
from shouhu import policy
from shouhu.clock import now
from tasks import commands


async def resume_pending() -> dict[str, int]:
    rule = policy.orchestrator_rule()
    counts = {"resumed": 0, "failed": 0, "left": 0}
    waiting = commands.pending(now() - timedelta(seconds=rule.resume_after_seconds), rule.resume_batch)
    for n, c in enumerate(waiting):
        try:
            with prefect_tags(*_tags(c)):
                await command_flow(c)(command_id=str(c.id))
        except Exception as exc:  # noqa: BLE001 - one stuck command must not stop the others
            if is_unavailable(exc):
                counts["left"] = len(waiting) - n
                break
            commands.count_failure(c.id, type(exc).__name__, rule.max_resume_attempts)
            counts["failed"] += 1
            continue
        counts["resumed"] += 1
    return counts


def _tags(c: Any) -> list[str]:
    if c.kind == "report":
        return ["resumed", f"jurisdiction:{c.payload['report']['jurisdiction']}"]
    return ["resumed", c.payload.get("case_no", ""), f"jurisdiction:{c.payload.get('jurisdiction', '')}"]
