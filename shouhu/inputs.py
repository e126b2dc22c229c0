"""What a person may submit: the report form and one typed outcome per task kind.

Pydantic checks shapes, closed vocabularies and sizes; `check_report` adds the rules that need
the jurisdiction's pack or the clock. Every failure becomes one InvalidInput naming the field.
Every face reads its input through `load_json` (API bodies, CLI files) or hands a dict to
`parse` (forms), so a request is refused the same way wherever it comes from: no control
characters, no text longer than the limits, no repeated items, no dates before 1900 —
the limits are the national pack's `input_limits`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from shouhu import idnumber, policy
from shouhu.clock import now
from shouhu.errors import InvalidInput, NotFound
from shouhu.vocab import Measure, ReporterUnitType, RiskLevel, Role, Service, Situation

M = TypeVar("M", bound=BaseModel)
LIMITS = policy.input_limits()
LATEST_YEAR = 2200  # beyond it an instant with an offset cannot be converted to UTC safely


# ---- text, dates and lists as every form field takes them --------------------------------
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _unprintable(text: str, multiline: bool) -> str | None:
    """The first character a field may not hold: control characters (NUL and the like), line
    breaks in one-line fields, lone surrogates (they cannot be stored as UTF-8), direction
    overrides (they make text display other than it reads) and, in one-line fields, every other
    invisible formatting character."""
    allowed = "\n\t\r" if multiline else ""
    for ch in text:
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if (
            category in ("Cc", "Cs")
            or ch in "\u2028\u2029"
            or ch in BIDI_CONTROLS
            or (category == "Cf" and not multiline)
        ):
            return repr(ch)
    return None


def _one_line(text: str) -> str:
    bad = _unprintable(text, multiline=False)
    if bad:
        raise PydanticCustomError(
            "control_character",
            "holds the character {char}, which is not allowed here (one line of text)",
            {"char": bad},
        )
    return text


def _multi_line(text: str) -> str:
    bad = _unprintable(text, multiline=True)
    if bad:
        raise PydanticCustomError(
            "control_character", "holds the character {char}, which is not allowed in text", {"char": bad}
        )
    return text


def _day_in_range(value: date) -> date:
    if not LIMITS.oldest_year <= value.year <= LATEST_YEAR:
        raise PydanticCustomError(
            "out_of_range", "must be between {low} and {high}", {"low": LIMITS.oldest_year, "high": LATEST_YEAR}
        )
    return value


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("naive_datetime", "needs a UTC offset, e.g. 2026-11-24T08:00:00+08:00")
    _day_in_range(value.date())
    return value


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            raise PydanticCustomError("duplicate_item", "lists {item} twice", {"item": str(item)[:60]})
        seen.append(item)
    return items


# One line, required (a name, a phone, a unit); one line that may be empty; free text.
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS.short_text), AfterValidator(_one_line)
]
OptionalShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=LIMITS.short_text), AfterValidator(_one_line)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=LIMITS.long_text), AfterValidator(_multi_line)
]
RequiredLongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS.long_text),
    AfterValidator(_multi_line),
]
Day = Annotated[date, AfterValidator(_day_in_range)]
Instant = Annotated[datetime, AfterValidator(_instant)]


C = TypeVar("C")
# A list of vocabulary codes: no repeats, at most `input_limits.list_items` (SomeChoices: at least one).
Choices = Annotated[list[C], Field(min_length=0, max_length=LIMITS.list_items), AfterValidator(_unique)]
SomeChoices = Annotated[list[C], Field(min_length=1, max_length=LIMITS.list_items), AfterValidator(_unique)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Pydantic's error types → the codes of the CLI/API contract (the rest are `invalid_value`).
ERROR_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "control_character": "control_character",
    "duplicate_item": "duplicate_item",
    "out_of_range": "out_of_range",
    "naive_datetime": "naive_datetime",
}


def invalid_from(err: Mapping[str, Any], prefix: str = "") -> InvalidInput:
    """One pydantic error as the contract's InvalidInput, naming the field."""
    field = ".".join(str(p) for p in err["loc"])
    field = f"{prefix}.{field}" if prefix and field else (prefix or field)
    code = ERROR_CODES.get(err["type"], "invalid_value")
    if err["type"] == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
        code = "missing_field"  # an empty required field is a missing one
    msg = "is not a field of this form" if err["type"] == "extra_forbidden" else err["msg"]
    return InvalidInput(code, f"{field}: {msg}", field or None)


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate `data` as `model`; the first problem becomes a specific InvalidInput."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise InvalidInput("not_an_object", f"{prefix or 'input'} must be a JSON object", prefix or None)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc.errors()[0], prefix) from None


