"""Retention (个人信息保护法 第十九条、第四十七条; issue 16 §6): once the pack's period has passed since a
child's last case closed and last category ended, the child's identity is removed.

Removed, not archived: a copy kept elsewhere would still be the identifiable data the law says to delete.
What goes: the child's name (→ `masking.REMOVED_NAME`), ID number and address; guardians' and carers'
names, phones and contacts; what people typed at the village's visits; those values wherever the case's
documents print them (each document's new hashes on the timeline) and wherever people typed them into the
case (the report's description, the tasks' outcomes, the approvals' findings and reasons). What stays: the case's structure
— its stages, tasks, deadlines, timeline — and what the statistics count (birth date, gender, township,
village, categories, visit findings). Files merged into the child's file go with it. Each child is one
transaction with its cases locked; each case's timeline and the child's own say what was removed.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from models import (
    Approval,
    Case,
    Child,
    ChildCategory,
    Document,
    EntrustedCare,
    Guardian,
    Report,
    Task,
    VerificationVisit,
)
from shouhu import childfile, db, masking, policy, timeline
from shouhu.clock import CHINA_TZ, now
from shouhu.daily import daily_due
from tasks.transition import Transition

ACTOR = "system:retention"


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def cutoff(jurisdiction: str, as_of: datetime) -> date:
    """The first local day still inside the pack's window: what closed or ended before it is past."""
    return years_before(as_of.astimezone(CHINA_TZ).date(), policy.pack(jurisdiction).retention.value.years)


def due_children(session: Session, jurisdiction: str, as_of: datetime) -> list[uuid.UUID]:
    """Children of the county (not stubs, identity not yet removed) with no case open or closed within the
    window, and no category in force or ended within it (so: none on the ledger) — one set-based query."""
    since = cutoff(jurisdiction, as_of)
    since_at = datetime(since.year, since.month, since.day, tzinfo=CHINA_TZ)
    recent_case = exists().where(
        col(Case.child_id) == Child.id,
        or_(col(Case.status) != "closed", col(Case.closed_at).is_(None), col(Case.closed_at) >= since_at),
    )
    recent_category = exists().where(
        col(ChildCategory.child_id) == Child.id,
        or_(col(ChildCategory.ended_on).is_(None), col(ChildCategory.ended_on) > since),
    )
    return list(
        session.exec(
            select(Child.id)
            .where(
                Child.jurisdiction == jurisdiction,
                col(Child.merged_into).is_(None),
                col(Child.identity_removed_at).is_(None),
                col(Child.created_at) < since_at,
                ~recent_case,
                ~recent_category,
            )
            .order_by(col(Child.id))
        ).all()
    )


def remove_identity(child_id: uuid.UUID) -> dict[str, int]:
    """One child (and the files merged into it): its identity removed, in one transaction. Counts only."""
    with db.transaction() as s:
        child = s.exec(select(Child).where(Child.id == child_id).with_for_update()).one()
        if child.identity_removed_at is not None:
            return {"children": 0, "cases": 0}
        stubs = _stubs(s, [child.id])
        files = [child, *(s.exec(select(Child).where(col(Child.id).in_(stubs))).all() if stubs else [])]
        case_ids = sorted(s.exec(select(Case.id).where(Case.child_id == child.id)).all(), key=str)
        ts = [Transition(s, timeline.lock_case(s, cid), None, ACTOR) for cid in case_ids]
        ids = [f.id for f in files]
        guardians = list(s.exec(select(Guardian).where(col(Guardian.child_id).in_(ids))).all())
        for row in [*files, *guardians]:  # sealed rows: a broken seal goes on the timeline before the change
            if ts:
                timeline.check_row(s, ts[0].case, row)
        carers = list(s.exec(select(EntrustedCare).where(col(EntrustedCare.child_id).in_(ids))).all())
        identity = _identity(files, guardians, carers)
        redacted = {t.case.id: _redact_documents(t, identity) for t in ts}
        typed_rows = _redact_typed_text(s, ts, identity)
        at = now()
        for f in files:
            f.name, f.id_number, f.address, f.identity_removed_at = masking.REMOVED_NAME, None, None, at
            s.add(f)
        for g in guardians:
            g.name, g.phone, g.extra = masking.REMOVED_NAME, None, {}
            s.add(g)
        for carer in carers:
            carer.name, carer.phone, carer.parents_contact = masking.REMOVED_NAME, None, None
            s.add(carer)
        for visit in s.exec(select(VerificationVisit).where(col(VerificationVisit.child_id).in_(ids))).all():
            typed = [k for k in (visit.outcome or {}) if k in masking.FREE_TEXT]
            if typed:
                visit.outcome = {k: v for k, v in visit.outcome.items() if k not in typed}
                s.add(visit)
        years = policy.pack(child.jurisdiction).retention.value.years
        what = f"保存期限（结案并退出保障范围后{years}年）届满，删除儿童身份信息（姓名、身份证号、住址、监护人及照护人联系方式）"
        for t in ts:
            t.record(
                "identity_removed",
                f"{what}；案件流程、时限和统计保留",
                guardians=len(guardians),
                files=len(files),
                documents=redacted[t.case.id],
                texts=typed_rows[t.case.id],
            )
        for f in files:
            childfile.record_event(s, f.id, ACTOR, "identity_removed", what, {"years": years})
        return {"children": len(files), "cases": len(ts)}


