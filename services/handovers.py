"""Hand-overs (issue 16 §3): a task claimed by or given to a named person of its unit, or handed to
another unit of the county with a reason; a case sent to another county, which its civil affairs accept
(or refuse) — until then both counties read it. Every refusal is recorded; the work is done by the
`handover` flow (flows.handovers), one Transition on the locked case."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Command, Task, User
from services.cases import show_case
from services.corrections import run
from services.reading import find_case, find_task, guard, looked_up, recorded, unknown
from shouhu import access, db, policy, units
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import Input, RequiredLongText, ShortText, parse


class ReasonIn(Input):
    reason: RequiredLongText


class AcceptIn(Input):
    township: ShortText
    village: ShortText | None = None


def _active(actor: User) -> None:
    if actor.disabled_at is not None:
        raise Forbidden("account_disabled", f"{actor.username} is disabled", "as")


def _task_and_actor(s: Session, task_ref: str, actor_name: str | None, action: str) -> tuple[Task, Case, User]:
    task = looked_up(s, actor_name, action, task_ref, lambda: find_task(s, task_ref))
    case = s.get_one(Case, task.case_id)
    actor = access.user(s, actor_name)
    try:
        guard(s, case, actor.username, action)
    except NotFound:
        raise unknown("task", task_ref) from None
    return task, case, actor


def _check_holder(actor: User, task: Task, case: Case) -> None:
    """Who hands a task on: a person of the unit that owns it, in its county."""
    _active(actor)
    if actor.jurisdiction != case.jurisdiction or actor.unit != task.owner_unit:
        raise Forbidden("unit_may_not_assign", f"{task.kind} belongs to unit {task.owner_unit}", "as")


def _check_worker(s: Session, username: str, unit: str, task: Task, field: str) -> User:
    """Who a task is given to: an active person of `unit` whose role does the task."""
    person = s.exec(select(User).where(User.username == username)).first()
    if person is None:
        raise InvalidInput("unknown_user", f"{field}: no user {username!r}", field)
    if person.disabled_at is not None:
        raise InvalidInput("account_disabled", f"{field}: {username} is disabled", field)
    if person.unit != unit or person.role != task.role:
        raise InvalidInput(
            "not_in_unit", f"{field}: {username} is not a {task.role} of unit {unit}; a task stays in its unit", field
        )
    return person


def claim_task(task_ref: str, actor_name: str | None) -> dict[str, Any]:
    """认领: a person of the owning unit (whose role does the task) takes it; → the case."""
    with Session(db.engine()) as s:
        task, case, actor = _task_and_actor(s, task_ref, actor_name, "task_claim")
    recorded(actor, "task_claim", str(task.id), lambda: _check_holder(actor, task, case))
    if actor.role != task.role:
        raise InvalidInput("role_may_not_complete", f"{task.kind} is done by role {task.role}", "as")
    return _assign(task, case, actor, {"to": actor.username, "claim": True})


def assign_task(
    task_ref: str, to: str | None, actor_name: str | None, unit: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """转交: to a person of the owning unit (`to`), or to another unit of the county (`unit`, with a
    `reason`; and a person there if `to`); the deadline is kept; → the case."""
    if not to and not unit:
        raise InvalidInput("missing_field", "to: name the person (--to) or the unit (--unit)", "to")
    with Session(db.engine()) as s:
        task, case, actor = _task_and_actor(s, task_ref, actor_name, "task_assign")
    recorded(actor, "task_assign", str(task.id), lambda: _check_holder(actor, task, case))
    with Session(db.engine()) as s:
        if task.status != "open":
            raise Conflict("task_not_open", f"task {task.id} is already {task.status}", "task")
        target = unit or task.owner_unit
        if unit and unit != task.owner_unit:
            reason = parse(ReasonIn, {"reason": reason or ""}).reason
            p = policy.pack(case.jurisdiction)
            try:
                kind = p.unit(unit).type
            except NotFound:
                raise InvalidInput("unknown_unit", f"unit: no unit {unit!r} in {case.jurisdiction}", "unit") from None
            if kind not in access.ROLE_UNIT_TYPES.get(task.role, set()):
                raise InvalidInput("unit_cannot_do_task", f"unit: {unit} has no {task.role} to do {task.kind}", "unit")
        if to:
            _check_worker(s, to, target, task, "to")
    return _assign(task, case, actor, {"to": to, "unit": unit if unit != task.owner_unit else None, "reason": reason})


def _assign(task: Task, case: Case, actor: User, extra: dict[str, Any]) -> dict[str, Any]:
    payload = {"task_id": str(task.id), "case_no": case.case_no, "jurisdiction": case.jurisdiction, **extra}
    result = run(Command(kind="assign_task", idempotency_key=str(uuid.uuid4()), actor=actor.username, payload=payload))
    return result if result.get("status") == "queued" else show_case(str(case.id), actor.username, record_read=False)


# ---- transfer to another county --------------------------------------------------------------
def _check_transferring(actor: User, jurisdiction: str) -> None:
    """The units the pack names (`handovers.transfer_by`, local default: county civil affairs)."""
    _active(actor)
    p = policy.pack(jurisdiction)
    allowed = {units.resolve(p, sel, "", None) for sel in p.handovers.value.transfer_by}
    if actor.jurisdiction != jurisdiction or actor.unit not in allowed:
        raise Forbidden("not_permitted", f"{actor.username} may not transfer cases of {jurisdiction}", "as")


def _case_and_actor(s: Session, ref: str, actor_name: str | None, action: str) -> tuple[Case, User]:
    case = looked_up(s, actor_name, action, ref, lambda: find_case(s, ref))
    actor = access.user(s, actor_name)
    guard(s, case, actor.username, action)
    return case, actor


def transfer_case(ref: str, to: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """Send the case to county `to` with `{"reason"}`; it waits for that county's civil affairs."""
    reason = parse(ReasonIn, data).reason
    policy.pack(to)  # an unknown county is named as such
    with Session(db.engine()) as s:
        case, actor = _case_and_actor(s, ref, actor_name, "case_transfer")
    recorded(actor, "case_transfer", str(case.id), lambda: _check_transferring(actor, case.jurisdiction))
    return _case_command(case, actor, "transfer_case", {"to": to, "reason": reason})


