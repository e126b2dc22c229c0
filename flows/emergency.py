"""应急处置 — emergency response by the police, and temporary care arranged with it.

Procedure (the pack's `tasks.police_arrival` and `tasks.emergency_response`, e.g. seed 001 §二(二)9
立即出警处置, seed 004 §三(二)3 第一时间出警调查): the police go at once — arrival on scene is its
own short clock, acknowledged with one tap — then record what they found and did. A report found
unfounded (不属实) closes the case with its reason — once the unit the pack names approves (issue 16). Otherwise every requirement of the situations
(pack `required_measures`, "one of" where the county's document offers a choice) must be met;
measures open their tasks (temporary care, temporary guardianship) and tell their units, one
message per unit; then the township is notified (通报) and the case moves to 评估帮扶.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from prefect import flow
from sqlmodel import select

from models import Report, Task
from shouhu import units
from shouhu.errors import InvalidInput
from shouhu.inputs import (
    ArrivalOutcome,
    EmergencyOutcome,
    TemporaryCareOutcome,
    VisitOutcome,
)
from shouhu.vocab import LABELS_ZH, SITUATION_NAMES_ZH, Measure
from tasks import approvals, documents
from tasks.apply import apply_command, completion
from tasks.closing import close_unfounded
from tasks.transition import Transition

# Measures that place the child with someone: the written handover (书面交接) records them.
HANDOVER_MEASURES = ("written_handover", "entrusted_care", "temporary_care", "urgent_removal")


def situations_of(t: Transition) -> list[str]:
    reports = t.session.exec(select(Report).where(Report.case_id == t.case.id)).all()
    return sorted({s for r in reports for s in r.situations})


def check_required_measures(t: Transition, outcome: EmergencyOutcome) -> None:
    """Each situation's requirements must be met: one measure of each (sources in the pack)."""
    unmet = t.pack.unmet_requirements(situations_of(t), list(outcome.measures))
    if unmet:
        said = "; ".join(
            f"{s} ({SITUATION_NAMES_ZH[s]}) requires {' or '.join(r.one_of)} ({r.source})" for s, r in unmet
        )
        raise InvalidInput("required_measure_missing", f"outcome.measures: {said}", "outcome.measures")


def record_arrival(t: Transition, task: Task, outcome: ArrivalOutcome | None = None) -> None:
    """出警到场: the police say they are there (late or not is the deadline's to say)."""
    t.complete_task(task, (outcome or ArrivalOutcome()).model_dump(mode="json"))


def arrival_before_response(t: Transition) -> None:
    """A response recorded before arrival was acknowledged: the police were there; say so first."""
    for arrival in t.open_tasks({"police_arrival"}):
        record_arrival(t, arrival, ArrivalOutcome(notes="随应急处置结果一并确认到场"))


def open_measure_tasks(t: Transition, measures: list[str]) -> None:
    """Each measure's task (once), and one message per owner unit naming every task it was given."""
    given: dict[str, list[Task]] = {}
    for measure in measures:
        rule = t.pack.measure_tasks.value.get(cast(Measure, measure))
        if rule is not None and not t.open_tasks({rule.task}) and not t.done(rule.task):
            task = t.open_task(rule.task)
            given.setdefault(task.owner_unit, []).append(task)
    for unit, tasks in given.items():
        t.notify(
            "task_opened",
            to=[],
            unit_codes=[unit],
            ask="、".join(t.title(x) for x in tasks),
            due=min(x.due_at for x in tasks),
        )


def tell_measure_units(t: Transition, measures: list[str]) -> None:
    """One message per unit, naming every measure it is asked to help with (two measures that
    tell the same unit are one hand-off, not two messages)."""
    asks: dict[str, list[str]] = {}
    for measure in measures:
        rule = t.pack.measure_notify.value.get(cast(Measure, measure))
        if rule is not None:
            unit = units.resolve(t.pack, rule.to, t.case.township, t.case.village)
            asks.setdefault(unit, []).append(LABELS_ZH[measure])
    for unit, labels in asks.items():
        t.notify("measure", template="measure_notice", to=[], unit_codes=[unit], ask="、".join(labels))


def record_emergency_response(t: Transition, task: Task, outcome: EmergencyOutcome) -> None:
    if outcome.unfounded:
        if not outcome.unfounded_reason:
            raise InvalidInput(
                "missing_field", "outcome.unfounded_reason: say why the report is unfounded", "outcome.unfounded_reason"
            )
        arrival_before_response(t)
        t.complete_task(task, outcome.model_dump(mode="json"))
        if approvals.needed(t, "unfounded"):  # the finding waits for the unit the pack names; the case stays open
            approvals.request(t, "unfounded", task, {"unfounded_reason": outcome.unfounded_reason}, "报告不属实的认定")
            return
        close_unfounded(t, outcome.unfounded_reason)
        return
    if not outcome.measures:
        raise InvalidInput(
            "missing_field",
            "outcome.measures: record at least one measure taken (or unfounded: true)",
            "outcome.measures",
        )
    check_required_measures(t, outcome)
    arrival_before_response(t)
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.put_on_ledger()
    for measure in outcome.measures:
        t.record("measure_taken", f"应急措施：{LABELS_ZH[measure]}", measure=measure)
    open_measure_tasks(t, list(outcome.measures))
    tell_measure_units(t, list(outcome.measures))
    if "warning_letter" in outcome.measures:
        documents.issue(t, "warning_letter", task.owner_unit)
    handed = [m for m in outcome.measures if m in HANDOVER_MEASURES]
    if handed:
        documents.issue(
            t, "handover", task.owner_unit, measures="、".join(LABELS_ZH[m] for m in handed), notes=outcome.notes
        )
    t.move_to("assessment")
    t.open_task_and_notify(
        "assessment",
        event="township_notice",
        template="township_notice",
        detail="已采取措施：" + "、".join(LABELS_ZH[m] for m in outcome.measures),
    )


def record_warning_letter_visit(t: Transition, task: Task, outcome: VisitOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    if outcome.concerns:
        t.record("visit_concern", "告诫书回访发现家庭暴力未止，请派出所研判", task_id=str(task.id))
        t.notify("task_opened", template="report_attached", to=["station", "township"], ask="告诫书回访发现新的问题")


def record_temporary_care(t: Transition, task: Task, outcome: TemporaryCareOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record("temporary_care_arranged", "救助保护机构已安排临时照料")


def handle(t: Transition, task: Task, outcome: Any) -> None:
    handlers: dict[str, Callable[[Transition, Task, Any], None]] = {
        "police_arrival": record_arrival,
        "emergency_response": record_emergency_response,
        "temporary_care": record_temporary_care,
        "warning_letter_visit": record_warning_letter_visit,
    }
    handlers[task.kind](t, task, outcome)


@flow(name="emergency", description="应急处置: record the police outcome, notify the township")
async def emergency(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, completion(handle))
