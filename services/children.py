"""Search and the child's page (一人一档, seed 000 §三(一)): find a child by name, ID number, case number,
place or stage, and read the child's whole file — identity, categories, guardians and carer, every case,
every verification visit, the documents of the cases and the child's own timeline.

One access rule: a child is readable by a user when a case in the child's place (jurisdiction, township,
village) would be (`access.case_scope` / `access.may_read_case` applied to the child's row). One masking
rule (`shouhu.masking`): managers see the child masked, and — since a search by a full name or ID number
would tell a masked reader whether that named child is on the ledger — may search only by case number,
place and stage. Every read and every search is recorded in `accessrecord`: a read with the child's id,
a search with its kind and result count, never what was typed. An unknown child and one outside the
reader's scope get the same answer, and both are recorded.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from models import (
    AccessRecord,
    Case,
    Child,
    ChildCategory,
    ChildEvent,
    ChildMerge,
    EntrustedCare,
    Guardian,
    User,
    VerificationVisit,
)
from shouhu import access, childfile, config, db, masking, policy
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.vocab import STAGE_NAMES_ZH

KINDS = ("name", "id_number", "case_no", "place", "stage")
LIMIT = 50
MAX_QUERY = 40
# Who reads children: everyone who reads cases (admin reads none).
LEDGER_KEEPERS = frozenset({"civil_affairs", "manager"})  # as services.ledger: who keeps the county's ledger
READING_ROLES = frozenset(
    {"police_intake", "police", "township_caseworker", "village_director", "civil_affairs", "manager"}
)
IDENTITY_KINDS = frozenset({"name", "id_number"})  # not for readers who see children masked
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
CASE_NO = re.compile(r"^[A-Z]{1,10}-\d{4}-\d{1,10}$")
OPEN_STAGES = {code: name for code, name in STAGE_NAMES_ZH.items() if code != "closed"}
UNKNOWN_CHILD = "no such child among those you may read"


def _record(s: Session, actor: User, action: str, target: str, allowed: bool = True, reason: str = "") -> None:
    s.add(AccessRecord(at=now(), actor=actor.username, action=action, target=target, allowed=allowed, reason=reason))


def _refuse(s: Session, actor: User, action: str, target: str, exc: InvalidInput) -> InvalidInput:
    """Record the refusal (committed: it stays when the caller raises) and hand the error back."""
    _record(s, actor, action, target, allowed=False, reason=exc.code)
    s.commit()
    return exc


def _named(s: Session, actor_name: str | None) -> User:
    """A child's file carries identity: a named user is required (--as, SHOUHU_USER)."""
    return access.user(s, actor_name or config.settings().user)


def in_scope(query: Any, actor: User) -> Any:
    """The children of a query this user may read: the one access rule, on the child's place."""
    field, allowed = access.case_scope(actor)
    return query.where(Child.jurisdiction == actor.jurisdiction, col(getattr(Child, field)).in_(allowed))


# ---- search ------------------------------------------------------------------------------------
def _query_text(query: Any) -> str:
    text = query.strip() if isinstance(query, str) else ""
    if not text:
        raise InvalidInput(
            "missing_field", "say what to search for: a name, ID number, case number, place or stage", "q"
        )
    if len(text) > MAX_QUERY:
        raise InvalidInput("too_long", f"q: at most {MAX_QUERY} characters", "q")
    if not text.isprintable():
        raise InvalidInput("control_character", "q holds a control character", "q")
    return text


def _place(p: policy.Pack, text: str) -> policy.UnitRule | None:
    """A township or village of the county by code, full name or short name (as the ledger reads them)."""
    from services.ledger import names_of

    parents = {u.code: u for u in p.unit_list if u.type == "township"}
    for u in p.unit_list:
        if u.type == "township" and text in names_of(u, None):
            return u
    for u in p.unit_list:
        if u.type == "village" and text in names_of(u, parents.get(u.parent or "")):
            return u
    return None


def _stage(text: str) -> str | None:
    if text in OPEN_STAGES:
        return text
    return next((code for code, name in OPEN_STAGES.items() if name == text), None)


def kind_of(text: str, jurisdiction: str) -> str:
    """What a query is, when the searcher does not say: an ID number (18 characters), a case number
    (SX-2026-00001), a stage (code or 应急处置/评估帮扶/监护干预), a township or village (code or
    name), else a name."""
    if re.fullmatch(r"\d[\dXx]*", text):  # digits: an ID number (searched whole; a part is refused)
        return "id_number"
    if CASE_NO.match(text.upper()):
        return "case_no"
    if _stage(text):
        return "stage"
    if _place(policy.pack(jurisdiction), text):
        return "place"
    return "name"


