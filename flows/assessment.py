"""评估帮扶 — assessment and assistance led by the township.

Procedure (the pack's `tasks.assessment`, e.g. seed 004 §三(二)4, seed 001 §二(二)9): the township assesses safety,
guardianship and physical and mental health, sets a risk level (分级干预, seed 003 §六(一))
and an assistance plan; one task opens per service referred and follow-up visits are
scheduled by risk level. A guardianship breach moves the case to 监护干预. When every
service and visit is done a final review opens; its exit reason closes the case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow

from models import Task
from shouhu.clock import now
from shouhu.inputs import AssessmentOutcome, ServiceOutcome, VisitOutcome
from shouhu.vocab import LABELS_ZH
from tasks import documents
from tasks.apply import apply_command, completion
from tasks.closing import review_and_close, start_refusal_watch
from tasks.guardianship import open_temporary_guardianship, record_serious_harm
from tasks.transition import Transition

BREACHES = {"absent", "harmful"}


def record_assessment(t: Transition, task: Task, outcome: AssessmentOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.case.risk_level = outcome.risk_level
    if outcome.safety == "in_danger":
        t.case.urgency = "urgent"
    t.record(
        "assessment_recorded",
        f"评估完成：风险等级 {LABELS_ZH[outcome.risk_level]}，{LABELS_ZH[outcome.safety]}，{LABELS_ZH[outcome.guardianship]}",
        risk_level=outcome.risk_level,
        safety=outcome.safety,
        guardianship=outcome.guardianship,
        services=list(outcome.services),
        intervention_needed=outcome.intervention_needed,
    )
    for service in outcome.services:
        t.open_task_and_notify("service", subject=service)
    plan = t.pack.follow_up.by_risk[outcome.risk_level]
    start = now()
    for number in range(1, plan.count + 1):
        visit = t.schedule_visit(number, start)
        t.notify("task_opened", task=visit)
    documents.issue(t, "assessment_report", task.owner_unit, outcome=outcome)
    documents.issue(t, "assistance_plan", task.owner_unit, outcome=outcome, items=documents.plan_items(t))
    start_refusal_watch(t, outcome.guardian_refused_since)
    if outcome.intervention_needed or outcome.serious_harm:
        start_intervention(t, breach=outcome.guardianship in BREACHES or outcome.safety == "in_danger")
    if outcome.serious_harm:
        record_serious_harm(t)


def start_intervention(t: Transition, breach: bool) -> None:
    """监护干预 begins: the police act on the guardian; civil affairs takes temporary guardianship
    when the assessment found guardianship absent or harmful, or the child in danger (pack
    `temporary_guardianship_triggers.assessment_breach`)."""
    t.move_to("intervention")
    t.open_task_and_notify("guardian_measures", event="intervention_opened", template="intervention_opened")
    if breach:
        open_temporary_guardianship(t, "assessment_breach")


def record_service(t: Transition, task: Task, outcome: ServiceOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))


def record_visit(t: Transition, task: Task, outcome: VisitOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    if outcome.concerns:
        t.record("visit_concern", "回访发现新的问题，请乡镇研判", task_id=str(task.id))
        t.notify("task_opened", template="report_attached", to=["township"], ask="回访发现新的问题")


def handle(t: Transition, task: Task, outcome: Any) -> None:
    handlers: dict[str, Callable[[Transition, Task, Any], None]] = {
        "assessment": record_assessment,
        "service": record_service,
        "follow_up_visit": record_visit,
        "holiday_patrol": record_visit,
        "final_review": review_and_close,
    }
    handlers[task.kind](t, task, outcome)


@flow(name="assessment", description="评估帮扶: assessment, assistance plan, services, visits, closing")
async def assessment(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, completion(handle))
