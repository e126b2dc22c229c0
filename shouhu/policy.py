"""Policy packs: the local rules of one jurisdiction, loaded from policies/*.yaml and validated.

A pack `extends` another (every seed pack extends `national`); mappings merge key by key and
lists replace. Every rule block carries `source`: a seed section, a law, or `local default`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shouhu import config
from shouhu.errors import NotFound, PolicyError
from shouhu.vocab import (
    Measure,
    ReporterUnitType,
    RiskLevel,
    Role,
    Selector,
    Service,
    Situation,
    Stage,
    TaskKind,
    UnitType,
)

T = TypeVar("T")
SOURCE_PATTERN = re.compile(r"seed \d{3}|local default|法|意见|国发")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(Strict):
    source: str

    @field_validator("source")
    @classmethod
    def _cites(cls, value: str) -> str:
        if not SOURCE_PATTERN.search(value):
            raise ValueError("must cite a seed section (seed 004 §三(二)4), a law, or say 'local default'")
        return value


class Duration(Strict):
    """Exactly one of: wall-clock hours, calendar days, or working days (mainland calendar)."""

    hours: float | None = Field(default=None, gt=0)
    days: int | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Duration:
        if sum(v is not None for v in (self.hours, self.days, self.working_days)) != 1:
            raise ValueError("give exactly one of hours, days, working_days")
        return self


class Due(Strict):
    normal: Duration
    urgent: Duration | None = None


class TaskRule(Sourced):
    stage: Stage
    owner: Selector
    role: Role
    due: Due
    title: str


class ServiceRule(Sourced):
    owner: Selector
    role: Role
    due: Due
    title: str


class NotifyRule(Sourced):
    to: list[Selector]


class FollowUpRule(Strict):
    every: Duration
    count: int = Field(ge=1, le=24)


class FollowUp(Sourced):
    by_risk: dict[RiskLevel, FollowUpRule]
    owner: Selector
    role: Role


class ChildCategoryRule(Strict):
    """A category of the county's ledger (困境儿童 classes, 留守儿童) as people name it."""

    label: str


class ExitReason(Strict):
    label: str
    phase_out_months: int = Field(default=0, ge=0, le=36)
    until_graduation: bool = False  # still in school: covered until graduation (seed 003 §一(一)1)


class PetitionGround(Strict):
    label: str
    requires: str


class Value(Sourced, Generic[T]):
    value: T


class MeasureRequirement(Sourced):
    """One of these measures must be taken (a one-element list: that measure)."""

    one_of: list[Measure] = Field(min_length=1)


class MeasureTask(Sourced):
    """A measure that opens a task (temporary care → the rescue station's task)."""

    task: TaskKind


class MeasureNotice(Sourced):
    """A measure that tells a unit (shelter escort → civil affairs)."""

    to: Selector


class Trigger(Sourced):
    """A condition, by name, that the pack switches on (with the rule behind it)."""


class DocumentBasis(Sourced):
    """What a printed document cites: rendered as the county's document number and section."""


class SeedDocument(Strict):
    """The county's own document: seed number and how people cite it."""

    seed: str = Field(pattern=r"^\d{3}$")
    number: str  # 泗政办秘〔2020〕9号, or the short title when it has none


class PatrolWindow(Strict):
    name: str
    start: str = Field(pattern=r"^\d\d-\d\d$")  # MM-DD
    end: str = Field(pattern=r"^\d\d-\d\d$")


class DeliveryRule(Strict):
    max_attempts: int = Field(ge=1, le=50)
    first_retry_seconds: int = Field(ge=1)  # doubles after each failure…
    max_retry_seconds: int = Field(ge=1)  # …up to this
    lease_seconds: int = Field(ge=5)  # a claimed message is resent after this if its sender died
    send_timeout_seconds: int = Field(ge=1, le=300)  # one send's connect and read timeout; well under the lease

    @model_validator(mode="after")
    def _timeout_under_lease(self) -> DeliveryRule:
        if self.send_timeout_seconds * 2 > self.lease_seconds:
            raise ValueError(
                "send_timeout_seconds must be at most half of lease_seconds (a send in flight must not be resent)"
            )
        return self

    digest_hour: int = Field(ge=0, le=23)  # managers' daily digest, Beijing time
    anchor_hour: int = Field(ge=0, le=23)  # the daily timeline anchor (shouhu.anchors), Beijing time


