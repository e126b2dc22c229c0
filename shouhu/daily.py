"""Once-a-day jobs (the digest, the anchors, the rounds): each claimed in the database, so two
sweepers on two machines never do the same day's job twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models import Counter
from shouhu import policy
from shouhu.clock import CHINA_TZ


def claim(session: Session, marker: str) -> bool:
    """True once per marker, whoever asks first (the primary key decides)."""
    if session.get(Counter, marker) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Counter(name=marker, value=1))
            session.flush()
    except IntegrityError:
        return False
    return True


def daily_due(
    session: Session, as_of: datetime, hour_of: Callable[[policy.Pack], int], name: str
) -> Iterator[tuple[str, date]]:
    """(jurisdiction, local day) for each jurisdiction whose daily `name` job is due — at or after
    its hour (`hour_of(pack)`, Beijing time) — and not yet done today; claimed as it is yielded."""
    local = as_of.astimezone(CHINA_TZ)
    for jurisdiction in policy.jurisdiction_names():
        if local.hour >= hour_of(policy.pack(jurisdiction)) and claim(session, f"{name}:{jurisdiction}:{local.date()}"):
            yield jurisdiction, local.date()
