"""Moving the clock and ticking the sweeper as the deployed flow would: tick, then dispatch."""

from __future__ import annotations

from datetime import datetime

from notifications.dispatch import dispatch
from shouhu import clock
from tasks import sweep


def tick_at(local: str) -> None:
    """`local` is Beijing time without offset, e.g. 2031-01-05T22:00."""
    at = datetime.fromisoformat(f"{local}:00+08:00")
    clock.set_now(at)
    sweep.tick(at)
    dispatch()
