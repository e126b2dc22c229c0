"""Who may do what. One place for the rules, used by the CLI now and the web and API later."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models import Task, User
from shouhu import units
from shouhu.errors import Forbidden, InvalidInput
from shouhu.policy import pack

REGISTERING_ROLES = {"police_intake", "police"}
REPORTER_VISIBLE_ROLES = {"police_intake", "police", "manager"}
# Who administers staff accounts of their county: managers, and an `admin` role for the IT officer,
# who reads no case (case_scope below gives it none).
ADMINISTERING_ROLES = {"manager", "admin"}
# Which kind of unit each role works in: an account whose role does not fit its unit would read or
# act for the wrong area (a village director placed in a township would see the whole township).
ROLE_UNIT_TYPES: dict[str, set[str]] = {
    "police_intake": {"police_station", "police_bureau"},
    "police": {"police_station", "police_bureau"},
    "township_caseworker": {"township"},
    "village_director": {"village"},
    "civil_affairs": {"civil_affairs", "rescue_station", "welfare_institution"},
    "manager": {"coordination_office", "civil_affairs"},
    "admin": {"coordination_office", "civil_affairs", "police_bureau", "education_bureau", "health_bureau"},
}


def user(session: Session, username: str | None) -> User:
    if not username:
        raise InvalidInput("missing_user", "say who acts: --as USERNAME", "as")
    if not isinstance(username, str) or len(username) > 64 or not username.isprintable():
        raise InvalidInput(
            "unknown_user", f"no user {str(username)[:64]!r} (see `shouhu users --jurisdiction J`)", "as"
        )
    found = session.exec(select(User).where(User.username == username)).first()
    if found is None:
        raise InvalidInput("unknown_user", f"no user {username!r} (see `shouhu users --jurisdiction J`)", "as")
    return found


def check_may_administer(actor: User, jurisdiction: str) -> None:
    """Staff accounts of a county are kept by its managers and administrators."""
    if actor.role not in ADMINISTERING_ROLES:
        raise Forbidden(
            "role_may_not_administer",
            f"{actor.username} is {actor.role}; only manager or admin keep staff accounts",
            "as",
        )
    if actor.jurisdiction != jurisdiction:
        raise Forbidden(
            "other_jurisdiction", f"{actor.username} works in {actor.jurisdiction}, not {jurisdiction}", "as"
        )


def check_may_register(actor: User, jurisdiction: str) -> None:
    """Police intake registers mandatory reports (强制报告意见 art. 8: 公安机关应当立即接受)."""
    if actor.role not in REGISTERING_ROLES:
        raise Forbidden(
            "role_may_not_register",
            f"{actor.username} is {actor.role}; only police_intake or police register reports",
            "as",
        )
    if actor.jurisdiction != jurisdiction:
        raise Forbidden(
            "other_jurisdiction", f"{actor.username} works in {actor.jurisdiction}, not {jurisdiction}", "as"
        )


def check_may_complete(actor: User, task: Task, jurisdiction: str) -> None:
    """The task's role, in its owner unit or a unit above it (a bureau may act for its station)."""
    if actor.role != task.role:
        raise Forbidden(
            "role_may_not_complete", f"{task.kind} is done by role {task.role}; {actor.username} is {actor.role}", "as"
        )
    if actor.unit not in units.chain_up(pack(jurisdiction), task.owner_unit):
        raise Forbidden(
            "unit_may_not_complete",
            f"{task.kind} belongs to unit {task.owner_unit}; {actor.username} is in {actor.unit}",
            "as",
        )


def may_see_reporter(actor: User) -> bool:
    """Reporter identity is confidential (未保法 art. 117; 强制报告意见): police and managers only."""
    return actor.role in REPORTER_VISIBLE_ROLES


IDENTITY_VISIBLE_ROLES = {"police_intake", "police", "township_caseworker", "village_director", "civil_affairs"}


def case_scope(actor: User) -> tuple[str, set[str]]:
    """Which cases a user may read, as (Case column, allowed values) — the one definition used by
    the CLI, the API and the pages (in Python and in SQL): police a station's area (a bureau the
    county), a township caseworker its township, a village director its village, civil affairs
    and managers the county."""
    if actor.role in REGISTERING_ROLES:
        unit = pack(actor.jurisdiction).unit(actor.unit)
        if unit.type == "police_station":
            return "township", set(unit.covers)
        return "jurisdiction", {actor.jurisdiction}
    if actor.role == "township_caseworker":
        return "township", {actor.unit}
    if actor.role == "village_director":
        return "village", {actor.unit}
    if actor.role == "admin":
        return "jurisdiction", set()  # administers accounts, reads no child's file
    return "jurisdiction", {actor.jurisdiction}


def may_read_case(actor: User, case: Any) -> bool:
    field, allowed = case_scope(actor)
    return (case.jurisdiction == actor.jurisdiction and getattr(case, field) in allowed) or receives(actor, case)


def receives(actor: User, case: Any) -> bool:
    """A case sent to the actor's county and not yet accepted: its county-wide readers (civil affairs,
    managers, the police bureau) see it too, so they can accept it (issue 16 §3)."""
    field, allowed = case_scope(actor)
    return (
        getattr(case, "transfer_to", None) == actor.jurisdiction
        and field == "jurisdiction"
        and actor.jurisdiction in allowed
    )


def check_may_read_case(actor: User, case: Any) -> None:
    """Refuse without naming anything about the case (the refusal is recorded by the caller)."""
    if not may_read_case(actor, case):
        raise Forbidden("not_permitted", f"{actor.username} may not read this case file", "as")


def may_see_identity(actor: User) -> bool:
    """Who works with the child sees who the child is; managers see the file masked."""
    return actor.role in IDENTITY_VISIBLE_ROLES
