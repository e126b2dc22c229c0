"""The sweeper: one tick "as of now" fires every reminder, escalation and watch that has come.

Deployed every minute (prefect.yaml); `shouhu sweep` runs one tick at SHOUHU_NOW.
"""
from __future__ import annotations

from typing import Any

from prefect import flow

from shouhu.clock import parse_instant
from tasks.sweep import tick


@flow(name="sweeper", description="Fire due reminders, escalations and watches, once each")
async def sweeper(as_of: str | None = None) -> dict[str, Any]:
    return tick(parse_instant(as_of, "as_of") if as_of else None)