def load_json(raw: bytes | str, field: str = "body") -> Any:
    """A request's JSON, or an InvalidInput saying what is wrong with it (every face uses this).

    UTF-8 with or without a byte-order mark; at most `input_limits.body_bytes`; no NaN or
    Infinity, no key twice in one object, no deeper than `input_limits.depth`.
    """
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > LIMITS.body_bytes:
        raise InvalidInput("too_large", f"{field}: {size} bytes; at most {LIMITS.body_bytes} are accepted", field)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput("bad_encoding", f"{field}: not UTF-8 text (byte {exc.start})", field) from None
    raw = raw.removeprefix("\ufeff")
    try:
        value = json.loads(raw, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "bad_json", f"{field}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field
        ) from None
    except RecursionError:
        raise InvalidInput("too_deep", f"{field}: nested more than {LIMITS.depth} levels deep", field) from None
    except ValueError as exc:
        raise InvalidInput("bad_json", f"{field}: {exc}", field) from None
    if _depth(value) > LIMITS.depth:
        raise InvalidInput("too_deep", f"{field}: nested more than {LIMITS.depth} levels deep", field)
    return value


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key {key[:40]!r} appears twice in one object")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _depth(value: Any) -> int:
    """Nesting depth without recursion (a hostile input must not overflow the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > LIMITS.depth:
            return level
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_ref(ref: Any, field: str, max_length: int = 64) -> str:
    """An identifier from a path, query or argument (case number, id, username, unit code):
    one short line of printable text, else the caller's `unknown_<field>` answer."""
    if not isinstance(ref, str) or not ref or len(ref) > max_length or _unprintable(ref, multiline=False):
        raise NotFound(f"unknown_{field}", f"no {field} {str(ref)[:max_length]!r} among those you may read", field)
    return ref


class ReporterIn(Input):
    name: ShortText
    phone: Annotated[ShortText, Field(min_length=3, max_length=32)]
    unit: ShortText
    unit_type: ReporterUnitType


class ChildIn(Input):
    name: ShortText
    id_number: Annotated[ShortText, Field(max_length=18)] | None = None
    birth_date: Day
    gender: Literal["male", "female", "unknown"]
    township: ShortText
    village: ShortText | None = None
    address: OptionalShortText | None = None
    left_behind: bool = False


class GuardianIn(Input):
    name: ShortText
    relation: ShortText
    status: ShortText


class ReportIn(Input):
    jurisdiction: Annotated[ShortText, Field(max_length=32)]
    channel: ShortText
    discovered_at: Instant | None = None
    reporter: ReporterIn
    child: ChildIn
    guardians: Annotated[list[GuardianIn], Field(max_length=LIMITS.list_items), AfterValidator(_unique)] = []
    situations: SomeChoices[Situation]
    description: RequiredLongText
    idempotency_key: Annotated[ShortText, Field(max_length=200)] | None = None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def report_problems(
    birth_date: date | None, id_number: str | None, discovered_at: datetime | None
) -> list[InvalidInput]:
    """Every rule beyond shape that the given parts break, in the order of the form: a child under
    18 born in the past, an ID number consistent with the birth date, a past discovery after the
    birth. A part not given (None) is not checked; a form checks what it could read."""
    today, problems = now().date(), []
    if birth_date is not None:
        if birth_date > today:
            problems.append(
                InvalidInput(
                    "born_in_future", f"child.birth_date {birth_date} is after today ({today})", "child.birth_date"
                )
            )
        elif age_on(birth_date, today) >= 18:
            problems.append(
                InvalidInput(
                    "not_a_minor",
                    "child.birth_date: the child is 18 or older; this system handles minors only (未保法 art. 2)",
                    "child.birth_date",
                )
            )
        if id_number:
            try:
                idnumber.validate(id_number, birth_date)
            except InvalidInput as exc:
                problems.append(exc)
    if discovered_at is not None:
        if discovered_at > now():
            problems.append(InvalidInput("discovered_in_future", "discovered_at is later than now", "discovered_at"))
        elif birth_date is not None and discovered_at.astimezone(now().tzinfo).date() < birth_date:
            problems.append(
                InvalidInput(
                    "discovered_before_birth",
                    f"discovered_at is before child.birth_date ({birth_date})",
                    "discovered_at",
                )
            )
    return problems


def check_report(report: ReportIn) -> ReportIn:
    """Rules beyond shape (`report_problems`): the first one broken is the error; the ID is normalised."""
    problems = report_problems(report.child.birth_date, report.child.id_number, report.discovered_at)
    if problems:
        raise problems[0]
    if report.child.id_number:
        report.child.id_number = idnumber.validate(report.child.id_number, report.child.birth_date)
    return report


# ---- outcomes of human tasks (one typed input per step, as in Temporal's samples) ----


class ArrivalOutcome(Input):
    """出警到场: one tap; nothing to fill in."""

    notes: LongText = ""


class EmergencyOutcome(Input):
    unfounded: bool
    measures: Choices[Measure] = []
    notes: LongText = ""
    unfounded_reason: LongText | None = None


class TemporaryCareOutcome(Input):
    placed_at: ShortText = Field(description="where the child is cared for")
    notes: LongText = ""