class AccountRule(Strict):
    max_failures: int = Field(ge=1, le=100)  # failed sign-ins for one account from one source before that pair locks
    max_source_failures: int = Field(ge=1, le=1000)  # failed sign-ins from one source, any account, before it locks
    max_account_failures: int = Field(
        ge=1, le=10000
    )  # failed sign-ins for one account, any source, before strangers are locked out
    known_source_days: int = Field(
        ge=0, le=365
    )  # a source the account signed in from this recently is not held by those two locks
    lock_minutes: int = Field(ge=1)
    min_password_length: int = Field(ge=8)
    session_hours: float = Field(gt=0)


class RetentionRule(Strict):
    """How long a child stays identifiable once nothing protects them any more (issue 16 §6)."""

    years: int = Field(ge=1, le=30)  # after the last case closed and the last category ended
    hour: int = Field(ge=0, le=23)  # the sweeper's daily retention step, Beijing time (before the digest)


class DuplicateRule(Strict):
    """Which pairs of child files are shown as likely one child (issue 16 §5)."""

    min_score: int = Field(ge=1, le=100)


class InputLimits(Strict):
    """What one request may carry (deployment-wide: read from the national pack)."""

    short_text: int = Field(ge=20)
    long_text: int = Field(ge=200)
    list_items: int = Field(ge=1)
    body_bytes: int = Field(ge=4096)
    upload_bytes: int = Field(ge=4096)  # a file uploaded through a page (the county's ledger spreadsheet)
    attachment_bytes: int = Field(ge=4096)  # one photo, scan or PDF kept with a case
    attachment_types: list[Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]] = Field(min_length=1)
    depth: int = Field(ge=4, le=64)
    oldest_year: int = Field(ge=1, le=2000)


class OrchestratorRule(Strict):
    """How commands queued while Prefect was away are resumed (deployment-wide: national pack)."""

    resume_after_seconds: int = Field(ge=1)  # younger pending commands are still being run by their own request
    resume_batch: int = Field(ge=1)
    max_resume_attempts: int = Field(ge=1)  # a command whose flow keeps failing (not the orchestrator) is then `failed`


class HandoverRule(Strict):
    """Who may put a case right and send it to another county (issue 16 §2–3): units named by selector."""

    correct_by: list[Selector] = Field(min_length=1)  # township, village, the child's identity, situations
    transfer_by: list[Selector] = Field(min_length=1)  # sends a case to another county; accepts one sent here


class ApprovalRule(Sourced):
    """A decision that waits for a second pair of eyes (`required: false` turns it off in a pack).
    `decides`: the unit that decides; a reopening is decided by the unit that approves closures."""

    required: bool
    decides: Selector | None = None


class ApprovalPolicy(Strict):
    """Which decisions need approval and by whom, how long the decider has, and how long after
    closing a case may still be reopened (after it a new report opens a new case)."""

    decisions: dict[Literal["closure", "unfounded", "reopen"], ApprovalRule]
    due: Due
    reopen_months: int = Field(ge=0, le=120)

    @model_validator(mode="after")
    def _deciders(self) -> ApprovalPolicy:
        for kind in ("closure", "unfounded", "reopen"):
            if kind not in self.decisions:
                raise ValueError(f"decisions.{kind}: say whether it needs approval (required: true or false)")
        for kind in ("closure", "unfounded"):
            if self.decisions[kind].decides is None:  # type: ignore[index]
                raise ValueError(f"decisions.{kind}.decides: name the unit that decides")
        return self

    def rule(self, kind: str) -> ApprovalRule | None:
        """The rule of `kind` when it needs approval, with its deciding unit (else None)."""
        found = self.decisions.get(kind)  # type: ignore[call-overload]
        if found is None or not found.required:
            return None
        if kind == "reopen":
            return found.model_copy(update={"decides": self.decisions["closure"].decides})
        return found


class EscalationLevel(Strict):
    after: Duration | None = None  # after the due time; null: at due


