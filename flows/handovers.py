"""Corrections and hand-overs (issue 16 §2–3): putting right what was typed wrong, giving a task to a
named person or another unit, and sending a case to the county the child moved to.

Each is a stored command applied in one Transition on the locked case, like a stage's step:
- a correction keeps the original value on the timeline (the event's payload) and changes what
  follows — a new township or village moves the open tasks of the old place's units to the units the
  pack names for the new one, deadlines kept, and tells both;
- a task handed to another unit keeps its deadline; both units are told;
- a transfer waits for the receiving county's civil affairs (both counties read the case meanwhile);
  accepting moves the case, its open tasks (deadlines kept) and the child's file to the new county.
Messages name the case and the units, never the child.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from sqlmodel import Session, col, select

from models import Breach, Case, Child, Command, Report, Task, User, VerificationVisit
from shouhu import childfile, idnumber, units
from shouhu.errors import Conflict, InvalidInput
from shouhu.inputs import report_problems
from shouhu.policy import pack
from shouhu.timeline import check_row, lock_case
from shouhu.vocab import SITUATION_NAMES_ZH
from tasks.apply import apply_command
from tasks.transition import Transition

KINDS = ("correct_case", "assign_task", "transfer_case", "accept_transfer", "withdraw_transfer")
FIELD_NAMES_ZH = {
    "township": "乡镇",
    "village": "村（居）",
    "child.name": "儿童姓名",
    "child.birth_date": "出生日期",
    "child.id_number": "身份证号",
    "situations": "报告情形",
}


def _answer(case: Case) -> dict[str, Any]:
    case.version += 1
    return {"case_id": str(case.id), "case_no": case.case_no, "stage": case.stage, "version": case.version}


# ---- corrections -------------------------------------------------------------------------
def correct_case(session: Session, command: Command) -> dict[str, Any]:
    """Put one field right; the original value stays on the timeline (payload `before`)."""
    p = command.payload
    case = lock_case(session, uuid.UUID(p["case_id"]))
    t = Transition(session, case, command, command.actor)
    field, value = p["field"], p["value"]
    if field in ("township", "village"):
        return _correct_place(t, field, value, p.get("village"), p["reason"])
    if field == "situations":
        return _correct_situations(t, value, p["reason"])
    child = session.get_one(Child, case.child_id)
    check_row(session, case, child)
    attr = field.removeprefix("child.")
    before = getattr(child, attr)
    if field == "child.birth_date":
        from datetime import date

        born = date.fromisoformat(value)
        for problem in report_problems(born, child.id_number, None):
            raise InvalidInput(problem.code, problem.message.replace("child.id_number", field), field)
        value = born
    if field == "child.id_number":
        value = idnumber.validate(value, child.birth_date, field)
        other = session.exec(select(Child).where(Child.id_number == value, Child.id != child.id)).first()
        if other is not None:
            raise Conflict(
                "child_file_exists",
                f"{field}: another child's file already has this ID number; the two files are one child's: "
                "find them with `shouhu children duplicates` and merge them (`shouhu children merge`)",
                field,
            )
    if before == value:
        raise InvalidInput("unchanged", f"{field}: already is this value", field)
    setattr(child, attr, value)
    session.add(child)
    t.record(
        "case_corrected",
        f"更正{FIELD_NAMES_ZH[field]}（原值保留在记录中）",
        field=field,
        before=before.isoformat() if hasattr(before, "isoformat") else before,
        after=value.isoformat() if hasattr(value, "isoformat") else value,
        reason=p["reason"],
    )
    childfile.record_event(
        session, child.id, command.actor, "updated", f"案件{case.case_no}更正{FIELD_NAMES_ZH[field]}", {"field": field}
    )
    return _answer(case)


def _correct_place(t: Transition, field: str, value: str, village: str | None, reason: str) -> dict[str, Any]:
    case = t.case
    if field == "township":
        township = _township(t.pack.pack, value, "township")
        new_village = _village(t.pack.pack, township, village, "village") if village else None
    else:
        township = case.township
        new_village = _village(t.pack.pack, township, value, "village")
    if (township, new_village) == (case.township, case.village):
        raise InvalidInput("unchanged", f"{field}: the case already is in {value}", field)
    before = {"township": case.township, "village": case.village}
    old_names = _place_name(t, case.township, case.village)
    case.township, case.village = township, new_village
    _child_follows(t, case.jurisdiction, township, new_village, f"案件{case.case_no}更正乡镇、村")
    t.record(
        "case_corrected",
        f"更正{FIELD_NAMES_ZH[field]}：{old_names} → {_place_name(t, township, new_village)}",
        field=field,
        before=before,
        after={"township": township, "village": new_village},
        reason=reason,
    )
    _move_tasks(t, t.pack.pack, "更正乡镇、村后")
    return _answer(case)


def _correct_situations(t: Transition, value: list[str], reason: str) -> dict[str, Any]:
    """The newest report's situations are put right; a situation that makes the case urgent makes it
    urgent (the clocks already running keep their deadlines)."""
    report = t.session.exec(
        select(Report).where(Report.case_id == t.case.id).order_by(col(Report.reported_at).desc())
    ).first()
    if report is None:
        raise InvalidInput("no_report", "situations: this case holds no report to correct", "situations")
    if sorted(report.situations) == sorted(value):
        raise InvalidInput("unchanged", "situations: the report already names these situations", "situations")
    check_row(t.session, t.case, report)
    before = list(report.situations)
    report.situations = list(value)
    t.session.add(report)
    if t.pack.is_urgent(value) and t.case.urgency != "urgent":
        t.case.urgency = "urgent"
    t.record(
        "case_corrected",
        "更正报告情形："
        + "、".join(SITUATION_NAMES_ZH[s] for s in before)
        + " → "
        + "、".join(SITUATION_NAMES_ZH[s] for s in value),
        field="situations",
        before=before,
        after=list(value),
        report_id=str(report.id),
        reason=reason,
    )
    return _answer(t.case)


def _township(jurisdiction: str, value: str, field: str) -> str:
    try:
        return units.find_township(pack(jurisdiction), value).code
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message.replace("child.township", field), field) from None


def _village(jurisdiction: str, township: str, value: str, field: str) -> str:
    p = pack(jurisdiction)
    try:
        return units.find_village(p, p.unit(township), value).code
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message.replace("child.village", field), field) from None


def _place_name(t: Transition, township: str, village: str | None) -> str:
    return t.unit_name(township) + (t.unit_name(village) if village else "")


def _child_follows(t: Transition, jurisdiction: str, township: str, village: str | None, why: str) -> None:
    """The child's file goes where the case now is; open village verifications with it (one file)."""
    child = t.session.get_one(Child, t.case.child_id)
    check_row(t.session, t.case, child)
    child.jurisdiction, child.township, child.village = jurisdiction, township, village
    t.session.add(child)
    for visit in t.session.exec(
        select(VerificationVisit).where(VerificationVisit.child_id == child.id, VerificationVisit.status == "open")
    ):
        visit.jurisdiction, visit.unit = jurisdiction, village or township
        t.session.add(visit)
    childfile.record_event(t.session, child.id, t.actor, "updated", why, {"township": township, "village": village})


