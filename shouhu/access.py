"""Who may do what. One place for the rules, used by the CLI now and the web and API later."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models import Task, User
from shouhu import units
from shouhu.errors import InvalidInput
from shouhu.policy import pack

REGISTERING_ROLES = {"police_intake", "police"}
REPORTER_VISIBLE_ROLES = {"police_intake", "police", "manager"}


def user(session: Session, username: str | None) -> User:
    if not username:
        raise InvalidInput("missing_user", "say who acts: --as USERNAME", "as")
    found = session.exec(select(User).where(User.username == username)).first()
    if found is None:
        raise InvalidInput("unknown_user", f"no user {username!r} (see `shouhu users --jurisdiction J`)", "as")
    return found


def check_may_register(actor: User, jurisdiction: str) -> None:
    """Police intake registers mandatory reports (强制报告意见 art. 8: 公安机关应当立即接受)."""
    if actor.role not in REGISTERING_ROLES:
        raise InvalidInput("role_may_not_register", f"{actor.username} is {actor.role}; only police_intake or police register reports", "as")
    if actor.jurisdiction != jurisdiction:
        raise InvalidInput("other_jurisdiction", f"{actor.username} works in {actor.jurisdiction}, not {jurisdiction}", "as")


def check_may_complete(actor: User, task: Task, jurisdiction: str) -> None:
    """The task's role, in its owner unit or a unit above it (a bureau may act for its station)."""
    if actor.role != task.role:
        raise InvalidInput("role_may_not_complete", f"{task.kind} is done by role {task.role}; {actor.username} is {actor.role}", "as")
    if actor.unit not in units.chain_up(pack(jurisdiction), task.owner_unit):
        raise InvalidInput("unit_may_not_complete", f"{task.kind} belongs to unit {task.owner_unit}; {actor.username} is in {actor.unit}", "as")


def may_see_reporter(actor: User) -> bool:
    """Reporter identity is confidential (未保法 art. 117; 强制报告意见): police and managers only."""
    return actor.role in REPORTER_VISIBLE_ROLES


def check_may_read_case(actor: User, case: Any) -> None:
    """Who may open a case file and its documents: the case's jurisdiction; a township's
    caseworker only its township's cases, a village director only its village's.
    (Police by station area and the web's finer rules: issue 6.) The refusal names no case detail."""
    allowed = actor.jurisdiction == case.jurisdiction
    if actor.role == "township_caseworker":
        allowed = allowed and actor.unit == case.township
    elif actor.role == "village_director":
        allowed = allowed and actor.unit == case.village
    if not allowed:
        raise InvalidInput("not_permitted", f"{actor.username} ({actor.role}, {actor.unit}) may not read this case file", "as")
