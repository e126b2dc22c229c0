"""The sweeper's tick: fire every clock step that has come, once, as of one instant.

Each batch is one transaction. The fast path reads the batch's clocks, cases, tasks and
breaches in four queries and writes the new rows in bulk; if anything in it fails, the batch
is rolled back and redone row by row, a savepoint per clock, so a bad row is skipped and
reported while the rest fire. A crash rolls back only the open batch, which the next tick
fires again (nothing was committed, so nothing repeats). On PostgreSQL, rows are taken with
SKIP LOCKED: two sweepers take disjoint rows, and a case a person is working on this instant
is left for the next tick rather than waited for. Every fire's unique key is the last guard.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import Breach, Case, ClockFire, Deadline, Notification, Task, TimelineEvent
from models.types import table_of
from notifications import digest
from shouhu import db, timeline
from shouhu.clock import CHINA_TZ, held_at, now
from shouhu.wording import format_due
from tasks import anchors, approvals, clocks, guardianship, retention, rounds, verification
from tasks.transition import Transition

log = logging.getLogger("shouhu.sweeper")
BATCH = 500


def tick(as_of: datetime | None = None, batch: int = BATCH) -> dict[str, Any]:
    """Fire what is due as of `as_of` (default: the clock). Returns counts, never personal data."""
    as_of = as_of or now()
    with held_at(as_of):
        started = rounds.start_due_rounds(as_of.astimezone(CHINA_TZ).date())
        fired = _tick(as_of, batch)
        started["retention"] = retention.run_due(as_of)  # before the digest, which counts it
        with db.transaction() as session:  # after the firing: the digest and the anchor see this tick's work
            started["verification_escalations"] = verification.escalate_overdue(session, as_of)
            started["digests"] = digest.send_due(session, as_of)
            started["anchors"] = anchors.take_due(session, as_of)
        return {**fired, "started": started}


def _tick(as_of: datetime, batch: int) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "fired": 0,
        "clocks": 0,
        "skipped_busy": 0,
        "errors": 0,
        "careful_batches": 0,
    }
    passed: set[uuid.UUID] = set()
    while True:
        with Session(db.engine()) as session:
            ids = _due_ids(session, as_of, passed, batch)
            try:
                result = _fire_batch(session, ids, as_of)
                session.commit()
            except Exception:  # noqa: BLE001 - redo this batch row by row, isolating the bad row
                log.warning("sweeper batch of %d failed in bulk; redoing it row by row", len(ids))
                session.rollback()
                result = _fire_rows(session, ids, as_of)
                stats["careful_batches"] += 1
        passed.update(result.pop("left"))  # only rows not fired need excluding: fired ones moved on
        for key in ("fired", "clocks", "skipped_busy", "errors"):
            stats[key] += result[key]
        if len(ids) < batch:
            return stats


def _due_ids(session: Session, as_of: datetime, passed: set[uuid.UUID], batch: int) -> list[uuid.UUID]:
    query = select(Deadline.id).where(col(Deadline.next_fire_at) <= as_of)
    if passed:
        query = query.where(col(Deadline.id).not_in(passed))
    return list(
        session.exec(query.order_by(col(Deadline.next_fire_at)).limit(batch).with_for_update(skip_locked=True)).all()
    )


def _fire_batch(session: Session, ids: list[uuid.UUID], as_of: datetime) -> dict[str, Any]:
    """The fast path: four reads for the whole batch, new rows written in bulk, one flush."""
    result: dict[str, Any] = {"fired": 0, "clocks": 0, "skipped_busy": 0, "errors": 0, "left": set()}
    if not ids:
        return result
    deadlines = session.exec(select(Deadline).where(col(Deadline.id).in_(ids))).all()
    cases = {
        c.id: c
        for c in session.exec(
            select(Case).where(col(Case.id).in_({d.case_id for d in deadlines})).with_for_update(skip_locked=True)
        )
    }
    task_ids = [d.task_id for d in deadlines if d.task_id]
    tasks = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(task_ids)))} if task_ids else {}
    known = {b.deadline_id: b for b in session.exec(select(Breach).where(col(Breach.deadline_id).in_(ids)))}
    batch = clocks.Batch(rows=[], breaches=known)
    with session.no_autoflush:
        for locked in cases.values():
            timeline.check_seal(session, locked, clocks.SWEEPER, batch=batch.rows)
        for d in sorted(deadlines, key=lambda x: (x.next_fire_at, str(x.id))):
            case = cases.get(d.case_id)
            if case is None:
                result["skipped_busy"] += 1  # someone is working on this case right now: next tick
                result["left"].add(d.id)
                continue
            t = Transition(session, case, None, clocks.SWEEPER, batch=batch.rows)
            timeline.check_row(session, case, d, clocks.SWEEPER, batch=batch.rows)
            fired = _advance(t, d, tasks.get(d.task_id) if d.task_id else None, as_of, batch)
            result["fired"] += fired
            result["clocks"] += 1 if fired else 0
    for model in (ClockFire, TimelineEvent, Notification, Breach):
        rows = [row for kind, row in batch.rows if kind is model]
        if rows:
            session.execute(insert(table_of(model)), rows)
    session.flush()
    return result


def _fire_rows(session: Session, ids: list[uuid.UUID], as_of: datetime) -> dict[str, Any]:
    """The careful path: a savepoint per clock, so a bad row is skipped and counted."""
    result: dict[str, Any] = {"fired": 0, "clocks": 0, "skipped_busy": 0, "errors": 0, "left": set()}
    for deadline_id in ids:
        try:
            with session.begin_nested():
                fired = _fire_one(session, deadline_id, as_of)
        except IntegrityError:  # another sweeper fired this step first
            result["left"].add(deadline_id)
            continue
        except Exception:  # one bad row must not stop the tick
            log.exception("clock %s failed; skipped this tick", deadline_id)
            result["errors"] += 1
            result["left"].add(deadline_id)
            continue
        if fired is None:
            result["skipped_busy"] += 1
            result["left"].add(deadline_id)
        else:
            result["fired"] += fired
            result["clocks"] += 1 if fired else 0
    session.commit()
    return result


def _fire_one(session: Session, deadline_id: uuid.UUID, as_of: datetime) -> int | None:
    d = session.get_one(Deadline, deadline_id)
    case = session.exec(select(Case).where(Case.id == d.case_id).with_for_update(skip_locked=True)).first()
    if case is None:
        return None
    timeline.check_seal(session, case, clocks.SWEEPER)
    session.refresh(d)
    timeline.check_row(session, case, d, clocks.SWEEPER)
    task = session.get(Task, d.task_id) if d.task_id else None
    return _advance(Transition(session, case, None, clocks.SWEEPER), d, task, as_of, None)


def _advance(t: Transition, d: Deadline, task: Task | None, as_of: datetime, batch: clocks.Batch | None) -> int:
    """Fire every step of `d` that has come, in order; point it at the next one."""
    steps = clocks.plan(t.pack, d)
    fired = 0
    while d.next_fire_at is not None and d.next_step < len(steps) and steps[d.next_step].at <= as_of:
        step = steps[d.next_step]
        t.dedupe = f"clock:{d.id}:{step.name}"
        clocks.record_fire(t.session, d, step, batch)
        acts = task is not None or d.kind == approvals.CLOCK
        if not (step.level == 0 and acts and as_of >= d.due_at):  # a reminder after due is noise
            fire(t, d, task, step, batch)
        d.next_step += 1
        fired += 1
    d.next_fire_at = steps[d.next_step].at if d.next_fire_at is not None and d.next_step < len(steps) else None
    if d.task_id is None and d.kind != approvals.CLOCK and d.next_fire_at is None:
        d.status, d.resolved_at = "fired", now()
    t.session.add(d)
    return fired


def refusal_watch_due(t: Transition, d: Deadline) -> None:
    """Six months of refused guardianship: that ground opens the petition by itself (民法典
    art. 36; the pack's `petition_grounds`), and civil affairs is told."""
    summary = "监护人拒不履行监护职责已满六个月：可据此向人民法院申请撤销监护人资格"
    t.record("petition_ground_available", summary, deadline_id=str(d.id))
    t.notify("refusal_watch", ask=summary)
    ground = guardianship.ground_with(t, "refused_since_six_months")
    if ground:
        guardianship.open_petition(t, ground)


def phase_out_due(t: Transition, d: Deadline) -> None:
    """渐退期满 (wuhai, seed 003 §一(一)): the case closes for good; the township and civil affairs are told."""
    if t.case.status != "phase_out":
        return
    t.case.status = "closed"
    summary = "渐退期满，退出保障范围" if not d.rule.get("studying_until") else "在校就读至毕业，渐退期满，退出保障范围"
    t.record("phase_out_ended", summary, deadline_id=str(d.id))
    t.notify("phase_out_ended", detail=summary)


WATCHES = {"refusal_watch": refusal_watch_due, "phase_out": phase_out_due}


def fire(t: Transition, d: Deadline, task: Task | None, step: clocks.Step, batch: clocks.Batch | None = None) -> None:
    """One step: a reminder, an escalation level (with its breach), or a watch coming due."""
    if task is None and d.kind == approvals.CLOCK:
        approvals.fire(t, d, step, batch)
        return
    if task is None:
        WATCHES[d.kind](t, d)
        return
    title = t.title(task)
    if step.level == 0:
        t.record(
            "deadline_reminder",
            f"提醒：{title} 将于 {format_due(d.due_at)} 到期",
            deadline_id=str(d.id),
            step=step.name,
        )
        t.notify("reminder", to=[], task=task)
        return
    clocks.escalate(
        t,
        d,
        step,
        batch,
        what=title,
        owner=task.owner_unit,
        shown_owner=task.owner_unit,  # the code, as the timeline has always said it for a task
        owner_role="责任单位",
        task=task,
    )