def _move_tasks(t: Transition, old_jurisdiction: str, why: str) -> set[str]:
    """Open tasks go to the units the pack names for the case's (new) place, deadlines kept; each unit
    that loses work is told the case left it, each that gains work is told it arrived."""
    old = pack(old_jurisdiction)
    lost: dict[str, list[Task]] = {}
    gained: dict[str, list[Task]] = {}
    for task in t.open_tasks():
        target = units.counterpart(old, task.owner_unit, t.pack, t.case.township, t.case.village)
        if target == task.owner_unit and old.pack == t.pack.pack:
            continue
        lost.setdefault(task.owner_unit, []).append(task)
        gained.setdefault(target, []).append(task)
        _hand_task(t, task, target, old)
    with t.speaking_for(old.pack):
        for unit, tasks in lost.items():
            if unit not in gained or old.pack != t.pack.pack:
                t.notify(
                    "case_left",
                    to=[],
                    unit_codes=[unit],
                    ask="已移出本单位",
                    detail=f"{why}，本单位的{len(tasks)}项任务已移交{t.pack.name}相关单位，无需再办理",
                )
    for unit, tasks in gained.items():
        t.notify(
            "case_arrived",
            to=[],
            unit_codes=[unit],
            ask="、".join(t.title(x) for x in tasks),
            detail=f"{why}，以下任务移交本单位办理，时限不变",
            due=min(x.due_at for x in tasks),
        )
    return set(lost)