class AssessmentOutcome(Input):
    safety: Literal["safe", "at_risk", "in_danger"]
    guardianship: Literal["adequate", "inadequate", "absent", "harmful"]
    health: RequiredLongText
    risk_level: RiskLevel
    services: Choices[Service] = []
    intervention_needed: bool
    plan: LongText = ""
    notes: LongText = ""
    guardian_refused_since: Day | None = None
    serious_harm: bool = Field(
        default=False, description="the child's health was seriously harmed by the guardian's harm or abandonment"
    )


class ServiceOutcome(Input):
    delivered: bool
    notes: LongText = ""


class VisitOutcome(Input):
    visited_at: Instant | None = None
    child_seen: bool
    concerns: bool = False
    notes: LongText = ""


class FinalReviewOutcome(Input):
    exit_reason: Annotated[ShortText, Field(max_length=64)]
    studying_until: Day | None = Field(
        default=None, description="expected graduation, for a child still in school at 18"
    )
    notes: LongText = ""
    future_dates: ClassVar[frozenset[str]] = frozenset({"studying_until"})  # a graduation is ahead, not past


class LedgerExitIn(Input):
    """退出保障范围 of a child on the ledger (seed 003 §一(一)): the pack's exit reason, a note."""

    reason: Annotated[ShortText, Field(max_length=64)]
    notes: LongText = ""


class NoteIn(Input):
    """A case note: what kind of contact, and what was said or seen."""

    kind: Literal["phone_call", "home_visit", "meeting", "other"]
    text: Annotated[LongText, Field(min_length=1)]


class AttachmentNoteIn(Input):
    """What a kept photo, scan or PDF shows (optional)."""

    note: LongText = ""


class GuardianMeasuresOutcome(Input):
    measures: SomeChoices[Literal["criticism_education", "admonition", "administrative_penalty", "criminal_case"]]
    guardian_changed: bool
    notes: LongText = ""
    guardian_refused_since: Day | None = None
    serious_harm: bool = Field(
        default=False, description="the child's health was seriously harmed by the guardian's harm or abandonment"
    )


class TemporaryGuardianshipOutcome(Input):
    decided: bool
    institution: OptionalShortText = ""
    notes: LongText = ""


class CourtPetitionOutcome(Input):
    filed: bool
    ground: Annotated[ShortText, Field(max_length=64)] | None = None
    petitioner: Annotated[ShortText, Field(max_length=64)] | None = None
    refused_since: Day | None = None
    serious_harm: bool = False
    not_filed_reason: LongText | None = None
    notes: LongText = ""


class CourtRulingOutcome(Input):
    revoked: bool
    ruled_on: Day
    new_guardian: OptionalShortText | None = None
    notes: LongText = ""


class PlacementOutcome(Input):
    placement: Literal["kinship_care", "foster_family", "institution", "adoption", "returned_to_guardian"]
    notes: LongText = ""


class VerificationOutcome(Input):
    """A village verification visit (seed 001 §二(一)6: 家庭情况、监护情况、就学情况)."""

    visited_on: Day
    guardianship: Literal["adequate", "inadequate", "absent"]
    schooling: Literal["in_school", "not_school_age", "out_of_school"]
    family_changed: bool
    concerns: Choices[Situation] = []
    notes: LongText = ""


OUTCOMES: dict[str, type[Input]] = {
    "police_arrival": ArrivalOutcome,
    "emergency_response": EmergencyOutcome,
    "temporary_care": TemporaryCareOutcome,
    "assessment": AssessmentOutcome,
    "service": ServiceOutcome,
    "follow_up_visit": VisitOutcome,
    "final_review": FinalReviewOutcome,
    "guardian_measures": GuardianMeasuresOutcome,
    "temporary_guardianship": TemporaryGuardianshipOutcome,
    "court_petition": CourtPetitionOutcome,
    "court_ruling": CourtRulingOutcome,
    "placement": PlacementOutcome,
    "warning_letter_visit": VisitOutcome,
    "holiday_patrol": VisitOutcome,
}


# ---- staff administration (services.accounts) -------------------------------------------
Username = Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class UserIn(Input):
    """A new staff account: lower-case letters, digits, `.`, `_`, `-` in the username."""

    username: Username
    role: Role
    unit: Annotated[ShortText, Field(max_length=64)]
    display_name: Annotated[ShortText, Field(max_length=40)]
    jurisdiction: Annotated[ShortText, Field(max_length=32)]


class UserMoveIn(Input):
    unit: Annotated[ShortText, Field(max_length=64)]


class PasswordChangeIn(Input):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


# ---- approvals and reopening (services.approvals, issue 16) ------------------------------------
class ApprovalDecisionIn(Input):
    """同意 or 不同意 a decision; a refusal says why (checked by the service: `reason` then required)."""

    approve: StrictBool
    reason: LongText = ""


class ReopenIn(Input):
    """Why a closed case is worked again (new danger)."""

    reason: RequiredLongText