class UnitRule(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    type: UnitType
    parent: str | None = None
    supervisor: str | None = None
    covers: list[str] = []


class UserRule(Strict):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str
    role: Role
    unit: str


class Pack(Strict):
    pack: str
    name: str
    source: str
    extends: str | None = None
    case_prefix: str = Field(pattern=r"^[A-Z]{2,4}$")
    wording: dict[str, str]
    document: SeedDocument | None = None
    urgent_situations: Value[list[Situation]]
    late_report: Value[Duration]
    tasks: dict[TaskKind, TaskRule]
    services: dict[Service, ServiceRule]
    follow_up: FollowUp
    notify: dict[str, NotifyRule]
    required_measures: Value[dict[Situation, list[MeasureRequirement]]]
    measure_tasks: Value[dict[Measure, MeasureTask]]
    measure_notify: Value[dict[Measure, MeasureNotice]]
    temporary_guardianship_triggers: Value[dict[Literal["assessment_breach", "education_unchanged"], Trigger]]
    documents: Value[dict[str, DocumentBasis]]
    reporter_supervisors: Value[dict[ReporterUnitType, Selector]]
    exit_reasons: Value[dict[str, ExitReason]]
    child_categories: Value[dict[str, ChildCategoryRule]]
    report_category: Value[str]  # the category a founded report puts the child in (the rounds visit it)
    patrol_categories: Value[list[str]]  # ledger children the holiday patrols visit
    petition_grounds: Value[dict[str, PetitionGround]]
    petitioners: Value[list[str]]
    verification_visits: Value[Literal["quarter", "month"]]
    patrol_windows: Value[list[PatrolWindow]]
    holidays: Value[list[date]]
    reminders: Value[list[float]]
    escalation: Value[dict[str, list[EscalationLevel]]]
    delivery: Value[DeliveryRule]
    accounts: Value[AccountRule]
    input_limits: Value[InputLimits]
    orchestrator: Value[OrchestratorRule]
    retention: Value[RetentionRule]
    duplicates: Value[DuplicateRule]
    approvals: Value[ApprovalPolicy]
    units: Value[list[UnitRule]] | None = None
    demo_users: Value[list[UserRule]] | None = None
    handovers: Value[HandoverRule]

    @model_validator(mode="after")
    def _categories_known(self) -> Pack:
        known = self.child_categories.value
        for rule, codes in (
            ("report_category", [self.report_category.value]),
            ("patrol_categories", self.patrol_categories.value),
        ):
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise ValueError(f"{rule}: {', '.join(unknown)} not in child_categories ({', '.join(known)})")
        return self

    @property
    def unit_list(self) -> list[UnitRule]:
        """The units of a jurisdiction (`national` has none)."""
        return self.units.value if self.units else []

    def unit(self, code: str) -> UnitRule:
        for u in self.unit_list:
            if code == u.code:
                return u
        raise NotFound("unknown_unit", f"no unit {code!r} in jurisdiction {self.pack}", "unit")

    def levels(self, kind: str) -> list[EscalationLevel]:
        chains = self.escalation.value
        return chains.get(kind) or chains["default"]

    def is_urgent(self, situations: Collection[str]) -> bool:
        return any(s in self.urgent_situations.value for s in situations)

    def unmet_requirements(
        self, situations: Collection[str], measures: Collection[str]
    ) -> list[tuple[str, MeasureRequirement]]:
        """(situation, requirement) pairs none of whose measures were taken."""
        return [
            (s, r)
            for s in sorted(set(situations))
            for r in self.required_measures.value.get(cast(Situation, s), [])
            if not set(r.one_of) & set(measures)
        ]

    def least_measures(self, situations: Collection[str]) -> list[str]:
        """The first measure of every requirement of these situations: the smallest set that satisfies them."""
        return sorted(
            {r.one_of[0] for s in situations for r in self.required_measures.value.get(cast(Situation, s), [])}
        )

    def word(self, key: str) -> str:
        return self.wording.get(key, key)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key (a pack overrides one deadline, not all); other values replace."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        # libyaml's safe loader when installed: a province's packs (tens of thousands of units) parse in
        # seconds, not minutes
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise PolicyError(path.name, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(path.name, "(file)", "a pack must be a YAML mapping")
    return data


def _raw(name: str, directory: Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    path = directory / f"{name}.yaml"
    if not path.exists():
        raise PolicyError(f"{name}.yaml", "extends", f"no pack named {name!r} in {directory.name}/")
    data = _read(path)
    if data.get("pack") != name:
        raise PolicyError(path.name, "pack", f"must equal the file name {name!r}")
    parent = data.get("extends")
    if parent:
        if parent in seen:
            raise PolicyError(path.name, "extends", f"circular: {' → '.join(seen + (name, parent))}")
        base = _raw(parent, directory, seen + (name,))
        base.pop("units", None)
        base.pop("demo_users", None)
        data = _merge(base, data)
    return data


def load_pack(name: str, directory: Path | None = None) -> Pack:
    directory = directory or config.POLICY_DIR
    data = _raw(name, directory)
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(pack)"
        raise PolicyError(f"{name}.yaml", key, err["msg"]) from None
    _check_units(pack, f"{name}.yaml")
    return pack


def _check_units(pack: Pack, file: str) -> None:
    if pack.units is None:
        return
    units = pack.units.value
    codes = [u.code for u in units]
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        raise PolicyError(file, "units", f"duplicate unit codes: {sorted(dup)}")
    by_code = {u.code: u for u in units}
    for i, u in enumerate(units):
        for ref in ("parent", "supervisor"):
            target = getattr(u, ref)
            if target and target not in by_code:
                raise PolicyError(file, f"units.value.{i}.{ref}", f"unit {u.code!r} names unknown unit {target!r}")
        for t in u.covers:
            if by_code.get(t) is None or by_code[t].type != "township":
                raise PolicyError(file, f"units.value.{i}.covers", f"{t!r} is not a township of this pack")
    types = [u.type for u in units]
    for needed in ("police_bureau", "police_station", "civil_affairs", "coordination_office", "court"):
        if needed not in types:
            raise PolicyError(file, "units", f"needs a unit of type {needed}")
    townships = [u for u in units if u.type == "township"]
    if len(townships) < 2:
        raise PolicyError(file, "units", "needs at least two townships")
    for township in townships:
        if not any(v.type == "village" and v.parent == township.code for v in units):
            raise PolicyError(
                file, "units", f"township {township.code!r} needs at least one village (parent: {township.code})"
            )
    for i, user in enumerate(pack.demo_users.value if pack.demo_users else []):
        if user.unit not in by_code:
            raise PolicyError(file, f"demo_users.value.{i}.unit", f"unknown unit {user.unit!r}")


def jurisdiction_names(directory: Path | None = None) -> list[str]:
    """Packs with units are jurisdictions; `national` only supplies defaults."""
    return list(_jurisdiction_names(directory or config.POLICY_DIR))


@cache
def _jurisdiction_names(directory: Path) -> tuple[str, ...]:
    # Parsing six YAML files costs ~20 ms: once per process, not on every pack() call.
    return tuple(sorted(p.stem for p in directory.glob("*.yaml") if "units" in _read(p)))


@cache
def pack(name: str) -> Pack:
    """The validated pack of a jurisdiction (cached per process)."""
    if name not in jurisdiction_names():
        raise NotFound(
            "unknown_jurisdiction",
            f"unknown jurisdiction {name!r}; known: {', '.join(jurisdiction_names())}",
            "jurisdiction",
        )
    return load_pack(name)


@lru_cache(maxsize=1)
def input_limits() -> InputLimits:
    """The request limits of this deployment: the national pack's (see `input_limits` there)."""
    return load_pack("national").input_limits.value


@lru_cache(maxsize=1)
def orchestrator_rule() -> OrchestratorRule:
    """How queued commands are resumed: the national pack's `orchestrator`."""
    return load_pack("national").orchestrator.value


@lru_cache(maxsize=1)
def seed_documents() -> dict[str, str]:
    """Seed number → the county document's number, from every pack's `document`."""
    return {p.document.seed: p.document.number for p in all_packs().values() if p.document is not None}


def all_packs() -> dict[str, Pack]:
    """Load and validate every pack: called at start so a broken pack stops everything early."""
    load_pack("national")
    return {name: pack(name) for name in jurisdiction_names()}