def _stubs(s: Session, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The files merged into these (and into those), which go with them."""
    found: list[uuid.UUID] = []
    while ids:
        ids = list(s.exec(select(Child.id).where(col(Child.merged_into).in_(ids))).all())
        found += ids
    return found


def _identity(files: list[Child], guardians: list[Guardian], carers: list[EntrustedCare]) -> list[str]:
    """What names the child and family, as documents print it (and as their masked copies do), longest first."""
    values: set[str] = set()
    for f in files:
        values |= {f.name, f.id_number or "", f.address or "", masking.name(f.name) or ""}
        values.add(masking.id_number(f.id_number) or "")
    for g in guardians:
        values |= {g.name, g.phone or "", masking.name(g.name) or ""}
    for c in carers:
        values |= {c.name, c.phone or "", c.parents_contact or "", masking.name(c.name) or ""}
    values.discard(masking.REMOVED_NAME)
    return sorted((v for v in values if len(v) >= 2), key=len, reverse=True)


def _redact_documents(t: Transition, identity: list[str]) -> int:
    """The case's documents with every value of `identity` replaced, their new hashes on the timeline
    (`document_redacted`: the timeline check takes the latest), so the file still verifies."""
    redacted = 0
    for doc in t.session.exec(select(Document).where(Document.case_id == t.case.id)).all():
        content, masked = doc.content, doc.masked_content
        for value in identity:
            content = content.replace(html.escape(value), masking.REMOVED_NAME)
            masked = masked.replace(html.escape(value), masking.REMOVED_NAME) if masked is not None else None
        if (content, masked) == (doc.content, doc.masked_content):
            continue
        timeline.check_row(t.session, t.case, doc)
        doc.content, doc.sha256 = content, _sha256(content)
        doc.masked_content, doc.masked_sha256 = masked, _sha256(masked) if masked is not None else None
        t.session.add(doc)
        t.record(
            "document_redacted",
            f"文书去除身份信息：{doc.title}",
            document_id=str(doc.id),
            sha256=doc.sha256,
            masked_sha256=doc.masked_sha256,
        )
        redacted += 1
    return redacted


def _without(value: Any, identity: list[str]) -> Any:
    """`value` (a string, or lists and dicts of them) with every value of `identity` replaced."""
    if isinstance(value, str):
        for found in identity:
            value = value.replace(found, masking.REMOVED_NAME)
        return value
    if isinstance(value, list):
        return [_without(v, identity) for v in value]
    if isinstance(value, dict):
        return {k: _without(v, identity) for k, v in value.items()}
    return value


# What people type into a case, by row: each field's strings (however deep in its JSON) are redacted.
TYPED_FIELDS: dict[type[Report] | type[Task] | type[Approval], tuple[str, ...]] = {
    Report: ("description",),
    Task: ("outcome",),
    Approval: ("decision", "reason"),  # the finding it carries, the decider's reason
}


def _redact_typed_text(s: Session, ts: list[Transition], identity: list[str]) -> dict[uuid.UUID, int]:
    """What people typed into the cases — the report's description, the tasks' outcomes, the approvals'
    findings and reasons — with the identity replaced, as in the documents (a name typed into 情况描述
    names the child as surely as the file's own). A sealed row's seal is checked before the change and
    renewed with it. Returns how many rows, per case."""
    changed: dict[uuid.UUID, int] = {t.case.id: 0 for t in ts}
    by_case = {t.case.id: t for t in ts}
    for model, fields in TYPED_FIELDS.items():
        rows: list[Report | Task | Approval] = list(
            s.exec(select(model).where(col(model.case_id).in_(list(by_case)))).all()  # type: ignore[arg-type]
        )
        for row in rows:
            after = {f: _without(getattr(row, f), identity) for f in fields}
            if all(after[f] == getattr(row, f) for f in fields):
                continue
            if model in (Report, Task):  # sealed rows
                timeline.check_row(s, by_case[row.case_id].case, row)
            for f, value in after.items():
                setattr(row, f, value)
            s.add(row)
            changed[row.case_id] += 1
    return changed


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(jurisdiction: str, as_of: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """The county's due children: counted (dry run: nothing changes) or each made anonymous."""
    as_of = as_of or now()
    with db.transaction() as s:
        due = due_children(s, jurisdiction, as_of)
        cases, stubs = [], []
        if dry_run and due:
            cases = list(s.exec(select(Case.id).where(col(Case.child_id).in_(due))).all())
            stubs = _stubs(s, due)
    result = {
        "jurisdiction": jurisdiction,
        "cutoff": cutoff(jurisdiction, as_of).isoformat(),
        "dry_run": dry_run,
        "children": len(due) + len(stubs),
        "cases": len(cases),
    }
    if not dry_run:
        done = [remove_identity(child_id) for child_id in due]
        result["children"] = sum(d["children"] for d in done)
        result["cases"] = sum(d["cases"] for d in done)
    return result


def run_due(as_of: datetime) -> dict[str, int]:
    """The sweeper's daily step: each county once a day, at the pack's `retention.hour` (before the digest)."""
    with db.transaction() as s:
        due = list(daily_due(s, as_of, lambda p: p.retention.value.hour, "retention"))
    totals = {"children": 0, "cases": 0}
    for jurisdiction, _ in due:
        done = run(jurisdiction, as_of)
        totals["children"] += done["children"]
        totals["cases"] += done["cases"]
    return totals