def search_children(query: Any, actor_name: str | None, kind: str | None = None) -> dict[str, Any]:
    """`shouhu search`: `{"kind","total","limit","items":[child],"case"|null,"masked"}` — the children
    this user may read that match, at most LIMIT (by name), with the total; for a case number, the
    case too (when readable). Recorded as `child_search` with the kind and the count."""
    text = _query_text(query)
    if kind is not None and kind not in KINDS:
        raise InvalidInput("invalid_value", f"kind must be one of {', '.join(KINDS)}", "kind")
    with db.transaction() as s:
        actor = _named(s, actor_name)
        kind = kind or kind_of(text, actor.jurisdiction)
        if actor.role not in READING_ROLES:
            raise _refuse(
                s,
                actor,
                "child_search",
                kind,
                Forbidden("not_permitted", f"{actor.username} reads no child's file", "as"),
            )
        visible = access.may_see_identity(actor)
        if not visible and kind in IDENTITY_KINDS:
            raise _refuse(
                s,
                actor,
                "child_search",
                kind,
                Forbidden(
                    "identity_search_not_permitted",
                    "a reader who sees children masked searches by case number, place or stage, not by name or ID number",
                    "q",
                ),
            )
        children = in_scope(select(Child), actor)
        found_case: Case | None = None
        condition: Any
        if kind == "id_number":
            value = text.upper()
            if not ID_NUMBER.match(value):
                raise InvalidInput("bad_id_number", "an ID number is searched whole: 18 characters", "q")
            condition = Child.id_number == value  # the unique index: one row at most
        elif kind == "case_no":
            case = s.exec(select(Case).where(Case.case_no == text.upper())).first()  # the unique index
            if case is not None and access.may_read_case(actor, case):
                found_case = case
            condition = Child.id == (found_case.child_id if found_case else None)
        elif kind == "place":
            unit = _place(policy.pack(actor.jurisdiction), text)
            if unit is None:
                raise InvalidInput("unknown_unit", "q is not a township or village of the county", "q")
            condition = (Child.township if unit.type == "township" else Child.village) == unit.code
        elif kind == "stage":
            stage = _stage(text)
            if stage is None:
                raise InvalidInput(
                    "invalid_value", "a stage of an open case: emergency, assessment or intervention", "q"
                )
            field, allowed = access.case_scope(actor)
            open_case = (
                select(Case.id)
                .where(
                    Case.child_id == Child.id,
                    Case.status == "open",
                    Case.stage == stage,
                    Case.jurisdiction == actor.jurisdiction,
                    col(getattr(Case, field)).in_(allowed),
                )
                .exists()
            )
            condition = open_case
        else:
            condition = col(Child.name).contains(text, autoescape=True)
        # A file merged into another (one child, one file) answers with the file it was merged into.
        # One question, so the ID number's index answers it (an OR across the two would scan the county).
        files = select(func.coalesce(Child.merged_into, Child.id)).where(condition).correlate(None)
        matching = children.where(col(Child.merged_into).is_(None), col(Child.id).in_(files.scalar_subquery()))
        total = s.exec(select(func.count()).select_from(matching.subquery())).one()
        rows = s.exec(matching.order_by(col(Child.name), col(Child.id)).limit(LIMIT)).all()
        items = _summaries(s, rows, actor, visible)
        _record(s, actor, "child_search", kind, reason=f"results={total}")
    return {
        "kind": kind,
        "total": total,
        "limit": LIMIT,
        "items": items,
        "case": _case_view(found_case) if found_case else None,
        "masked": not visible,
    }


def _summaries(s: Session, rows: Any, actor: User, visible: bool) -> list[dict[str, Any]]:
    ids = [c.id for c in rows]
    categories: dict[uuid.UUID, list[str]] = {}
    open_cases: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if ids:
        for child_id, code in s.exec(
            select(ChildCategory.child_id, ChildCategory.category)
            .where(col(ChildCategory.child_id).in_(ids), childfile.in_force(now().astimezone(CHINA_TZ).date()))
            .order_by(col(ChildCategory.started_on), col(ChildCategory.category))
        ).all():
            categories.setdefault(child_id, []).append(code)
        for case in s.exec(
            select(Case).where(col(Case.child_id).in_(ids), Case.status != "closed").order_by(col(Case.opened_at))
        ).all():
            if access.may_read_case(actor, case):
                open_cases.setdefault(case.child_id, []).append(
                    {"case_no": case.case_no, "stage": case.stage, "status": case.status}
                )
    return [
        {
            "child_id": str(c.id),
            **masking.child(c, visible),
            "township": c.township,
            "village": c.village,
            "categories": categories.get(c.id, []),
            "open_cases": open_cases.get(c.id, []),
        }
        for c in rows
    ]