def _hand_task(t: Transition, task: Task, target: str, old: Any) -> None:
    """One task to another unit: the row re-sealed through the timeline's check, its deadline kept, an
    open breach following it, the person it was given to cleared (they work in the old unit)."""
    check_row(t.session, t.case, task)
    before = task.owner_unit
    task.owner_unit, task.assignee = target, None
    t.session.add(task)
    for breach in t.session.exec(select(Breach).where(Breach.task_id == task.id, col(Breach.resolved_at).is_(None))):
        breach.owner_unit, breach.jurisdiction = target, t.pack.pack
        t.session.add(breach)
    t.record(
        "task_moved",
        f"{t.title(task)} 由{old.unit(before).name}移交{t.unit_name(target)}，时限不变",
        task_id=str(task.id),
        before=before,
        after=target,
        jurisdiction=t.pack.pack,
        due_at=task.due_at.isoformat(),
    )


# ---- tasks to a person or another unit -----------------------------------------------------
def assign_task(session: Session, command: Command) -> dict[str, Any]:
    """认领 / 转交: to a person of the owning unit, or to another unit of the county with a reason."""
    p = command.payload
    found = session.get_one(Task, uuid.UUID(p["task_id"]))
    case = lock_case(session, found.case_id)
    session.refresh(found)
    if found.status != "open":
        raise Conflict("task_not_open", f"task {found.id} is already {found.status}", "task")
    t = Transition(session, case, command, command.actor)
    unit = p.get("unit")
    if unit and unit != found.owner_unit:
        old = found.owner_unit
        _hand_task(t, found, unit, t.pack)
        t.notify(
            "case_left",
            to=[],
            unit_codes=[old],
            ask=f"{t.title(found)}已移出本单位",
            detail=f"该任务已转交{t.unit_name(unit)}办理",
        )
        t.notify(
            "case_arrived",
            to=[],
            unit_codes=[unit],
            ask=t.title(found),
            detail=f"{t.unit_name(old)}将该任务转交本单位办理，时限不变",
            due=found.due_at,
        )
    to = p.get("to")
    if to:
        person = session.exec(select(User).where(User.username == to)).one()
        check_row(session, case, found)
        found.assignee = to
        session.add(found)
        t.record(
            "task_claimed" if p.get("claim") else "task_assigned",
            f"{t.title(found)} 由{person.display_name}办理",
            task_id=str(found.id),
            assignee=to,
        )
    return _answer(case)


