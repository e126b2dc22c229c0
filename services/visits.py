"""The village verification visits (seed 001 §二(一)6): the unit's list and recording a visit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, literal
from sqlmodel import Session, col, select

from models import Unit
from models.types import AwareDateTime
from shouhu import access, config, db, policy, units
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import InvalidInput, NotFound
from shouhu.inputs import parse
from shouhu.vocab import LABELS_ZH


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
        query = query.where(VerificationVisit.status != "cancelled")
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


# ---- the village pages: the unit's round with whom and where to visit ----------------------
PERIOD_FORMAT = r"^\d{4}(Q[1-4]|-(0[1-9]|1[0-2])|-[^\x00-\x7f]{1,30})$"  # quarter, month, a patrol window


def current_period(jurisdiction: str) -> str:
    """The period whose visits are due now (2026Q4 for a quarterly pack)."""
    from tasks.rounds import period_of

    return period_of(now().astimezone(CHINA_TZ).date(), policy.pack(jurisdiction).verification_visits.value)[0]


def visit_units(actor_name: str | None) -> list[tuple[str, str]]:
    """The units whose round the person may open, as (code, name): a village director its village, a
    township caseworker its villages (and the township, for children on file without a village),
    civil affairs and managers the county's villages and townships; nobody else any."""
    from tasks import verification

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name or config.settings().user)
    p = policy.pack(actor.jurisdiction)
    out = []
    for u in p.unit_list:
        if u.type not in ("village", "township"):
            continue
        try:
            verification.check_may_see(actor, u.code)
        except InvalidInput:
            continue
        if u.type == "village" or actor.role != "village_director":
            out.append((u.code, u.name))
    villages = [x for x in out if p.unit(x[0]).type == "village"]
    return villages + [x for x in out if x not in villages]  # villages first: that is where the visits are


def _checked(s: Session, actor: Any, unit: str, action: str, target: str) -> None:
    from tasks import verification

    try:
        verification.check_may_see(actor, unit)
    except InvalidInput as exc:
        verification.record_access(s, actor.username, action, target, allowed=False, reason=exc.code)
        s.commit()
        raise
    verification.record_access(s, actor.username, action, target)


PAGE_SIZE = 50  # children per page of the village list: a phone over a slow connection (issue 14 §4: < 100 KB)


