"""Corrections (issue 16 §2): `shouhu case correct` — a wrong township or village, a mistyped name,
birth date or ID number, a wrong situation, put right with a reason. The value is checked as the
intake checks it (the error names the corrected field); the original stays on the timeline; a new place
moves the open tasks to the units the pack names for it (flows.handovers)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlmodel import Session

from models import Case, Command, User
from services.cases import show_case
from services.commands import execute
from services.reading import find_case, guard, looked_up, recorded
from shouhu import access, db, policy, units
from shouhu.clock import now
from shouhu.errors import Forbidden, InvalidInput
from shouhu.inputs import Day, Input, RequiredLongText, ShortText, SomeChoices, parse
from shouhu.vocab import Situation

FIELDS = ("township", "village", "child.name", "child.birth_date", "child.id_number", "situations")


class CorrectionIn(Input):
    field: Literal["township", "village", "child.name", "child.birth_date", "child.id_number", "situations"]
    value: Any
    reason: RequiredLongText
    village: ShortText | None = None  # with `township`: the village there (else the township itself)


class _Shape(Input):
    """A corrected value, checked as the intake checks that field."""

    value: Any


class _Text(_Shape):
    value: ShortText


class _Day(_Shape):
    value: Day


class _IdNumber(_Shape):
    value: ShortText


class _Situations(_Shape):
    value: SomeChoices[Situation]


SHAPES: dict[str, type[_Shape]] = {
    "township": _Text,
    "village": _Text,
    "child.name": _Text,
    "child.birth_date": _Day,
    "child.id_number": _IdNumber,
    "situations": _Situations,
}


def check_may_correct(actor: User, case: Case) -> None:
    """The units the pack names (`handovers.correct_by`, local default: the police who registered and
    county civil affairs), people who see identities: a manager reads masked and corrects nothing."""
    p = policy.pack(case.jurisdiction)
    allowed = {units.resolve(p, s, case.township, case.village) for s in p.handovers.value.correct_by}
    if actor.jurisdiction != case.jurisdiction or actor.unit not in allowed or not access.may_see_identity(actor):
        raise Forbidden("not_permitted", f"{actor.username} may not correct this case", "as")


def may_correct(actor_name: str, ref: str) -> bool:
    """Whether the case page offers this reader the correction form."""
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        case = find_case(s, ref)
    try:
        check_may_correct(actor, case)
    except Forbidden:
        return False
    return actor.disabled_at is None


def correct_case(ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """Put one field of a case right (see FIELDS); → the case."""
    correction = parse(CorrectionIn, data)
    try:
        value = parse(SHAPES[correction.field], {"value": correction.value}).value
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message.replace("value", correction.field, 1), correction.field) from None
    if correction.village is not None and correction.field != "township":
        raise InvalidInput("invalid_value", "village: given only with a township correction", "village")
    with Session(db.engine()) as s:
        case = looked_up(s, actor_name, "case_correct", ref, lambda: find_case(s, ref))
        actor = access.user(s, actor_name)
        guard(s, case, actor.username, "case_correct")
    recorded(actor, "case_correct", str(case.id), lambda: check_may_correct(actor, case))
    payload = {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "jurisdiction": case.jurisdiction,
        "field": correction.field,
        "value": value.isoformat() if hasattr(value, "isoformat") else value,
        "village": correction.village,
        "reason": correction.reason,
    }
    result = run(Command(kind="correct_case", idempotency_key=str(uuid.uuid4()), actor=actor.username, payload=payload))
    if result.get("status") == "queued":
        return result
    return show_case(str(case.id), actor.username, record_read=False)


def run(command: Command) -> dict[str, Any]:
    """Rehearse, store and apply a hand-over command by its flow (services.commands.execute)."""
    from flows.handovers import handover, procedure

    command.created_at = now()
    tags = [command.payload.get("case_no", ""), f"jurisdiction:{command.payload.get('jurisdiction', '')}"]
    return execute(command, handover, procedure, tags)