def _case_view(case: Case) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "stage": case.stage,
        "status": case.status,
        "township": case.township,
        "village": case.village,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


# ---- the child's page -----------------------------------------------------------------------------
def show_child(child_ref: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu child show`: the child's whole file as this reader may see it. An unknown id and a
    child outside the reader's scope are the same `unknown_child` (both recorded; never the text typed)."""
    from services import documents

    unknown = NotFound("unknown_child", UNKNOWN_CHILD, "child")
    with db.transaction() as s:
        actor = _named(s, actor_name)
        try:
            child_id = uuid.UUID(child_ref) if isinstance(child_ref, str) and len(child_ref) <= 64 else None
        except ValueError:
            child_id = None
        child = s.get(Child, child_id) if child_id else None
        if child is None:
            target = f"unknown:{child_id}" if child_id else "unknown:malformed"
            _record(s, actor, "child_read", target, allowed=False, reason="unknown")
            s.commit()
            raise unknown
        if actor.role not in READING_ROLES or not access.may_read_case(actor, child):
            _record(s, actor, "child_read", str(child.id), allowed=False, reason="not_permitted")
            s.commit()
            raise unknown
        _record(s, actor, "child_read", str(child.id))
        visible = access.may_see_identity(actor)
        file = _file(s, child, actor, visible)
    readable = [c["case_no"] for c in file["cases"]]
    file["documents"] = [
        {**d, "case_no": case_no}
        for case_no in readable
        for d in documents.case_documents(case_no, actor.username, record_read=False)
    ]
    return file


def _file(s: Session, child: Child, actor: User, visible: bool) -> dict[str, Any]:
    today = now().astimezone(CHINA_TZ).date()
    cases = s.exec(select(Case).where(Case.child_id == child.id).order_by(col(Case.opened_at))).all()
    readable = [c for c in cases if access.may_read_case(actor, c)]
    guardians = s.exec(select(Guardian).where(Guardian.child_id == child.id).order_by(col(Guardian.name))).all()
    carers = s.exec(
        select(EntrustedCare).where(EntrustedCare.child_id == child.id).order_by(col(EntrustedCare.created_at))
    ).all()
    categories = s.exec(
        select(ChildCategory)
        .where(ChildCategory.child_id == child.id)
        .order_by(col(ChildCategory.started_on), col(ChildCategory.category))
    ).all()
    visits = s.exec(
        select(VerificationVisit)
        .where(VerificationVisit.child_id == child.id)
        .order_by(col(VerificationVisit.period).desc())
    ).all()
    events = s.exec(select(ChildEvent).where(ChildEvent.child_id == child.id).order_by(col(ChildEvent.seq))).all()
    at = now()
    return {
        "child_id": str(child.id),
        "jurisdiction": child.jurisdiction,
        **masking.child(child, visible),
        "township": child.township,
        "village": child.village,
        "school": child.school,
        "enrolled_from": child.enrolled_from,
        "categories": [
            {
                "category": c.category,
                "started_on": c.started_on.isoformat(),
                "ended_on": c.ended_on.isoformat() if c.ended_on else None,
                "in_force": c.started_on <= today and (c.ended_on is None or c.ended_on > today),
                "source": c.source,
            }
            for c in categories
        ],
        "guardians": [{**masking.guardian(g, visible), "phone": g.phone if visible else None} for g in guardians],
        "entrusted_care": [
            {
                "name": c.name if visible else masking.name(c.name),
                "relation": c.relation,
                "phone": c.phone if visible else None,
                "since": c.since.isoformat() if c.since else None,
                "parents_contact": c.parents_contact if visible else None,
                "checked_by": c.checked_by,
                "checked_on": c.checked_on.isoformat() if c.checked_on else None,
                "ended_on": c.ended_on.isoformat() if c.ended_on else None,
            }
            for c in carers
        ],
        "cases": [_case_view(c) for c in readable],
        "other_cases": len(cases) - len(readable),
        "visits": [
            {
                "visit_id": str(v.id),
                "period": v.period,
                "unit": v.unit,
                "status": v.status,
                "overdue": v.status == "open" and at > v.due_at,
                "due_at": v.due_at.isoformat(),
                "completed_by": v.completed_by,
                "completed_at": v.completed_at.isoformat() if v.completed_at else None,
                "outcome": _outcome(v.outcome, visible),
            }
            for v in visits
        ],
        "timeline": [
            {"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "summary": e.summary}
            for e in events
        ],
        "masked": not visible,
        "merged_into": str(child.merged_into) if child.merged_into else None,
        "identity_removed": child.identity_removed_at is not None,
        "merges": [
            {
                "merge_id": str(m.id),
                "keep": str(m.keep_id),
                "other": str(m.other_id),
                "status": m.status,
                "merged_at": m.merged_at.isoformat(),
            }
            for m in s.exec(
                select(ChildMerge)
                .where(or_(col(ChildMerge.keep_id) == child.id, col(ChildMerge.other_id) == child.id))
                .order_by(col(ChildMerge.merged_at).desc())
            ).all()
        ],
    }


def _outcome(outcome: dict[str, Any] | None, visible: bool) -> dict[str, Any]:
    if not outcome or visible:
        return dict(outcome or {})
    return {k: masking.free_text(v) if k in masking.FREE_TEXT else v for k, v in outcome.items()}


# ---- leaving the ledger -------------------------------------------------------------------------
def exit_coverage(child_ref: Any, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu ledger exit`: the child leaves coverage for one of the pack's exit reasons (seed 003 §一(一));
    a reason with a phase-out (渐退期) keeps every category — and so the village's visits — until it ends,
    else they end today and the child's open visits are cancelled. Civil affairs and managers of the
    child's county only; a child with a case still open leaves with that case's closure instead.
    Bad input changes nothing; the refusal is recorded as any other."""
    from shouhu.inputs import LedgerExitIn, parse
    from tasks.closing import add_months

    unknown = NotFound("unknown_child", UNKNOWN_CHILD, "child")
    body = parse(LedgerExitIn, data)
    with db.transaction() as s:
        actor = _named(s, actor_name)
        try:
            child_id = uuid.UUID(child_ref) if isinstance(child_ref, str) and len(child_ref) <= 64 else None
        except ValueError:
            child_id = None
        child = s.get(Child, child_id) if child_id else None
        if child is None or child.jurisdiction != actor.jurisdiction:
            _record(s, actor, "ledger_exit", f"unknown:{child_id}", allowed=False, reason="unknown")
            s.commit()
            raise unknown
        if actor.role not in LEDGER_KEEPERS:
            _record(s, actor, "ledger_exit", str(child.id), allowed=False, reason="not_permitted")
            s.commit()
            raise Forbidden("not_permitted", "only civil affairs and managers take a child off the ledger", "as")
        p = policy.pack(child.jurisdiction)
        reasons = p.exit_reasons.value
        if body.reason not in reasons:
            raise InvalidInput("unknown_exit_reason", f"reason must be one of: {', '.join(reasons)}", "reason")
        open_case = s.exec(
            select(Case.case_no).where(Case.child_id == child.id, Case.status == "open").order_by(col(Case.opened_at))
        ).first()
        if open_case is not None:
            raise Conflict(
                "case_open",
                f"case {open_case} is open: the child leaves coverage when it closes (final review)",
                "child",
            )
        at = now().astimezone(CHINA_TZ)
        reason = reasons[body.reason]
        until = add_months(at, reason.phase_out_months).date() if reason.phase_out_months else at.date()
        why = f"退出保障范围：{reason.label}" + (
            f"，渐退期至{until.year}年{until.month}月{until.day}日" if until > at.date() else ""
        )
        ended = childfile.end_categories(
            s, child.id, until, actor.username, why, detail={"reason": body.reason, "notes": body.notes}
        )
        if not ended:
            raise Conflict("not_on_ledger", "the child has no category in force to end", "child")
        cancelled = childfile.cancel_uncovered_visits(s, child.jurisdiction, at.date(), child.id)
        _record(s, actor, "ledger_exit", str(child.id))
        return {
            "child_id": str(child.id),
            "reason": body.reason,
            "categories_ended": ended,
            "ends_on": until.isoformat(),  # the first day the child is no longer covered
            "visits_cancelled": cancelled,
        }
