"""强制报告 — intake: register a mandatory report and open (or join) the child's case.

Procedure (seed 004 §三(二)2–3, 强制报告意见 art. 8): the police accept the report at once;
the child's file is found or created (一人一档, seed 000 §三(一)); a report on a child who
already has an open case joins that case; otherwise a case opens in 应急处置 with the police
task to dispatch and its deadline; a report made late is flagged against the reporter's unit.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from sqlmodel import Session, col, select

from flows.tagging import tag_current_run
from models import Case, Child, Command, Counter, Guardian, Report, Reporter
from shouhu import units
from shouhu.clock import now
from shouhu.inputs import ReportIn, check_report
from shouhu.policy import Pack, pack
from shouhu.timeline import lock_case
from shouhu.vocab import SITUATION_NAMES_ZH
from shouhu.wording import format_due
from tasks import documents
from tasks.apply import apply_command, case_tags
from tasks.transition import Transition


def find_or_create_child(session: Session, p: Pack, report: ReportIn) -> Child:
    """One file per child: by ID number, else by name, birth date and township.

    A file found again follows the child: its jurisdiction, township and village become where
    this report places the child, so the case is worked by the units there.
    """
    c = report.child
    township = units.find_township(p, c.township)
    village = units.find_village(p, township, c.village) if c.village else None
    if c.id_number:
        query = select(Child).where(Child.id_number == c.id_number)
    else:
        query = select(Child).where(
            col(Child.id_number).is_(None),
            Child.name == c.name,
            Child.birth_date == c.birth_date,
            Child.township == township.code,
        )
    child = session.exec(query).first()
    while child is not None and child.merged_into is not None:  # a merged file answers with the one it joined
        child = session.get(Child, child.merged_into)
    if child is not None and _open_elsewhere(session, child, p.pack):
        pass  # stays with the other county's open case (issue 16 §3): a transfer moves it, not a report
    elif child is not None and (child.jurisdiction, child.township, child.village) != (
        p.pack,
        township.code,
        village.code if village else None,
    ):
        child.jurisdiction, child.township, child.village = p.pack, township.code, village.code if village else None
        session.add(child)
    if child is None:
        child = Child(
            jurisdiction=p.pack,
            id_number=c.id_number,
            name=c.name,
            birth_date=c.birth_date,
            gender=c.gender,
            township=township.code,
            village=village.code if village else None,
            address=c.address,
            left_behind=c.left_behind,
            created_at=now(),
        )
        session.add(child)
        session.flush()
    known = {(g.name, g.relation) for g in session.exec(select(Guardian).where(Guardian.child_id == child.id))}
    for g in report.guardians:
        if (g.name, g.relation) not in known:
            session.add(Guardian(child_id=child.id, name=g.name, relation=g.relation, status=g.status))
    return child


def _open_elsewhere(session: Session, child: Child, jurisdiction: str) -> bool:
    return (
        session.exec(
            select(Case.id).where(Case.child_id == child.id, Case.status == "open", Case.jurisdiction != jurisdiction)
        ).first()
        is not None
    )


def next_case_no(session: Session, p: Pack) -> str:
    year = now().year
    name = f"case:{p.pack}:{year}"
    counter = session.exec(select(Counter).where(Counter.name == name).with_for_update()).first()
    if counter is None:
        counter = Counter(name=name, value=0)
    counter.value += 1
    session.add(counter)
    return f"{p.case_prefix}-{year}-{counter.value:05d}"


def open_case(
    session: Session,
    p: Pack,
    child: Child,
    urgent: bool,
    reserved: dict[str, str] | None = None,
    place: tuple[str, str | None] | None = None,
) -> Case:
    """A new case; its number and id were reserved when the report was stored (so a queued
    report could be answered with them), else allocated now. `place`: where the report puts the
    child, when the child's file stays with another county's open case."""
    number = reserved["case_no"] if reserved else next_case_no(session, p)
    township, village = place or (child.township, child.village)
    case = Case(
        case_no=number,
        jurisdiction=p.pack,
        child_id=child.id,
        township=township,
        village=village,
        stage="emergency",
        urgency="urgent" if urgent else "normal",
        opened_at=now(),
    )
    if reserved:
        case.id = uuid.UUID(reserved["case_id"])
    session.add(case)  # new and unseen by anyone else: nothing to lock
    session.flush()
    return case


def open_case_for_report(session: Session, command: Command) -> dict[str, Any]:
    report = check_report(ReportIn.model_validate(command.payload["report"]))
    p = pack(report.jurisdiction)
    child = find_or_create_child(session, p, report)
    urgent = p.is_urgent(report.situations)
    open_cases = session.exec(select(Case).where(Case.child_id == child.id, Case.status == "open")).all()
    existing = next((c for c in open_cases if c.jurisdiction == p.pack), None)  # the units here work the child now
    elsewhere = [c for c in open_cases if c.jurisdiction != p.pack]
    place = None
    if elsewhere:  # the child's file stays with that case; this county's case is where the report puts the child
        township = units.find_township(p, report.child.township)
        village = units.find_village(p, township, report.child.village) if report.child.village else None
        place = (township.code, village.code if village else None)
    case = (
        lock_case(session, existing.id)
        if existing
        else open_case(session, p, child, urgent, command.payload.get("reserved"), place)
    )
    t = Transition(session, case, command, command.actor, reporter_unit_type=report.reporter.unit_type)

    registered = Report(
        case_id=case.id,
        command_id=command.id,
        jurisdiction=p.pack,
        channel=report.channel,
        situations=list(report.situations),
        description=report.description,
        discovered_at=report.discovered_at,
        reported_at=now(),
        registered_by=command.actor,
    )
    session.add(registered)
    session.flush()
    session.add(
        Reporter(
            report_id=registered.id,
            unit_type=report.reporter.unit_type,
            supervising_unit=units.resolve(
                p, "reporter_supervisor", case.township, case.village, report.reporter.unit_type
            ),
            **report.reporter.model_dump(exclude={"unit_type"}),
        )
    )

    if existing:
        if urgent and case.urgency != "urgent":
            case.urgency = "urgent"
        t.record(
            "report_attached",
            "收到关于同一儿童的新报告，并入本案",
            channel=report.channel,
            report_id=str(registered.id),
            situations=list(report.situations),
        )
        t.notify("report_attached", ask="新报告情形：" + "、".join(SITUATION_NAMES_ZH[s] for s in report.situations))
    else:
        t.record(
            "case_opened",
            f"受理强制报告，{'紧急' if urgent else '一般'}案件",
            channel=report.channel,
            report_id=str(registered.id),
            situations=list(report.situations),
            urgency=case.urgency,
        )
        open_police_tasks(t)
    for other in elsewhere:
        t.record(
            "linked_case",
            f"该儿童在 {pack(other.jurisdiction).name} 另有未结案件 {other.case_no}，儿童档案仍在该县",
            case_no=other.case_no,
            jurisdiction=other.jurisdiction,
        )
        tell_other_county(session, command, other, case, p)

    flag_late_report(t, registered, p, report.reporter.unit)
    session.flush()
    documents.issue(t, "intake_form", units.resolve(p, "station", case.township, case.village))
    case.version += 1
    return {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "stage": case.stage,
        "attached_to_existing": existing is not None,
        "report_id": str(registered.id),
    }


def tell_other_county(session: Session, command: Command, other: Case, case: Case, p: Pack) -> None:
    """The county with the child's open case is told, on its own case (locked too, after this one):
    its case and the child's file stay its own until it transfers the case (issue 16 §3)."""
    theirs = Transition(session, lock_case(session, other.id), command, command.actor)
    theirs.record(
        "reported_elsewhere",
        f"该儿童在{p.name}被强制报告（案件 {case.case_no}），本案和儿童档案仍由本县办理",
        case_no=case.case_no,
        jurisdiction=p.pack,
    )
    theirs.case.version += 1
    theirs.notify(
        "reported_elsewhere",
        ask=f"关联案件 {case.case_no}",
        detail=f"该儿童在{p.name}被强制报告（案件 {case.case_no}），如儿童已迁居，可将本案移交该县",
    )


