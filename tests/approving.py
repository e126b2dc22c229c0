"""The second pair of eyes in tests that are about something else: whoever the pack names approves
(or refuses) what a case waits for, so a test that closes a case keeps its meaning (issue 16)."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import user_of
from sqlmodel import Session, select

from models import Approval, User
from services import accounts, approvals
from shouhu import db, policy

BUREAU_ROLE = "police"


def bureau_user(jurisdiction: str) -> str:
    """An officer of the county police bureau (the demo packs have none), added once per database."""
    p = policy.pack(jurisdiction)
    unit = next(u.code for u in p.unit_list if u.type == "police_bureau")
    username = f"{p.case_prefix.lower()}-bureau-officer"
    with Session(db.engine()) as s:
        exists = s.exec(select(User).where(User.username == username)).first() is not None
    if not exists:
        accounts.add_user(
            {
                "username": username,
                "role": BUREAU_ROLE,
                "unit": unit,
                "display_name": "县公安局 法制大队 审核民警",
                "jurisdiction": jurisdiction,
            },
            None,
        )
    return username


def decider(approval: dict[str, Any], jurisdiction: str) -> str:
    """A user of the deciding unit: the bureau's officer for 不属实, civil affairs for closing and reopening."""
    if approval["kind"] == "unfounded":
        return bureau_user(jurisdiction)
    return user_of(jurisdiction, "civil_affairs", approval["unit"])


def pending_of(case_id: str) -> list[dict[str, Any]]:
    with Session(db.engine()) as s:
        rows = s.exec(
            select(Approval).where(Approval.case_id == uuid.UUID(case_id), Approval.status == "pending")
        ).all()
        return [approvals.view(a, "") for a in rows]


def approve_pending(case: dict[str, Any], approve: bool = True, reason: str = "") -> dict[str, Any]:
    """Decide every approval the case waits for; returns the case (unchanged when none waits)."""
    for a in pending_of(case["case_id"]):
        case = approvals.decide_approval(
            a["approval_id"],
            {"approve": approve, "reason": reason or ("同意" if approve else "材料不足，请补充核查")},
            decider(a, case["jurisdiction"]),
        )
    return case
