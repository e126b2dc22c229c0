"""The sweeper: one tick "as of now" fires every reminder, escalation and watch that has come,
then sends what it queued (supervisors hear of an escalation within seconds, not a minute), and
resumes any report or task completion queued while the orchestrator did not answer.

Deployed every minute (prefect.yaml); `shouhu sweep` runs one tick at SHOUHU_NOW.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.resume import resume_pending
from notifications.dispatch import dispatch
from shouhu.clock import parse_instant
from tasks.sweep import tick


@flow(name="sweeper", description="Fire due reminders, escalations and watches, once each; resume queued commands")
async def sweeper(as_of: str | None = None) -> dict[str, Any]:
    result = tick(parse_instant(as_of, "as_of") if as_of else None)
    result["dispatched"] = dispatch()
    result["resumed"] = await resume_pending()  # what was queued while the orchestrator was away
    return result