def open_police_tasks(t: Transition) -> None:
    """The police go at once: arrival on scene (出警到场) has its own short clock, the emergency
    response its longer one; the station and the county bureau are told once, with both."""
    arrival = t.open_task("police_arrival")
    response = t.open_task("emergency_response")
    t.notify(
        "case_opened",
        task=arrival,
        ask=f"{t.title(arrival)}（到场后点“已到场”）",
        detail=f"到场后{t.title(response)}，时限 {format_due(response.due_at)}",
    )


def flag_late_report(t: Transition, registered: Report, p: Pack, reporter_unit: str) -> None:
    """迟报: discovered → reported beyond the pack's limit (seed 001 §二(一)6 第一时间报案)."""
    if registered.discovered_at is None:
        return
    late_by = registered.reported_at - registered.discovered_at
    limit = p.late_report.value.hours or 0
    if late_by.total_seconds() <= limit * 3600:
        return
    registered.late, registered.late_by_minutes = True, int(late_by.total_seconds() // 60)
    hours = late_by.total_seconds() / 3600
    t.record(
        "late_report",
        f"强制报告迟报：发现后 {hours:.1f} 小时才报告（时限 {limit:g} 小时）",
        report_id=str(registered.id),
        late_by_minutes=registered.late_by_minutes,
        limit_hours=limit,
        source=p.late_report.source,
    )
    t.notify("late_report", detail=f"发现后 {hours:.1f} 小时报告，时限 {limit:g} 小时")


@flow(name="intake", description="强制报告: register a report, open or join the child's case")
async def intake(command_id: str) -> dict[str, Any]:
    result = apply_command(command_id, open_case_for_report)
    if "case_no" in result:
        await tag_current_run([result["case_no"]])
    return result


__all__ = ["intake", "open_case_for_report", "case_tags"]
