"""One child, one file (一人一档, seed 000 §三(一); issue 16 §5): find the files that are likely one child,
merge two of them with a reason, and undo a merge.

A child reported once without an ID number and once with one gets two files. `duplicates` lists likely
pairs with a score and its reasons; it never compares all pairs: candidates come from blocks of children
sharing a birth date or a name's pinyin (张晓明 and 张小明 read zhang xiao ming; 張 and 张 alike), so the
work grows with the blocks, not with the square of the county.

`merge` moves every case (with its documents and attachments), visit, category, guardian and carer of
OTHER to KEEP; OTHER stays as a stub pointing to KEEP, its own timeline kept. A `childmerge` row holds
exactly what moved, and `unmerge` puts back exactly that — refused when later changes make it unsafe.
Civil affairs of the children's county only; every read and write is recorded in `accessrecord`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from itertools import combinations
from typing import Annotated, Any

from pydantic import Field
from pypinyin import Style, lazy_pinyin
from sqlmodel import Session, col, select

from models import (
    AccessRecord,
    Attachment,
    Case,
    Child,
    ChildCategory,
    ChildMerge,
    Document,
    EntrustedCare,
    Guardian,
    User,
    VerificationVisit,
)
from shouhu import access, childfile, config, db, policy, timeline
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import Input, ShortText, parse
from tasks.transition import Transition

MERGING_ROLES = frozenset({"civil_affairs"})
LIMIT = 200
# The score's parts (their sum is at most 100); which sum is "likely" is the pack's `duplicates.min_score`.
WEIGHTS = {
    "same_name": 40,
    "same_pinyin": 30,
    "same_birth_date": 30,
    "same_township": 10,
    "same_guardian": 10,
    "no_id_number": 5,
}
UNKNOWN_CHILD = "no such child among those you may merge"


class MergeIn(Input):
    """Why two files are one child."""

    reason: Annotated[ShortText, Field(max_length=200)]


def _record(s: Session, actor: User, action: str, target: str, allowed: bool = True, reason: str = "") -> None:
    s.add(AccessRecord(at=now(), actor=actor.username, action=action, target=target, allowed=allowed, reason=reason))


def _merger(s: Session, actor_name: str | None, action: str, jurisdiction: str | None = None) -> User:
    """Civil affairs of the county (of `jurisdiction`, when given); a refusal is recorded and committed."""
    actor = access.user(s, actor_name or config.settings().user)
    if actor.role not in MERGING_ROLES or (jurisdiction is not None and actor.jurisdiction != jurisdiction):
        _record(s, actor, action, jurisdiction or actor.jurisdiction, allowed=False, reason="not_permitted")
        s.commit()
        raise Forbidden("not_permitted", "only civil affairs of the county find and merge children's files", "as")
    return actor


def pinyin_key(name: str) -> str:
    """The name as it sounds, without tones: 张晓明, 张小明 and 張小明 all read `zhang xiao ming`."""
    return " ".join(lazy_pinyin(name.strip(), style=Style.NORMAL, errors="default")).lower()


# ---- likely duplicates ---------------------------------------------------------------------------
def score_pair(a: dict[str, Any], b: dict[str, Any]) -> tuple[int, list[str]] | None:
    """The score of two files and its reasons; None when they cannot be one child (two ID numbers)."""
    if a["id_number"] and b["id_number"]:
        return None  # the ID number's unique index: two numbers are two children
    reasons = []
    if a["name"] == b["name"]:
        reasons.append("same_name")
    elif a["pinyin"] == b["pinyin"]:
        reasons.append("same_pinyin")
    if a["birth_date"] == b["birth_date"]:
        reasons.append("same_birth_date")
    if a["township"] == b["township"]:
        reasons.append("same_township")
    if a["guardians"] & b["guardians"]:
        reasons.append("same_guardian")
    reasons.append("no_id_number")
    return sum(WEIGHTS[r] for r in reasons), reasons


def candidate_pairs(files: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """Pairs (indexes) sharing a block: a birth date, or a name's pinyin."""
    blocks: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for i, f in enumerate(files):
        blocks[("born", f["birth_date"])].append(i)
        blocks[("pinyin", f["pinyin"])].append(i)
    return {pair for members in blocks.values() for pair in combinations(members, 2)}


