"""The managers' daily digest: counts for the county, never a child (the pack's `notify.daily_digest`: when and to whom).

Sent once a day per jurisdiction, at the pack's `delivery.digest_hour` or the first tick after
it, to the units the pack's `notify.daily_digest` names (coordination office, civil affairs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, true
from sqlmodel import Session, col, select

from models import Breach, Case, Child, ChildEvent, Delivery, Notification, VerificationVisit
from notifications.render import board_link, render
from shouhu import policy, units
from shouhu.clock import CHINA_TZ, now
from shouhu.daily import daily_due
from shouhu.vocab import STAGE_NAMES_ZH


def send_due(session: Session, as_of: datetime) -> int:
    local = as_of.astimezone(CHINA_TZ)
    sent = 0
    for jurisdiction, _ in daily_due(session, as_of, lambda p: p.delivery.value.digest_hour, "digest"):
        p = policy.pack(jurisdiction)
        detail = summary(session, jurisdiction, as_of)
        for unit in dict.fromkeys(units.resolve(p, s, "", None) for s in p.notify["daily_digest"].to):
            subject, body = render(
                "daily_digest",
                case_no="—",
                stage="—",
                ask="每日汇总",
                due=f"{local:%Y-%m-%d}",
                link=board_link(session),
                unit_name=p.unit(unit).name,
                jurisdiction=p.name,
                detail=detail,
            )
            session.add(
                Notification(
                    jurisdiction=jurisdiction,
                    unit=unit,
                    event="daily_digest",
                    template="daily_digest",
                    dedupe_key=f"digest:{local.date()}",
                    subject=subject,
                    body=body,
                    created_at=now(),
                )
            )
            sent += 1
    return sent


def summary(session: Session, jurisdiction: str, as_of: datetime) -> str:
    by_stage = dict(
        session.exec(
            select(Case.stage, func.count())
            .where(Case.jurisdiction == jurisdiction, Case.status == "open")
            .group_by(Case.stage)
        ).all()
    )
    new = session.exec(
        select(func.count())
        .select_from(Case)
        .where(Case.jurisdiction == jurisdiction, col(Case.opened_at) > as_of - timedelta(days=1))
    ).one()
    breaches = dict(
        session.exec(
            select(Breach.level, func.count())
            .where(Breach.jurisdiction == jurisdiction, col(Breach.resolved_at).is_(None))
            .group_by(col(Breach.level))
        ).all()
    )
    supervised = session.exec(
        select(func.count())
        .select_from(Breach)
        .where(Breach.jurisdiction == jurisdiction, col(Breach.resolved_at).is_(None), Breach.supervised == true())
    ).one()
    visits = session.exec(
        select(func.count())
        .select_from(VerificationVisit)
        .where(
            VerificationVisit.jurisdiction == jurisdiction,
            VerificationVisit.status == "open",
            col(VerificationVisit.due_at) < as_of,
        )
    ).one()
    failed = session.exec(
        select(func.count())
        .select_from(Delivery)
        .join(Notification, col(Notification.id) == Delivery.notification_id)
        .where(Notification.jurisdiction == jurisdiction, Delivery.status == "failed")
    ).one()
    removed = session.exec(  # retention (tasks.retention): identities removed in the last day
        select(func.count())
        .select_from(ChildEvent)
        .join(Child, col(Child.id) == ChildEvent.child_id)
        .where(
            Child.jurisdiction == jurisdiction,
            ChildEvent.kind == "identity_removed",
            col(ChildEvent.at) > as_of - timedelta(days=1),
        )
    ).one()
    stages = "、".join(f"{STAGE_NAMES_ZH[s]} {by_stage.get(s, 0)}" for s in ("emergency", "assessment", "intervention"))
    levels = "、".join(f"{level} 级 {count}" for level, count in sorted(breaches.items())) or "无"
    return (
        f"在办案件 {sum(by_stage.values())}（{stages}）；近24小时新立案 {new}；未解决逾期 {sum(breaches.values())}（{levels}），"
        f"其中督办 {supervised}；逾期未核实走访 {visits}；未送达消息 {failed}；"
        f"保存期限届满删除身份信息的儿童 {removed}"
    )