# ---- transfer to another county ------------------------------------------------------------
def transfer_case(session: Session, command: Command) -> dict[str, Any]:
    """Send the case to another county: it waits there for civil affairs to accept (both read it)."""
    p = command.payload
    case = lock_case(session, uuid.UUID(p["case_id"]))
    if case.status != "open":
        raise Conflict("case_not_open", f"case {case.case_no} is {case.status}; only an open case moves", "case")
    if case.transfer_to is not None:
        raise Conflict("transfer_pending", f"case {case.case_no} already waits to be accepted", "case")
    to = pack(p["to"])
    if to.pack == case.jurisdiction:
        raise InvalidInput("same_jurisdiction", f"to: the case already is in {to.pack}", "to")
    t = Transition(session, case, command, command.actor)
    case.transfer_to = to.pack
    t.record(
        "case_transfer_requested",
        f"申请将案件移交{to.name}，待其民政部门接收",
        to=to.pack,
        reason=p["reason"],
    )
    with t.speaking_for(to.pack):
        t.notify(
            "transfer_requested",
            ask="待接收",
            detail=f"{pack(case.jurisdiction).name}申请将该案件移交你县办理，请确认接收并指定乡镇、村",
        )
    return _answer(case)


def withdraw_transfer(session: Session, command: Command) -> dict[str, Any]:
    """The sending county takes the request back, or the receiving county refuses it (with a reason)."""
    p = command.payload
    case = lock_case(session, uuid.UUID(p["case_id"]))
    if case.transfer_to is None:
        raise Conflict("no_transfer", f"case {case.case_no} waits for no transfer", "case")
    t = Transition(session, case, command, command.actor)
    receiving = case.transfer_to
    refused = p["refused"]
    case.transfer_to = None
    t.record(
        "case_transfer_refused" if refused else "case_transfer_cancelled",
        f"{pack(receiving).name}拒绝接收" if refused else f"撤回移交{pack(receiving).name}",
        to=receiving,
        reason=p["reason"],
    )
    detail = f"{pack(receiving).name}未接收，案件仍由{t.pack.name}办理" if refused else "移交申请已撤回"
    t.notify("transfer_cancelled", ask="移交未完成", detail=detail)
    with t.speaking_for(receiving):
        t.notify("transfer_cancelled", ask="移交未完成", detail=detail)
    return _answer(case)


def accept_transfer(session: Session, command: Command) -> dict[str, Any]:
    """The receiving county takes the case: its place there, its open tasks to the units there with
    their deadlines, and the child's file follow; the case keeps its number (nothing is duplicated)."""
    p = command.payload
    case = lock_case(session, uuid.UUID(p["case_id"]))
    if case.transfer_to is None:
        raise Conflict("no_transfer", f"case {case.case_no} waits for no transfer", "case")
    receiving = case.transfer_to
    township = _township(receiving, p["township"], "township")
    village = _village(receiving, township, p["village"], "village") if p.get("village") else None
    t = Transition(session, case, command, command.actor)
    sending = case.jurisdiction
    before = {"jurisdiction": sending, "township": case.township, "village": case.village}
    case.jurisdiction, case.township, case.village, case.transfer_to = receiving, township, village, None
    t.pack = pack(receiving)
    _child_follows(t, receiving, township, village, f"案件{case.case_no}移交{t.pack.name}")
    t.record(
        "case_transferred",
        f"{pack(sending).name} → {t.pack.name}（{_place_name(t, township, village)}），案件编号不变",
        before=before,
        after={"jurisdiction": receiving, "township": township, "village": village},
    )
    told = _move_tasks(t, sending, f"案件由{pack(sending).name}移交{t.pack.name}")
    receiving_name = t.pack.name
    with t.speaking_for(sending):
        rest = [u for u in (units.resolve(t.pack, "civil_affairs", "", None),) if u not in told]
        if rest:
            t.notify("case_left", to=[], unit_codes=rest, ask="移交完成", detail=f"{receiving_name}已接收该案件")
    return _answer(case)


PROCEDURES = {
    "correct_case": correct_case,
    "assign_task": assign_task,
    "transfer_case": transfer_case,
    "accept_transfer": accept_transfer,
    "withdraw_transfer": withdraw_transfer,
}


def procedure(session: Session, command: Command) -> dict[str, Any]:
    return PROCEDURES[command.kind](session, command)


@flow(name="handover", description="更正与移交: correct a case, hand a task over, transfer a case")
async def handover(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, procedure)
