"""The village verification visits (seed 001 §二(一)6): the unit's list and recording a visit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import Unit
from shouhu import access, config, db, policy
from shouhu.clock import now
from shouhu.errors import InvalidInput, NotFound
from shouhu.inputs import parse


def list_visits(
    actor_name: str | None, unit: str, period: str | None = None, open_only: bool = False
) -> list[dict[str, Any]]:
    """A unit's visits with the child's name (the village director must know whom to visit).

    Needs a named user allowed to see the unit; the read is recorded, and so is a refusal.
    """
    from models import Child, VerificationVisit
    from tasks import verification

    with db.transaction() as s:
        actor = access.user(s, actor_name or config.settings().user)
        if s.exec(select(Unit).where(Unit.code == unit, Unit.jurisdiction == actor.jurisdiction)).first() is None:
            raise NotFound("unknown_unit", f"no unit {unit!r} in {actor.jurisdiction}", "unit")
        try:
            verification.check_may_see(actor, unit)
        except InvalidInput as exc:
            verification.record_access(s, actor.username, "ledger_read", unit, allowed=False, reason=exc.code)
            s.commit()
            raise
        verification.record_access(s, actor.username, "ledger_read", unit)
        query = (
            select(VerificationVisit, Child)
            .join(Child, col(Child.id) == VerificationVisit.child_id)
            .where(VerificationVisit.unit == unit)
        )
        if period:
            query = query.where(VerificationVisit.period == period)
        if open_only:
            query = query.where(VerificationVisit.status == "open")
        at = now()
        return [
            verification.visit_view(v, c, at)
            for v, c in s.exec(query.order_by(col(VerificationVisit.period), col(Child.name))).all()
        ]


def complete_visit(visit_ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """Record a verification visit; bad input changes nothing."""
    from shouhu.inputs import VerificationOutcome
    from tasks import verification

    try:
        visit_id = uuid.UUID(visit_ref)
    except ValueError:
        raise NotFound("unknown_visit", f"no verification visit {visit_ref!r}", "visit") from None
    outcome = parse(VerificationOutcome, data, "outcome")
    with db.transaction() as s:
        return verification.complete(s, visit_id, access.user(s, actor_name), outcome)


def visit_summary(jurisdiction: str, period: str | None = None) -> list[dict[str, Any]]:
    from tasks import verification

    policy.pack(jurisdiction)
    with Session(db.engine()) as s:
        return verification.summary(s, jurisdiction, period, now())
