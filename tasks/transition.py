"""`Transition`: the named operations a stage procedure is written in.

One Transition is one database transaction on one case, with the case row locked, so a
procedure either happens entirely (tasks, deadlines, timeline, outbox) or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlmodel import Session, select

from models import Approval, Case, Child, Command, Deadline, Notification, Task
from notifications.render import case_link, render
from shouhu import childfile, timeline, units, workdays
from shouhu.clock import CHINA_TZ, now
from shouhu.errors import Conflict, InvalidInput
from shouhu.policy import Due, Pack, pack
from shouhu.vocab import EVENT_NAMES_ZH, STAGE_NAMES_ZH, RiskLevel, Service, TaskKind, named
from shouhu.wording import format_due, task_title
from tasks import clocks, documents

OPEN_WORK_KINDS = {
    "service",
    "follow_up_visit",
    "holiday_patrol",
    "temporary_care",
    "warning_letter_visit",
    "guardian_measures",
    "temporary_guardianship",
    "court_petition",
    "court_ruling",
    "placement",
}


@dataclass
class Transition:
    session: Session
    case: Case
    command: Command | None
    actor: str
    pack: Pack = field(init=False)
    reporter_unit_type: str | None = None
    dedupe: str | None = None  # for work that no command asked for (the sweeper's fires)
    batch: list[tuple[Any, dict[str, Any]]] | None = None  # rows for one bulk insert (sweeper fast path)
    told: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (dedupe key, unit) queued in this transaction

    def __post_init__(self) -> None:
        self.pack = pack(self.case.jurisdiction)

    # ---- record -------------------------------------------------------------------
    def record(self, event_kind: str, summary: str, **payload: Any) -> None:
        timeline.append(self.session, self.case, event_kind, self.actor, summary, payload, batch=self.batch)

    # ---- the child's file on the ledger ---------------------------------------------
    def put_on_ledger(self, why: str | None = None) -> None:
        """A founded report puts the child on the ledger (the pack's `report_category`, and 留守儿童 when
        the report says so) so the village rounds visit the child; an unfounded one never does."""
        categories = self.pack.child_categories.value
        codes = {self.pack.report_category.value: categories[self.pack.report_category.value].label}
        child = self.session.get(Child, self.case.child_id)
        if child is not None and child.left_behind and "left_behind" in categories:
            codes["left_behind"] = categories["left_behind"].label
        childfile.enrol(
            self.session,
            self.case.child_id,
            codes,
            f"report:{self.case.case_no}",
            now().astimezone(CHINA_TZ).date(),
            self.actor,
            why or f"案件{self.case.case_no}经公安机关核实",
        )

    def leave_ledger(self, phase_out_until: datetime | None) -> None:
        """Closing ends what this case put on the ledger — at the end of its phase-out if it has one;
        the child's open visits end with it unless another category keeps the child covered."""
        today = now().astimezone(CHINA_TZ).date()
        on = phase_out_until.astimezone(CHINA_TZ).date() if phase_out_until else today
        why = f"案件{self.case.case_no}结案" + (
            f"，渐退期至{on.year}年{on.month}月{on.day}日" if phase_out_until else ""
        )
        childfile.end_categories(
            self.session, self.case.child_id, on, self.actor, f"{why}，移出台账", source=f"report:{self.case.case_no}"
        )
        childfile.cancel_uncovered_visits(self.session, self.case.jurisdiction, today, self.case.child_id)

    # ---- tasks --------------------------------------------------------------------
    def task(self, task_id: uuid.UUID) -> Task:
        task = self.session.get(Task, task_id)
        if task is None or task.case_id != self.case.id:
            raise InvalidInput("unknown_task", f"no task {task_id} in case {self.case.case_no}", "task")
        return task

    def open_task(self, kind: str, subject: str | None = None, urgent: bool | None = None) -> Task:
        """Open a human task with its owner, role and a deadline computed from the pack."""
        rule = (
            self.pack.services[cast(Service, subject)] if kind == "service" else self.pack.tasks[cast(TaskKind, kind)]
        )
        owner = units.resolve(self.pack, rule.owner, self.case.township, self.case.village)
        start = now()
        due, basis = self._due(rule.due, urgent)
        task = self.add_task(kind, subject, owner, rule.role, start, due.at, {**basis, "source": rule.source})
        if due.fallback_years:
            self.record(
                "calendar_fallback",
                f"节假日历无 {', '.join(map(str, due.fallback_years))} 年数据，按周一至周五及本地假日计算工作日",
                task_id=str(task.id),
                years=list(due.fallback_years),
            )
        return task

    def schedule_visit(self, number: int, start: datetime) -> Task:
        """A follow-up visit due `number` intervals after `start` (spacing by risk level)."""
        risk = self.case.risk_level or "low"
        plan = self.pack.follow_up.by_risk[cast(RiskLevel, risk)]
        due = start
        for _ in range(number):
            due = workdays.add(due, plan.every, self._holidays()).at
        owner = units.resolve(self.pack, self.pack.follow_up.owner, self.case.township, self.case.village)
        basis = {
            "risk_level": risk,
            "every": plan.every.model_dump(exclude_none=True),
            "visit": number,
            "source": self.pack.follow_up.source,
        }
        return self.add_task(
            "follow_up_visit", f"{number}/{plan.count}", owner, self.pack.follow_up.role, start, due, basis
        )

    def add_task(
        self,
        kind: str,
        subject: str | None,
        owner: str,
        role: str,
        start: datetime,
        due_at: datetime,
        rule: dict[str, Any],
        stage: str | None = None,
    ) -> Task:
        """The task, its deadline (with the rule and source behind it) and the timeline event."""
        task = Task(
            case_id=self.case.id,
            stage=stage or self.case.stage,
            kind=kind,
            subject=subject,
            owner_unit=owner,
            role=role,
            due_at=due_at,
            created_at=now(),
        )
        self.session.add(task)
        self.session.flush()  # no relationship() between the tables: the task row must exist first
        deadline = Deadline(case_id=self.case.id, task_id=task.id, kind=kind, starts_at=start, due_at=due_at, rule=rule)
        clocks.arm(self.pack, deadline)
        self.session.add(deadline)
        self.record(
            "task_opened",
            f"{self.title(task)} → {self.unit_name(owner)}，时限 {format_due(due_at)}",
            task_id=str(task.id),
            kind=kind,
            subject=subject,
            owner_unit=owner,
            due_at=due_at.isoformat(),
            rule=rule,
        )
        return task

    def redo_task(self, task: Task) -> Task:
        """The same work again, for the same unit, with a fresh deadline from the pack (a refused approval)."""
        rule = self.pack.tasks[cast(TaskKind, task.kind)]
        due, basis = self._due(rule.due, None)
        return self.add_task(
            task.kind, task.subject, task.owner_unit, task.role, now(), due.at, {**basis, "source": rule.source}
        )

    def watch(self, kind: str, due_at: datetime, summary: str, rule: dict[str, Any]) -> Deadline:
        """A clock with no task: when it comes, the sweeper tells whom the pack says (once)."""
        deadline = Deadline(case_id=self.case.id, task_id=None, kind=kind, starts_at=now(), due_at=due_at, rule=rule)
        clocks.arm(self.pack, deadline)
        self.session.add(deadline)
        self.record("watch_started", summary, kind=kind, due_at=due_at.isoformat(), rule=rule)
        return deadline

    def complete_task(self, task: Task, outcome: dict[str, Any]) -> None:
        if task.status != "open":
            raise Conflict("task_not_open", f"task {task.id} is already {task.status}", "task")
        timeline.check_row(self.session, self.case, task)  # a changed task is recorded before it is sealed again
        at = now()
        task.status, task.outcome, task.completed_by, task.completed_at = "done", outcome, self.actor, at
        deadline = self.session.exec(select(Deadline).where(Deadline.task_id == task.id)).first()
        late_by = None
        if deadline is not None:
            deadline.status, deadline.resolved_at = ("met" if at <= deadline.due_at else "missed"), at
            late_by = clocks.stop(self.session, deadline, "done")
        self.session.add(task)
        self.record(
            "task_completed",
            f"{self.title(task)} 已完成" + (f"（超时 {late_by} 分钟）" if late_by else ""),
            task_id=str(task.id),
            kind=task.kind,
            subject=task.subject,
            outcome=outcome,
            late_by_minutes=late_by,
        )

    def open_tasks(self, kinds: set[str] | None = None) -> list[Task]:
        rows = self.session.exec(select(Task).where(Task.case_id == self.case.id, Task.status == "open")).all()
        return [t for t in rows if kinds is None or t.kind in kinds]

    def done(self, kind: str) -> list[Task]:
        rows = self.session.exec(
            select(Task).where(Task.case_id == self.case.id, Task.kind == kind, Task.status == "done")
        ).all()
        return list(rows)

    def open_final_review_when_work_done(self) -> Task | None:
        """Services, visits and intervention steps all done → the final review opens (once)."""
        if self.open_tasks(OPEN_WORK_KINDS) or self.open_tasks({"final_review", "assessment", "emergency_response"}):
            return None
        if self.session.exec(
            select(Approval).where(Approval.case_id == self.case.id, Approval.status == "pending")
        ).first():
            return None  # a decision awaits approval: its refusal reopens the work, its approval ends it
        return self.open_task_and_notify("final_review")

    # ---- stage and closing --------------------------------------------------------
    def move_to(self, stage: str) -> None:
        before = self.case.stage
        self.case.stage = stage
        self.record("stage_changed", f"{STAGE_NAMES_ZH[before]} → {STAGE_NAMES_ZH[stage]}", before=before, after=stage)

    def close(
        self,
        reason: str,
        summary: str,
        exit_reason: str | None = None,
        phase_out_until: datetime | None = None,
        detail: str | None = None,
    ) -> None:
        """Close the case: remaining tasks are cancelled, the receiving police told (未保法 art. 11).

        `summary` is what may be said in a message or a timeline line; `detail` is free text (why a
        report was unfounded): in the event's payload and the closing report, never in a message."""
        for task in self.open_tasks():
            task.status = "cancelled"
            deadline = self.session.exec(select(Deadline).where(Deadline.task_id == task.id)).first()
            if deadline is not None:
                deadline.status, deadline.resolved_at = "cancelled", now()
                clocks.stop(self.session, deadline, "cancelled")
            self.record("task_cancelled", f"{self.title(task)} 随结案取消", task_id=str(task.id))
        self.leave_ledger(phase_out_until)
        self.case.close_reason, self.case.exit_reason = reason, exit_reason
        self.case.closed_at = now()
        self.case.phase_out_until = phase_out_until
        self.case.status = "phase_out" if phase_out_until else "closed"
        self.move_to("closed")
        self.record(
            "case_closed",
            summary,
            reason=reason,
            exit_reason=exit_reason,
            detail=detail,
            phase_out_until=phase_out_until.isoformat() if phase_out_until else None,
        )
        self.notify("case_closed", detail=summary)
        self.notify("reporter_feedback", template="reporter_feedback", detail=summary)
        documents.issue(
            self,
            "closing_report",
            self.case.township,
            summary=summary,
            detail=detail,
            tasks=documents.closing_items(self),
            phase_out_until=format_due(phase_out_until) if phase_out_until else None,
        )

    # ---- notifications ------------------------------------------------------------
    def notify(
        self,
        event: str,
        template: str | None = None,
        to: list[str] | None = None,
        task: Task | None = None,
        ask: str = "",
        detail: str = "",
        unit_codes: list[str] | None = None,
        due: datetime | None = None,
    ) -> list[str]:
        """Queue one message per recipient unit in this transaction (the outbox)."""
        selectors = to if to is not None else self.pack.notify[event].to
        recipients = [
            units.resolve(self.pack, s, self.case.township, self.case.village, self.reporter_unit_type)
            for s in selectors
        ]
        recipients = list(unit_codes or []) + recipients
        if task is not None:
            recipients.insert(0, task.owner_unit)
        due = due or (task.due_at if task else None)
        recipients = list(dict.fromkeys(recipients))
        origin = self.dedupe or (self.command.id if self.command is not None else None)
        if origin is None and recipients:
            raise ValueError("a transition that no command asked for needs `dedupe` to key its messages")
        for unit in recipients:
            subject, body = render(
                template or event,
                case_no=self.case.case_no,
                stage=STAGE_NAMES_ZH[self.case.stage],
                ask=ask or (self.title(task) if task else ""),
                due=format_due(due) if due else "—",
                link=case_link(self.session, self.case.case_no),
                unit_name=self.unit_name(unit),
                jurisdiction=self.pack.name,
                detail=detail,
            )
            key = f"{origin}:{event}:{task.id if task else ''}"
            if (key, unit) in self.told:  # a second message to one unit for one hand-off: procedures merge them
                # (tests/test_county_rules.py finds any that do not); kept apart, never a crash that stops the police
                key += f"#{sum(1 for k, u in self.told if u == unit and k.startswith(key))}"
            self.told.add((key, unit))
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "case_id": self.case.id,
                "jurisdiction": self.pack.pack,  # the county whose unit is told (speaking_for: another one)
                "unit": unit,
                "event": event,
                "template": template or event,
                "dedupe_key": key,
                "subject": subject,
                "body": body,
                "status": "queued",
                "created_at": now(),
            }
            if self.batch is not None:
                self.batch.append((Notification, row))
            else:
                self.session.add(Notification(**row))
        if recipients:
            self.record(
                "notification_queued",
                f"通知 {'、'.join(self.unit_name(u) for u in recipients)}：{named(event, EVENT_NAMES_ZH, '通知')}",
                event=event,
                units=recipients,
            )
        return recipients

    def open_task_and_notify(
        self,
        kind: str,
        event: str = "task_opened",
        subject: str | None = None,
        urgent: bool | None = None,
        template: str | None = None,
        detail: str = "",
    ) -> Task:
        task = self.open_task(kind, subject=subject, urgent=urgent)
        self.notify(event, template=template, task=task, detail=detail)
        return task

    @contextmanager
    def speaking_for(self, jurisdiction: str) -> Iterator[None]:
        """Tell another county's units (a transfer, a report on a child of theirs): its pack resolves and
        names them. Timeline lines written meanwhile stay on this case."""
        before = self.pack
        self.pack = pack(jurisdiction)
        try:
            yield
        finally:
            self.pack = before

    # ---- helpers ------------------------------------------------------------------
    def village_or_township(self) -> str:
        return units.resolve(self.pack, "village", self.case.township, self.case.village)

    def _holidays(self) -> frozenset:
        return frozenset(self.pack.holidays.value)

    def _due(self, due: Due, urgent: bool | None) -> tuple[workdays.Due, dict[str, Any]]:
        is_urgent = (self.case.urgency == "urgent") if urgent is None else urgent
        duration = due.urgent if (is_urgent and due.urgent) else due.normal
        result = workdays.add(now(), duration, self._holidays())
        return result, {
            "urgency": "urgent" if is_urgent and due.urgent else "normal",
            "duration": duration.model_dump(exclude_none=True),
        }

    def title(self, task: Task | None) -> str:
        return task_title(self.pack, task.kind, task.subject) if task else ""

    def unit_name(self, code: str) -> str:
        return self.pack.unit(code).name