def accept_transfer(ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """The receiving county takes the case with `{"township", "village"}` (its own units); → the case."""
    place = parse(AcceptIn, data)
    with Session(db.engine()) as s:
        case, actor = _case_and_actor(s, ref, actor_name, "case_accept")
    _waiting_for(actor, case, "case_accept")
    return _case_command(case, actor, "accept_transfer", place.model_dump())


def withdraw_transfer(ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`{"reason"}`: the sending county cancels its request, or the receiving county refuses the case."""
    reason = parse(ReasonIn, data).reason
    with Session(db.engine()) as s:
        case, actor = _case_and_actor(s, ref, actor_name, "case_transfer_withdraw")
    refused = case.transfer_to is not None and actor.jurisdiction == case.transfer_to
    if refused:
        _waiting_for(actor, case, "case_transfer_withdraw")
    else:
        recorded(actor, "case_transfer_withdraw", str(case.id), lambda: _check_transferring(actor, case.jurisdiction))
    return _case_command(case, actor, "withdraw_transfer", {"reason": reason, "refused": refused})


def _waiting_for(actor: User, case: Case, action: str) -> None:
    if case.transfer_to is None or case.transfer_to != actor.jurisdiction:
        raise Conflict("no_transfer", f"case {case.case_no} waits for no transfer to {actor.jurisdiction}", "case")
    recorded(actor, action, str(case.id), lambda: _check_transferring(actor, actor.jurisdiction))


def _case_command(case: Case, actor: User, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    payload = {"case_id": str(case.id), "case_no": case.case_no, "jurisdiction": case.jurisdiction, **extra}
    result = run(Command(kind=kind, idempotency_key=str(uuid.uuid4()), actor=actor.username, payload=payload))
    if result.get("status") == "queued":
        return result
    try:
        return show_case(str(case.id), actor.username, record_read=False)
    except NotFound:  # refused here: the case is the other county's alone again
        return {**result, "status": "applied"}


# ---- what pages offer --------------------------------------------------------------------
def may_transfer(actor_name: str, case: dict[str, Any]) -> dict[str, bool]:
    """What the case page offers this reader: send the case on, withdraw the request, accept or refuse it."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    offers = {"send": False, "withdraw": False, "accept": False}
    for key, county in (("send", case["jurisdiction"]), ("accept", case.get("transfer_to"))):
        if county is None:
            continue
        try:
            _check_transferring(actor, county)
        except Forbidden:
            continue
        offers[key] = True
    offers["withdraw"] = offers["send"] and case.get("transfer_to") is not None
    offers["send"] = offers["send"] and case.get("transfer_to") is None and case["status"] == "open"
    return offers


def counties_to(jurisdiction: str) -> list[tuple[str, str]]:
    """The counties a case may be sent to: (code, name), this one left out."""
    return [(p.pack, p.name) for p in policy.all_packs().values() if p.pack != jurisdiction]


def display_names(usernames: list[str | None]) -> dict[str, str]:
    """Who a task is given to, as pages name them (由张三办理)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    with Session(db.engine()) as s:
        rows = s.exec(select(User).where(col(User.username).in_(wanted))).all()
    return {u.username: u.display_name for u in rows}


def unit_colleagues(actor_name: str, role: str) -> list[tuple[str, str]]:
    """The active people of the reader's unit who could be given a task of `role` (for 转交)."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        rows = s.exec(
            select(User).where(User.unit == actor.unit, User.role == role, col(User.disabled_at).is_(None))
        ).all()
    return [(u.username, u.display_name) for u in sorted(rows, key=lambda u: u.username)]


def units_for(jurisdiction: str, role: str) -> list[tuple[str, str]]:
    """Units of the county a task of `role` can be handed to (their type fits the role)."""
    p = policy.pack(jurisdiction)
    return [(u.code, u.name) for u in p.unit_list if u.type in access.ROLE_UNIT_TYPES.get(role, set())]


class AssignIn(Input):
    to: ShortText | None = None
    unit: ShortText | None = None
    reason: RequiredLongText | None = None


class TransferIn(Input):
    to: ShortText
    reason: RequiredLongText


def assign_task_from(task_ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`assign_task` from a request body `{"to", "unit", "reason"}` (the API's and the page's shape)."""
    given = parse(AssignIn, data)
    return assign_task(task_ref, given.to, actor_name, unit=given.unit, reason=given.reason)


def transfer_case_from(ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """`transfer_case` from a request body `{"to", "reason"}`."""
    given = parse(TransferIn, data)
    return transfer_case(ref, given.to, {"reason": given.reason}, actor_name)
