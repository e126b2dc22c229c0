"""What a person may submit: the report form and one typed outcome per task kind.

Pydantic checks shapes and closed vocabularies; `check_report` adds the rules that need the
jurisdiction's pack or the clock. Every failure becomes one InvalidInput naming the field.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shouhu import idnumber
from shouhu.clock import now
from shouhu.errors import InvalidInput
from shouhu.vocab import Measure, ReporterUnitType, RiskLevel, Service, Situation

M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate `data` as `model`; the first problem becomes a specific InvalidInput."""
    if not isinstance(data, dict):
        raise InvalidInput("not_an_object", f"{prefix or 'input'} must be a JSON object", prefix or None)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        field = f"{prefix}.{field}" if prefix and field else (prefix or field)
        code = {"missing": "missing_field", "extra_forbidden": "unknown_field"}.get(err["type"], "invalid_value")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "is not a field of this form"
        raise InvalidInput(code, f"{field}: {msg}", field) from None


class ReporterIn(Input):
    name: str = Field(min_length=1)
    phone: str = Field(min_length=3, max_length=32)
    unit: str = Field(min_length=1)
    unit_type: ReporterUnitType


class ChildIn(Input):
    name: str = Field(min_length=1)
    id_number: str | None = None
    birth_date: date
    gender: Literal["male", "female", "unknown"]
    township: str = Field(min_length=1)
    village: str | None = None
    address: str | None = None
    left_behind: bool = False


class GuardianIn(Input):
    name: str = Field(min_length=1)
    relation: str = Field(min_length=1)
    status: str = Field(min_length=1)


class ReportIn(Input):
    jurisdiction: str
    channel: str = Field(min_length=1)
    discovered_at: datetime | None = None
    reporter: ReporterIn
    child: ChildIn
    guardians: list[GuardianIn] = []
    situations: list[Situation] = Field(min_length=1)
    description: str = Field(min_length=1)
    idempotency_key: str | None = Field(default=None, max_length=200)

    @field_validator("discovered_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-24T08:00:00+08:00")
        return value


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_report(report: ReportIn) -> ReportIn:
    """Rules beyond shape: a child under 18 born in the past, a consistent ID, a past discovery."""
    today = now().date()
    if report.child.birth_date > today:
        raise InvalidInput("born_in_future", f"child.birth_date {report.child.birth_date} is after today ({today})", "child.birth_date")
    if age_on(report.child.birth_date, today) >= 18:
        raise InvalidInput("not_a_minor", "child.birth_date: the child is 18 or older; this system handles minors only (未保法 art. 2)", "child.birth_date")
    if report.child.id_number:
        report.child.id_number = idnumber.validate(report.child.id_number, report.child.birth_date)
    if report.discovered_at and report.discovered_at > now():
        raise InvalidInput("discovered_in_future", "discovered_at is later than now", "discovered_at")
    if len(set(report.situations)) != len(report.situations):
        raise InvalidInput("duplicate_situation", "situations lists a situation twice", "situations")
    return report


# ---- outcomes of human tasks (one typed input per step, as in Temporal's samples) ----

class EmergencyOutcome(Input):
    unfounded: bool
    measures: list[Measure] = []
    notes: str = ""
    unfounded_reason: str | None = None


class TemporaryCareOutcome(Input):
    placed_at: str = Field(min_length=1, description="where the child is cared for")
    notes: str = ""


class AssessmentOutcome(Input):
    safety: Literal["safe", "at_risk", "in_danger"]
    guardianship: Literal["adequate", "inadequate", "absent", "harmful"]
    health: str = Field(min_length=1)
    risk_level: RiskLevel
    services: list[Service] = []
    intervention_needed: bool
    plan: str = ""
    notes: str = ""
    guardian_refused_since: date | None = None


class ServiceOutcome(Input):
    delivered: bool
    notes: str = ""


class VisitOutcome(Input):
    visited_at: datetime | None = None
    child_seen: bool
    concerns: bool = False
    notes: str = ""


class FinalReviewOutcome(Input):
    exit_reason: str = Field(min_length=1)
    notes: str = ""


class GuardianMeasuresOutcome(Input):
    measures: list[Literal["criticism_education", "admonition", "administrative_penalty", "criminal_case"]] = Field(min_length=1)
    guardian_changed: bool
    notes: str = ""
    guardian_refused_since: date | None = None


class TemporaryGuardianshipOutcome(Input):
    decided: bool
    institution: str = ""
    notes: str = ""


class CourtPetitionOutcome(Input):
    filed: bool
    ground: str | None = None
    petitioner: str | None = None
    refused_since: date | None = None
    serious_harm: bool = False
    not_filed_reason: str | None = None
    notes: str = ""


class CourtRulingOutcome(Input):
    revoked: bool
    ruled_on: date
    new_guardian: str | None = None
    notes: str = ""


class PlacementOutcome(Input):
    placement: Literal["kinship_care", "foster_family", "institution", "adoption", "returned_to_guardian"]
    notes: str = ""


class VerificationOutcome(Input):
    """A village verification visit (seed 001 §二(一)6: 家庭情况、监护情况、就学情况)."""
    visited_on: date
    guardianship: Literal["adequate", "inadequate", "absent"]
    schooling: Literal["in_school", "not_school_age", "out_of_school"]
    family_changed: bool
    concerns: list[Situation] = []
    notes: str = ""


OUTCOMES: dict[str, type[Input]] = {
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