def find_duplicates(jurisdiction: str, actor_name: str | None) -> dict[str, Any]:
    """`shouhu children duplicates`: `{"jurisdiction","min_score","total","items":[{"score","reasons",
    "children":[child, child]}]}`, highest score first, at most LIMIT. Merged stubs and files whose
    identity was removed are not candidates. Recorded as `child_duplicates` with the count."""
    if not isinstance(jurisdiction, str) or jurisdiction not in policy.jurisdiction_names():
        raise InvalidInput("unknown_jurisdiction", "no such jurisdiction", "jurisdiction")
    with db.transaction() as s:
        actor = _merger(s, actor_name, "child_duplicates", jurisdiction)
        min_score = policy.pack(jurisdiction).duplicates.value.min_score
        rows = s.exec(
            select(Child).where(
                Child.jurisdiction == jurisdiction,
                col(Child.merged_into).is_(None),
                col(Child.identity_removed_at).is_(None),
            )
        ).all()
        contacts: dict[uuid.UUID, set[str]] = defaultdict(set)
        for child_id, name, phone in s.exec(
            select(Guardian.child_id, Guardian.name, Guardian.phone)
            .join(Child, col(Child.id) == Guardian.child_id)
            .where(Child.jurisdiction == jurisdiction)
        ).all():
            contacts[child_id].add(f"name:{name}")
            if phone:
                contacts[child_id].add(f"phone:{phone}")
        files: list[dict[str, Any]] = [
            {
                "row": c,
                "name": c.name.strip(),
                "pinyin": pinyin_key(c.name),
                "birth_date": c.birth_date,
                "township": c.township,
                "id_number": c.id_number,
                "guardians": contacts.get(c.id, set()),
            }
            for c in rows
        ]
        found = []
        for i, j in candidate_pairs(files):
            scored = score_pair(files[i], files[j])
            if scored is not None and scored[0] >= min_score:
                pair = sorted((files[i]["row"], files[j]["row"]), key=lambda c: (c.id_number is None, str(c.id)))
                found.append((scored[0], scored[1], pair))
        found.sort(key=lambda x: (-x[0], str(x[2][0].id), str(x[2][1].id)))
        _record(s, actor, "child_duplicates", jurisdiction, reason=f"results={len(found)}")
        return {
            "jurisdiction": jurisdiction,
            "min_score": min_score,
            "total": len(found),
            "items": [
                {"score": score, "reasons": reasons, "children": [_summary(s, c) for c in pair]}
                for score, reasons, pair in found[:LIMIT]
            ],
        }


def _summary(s: Session, c: Child) -> dict[str, Any]:
    cases = s.exec(select(Case.case_no).where(Case.child_id == c.id).order_by(col(Case.opened_at))).all()
    return {
        "child_id": str(c.id),
        "name": c.name,
        "id_number": c.id_number,
        "birth_date": c.birth_date.isoformat(),
        "gender": c.gender,
        "township": c.township,
        "village": c.village,
        "cases": list(cases),
    }


def _uuid_or_none(ref: Any) -> uuid.UUID | None:
    """An id as typed (bounded, so a huge string is not parsed); None when it is not one: unknown alike."""
    try:
        return uuid.UUID(ref) if isinstance(ref, str) and len(ref) <= 64 else None
    except ValueError:
        return None


# ---- merge ---------------------------------------------------------------------------------------
def _child(s: Session, actor: User, ref: Any, action: str, field: str) -> Child:
    """A child of the actor's county by id; unknown and other counties' children are alike (recorded)."""
    child_id = _uuid_or_none(ref)
    child = s.exec(select(Child).where(Child.id == child_id).with_for_update()).first() if child_id else None
    if child is None or child.jurisdiction != actor.jurisdiction:
        _record(s, actor, action, f"unknown:{child_id}", allowed=False, reason="unknown")
        s.commit()
        raise NotFound("unknown_child", UNKNOWN_CHILD, field)
    return child


def _transitions(s: Session, case_ids: list[uuid.UUID], actor: str) -> list[Transition]:
    """The moved cases, each locked (in id order: two mergers never wait on each other) and seal-checked."""
    return [Transition(s, timeline.lock_case(s, cid), None, actor) for cid in sorted(case_ids, key=str)]