def visit_sheet(
    actor_name: str | None, unit: str, period: str | None = None, page: int = 1, per_page: int = PAGE_SIZE
) -> dict[str, Any]:
    """The unit's round as the village pages show it, checked and recorded as `list_visits` is.

    Without `period`: this period's visits and every earlier one still open (those are the overdue
    ones). Each row has whom to visit (name, address, guardians, who cares for the child if a case
    placed them), the due date, whether overdue and by how many days, and what the previous visit
    found. Sorted overdue first, then open by due date, then done; `page` of `per_page` rows, with
    the counts of the whole list. Managers see the child masked.
    """
    import re

    from models import Child, VerificationVisit

    with db.transaction() as s:
        actor = access.user(s, actor_name or config.settings().user)
        if s.exec(select(Unit).where(Unit.code == unit, Unit.jurisdiction == actor.jurisdiction)).first() is None:
            raise NotFound("unknown_unit", f"no unit {unit!r} in {actor.jurisdiction}", "unit")
        if period is not None and not re.match(PERIOD_FORMAT, period):
            raise InvalidInput(
                "bad_period", f"period {period[:20]!r} is not like 2026Q4, 2026-11 or 2027-寒假重点时段巡查", "period"
            )
        _checked(s, actor, unit, "ledger_read", unit)
        this = current_period(actor.jurisdiction)
        query = (
            select(VerificationVisit, Child)
            .join(Child, col(Child.id) == VerificationVisit.child_id)
            .where(VerificationVisit.unit == unit)
        )
        if period:
            query = query.where(VerificationVisit.period == period)
        else:
            query = query.where(
                (col(VerificationVisit.period) == this)
                | ((col(VerificationVisit.period) < this) & (col(VerificationVisit.status) == "open"))
            )
        if page < 1 or not 1 <= per_page <= 500:
            raise InvalidInput("bad_page", "page must be 1 or more and per_page 1–500", "page")
        query = query.where(VerificationVisit.status != "cancelled")
        visible = access.may_see_identity(actor)
        at = now()
        # Overdue first, then open by due date, then done; the child's real name orders the list for
        # everyone (a masked one only shows). Sorted and paged by the database: a village of a
        # province's ledger has hundreds of children, and the page shows fifty.
        rank = case((col(VerificationVisit.status) != "open", 2), (col(VerificationVisit.due_at) < at, 0), else_=1)
        by_due = case(
            (col(VerificationVisit.status) != "open", literal(at, AwareDateTime())), else_=col(VerificationVisit.due_at)
        )
        names = {0: "overdue", 1: "open", 2: "done"}
        counted = dict(s.exec(query.with_only_columns(rank, func.count()).group_by(rank)).all())  # type: ignore[call-overload]
        counts = {name: int(counted.get(k, 0)) for k, name in names.items()}
        total = sum(counts.values())
        pages = max(1, -(-total // per_page))
        found = s.exec(
            query.order_by(rank, by_due, col(Child.name), col(VerificationVisit.id))
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        rows = _rows(s, found, visible)
    return {
        "unit": unit,
        "period": period or this,
        "current_period": this,
        "masked": not visible,
        "rows": rows,
        "counts": counts,
        "total": total,
        "page": min(page, pages),
        "pages": pages,
    }


def visit_detail(actor_name: str | None, visit_ref: str) -> dict[str, Any]:
    """One visit with the child's context (for the form), checked and recorded like the list; plus
    whether this person may record it, and for a visit that found a concern, who was told and which
    police station covers the area (the police register reports: 强制报告意见 art. 8)."""
    from models import Child, VerificationVisit
    from tasks import verification

    try:
        visit_id = uuid.UUID(visit_ref)
    except ValueError:
        raise NotFound("unknown_visit", f"no verification visit {visit_ref[:64]!r}", "visit") from None
    with db.transaction() as s:
        actor = access.user(s, actor_name or config.settings().user)
        found = s.exec(
            select(VerificationVisit, Child)
            .join(Child, col(Child.id) == VerificationVisit.child_id)
            .where(VerificationVisit.id == visit_id)
        ).first()
        if found is None or found[0].jurisdiction != actor.jurisdiction:
            raise NotFound("unknown_visit", f"no verification visit {visit_ref[:64]!r}", "visit")
        visit = found[0]
        _checked(s, actor, visit.unit, "visit_read", str(visit.id))
        row = _rows(s, [found], access.may_see_identity(actor))[0]
        p = policy.pack(visit.jurisdiction)
        chain = units.chain_up(p, visit.unit)
        township = next((c for c in chain if p.unit(c).type == "township"), visit.unit)
        row.update(
            may_record=actor.role in verification.VISIT_ROLES and actor.unit in chain and visit.status == "open",
            may_register=actor.role in access.REGISTERING_ROLES,
            township=township,
            told=list(
                dict.fromkeys(
                    units.resolve(p, sel, township, visit.unit if visit.unit != township else None)
                    for sel in p.notify["verification_concern"].to
                )
            ),
            station=units.resolve(p, "station", township),
            jurisdiction=visit.jurisdiction,
        )
        return row


def concern_in(outcome: dict[str, Any]) -> bool:
    """A visit's finding that asks for a report (as `tasks.verification.complete` decides)."""
    return bool(outcome) and (
        outcome.get("guardianship") != "adequate"
        or outcome.get("schooling") == "out_of_school"
        or bool(outcome.get("concerns"))
    )


def _rows(s: Session, found: Any, visible: bool) -> list[dict[str, Any]]:
    """Visit rows with what the visitor needs: guardians, a carer a case recorded, the last finding."""
    from models import Case, Guardian, Task, VerificationVisit
    from shouhu import masking

    child_ids = list({c.id for _, c in found})
    guardians: dict[uuid.UUID, list[dict[str, Any]]] = {}
    carers: dict[uuid.UUID, str] = {}
    last: dict[uuid.UUID, VerificationVisit] = {}
    if child_ids:
        for g in s.exec(select(Guardian).where(col(Guardian.child_id).in_(child_ids))).all():
            guardians.setdefault(g.child_id, []).append(masking.guardian(g, visible))
        placed = s.exec(
            select(Case.child_id, Task.kind, Task.outcome)
            .join(Case, col(Case.id) == Task.case_id)
            .where(
                col(Case.child_id).in_(child_ids),
                col(Task.status) == "done",
                col(Task.kind).in_(["emergency_response", "temporary_care", "placement"]),
            )
            .order_by(col(Task.completed_at))
        ).all()
        for child_id, kind, outcome in placed:  # the latest placement a case recorded wins
            outcome = outcome or {}
            if kind == "temporary_care" and outcome.get("placed_at"):
                carers[child_id] = f"临时照料：{outcome['placed_at'] if visible else masking.HIDDEN}"
            elif kind == "placement" and outcome.get("placement"):
                carers[child_id] = f"安置：{LABELS_ZH.get(outcome['placement'], '')}"
            elif kind == "emergency_response" and "entrusted_care" in (outcome.get("measures") or []):
                carers[child_id] = "已落实委托照护（见书面交接书）"
        periods = {v.period for v, _ in found}
        for v in s.exec(
            select(VerificationVisit)
            .where(
                col(VerificationVisit.child_id).in_(child_ids),
                col(VerificationVisit.status) == "done",
                col(VerificationVisit.period) < max(periods),
            )
            .order_by(col(VerificationVisit.period))
        ).all():
            last[v.child_id] = v  # ordered by period: the newest done visit before the latest listed
    at = now()
    today = at.astimezone(CHINA_TZ).date()
    rows = []
    for v, c in found:
        child = masking.child(c, visible)
        overdue = v.status == "open" and at > v.due_at
        previous = last.get(c.id)
        if previous is not None and previous.period >= v.period:
            previous = None
        rows.append(
            {
                "visit_id": str(v.id),
                "period": v.period,
                "unit": v.unit,
                "status": v.status,
                "state": "done" if v.status != "open" else ("overdue" if overdue else "open"),
                "due_at": v.due_at.isoformat(),
                "due_on": v.due_at.astimezone(CHINA_TZ).date().isoformat(),
                "overdue_days": max(1, (today - v.due_at.astimezone(CHINA_TZ).date()).days) if overdue else 0,
                "child_id": str(c.id),
                "child_name": child["name"],
                "birth_date": child["birth_date"],
                "village": c.village,
                "township": c.township,
                "address": child["address"],
                "guardians": guardians.get(c.id, []),
                "carer": carers.get(c.id),
                "completed_by": v.completed_by,
                "completed_on": v.completed_at.astimezone(CHINA_TZ).date().isoformat() if v.completed_at else None,
                "outcome": _shown(v.outcome, visible),
                "concern": concern_in(v.outcome),
                "previous": (
                    {
                        "period": previous.period,
                        "outcome": _shown(previous.outcome, visible),
                        "concern": concern_in(previous.outcome),
                    }
                    if previous
                    else None
                ),
            }
        )
    return rows


def _shown(outcome: dict[str, Any], visible: bool) -> dict[str, Any]:
    from shouhu import masking

    if not outcome or visible:
        return dict(outcome or {})
    return {k: masking.free_text(v) if k in masking.FREE_TEXT else v for k, v in outcome.items()}
