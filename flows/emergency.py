"""应急处置 — emergency response by the police, and temporary care arranged with it.

Procedure (seed 004 §三(二)3, seed 001 §二(二)9): the police record what they found and did.
A report found unfounded (不属实) closes the case with its reason. Otherwise the measures the
situation requires must be among those taken; temporary care opens a task for the rescue
station; shelter escort tells civil affairs; then the township is notified (通报) and the
case moves to 评估帮扶 with the township's assessment task.
"""
from __future__ import annotations

from typing import Any

from prefect import flow
from sqlmodel import select

from models import Report, Task
from shouhu.errors import InvalidInput
from shouhu.inputs import EmergencyOutcome, TemporaryCareOutcome, VisitOutcome
from tasks.apply import apply_command, completion
from shouhu.vocab import LABELS_ZH
from tasks import documents
from tasks.transition import Transition



# seed 004 §三(二)3 委托照护 / 临时照料; seed 000 §三(二) 书面交接
HANDOVER_MEASURES = ("written_handover", "entrusted_care", "temporary_care")


def situations_of(t: Transition) -> list[str]:
    reports = t.session.exec(select(Report).where(Report.case_id == t.case.id)).all()
    return sorted({s for r in reports for s in r.situations})


def check_required_measures(t: Transition, outcome: EmergencyOutcome) -> None:
    """Each situation's required measures must be taken (source in the pack)."""
    required = t.pack.required_measures
    for situation in situations_of(t):
        missing = [m for m in required.value.get(situation, []) if m not in outcome.measures]
        if missing:
            raise InvalidInput("required_measure_missing",
                               f"outcome.measures: situation {situation} requires {', '.join(missing)} ({required.source})",
                               "outcome.measures")


def record_emergency_response(t: Transition, task: Task, outcome: EmergencyOutcome) -> None:
    if outcome.unfounded:
        if not outcome.unfounded_reason:
            raise InvalidInput("missing_field", "outcome.unfounded_reason: say why the report is unfounded", "outcome.unfounded_reason")
        t.complete_task(task, outcome.model_dump(mode="json"))
        t.close("unfounded", "经调查报告不属实", detail=outcome.unfounded_reason)
        return
    if not outcome.measures:
        raise InvalidInput("missing_field", "outcome.measures: record at least one measure taken (or unfounded: true)", "outcome.measures")
    check_required_measures(t, outcome)
    t.complete_task(task, outcome.model_dump(mode="json"))
    for measure in outcome.measures:
        t.record("measure_taken", f"应急措施：{LABELS_ZH[measure]}", measure=measure)
        if measure in t.pack.measure_tasks.value:
            t.open_task_and_notify(t.pack.measure_tasks.value[measure])
        if measure in t.pack.measure_notify.value:
            t.notify("measure", template="measure_notice", to=[t.pack.measure_notify.value[measure]], ask=LABELS_ZH[measure])
    if "warning_letter" in outcome.measures:
        documents.issue(t, "warning_letter", task.owner_unit)
    handed = [m for m in outcome.measures if m in HANDOVER_MEASURES]
    if handed:
        documents.issue(t, "handover", task.owner_unit, measures="、".join(LABELS_ZH[m] for m in handed), notes=outcome.notes)
    t.move_to("assessment")
    t.open_task_and_notify("assessment", event="township_notice", template="township_notice",
                           detail="已采取措施：" + "、".join(LABELS_ZH[m] for m in outcome.measures))


def record_warning_letter_visit(t: Transition, task: Task, outcome: VisitOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    if outcome.concerns:
        t.record("visit_concern", "告诫书回访发现家庭暴力未止，请派出所研判", task_id=str(task.id))
        t.notify("task_opened", template="report_attached", to=["station", "township"], ask="告诫书回访发现新的问题")


def record_temporary_care(t: Transition, task: Task, outcome: TemporaryCareOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record("temporary_care_arranged", "救助保护机构已安排临时照料")


def handle(t: Transition, task: Task, outcome: Any) -> None:
    {"emergency_response": record_emergency_response, "temporary_care": record_temporary_care,
     "warning_letter_visit": record_warning_letter_visit}[task.kind](t, task, outcome)


@flow(name="emergency", description="应急处置: record the police outcome, notify the township")
async def emergency(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, completion(handle))