def _check_rows(s: Session, ts: list[Transition], rows: list[Any]) -> None:
    """Sealed rows about to change: a broken seal goes on a case's timeline first (as complete_task does)."""
    for row in rows:
        if ts:
            timeline.check_row(s, ts[0].case, row)


def _move_cases_and_guardians(
    s: Session,
    ts: list[Transition],
    guardians: list[Guardian],
    source: Child,
    target: Child,
    merge_id: uuid.UUID,
    event: str,
    summary: str,
) -> None:
    """The cases (each telling its timeline) and guardians go from `source` to `target`: merging and
    undoing a merge move them the same way, only the direction and the words differ."""
    for t in ts:
        t.case.child_id = target.id
        t.record(event, summary, merge_id=str(merge_id), from_child=str(source.id), to_child=str(target.id))
    for g in guardians:
        g.child_id = target.id
        s.add(g)


def merge_children(keep_ref: Any, other_ref: Any, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu children merge KEEP OTHER -`: OTHER's cases, visits, categories, guardians and carers move
    to KEEP; OTHER becomes a stub pointing to KEEP. Returns the merge record. Refused: the same child,
    a stub, a file whose identity was removed, two different ID numbers."""
    body = parse(MergeIn, data)
    with db.transaction() as s:
        actor = _merger(s, actor_name, "child_merge")
        keep = _child(s, actor, keep_ref, "child_merge", "keep")
        other = _child(s, actor, other_ref, "child_merge", "other")
        if keep.id == other.id:
            raise InvalidInput("same_child", "KEEP and OTHER are the same file", "other")
        for c, field in ((keep, "keep"), (other, "other")):
            if c.merged_into is not None:
                raise Conflict("already_merged", f"{field} was merged into another file: merge into that one", field)
            if c.identity_removed_at is not None:
                raise Conflict("identity_removed", f"{field}'s identity was removed (retention)", field)
        if keep.id_number and other.id_number and keep.id_number != other.id_number:
            raise Conflict("different_id_numbers", "the two files carry different ID numbers: two children", "other")
        at = now()
        merge = ChildMerge(
            jurisdiction=keep.jurisdiction,
            keep_id=keep.id,
            other_id=other.id,
            reason=body.reason,
            moved={},
            merged_by=actor.username,
            merged_at=at,
        )
        s.add(merge)
        s.flush()
        case_ids = list(s.exec(select(Case.id).where(Case.child_id == other.id)).all())
        ts = _transitions(s, case_ids, actor.username)
        guardians = list(s.exec(select(Guardian).where(Guardian.child_id == other.id)).all())
        _check_rows(s, ts, [other, keep, *guardians])
        moved: dict[str, Any] = {
            "cases": [str(t.case.id) for t in ts],
            "documents": [str(i) for i in s.exec(select(Document.id).where(col(Document.case_id).in_(case_ids)))],
            "attachments": [str(i) for i in s.exec(select(Attachment.id).where(col(Attachment.case_id).in_(case_ids)))],
            "guardians": [str(g.id) for g in guardians],
            "carers": [],
            "visits": [],
            "visits_set_aside": [],
            "categories": [],
            "categories_set_aside": [],
            "id_number": None,
        }
        _move_cases_and_guardians(
            s,
            ts,
            guardians,
            other,
            keep,
            merge.id,
            "child_merged",
            "儿童档案合并：本案所属儿童的另一份档案并入同一档案，案件随之转入",
        )
        for carer in s.exec(select(EntrustedCare).where(EntrustedCare.child_id == other.id)).all():
            carer.child_id = keep.id
            s.add(carer)
            moved["carers"].append(str(carer.id))
        kept_periods = set(s.exec(select(VerificationVisit.period).where(VerificationVisit.child_id == keep.id)))
        for visit in s.exec(select(VerificationVisit).where(VerificationVisit.child_id == other.id)).all():
            if visit.period in kept_periods:  # one visit per child and period: KEEP's stands, OTHER's is set aside
                moved["visits_set_aside"].append(
                    {"id": str(visit.id), "status": visit.status, "outcome": dict(visit.outcome or {})}
                )
                if visit.status == "open":
                    visit.status, visit.outcome = "merged", {"reason": "merged", "merge_id": str(merge.id)}
            else:
                visit.child_id = keep.id
                moved["visits"].append(str(visit.id))
            s.add(visit)
        kept_categories = set(
            s.exec(
                select(col(ChildCategory.category), col(ChildCategory.started_on)).where(
                    ChildCategory.child_id == keep.id
                )
            ).all()
        )
        for category in s.exec(select(ChildCategory).where(ChildCategory.child_id == other.id)).all():
            if (category.category, category.started_on) in kept_categories:  # the same entry: KEEP's stands
                moved["categories_set_aside"].append(
                    {"id": str(category.id), "ended_on": category.ended_on.isoformat() if category.ended_on else None}
                )
                category.ended_on = category.started_on  # the stub covers no one: the rounds never visit it
            else:
                category.child_id = keep.id
                moved["categories"].append(str(category.id))
            s.add(category)
        if other.id_number and not keep.id_number:
            moved["id_number"] = other.id_number
            other.id_number = None
            s.add(other)
            s.flush()  # the unique index: OTHER lets go of the number before KEEP takes it
            keep.id_number = moved["id_number"]
        other.merged_into = keep.id
        s.add_all([keep, other])
        merge.moved = moved
        s.add(merge)
        summary = _counts(moved)
        childfile.record_event(
            s,
            other.id,
            actor.username,
            "merged_into",
            f"经核对为同一儿童，本档案并入另一份档案（{summary}）：{body.reason}",
            {"merge_id": str(merge.id), "keep": str(keep.id)},
        )
        childfile.record_event(
            s,
            keep.id,
            actor.username,
            "merged_from",
            f"经核对为同一儿童，另一份档案并入本档案（{summary}）：{body.reason}",
            {"merge_id": str(merge.id), "other": str(other.id)},
        )
        _record(s, actor, "child_merge", str(merge.id))
        return _merge_view(merge)


def _counts(moved: dict[str, Any]) -> str:
    return (
        f"案件 {len(moved['cases'])} 件、核实走访 {len(moved['visits'])} 次、类别 {len(moved['categories'])} 项、"
        f"监护人 {len(moved['guardians'])} 名"
    )


def _merge_view(m: ChildMerge) -> dict[str, Any]:
    return {
        "merge_id": str(m.id),
        "jurisdiction": m.jurisdiction,
        "keep": str(m.keep_id),
        "other": str(m.other_id),
        "reason": m.reason,
        "status": m.status,
        "moved": m.moved,
        "merged_by": m.merged_by,
        "merged_at": m.merged_at.isoformat(),
        "unmerged_by": m.unmerged_by,
        "unmerged_at": m.unmerged_at.isoformat() if m.unmerged_at else None,
    }


# ---- unmerge -------------------------------------------------------------------------------------
def _unsafe(s: Session, m: ChildMerge, keep: Child, other: Child) -> Conflict | None:
    """Why putting back what moved would now be wrong (None: it is safe)."""
    moved = m.moved
    if keep.merged_into is not None or other.merged_into != keep.id:
        return Conflict("unmerge_merged_again", "a file of this merge was merged again since: undo that first", "merge")
    if keep.identity_removed_at is not None or other.identity_removed_at is not None:
        return Conflict("unmerge_identity_removed", "the identity was removed since (retention)", "merge")
    if moved["id_number"] and keep.id_number != moved["id_number"]:
        return Conflict("unmerge_id_number_changed", "the ID number this merge moved was changed since", "merge")
    for model, key in (
        (Case, "cases"),
        (Guardian, "guardians"),
        (EntrustedCare, "carers"),
        (VerificationVisit, "visits"),
        (ChildCategory, "categories"),
    ):
        ids = [uuid.UUID(i) for i in moved[key]]
        there = s.exec(select(model.id).where(col(model.id).in_(ids), model.child_id == keep.id)).all() if ids else []
        if len(there) != len(ids):
            return Conflict("unmerge_rows_moved", f"{key} this merge moved were moved or removed since", "merge")
    moved_cases = set(s.exec(select(Case.case_no).where(col(Case.id).in_([uuid.UUID(i) for i in moved["cases"]]))))
    later = s.exec(
        select(ChildCategory.source).where(
            ChildCategory.child_id == keep.id, col(ChildCategory.created_at) > m.merged_at
        )
    ).all()
    if any(source.startswith("report:") and source.split(":", 1)[1] in moved_cases for source in later):
        return Conflict(
            "unmerge_ledger_entry",
            "a case this merge moved put the child on the ledger since: it could not be told apart",
            "merge",
        )
    return None


def unmerge_children(merge_ref: Any, actor_name: str | None) -> dict[str, Any]:
    """`shouhu children unmerge MERGE_ID`: put back exactly what the merge moved (cases, documents and
    attachments with them, visits, categories, guardians, carers, the ID number); OTHER is its own file
    again. Refused, with the reason, when later changes make that unsafe."""
    with db.transaction() as s:
        actor = _merger(s, actor_name, "child_unmerge")
        merge_id = _uuid_or_none(merge_ref)
        m = s.exec(select(ChildMerge).where(ChildMerge.id == merge_id).with_for_update()).first() if merge_id else None
        if m is None or m.jurisdiction != actor.jurisdiction:
            _record(s, actor, "child_unmerge", f"unknown:{merge_id}", allowed=False, reason="unknown")
            s.commit()
            raise NotFound("unknown_merge", "no such merge among those you may undo", "merge")
        if m.status != "merged":
            raise Conflict("already_unmerged", "this merge was undone already", "merge")
        keep = s.exec(select(Child).where(Child.id == m.keep_id).with_for_update()).one()
        other = s.exec(select(Child).where(Child.id == m.other_id).with_for_update()).one()
        unsafe = _unsafe(s, m, keep, other)
        if unsafe is not None:
            raise unsafe
        moved = m.moved
        ts = _transitions(s, [uuid.UUID(i) for i in moved["cases"]], actor.username)
        guardians = list(
            s.exec(select(Guardian).where(col(Guardian.id).in_([uuid.UUID(i) for i in moved["guardians"]])))
        )
        _check_rows(s, ts, [other, keep, *guardians])
        _move_cases_and_guardians(
            s, ts, guardians, keep, other, m.id, "child_unmerged", "撤销儿童档案合并：案件回到原档案"
        )
        for model, key in ((EntrustedCare, "carers"), (VerificationVisit, "visits"), (ChildCategory, "categories")):
            for row in s.exec(select(model).where(col(model.id).in_([uuid.UUID(i) for i in moved[key]]))).all():
                row.child_id = other.id
                s.add(row)
        for aside in moved["visits_set_aside"]:
            visit = s.get_one(VerificationVisit, uuid.UUID(aside["id"]))
            if visit.status == "merged":
                visit.status, visit.outcome = aside["status"], aside["outcome"]
                s.add(visit)
        for aside in moved["categories_set_aside"]:
            category = s.get_one(ChildCategory, uuid.UUID(aside["id"]))
            category.ended_on = date_or_none(aside["ended_on"])
            s.add(category)
        other.merged_into = None
        if moved["id_number"]:
            keep.id_number = None
            s.add(keep)
            s.flush()
            other.id_number = moved["id_number"]
        s.add_all([keep, other])
        m.status, m.unmerged_by, m.unmerged_at = "unmerged", actor.username, now()
        s.add(m)
        for child_id in (other.id, keep.id):
            childfile.record_event(
                s,
                child_id,
                actor.username,
                "unmerged",
                f"撤销档案合并，两份档案恢复合并前的内容（{_counts(moved)}）",
                {"merge_id": str(m.id)},
            )
        _record(s, actor, "child_unmerge", str(m.id))
        return _merge_view(m)


def date_or_none(value: str | None) -> Any:
    from datetime import date

    return date.fromisoformat(value) if value else None


def merges_of(child_id: uuid.UUID, s: Session) -> list[ChildMerge]:
    """The merges a file took part in, newest first (for the child's page)."""
    return list(
        s.exec(
            select(ChildMerge)
            .where((ChildMerge.keep_id == child_id) | (ChildMerge.other_id == child_id))
            .order_by(col(ChildMerge.merged_at).desc())
        ).all()
    )
