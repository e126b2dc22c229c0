"""The outbox dispatcher as a flow: sends queued messages, retries those whose time has come.

Stage flows already send their own messages right after the transition; this scheduled run
(every minute, prefect.yaml; `shouhu dispatch`) catches retries and anything left behind.
The routing file is checked first: a broken one fails the run, naming the unit.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from notifications import routing
from notifications.dispatch import dispatch


@flow(name="dispatcher", description="Send queued notifications through each unit's channels, with retries")
async def dispatcher() -> dict[str, Any]:
    return dispatch(routes=routing.current())
