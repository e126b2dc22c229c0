"""监护干预 — guardianship intervention.

Procedure (the pack's rules; e.g. seed 004 §三(二)5, 民法典 art. 36, 法发〔2014〕24号 art. 35):
the police act on the guardian (批评教育, 训诫, 治安处罚, 立案侦查); civil affairs decides
temporary guardianship (and, where the county's document says so, whenever the guardian does
not change after police education). The petition grounds are alternatives: no change after
education, refusal for six months (the refusal watch), or serious harm or abandonment recorded —
each opens the petition by itself and is checked against the file when it is filed; the ruling
is recorded; the child is placed (亲属抚养, 家庭寄养, 机构养育, 收养). Then the final review closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from prefect import flow

from models import Task
from shouhu import units
from shouhu.clock import now
from shouhu.errors import InvalidInput
from shouhu.inputs import (
    CourtPetitionOutcome,
    CourtRulingOutcome,
    GuardianMeasuresOutcome,
    PlacementOutcome,
    TemporaryGuardianshipOutcome,
)
from shouhu.vocab import LABELS_ZH, named
from tasks import documents
from tasks.apply import apply_command, completion
from tasks.closing import add_months, review_and_close, start_refusal_watch
from tasks.guardianship import (
    ground_with,
    open_petition,
    open_temporary_guardianship,
    record_serious_harm,
)
from tasks.transition import Transition


def record_guardian_measures(t: Transition, task: Task, outcome: GuardianMeasuresOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record(
        "guardian_measures",
        f"对监护人采取措施：{'、'.join(named(m) for m in outcome.measures)}；监护人{'已' if outcome.guardian_changed else '未'}改正",
        measures=list(outcome.measures),
        guardian_changed=outcome.guardian_changed,
    )
    start_refusal_watch(t, outcome.guardian_refused_since)
    if not outcome.guardian_changed:
        # not changed after police education: ground 1, and (yunyang, mentougou) temporary guardianship
        open_temporary_guardianship(t, "education_unchanged")
        ground = ground_with(t, "guardian_unchanged_after_education")
        if ground:
            open_petition(t, ground)
    if outcome.serious_harm:
        record_serious_harm(t)


def record_temporary_guardianship(t: Transition, task: Task, outcome: TemporaryGuardianshipOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record(
        "temporary_guardianship",
        "作出临时监护决定" if outcome.decided else "未作出临时监护决定",
        decided=outcome.decided,
    )
    if outcome.decided:
        documents.issue(t, "temporary_guardianship_decision", task.owner_unit, outcome=outcome)


def ground_holds(t: Transition, outcome: CourtPetitionOutcome) -> str:
    """The ground's condition, checked against the file (seed 004 §三(二)5)."""
    grounds = t.pack.petition_grounds.value
    if outcome.ground not in grounds:
        raise InvalidInput(
            "unknown_ground",
            f"outcome.ground must be one of: {', '.join(grounds)} ({t.pack.petition_grounds.source})",
            "outcome.ground",
        )
    requires = grounds[outcome.ground].requires
    if requires == "guardian_unchanged_after_education":
        if not any(not x.outcome.get("guardian_changed", True) for x in t.done("guardian_measures")):
            raise InvalidInput(
                "ground_not_met",
                "outcome.ground: no recorded police education after which the guardian did not change",
                "outcome.ground",
            )
    elif requires == "refused_since_six_months":
        since = outcome.refused_since or refused_since_on_file(t)
        if since is None or add_months(_midnight(since), 6).date() > now().date():
            raise InvalidInput(
                "ground_not_met",
                "outcome.refused_since: guardianship must have been refused for six months or more",
                "outcome.refused_since",
            )
    elif requires == "serious_harm_recorded" and not (outcome.serious_harm or serious_harm_on_file(t)):
        raise InvalidInput(
            "ground_not_met",
            "outcome.serious_harm: this ground needs serious harm to the child's health recorded",
            "outcome.serious_harm",
        )
    return grounds[outcome.ground].label


def refused_since_on_file(t: Transition) -> date | None:
    """The earliest refusal date an assessment or the police recorded."""
    days = [x.outcome.get("guardian_refused_since") for k in ("assessment", "guardian_measures") for x in t.done(k)]
    found = sorted(date.fromisoformat(d) for d in days if d)
    return found[0] if found else None


def serious_harm_on_file(t: Transition) -> bool:
    return any(x.outcome.get("serious_harm") for k in ("assessment", "guardian_measures") for x in t.done(k))


def _midnight(day: date) -> datetime:
    return now().replace(year=day.year, month=day.month, day=day.day, hour=0, minute=0, second=0, microsecond=0)


def record_court_petition(t: Transition, task: Task, outcome: CourtPetitionOutcome) -> None:
    if not outcome.filed:
        if not outcome.not_filed_reason:
            raise InvalidInput(
                "missing_field", "outcome.not_filed_reason: say why no petition is filed", "outcome.not_filed_reason"
            )
        t.complete_task(task, outcome.model_dump(mode="json"))
        t.record("court_petition_not_filed", "不申请撤销监护资格（理由见任务记录）", reason=outcome.not_filed_reason)
        if any(x.outcome.get("decided") for x in t.done("temporary_guardianship")):
            t.open_task_and_notify("placement")
        return
    if outcome.petitioner not in t.pack.petitioners.value:
        raise InvalidInput(
            "invalid_value",
            f"outcome.petitioner must be one of: {', '.join(t.pack.petitioners.value)}",
            "outcome.petitioner",
        )
    label = ground_holds(t, outcome)
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record(
        "court_petition_filed",
        f"向人民法院申请撤销监护人资格，事由：{label}",
        ground=outcome.ground,
        petitioner=outcome.petitioner,
        source=t.pack.petition_grounds.source,
    )
    documents.issue(
        t,
        "guardianship_petition",
        task.owner_unit,
        outcome=outcome,
        ground=label,
        court=court_name(t),
        petitioner=t.unit_name(task.owner_unit)
        if outcome.petitioner == "civil_affairs"
        else LABELS_ZH[outcome.petitioner],
    )
    t.open_task_and_notify("court_ruling")


def court_name(t: Transition) -> str:
    try:
        return t.unit_name(units.resolve(t.pack, "court", t.case.township))
    except LookupError:  # a pack without its court on the roster
        return "人民法院"


def record_court_ruling(t: Transition, task: Task, outcome: CourtRulingOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record(
        "court_ruling",
        "法院裁定撤销监护人资格" if outcome.revoked else "法院裁定不撤销监护人资格",
        revoked=outcome.revoked,
    )
    t.open_task_and_notify("placement")


def record_placement(t: Transition, task: Task, outcome: PlacementOutcome) -> None:
    t.complete_task(task, outcome.model_dump(mode="json"))
    t.record("placement", f"安置方式：{named(outcome.placement)}", placement=outcome.placement)


def handle(t: Transition, task: Task, outcome: Any) -> None:
    handlers: dict[str, Callable[[Transition, Task, Any], None]] = {
        "guardian_measures": record_guardian_measures,
        "temporary_guardianship": record_temporary_guardianship,
        "court_petition": record_court_petition,
        "court_ruling": record_court_ruling,
        "placement": record_placement,
        "final_review": review_and_close,
    }
    handlers[task.kind](t, task, outcome)


@flow(name="intervention", description="监护干预: measures, temporary guardianship, petition, ruling, placement")
async def intervention(command_id: str) -> dict[str, Any]:
    return apply_command(command_id, completion(handle))
