"""Opening the guardianship work: temporary guardianship and the court petition.

Each opens from more than one place — the emergency step, the assessment, the police's
education of the guardian, the six-month refusal watch — so the rule "at most one open, and
none again once done" lives here, once. The grounds are alternatives (民法典 art. 36; the
pack's `petition_grounds`): any one of them opens the petition by itself.
"""

from __future__ import annotations

from models import Task
from tasks.transition import Transition


def has_work(t: Transition, kind: str) -> bool:
    """An open task of this kind, or one done (a decision taken stays taken)."""
    return bool(t.open_tasks({kind}) or t.done(kind))


def enter_intervention(t: Transition) -> None:
    """监护干预 begins (once): civil affairs, the station and coordination are told."""
    if t.case.stage not in ("intervention", "closed"):
        t.move_to("intervention")


def open_temporary_guardianship(t: Transition, trigger: str | None = None) -> Task | None:
    """临时监护 opens if the pack names this trigger (None: a measure that always opens it)."""
    if trigger is not None and trigger not in t.pack.temporary_guardianship_triggers.value:
        return None
    if has_work(t, "temporary_guardianship"):
        return None
    return t.open_task_and_notify("temporary_guardianship", event="intervention_opened", template="intervention_opened")


def open_petition(t: Transition, ground: str) -> Task | None:
    """撤销监护资格申请 opens on one ground (a key of the pack's `petition_grounds`)."""
    if has_work(t, "court_petition") or t.case.stage == "closed":
        return None
    enter_intervention(t)
    label = t.pack.petition_grounds.value[ground].label
    t.record(
        "petition_opened", f"撤销监护人资格申请事由成立：{label}", ground=ground, source=t.pack.petition_grounds.source
    )
    return t.open_task_and_notify(
        "court_petition", event="intervention_opened", template="intervention_opened", detail=f"事由：{label}"
    )


def ground_with(t: Transition, requires: str) -> str | None:
    """The pack's ground that a condition satisfies (grounds are named by what they require)."""
    return next((key for key, g in t.pack.petition_grounds.value.items() if g.requires == requires), None)


def record_serious_harm(t: Transition) -> None:
    """Serious harm or abandonment recorded: that ground opens the petition by itself."""
    t.record("serious_harm_recorded", "记录：儿童因侵害或遗弃身心健康严重受损")
    ground = ground_with(t, "serious_harm_recorded")
    if ground:
        open_petition(t, ground)
