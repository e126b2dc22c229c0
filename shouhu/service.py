"""The operations people perform, shared by CLI, web and API: one place per rule.

Mutations follow one path: validate → check who acts → rehearse (run and roll back) →
store the command → run the stage flow → return the case. Reads are recorded on the case's
timeline with the reader's name.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import Case, Command, Deadline, Jurisdiction, Task, Unit, User
from shouhu import access, config, db, masking, policy, timeline
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import OUTCOMES, ReportIn, check_ref, check_report, parse
from shouhu.vocab import STEP_OF_TASK


# ---- set-up --------------------------------------------------------------------------
def init() -> dict[str, Any]:
    """Create or upgrade the schema (migrations), load every pack's units and demo users. Safe to run again."""
    packs = policy.all_packs()
    schema = upgrade_schema()
    counts = {"jurisdictions": 0, "units": 0, "users": 0}
    with db.transaction() as s:
        check_timeline_key(s)
        for name, p in packs.items():
            j = s.exec(select(Jurisdiction).where(Jurisdiction.code == name)).first() or Jurisdiction(code=name, name="", case_prefix="", source="")
            j.name, j.case_prefix, j.source = p.name, p.case_prefix, p.source
            s.add(j)
            counts["jurisdictions"] += 1
            for u in p.units.value:
                row = s.exec(select(Unit).where(Unit.code == u.code)).first() or Unit(code=u.code, jurisdiction=name, name="", type=u.type)
                row.name, row.type, row.parent, row.supervisor, row.covers = u.name, u.type, u.parent, u.supervisor, list(u.covers)
                s.add(row)
                counts["units"] += 1
            for du in p.demo_users.value if p.demo_users else []:
                row = s.exec(select(User).where(User.username == du.username)).first() or User(username=du.username, display_name="", role=du.role, unit=du.unit, jurisdiction=name)
                row.display_name, row.role, row.unit, row.jurisdiction = du.display_name, du.role, du.unit, name
                s.add(row)
                counts["users"] += 1
    return {"ok": True, "database": db.engine().url.render_as_string(hide_password=True), "schema": schema["to"], **counts}


def check_timeline_key(s: Session) -> None:
    """The first init records which key seals this database's timelines; later a different key
    is refused at once (else every case would look tampered with)."""
    from models import Setting

    found = s.get(Setting, "timeline_key_fingerprint")
    if found is None:
        s.add(Setting(key="timeline_key_fingerprint", value=timeline.key_fingerprint()))
    elif found.value != timeline.key_fingerprint():
        raise InvalidInput("wrong_timeline_key", "SHOUHU_TIMELINE_KEY is not the key this database was sealed with "
                           f"(fingerprint {found.value}); set the right one", "SHOUHU_TIMELINE_KEY")


def list_units(jurisdiction: str) -> list[dict[str, Any]]:
    policy.pack(jurisdiction)
    with Session(db.engine()) as s:
        rows = s.exec(select(Unit).where(Unit.jurisdiction == jurisdiction).order_by(Unit.code)).all()
        return [{"code": u.code, "name": u.name, "type": u.type, "parent": u.parent, "supervisor": u.supervisor} for u in rows]


def schema_revision() -> dict[str, Any]:
    """`shouhu db current`."""
    from shouhu import migrate

    return migrate.current()


def upgrade_schema() -> dict[str, Any]:
    """`shouhu db upgrade`: the migrations, and the one-time sealing of rows written before seals."""
    from shouhu import migrate

    result = migrate.upgrade()
    if result.pop("seal_legacy"):
        with db.transaction() as s:
            timeline.seal_legacy(s)
    return result


def policy_rules(jurisdiction: str) -> list[dict[str, Any]]:
    """`shouhu policy show --json`: every rule in force, its value and source."""
    from shouhu import rules

    return rules.rules(policy.pack(jurisdiction))


def policy_table(jurisdiction: str) -> dict[str, Any]:
    """The same rules in Chinese: rule, value, and source as the county's document number and section."""
    from shouhu import rules

    p = policy.pack(jurisdiction)
    return {"name": p.name, "document": p.document.number if p.document else p.name, "rows": rules.table(p)}


def list_users(jurisdiction: str) -> list[dict[str, Any]]:
    policy.pack(jurisdiction)
    with Session(db.engine()) as s:
        rows = s.exec(select(User).where(User.jurisdiction == jurisdiction).order_by(User.username)).all()
        return [{"username": u.username, "role": u.role, "unit": u.unit, "display_name": u.display_name} for u in rows]


# ---- mutations -----------------------------------------------------------------------
def _payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _replay(kind: str, key: str, payload: dict[str, Any]) -> Command | None:
    with Session(db.engine()) as s:
        found = s.exec(select(Command).where(Command.kind == kind, Command.idempotency_key == key)).first()
    if found is not None and found.payload.get("digest") != payload.get("digest"):
        raise Conflict("idempotency_key_reused", f"idempotency_key {key.split(':', 1)[-1]!r} was used for a different submission", "idempotency_key")
    return found


QUEUED_ZH = "已受理并保存。编排服务暂时无法连接，恢复后一分钟内自动处理，无需重复提交。"


def _execute(command: Command, flow_fn: Any, procedure: Any, tags: list[str]) -> dict[str, Any]:
    """Rehearse, store, run the stage flow. If the orchestrator does not answer, the stored
    command is the promise: the answer is `{"status": "queued", …}` and it is applied once,
    automatically, when the orchestrator answers again (resume_pending)."""
    from shouhu.runner import is_unavailable, run_flow
    from tasks.apply import rehearse

    rehearsal = rehearse(command, procedure)
    command = _store(command, rehearsal)
    try:
        result = run_flow(flow_fn, tags, command_id=str(command.id))
    except Exception as exc:
        stored = _command(command.id)
        if stored.status in ("applied", "rejected"):  # it was done; only the answer was lost on the way
            result = stored.result
        elif is_unavailable(exc):
            return _queued(stored)
        else:
            raise
    if "error" in result:
        err = result["error"]
        raise (Conflict if err["code"] in {"task_not_open", "stale_version", "work_still_open"} else InvalidInput)(err["code"], err["message"], err["field"])
    return result


def _store(command: Command, rehearsal: dict[str, Any]) -> Command:
    """Store the command (once). A report that opens a case gets its case number and id now, so a
    queued report can be answered with the number the case will have."""
    try:
        with db.transaction() as s:
            if s.get(Command, command.id) is not None:
                return command  # a pending command being run again
            twin = _queued_for_same_child(s, command) if command.kind == "report" else None
            if command.kind == "report" and twin is not None:  # queued before us: the case it will open is ours too
                command.payload = {**command.payload, "attached_to": twin}
            elif command.kind == "report" and not rehearsal.get("attached_to_existing"):
                from flows.intake import next_case_no

                command.payload = {**command.payload, "reserved": {"case_no": next_case_no(s, policy.pack(command.payload["report"]["jurisdiction"])),
                                                                   "case_id": str(uuid.uuid4())}}
            elif command.kind == "report":
                command.payload = {**command.payload, "attached_to": rehearsal["case_no"]}
            s.add(command)
    except Exception:  # a concurrent twin with the same idempotency key was stored first
        twin = _replay(command.kind, command.idempotency_key, command.payload)
        if twin is None:
            raise
        command = twin
    return command


def _queued_for_same_child(s: Session, command: Command) -> str | None:
    """The case number reserved by a report on the same child still waiting to be applied: the
    rehearsal cannot see that case yet, but this report will join it."""
    report = command.payload["report"]
    child = report["child"]
    for other in s.exec(select(Command).where(Command.kind == "report", Command.status == "pending")).all():
        theirs = other.payload.get("report", {})
        if theirs.get("jurisdiction") != report["jurisdiction"] or not (other.payload.get("reserved") or other.payload.get("attached_to")):
            continue
        same = (child.get("id_number") and theirs["child"].get("id_number") == child["id_number"]) or (
            not child.get("id_number") and not theirs["child"].get("id_number")
            and all(theirs["child"].get(k) == child.get(k) for k in ("name", "birth_date", "township")))
        if same:
            return (other.payload.get("reserved") or {}).get("case_no") or other.payload["attached_to"]
    return None


def _command(command_id: uuid.UUID) -> Command:
    with Session(db.engine()) as s:
        found = s.get(Command, command_id)
        s.expunge(found)
        return found


def _queued(command: Command) -> dict[str, Any]:
    """The acknowledgement of a stored command the orchestrator could not take yet."""
    answer: dict[str, Any] = {"status": "queued", "command_id": str(command.id), "message": QUEUED_ZH}
    if command.kind == "report":
        reserved = command.payload.get("reserved") or {}
        answer.update({"idempotency_key": command.idempotency_key.split(":", 1)[1], "case_no": reserved.get("case_no") or command.payload.get("attached_to"),
                       "case_id": reserved.get("case_id"), "attached_to_existing": not reserved})
    else:
        answer.update({"task_id": command.payload["task_id"], "case_no": command.payload.get("case_no")})
    return answer


def list_commands(status: str | None = "pending") -> list[dict[str, Any]]:
    """Stored commands by status, for the operator (no personal data: ids, kinds, times, counts)."""
    if status not in (None, "pending", "applied", "rejected", "failed"):
        raise InvalidInput("invalid_value", f"--status must be pending, applied, rejected or failed; got {str(status)[:40]!r}", "status")
    with Session(db.engine()) as s:
        query = select(Command)
        if status:
            query = query.where(Command.status == status)
        rows = s.exec(query.order_by(col(Command.created_at)).limit(1000)).all()
    return [{"command_id": str(c.id), "kind": c.kind, "status": c.status, "actor": c.actor, "created_at": c.created_at.isoformat(),
             "applied_at": c.applied_at.isoformat() if c.applied_at else None, "attempts": c.attempts, "last_error": c.last_error or None,
             "case_no": (c.result or {}).get("case_no") or (c.payload.get("reserved") or {}).get("case_no") or c.payload.get("attached_to")
             or c.payload.get("case_no")}
            for c in rows]


def retry_command(command_ref: str) -> dict[str, Any]:
    """Put a `failed` command back in the queue (after its cause was mended): the sweeper applies it."""
    with db.transaction() as s:
        command = _by_id(s, Command, command_ref, "command")
        if command.status != "failed":
            raise Conflict("not_failed", f"command {command.id} is {command.status}; only a failed one is retried", "command")
        command.status, command.attempts, command.last_error = "pending", 0, ""
        command.created_at = now() - timedelta(seconds=policy.orchestrator_rule().resume_after_seconds)
        s.add(command)
    return {"command_id": str(command.id), "status": "pending"}


def submit_report(data: Any, actor_name: str | None) -> dict[str, Any]:
    """Register a mandatory report (强制报告) and run the intake flow: `{"status": "applied", …}`,
    or `{"status": "queued", "case_no", …}` when the orchestrator does not answer (applied later)."""
    report = parse(ReportIn, data)
    p = policy.pack(report.jurisdiction)
    check_report(report)
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    _recorded(actor, "report_register", p.pack, lambda: access.check_may_register(actor, p.pack))
    payload = {"report": report.model_dump(mode="json")}
    payload["digest"] = _payload_digest(payload["report"])
    key = f"{p.pack}:{report.idempotency_key or uuid.uuid4()}"
    existing = _replay("report", key, payload)
    if existing is not None and existing.status == "applied":
        return _report_result(existing.result)
    if existing is not None and existing.status == "rejected":
        err = existing.result["error"]
        raise InvalidInput(err["code"], err["message"], err["field"])
    if existing is not None and existing.status == "failed":
        raise InvalidInput("command_failed", "this report was stored but could not be applied; see `shouhu commands --status failed`",
                           "idempotency_key")
    from flows.intake import intake, open_case_for_report

    command = existing or Command(kind="report", idempotency_key=key, actor=actor.username, payload=payload, created_at=now())
    return _report_result(_execute(command, intake, open_case_for_report, [f"jurisdiction:{p.pack}"]))


def _recorded(actor: User, action: str, target: str, check: Any) -> None:
    """Run an access check; a refusal is recorded (who, what, why) before it is raised."""
    try:
        check()
    except Forbidden as exc:
        from tasks.verification import record_access

        with db.transaction() as s:
            record_access(s, actor.username, action, target, allowed=False, reason=exc.code)
        raise


def _report_result(result: dict[str, Any]) -> dict[str, Any]:
    if result.get("status") == "queued":
        return result
    return {"status": "applied", **{k: result[k] for k in ("case_id", "case_no", "stage", "attached_to_existing")}}


def complete_task(task_ref: str, data: Any, actor_name: str | None, acknowledgement: bool = False) -> dict[str, Any]:
    """Record a task's outcome and run the flow of the step the task belongs to."""
    if not isinstance(data, dict):
        raise InvalidInput("not_an_object", "the outcome must be a JSON object", None)
    with Session(db.engine()) as s:
        task = _looked_up(s, actor_name, "task_complete", task_ref, lambda: _task(s, task_ref))
        case = s.get(Case, task.case_id)
        actor = access.user(s, actor_name)
        try:
            _guard(s, case, actor.username, "task_complete")  # another area's task is answered as an unknown one
        except NotFound:
            raise unknown("task", task_ref) from None
    _recorded(actor, "task_complete", str(task.id), lambda: access.check_may_complete(actor, task, case.jurisdiction))
    if acknowledgement and task.kind not in ACKNOWLEDGEMENTS:
        raise InvalidInput("not_an_acknowledgement", f"task: a {task.kind} task is completed with an outcome (shouhu task complete), "
                           f"not acknowledged; acknowledged: {', '.join(sorted(ACKNOWLEDGEMENTS))}", "task")
    if task.status != "open":
        raise Conflict("task_not_open", f"task {task.id} is already {task.status}", "task")
    with Session(db.engine()) as s:
        waiting = s.exec(select(Command).where(Command.kind == "complete_task", Command.status == "pending")).all()
    if any(c.payload.get("task_id") == str(task.id) for c in waiting):
        raise Conflict("completion_pending", f"task {task.id} already has an outcome waiting to be applied (queued); it is applied "
                       "when the orchestrator answers", "task")
    data = dict(data)
    expected = data.pop("expected_version", None)
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 1):
        raise InvalidInput("invalid_value", "outcome.expected_version: a positive whole number (the case's version)", "outcome.expected_version")
    parse(OUTCOMES[task.kind], data, "outcome")
    step = STEP_OF_TASK.get(task.kind, task.stage)  # the final review: the stage it opened in
    payload = {"task_id": str(task.id), "outcome": data, "expected_version": expected, "stage": step, "case_no": case.case_no,
               "jurisdiction": case.jurisdiction}
    flow_fn, procedure = _stage_flow(step)
    command = Command(kind="complete_task", idempotency_key=str(uuid.uuid4()), actor=actor.username,
                      payload=payload, created_at=now())
    result = _execute(command, flow_fn, procedure, [case.case_no, f"jurisdiction:{case.jurisdiction}"])
    if result.get("status") == "queued":
        return result
    return show_case(str(case.id), actor.username, record_read=False)


ACKNOWLEDGEMENTS = {"police_arrival": "已到场"}  # tasks done by saying so (one tap, no outcome): the button's words


def acknowledge_task(task_ref: str, actor_name: str | None) -> dict[str, Any]:
    """出警到场 and the like: the task is done by acknowledging it (exit 3 if it already was)."""
    return complete_task(task_ref, {}, actor_name, acknowledgement=True)


def _stage_flow(stage: str) -> tuple[Any, Any]:
    from shouhu.runner import stage_flow
    return stage_flow(stage)


# ---- reads ---------------------------------------------------------------------------
def reader(actor_name: str | None) -> str:
    """Who is reading: --as, else SHOUHU_USER, else the local operating-system account."""
    name = actor_name or config.settings().user
    if name:
        with Session(db.engine()) as s:
            return access.user(s, name).username
    return f"os:{getpass.getuser()}"


def _case(s: Session, ref: str) -> Case:
    check_ref(ref, "case")
    try:
        found = s.get(Case, uuid.UUID(ref))
    except ValueError:
        found = s.exec(select(Case).where(Case.case_no == ref)).first()
    if found is None:
        raise NotFound("unknown_case", UNKNOWN_CASE, "case")
    return found


def _by_id(s: Session, model: Any, ref: str, field: str) -> Any:
    """A row by its UUID; a malformed or unknown id is the same `unknown_<field>` error."""
    check_ref(ref, field)
    try:
        found = s.get(model, uuid.UUID(ref))
    except ValueError:
        found = None
    if found is None:
        raise unknown(field, ref)
    return found


def _looked_up(s: Session, actor_name: str | None, action: str, ref: object, find: Any) -> Any:
    """A lookup by id; an unknown id is recorded as a refusal, as an out-of-scope one is, so the
    two cost the same work and neither answer tells them apart."""
    try:
        return find()
    except InvalidInput:
        who = actor_name or config.settings().user
        if who:
            from tasks.verification import record_access

            record_access(s, str(who)[:64], action, f"unknown:{str(ref)[:64]}", allowed=False, reason="unknown")
            s.commit()
        raise


def _task(s: Session, ref: str) -> Task:
    try:
        return _by_id(s, Task, ref, "task")
    except NotFound:
        raise unknown("task", ref) from None


READ_NAMES = {"case": "案件详情", "timeline": "时间线", "verify": "完整性校验", "documents": "文书目录"}


def _read_name(what: str) -> str:
    """What was read, as people name it (codes stay in the event's payload)."""
    if what.startswith("document:"):
        from tasks.documents import KINDS

        return "文书《" + KINDS.get(what.split(":", 1)[1], ("文书",))[0] + "》"
    return READ_NAMES.get(what, "案卷")


def _record_read(case_id: uuid.UUID, who: str, what: str) -> None:
    from tasks.transition import lock_case

    with db.transaction() as s:
        case = lock_case(s, case_id)
        timeline.append(s, case, "case_read", who, f"查阅案卷：{_read_name(what)}", {"view": what})


def task_view(t: Task) -> dict[str, Any]:
    return {"task_id": str(t.id), "case_id": str(t.case_id), "stage": t.stage, "kind": t.kind, "subject": t.subject,
            "status": t.status, "owner_unit": t.owner_unit, "role": t.role, "due_at": t.due_at.isoformat(),
            "completed_by": t.completed_by, "completed_at": t.completed_at.isoformat() if t.completed_at else None}


UNKNOWN_CASE = "no such case among those you may read"


def unknown(field: str, ref: object) -> NotFound:
    """The one answer for an id that does not exist and for one the reader may not see."""
    return NotFound(f"unknown_{field}", f"no {field} {str(ref)[:64]!r} among those you may read", field)


def _guard(s: Session, case: Case, who: str, action: str) -> User | None:
    """A named reader must be allowed to read the case (access.case_scope). A refusal is recorded
    and answered exactly as an unknown case is, so case numbers outside one's scope cannot be
    probed. `os:<login>` is the local operator of an embedded install, who holds the database."""
    if who.startswith("os:"):
        return None
    actor = access.user(s, who)
    if not access.may_read_case(actor, case):
        from tasks.verification import record_access

        record_access(s, actor.username, action, str(case.id), allowed=False, reason="not_permitted")
        s.commit()
        raise NotFound("unknown_case", UNKNOWN_CASE, "case")
    return actor


def child_view(s: Session, case: Case, actor: User | None) -> dict[str, Any]:
    """The child as this reader may see them (shouhu.masking: the one rule for every way out)."""
    from models import Child

    return masking.child(s.get(Child, case.child_id), visible=actor is not None and access.may_see_identity(actor))


def reporters_view(s: Session, case: Case, actor: User | None) -> list[dict[str, Any]] | None:
    """Who reported: police and managers only (强制报告意见: the reporter is protected)."""
    from models import Report, Reporter

    if actor is None or not access.may_see_reporter(actor):
        return None
    rows = s.exec(select(Reporter, Report).join(Report, Report.id == Reporter.report_id).where(Report.case_id == case.id)
                  .order_by(col(Report.reported_at))).all()
    return [{"name": r.name, "phone": r.phone, "unit": r.unit, "unit_type": r.unit_type, "reported_at": rep.reported_at.isoformat(),
             "late": rep.late} for r, rep in rows]


def show_case(ref: str, actor_name: str | None = None, record_read: bool = True) -> dict[str, Any]:
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = _looked_up(s, actor_name, "case_read", ref, lambda: _case(s, ref))
        actor = _guard(s, case, who, "case_read")
        child, reporters = child_view(s, case, actor), reporters_view(s, case, actor)
        tasks = s.exec(select(Task).where(Task.case_id == case.id).order_by(col(Task.created_at), col(Task.kind))).all()
        deadlines = s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.due_at))).all()
    if record_read:
        _record_read(case.id, who, "case")
    return {
        "case_id": str(case.id), "case_no": case.case_no, "jurisdiction": case.jurisdiction, "stage": case.stage,
        "status": case.status, "risk_level": case.risk_level, "urgency": case.urgency, "version": case.version,
        "township": case.township, "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None, "close_reason": case.close_reason,
        "exit_reason": case.exit_reason, "phase_out_until": case.phase_out_until.isoformat() if case.phase_out_until else None,
        "child": child, "reporters": reporters,
        "tasks": [task_view(t) for t in tasks],
        "deadlines": [{"task_id": str(d.task_id), "kind": d.kind, "starts_at": d.starts_at.isoformat(), "due_at": d.due_at.isoformat(),
                       "status": d.status, "rule": d.rule} for d in deadlines],
    }


def case_timeline(ref: str, actor_name: str | None = None, record_read: bool = True) -> list[dict[str, Any]]:
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = _looked_up(s, actor_name, "case_read", ref, lambda: _case(s, ref))
        _guard(s, case, who, "timeline_read")
        case_id = case.id
    if record_read:
        _record_read(case_id, who, "timeline")
    with Session(db.engine()) as s:
        return [{"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind, "stage": e.stage, "actor": e.actor,
                 "summary": e.summary, "prev_hash": e.prev_hash, "hash": e.hash} for e in timeline.events(s, case_id)]


def verify_case(ref: str, actor_name: str | None = None, record_read: bool = True) -> dict[str, Any]:
    """Check the file first (what was stored: chain, head, seal, documents), then record that it
    was checked. `{"ok", "broken_at", "reason"}` (reasons: shouhu.timeline.check)."""
    who = reader(actor_name)
    with Session(db.engine()) as s:
        case = _looked_up(s, actor_name, "case_read", ref, lambda: _case(s, ref))
        _guard(s, case, who, "timeline_verify")
        case_id = case.id
        found = timeline.check(s, case_id)
    if found["ok"] and record_read:
        _record_read(case_id, who, "verify")
    return found


def verify_all() -> dict[str, Any]:
    """Every case (chain, head, seal, documents) and every anchor (shouhu anchors): what a court
    or an inspector runs. The key must be the one the database was sealed with."""
    from models import Setting
    from tasks import anchors

    with Session(db.engine()) as s:
        recorded = s.get(Setting, "timeline_key_fingerprint")
        if recorded is not None and recorded.value != timeline.key_fingerprint():
            raise InvalidInput("wrong_timeline_key", "SHOUHU_TIMELINE_KEY is not the key this database was sealed with", "SHOUHU_TIMELINE_KEY")
        broken, count = [], 0
        for case_id, case_no in s.exec(select(Case.id, Case.case_no).order_by(col(Case.case_no))).all():
            count += 1
            found = timeline.check(s, case_id)
            if not found["ok"]:
                broken.append({"case_no": case_no, "broken_at": found["broken_at"], "reason": found["reason"]})
        anchored = anchors.verify(s)
    return {"ok": not broken and anchored["ok"], "cases": count, "broken": broken, "anchors": anchored}


def anchor_now(jurisdiction: str) -> dict[str, Any]:
    """Write today's anchor of one jurisdiction now (the sweeper does it daily by itself)."""
    from tasks import anchors

    policy.pack(jurisdiction)
    with db.transaction() as s:
        return anchors.take(s, jurisdiction, now().date().isoformat())


def sweep() -> dict[str, Any]:
    """One sweeper tick at the clock's time, as a flow run (which also resumes queued commands).

    If the orchestrator does not answer, the tick runs here, in this process, so no deadline
    waits for it: each event it writes says so on the timeline (`"orchestrator": "unavailable"`)."""
    from flows.sweeper import sweeper
    from shouhu.runner import OrchestratorUnavailable, run_flow

    at = now()
    try:
        return run_flow(sweeper, ["sweeper"], as_of=at.isoformat())
    except OrchestratorUnavailable:
        from notifications.dispatch import dispatch
        from tasks.sweep import tick

        with timeline.in_process("sweeper"):
            result = tick(at)
            result["dispatched"] = dispatch()
        return {**result, "orchestrator": "unavailable", "resumed": {"resumed": 0, "failed": 0, "left": 0}}


def list_breaches(jurisdiction: str | None = None, unit: str | None = None, open_only: bool = False,
                  actor: User | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Overdue tasks for managers: level reached, 督办, how late (so far, or when done).
    With `actor`, only breaches on cases that user may read (access.case_scope), in SQL."""
    from models import Breach

    at = now()
    with Session(db.engine()) as s:
        query = (select(Breach, Case.case_no, Task.subject).join(Case, Case.id == Breach.case_id)
                 .join(Task, Task.id == Breach.task_id, isouter=True))
        if jurisdiction:
            policy.pack(jurisdiction)
            query = query.where(Breach.jurisdiction == jurisdiction)
        if actor is not None:
            query = _scoped(query, actor)
        if unit:
            query = query.where(Breach.owner_unit == unit)
        if open_only:
            query = query.where(Breach.resolved_at.is_(None))
        query = query.order_by(col(Breach.supervised).desc(), col(Breach.level).desc(), col(Breach.due_at), col(Breach.id))
        if limit is not None:
            query = query.offset(offset).limit(limit)
        rows = s.exec(query).all()
    return [{"case_id": str(b.case_id), "case_no": case_no, "task_id": str(b.task_id) if b.task_id else None, "kind": b.kind,
             "stage": b.stage, "owner_unit": b.owner_unit, "due_at": b.due_at.isoformat(), "level": b.level,
             "supervised": b.supervised,
             "late_by_minutes": b.late_by_minutes if b.resolved_at else int((at - b.due_at).total_seconds() // 60),
             "resolved_at": b.resolved_at.isoformat() if b.resolved_at else None, "resolution": b.resolution, "subject": subject}
            for b, case_no, subject in rows]


def list_tasks(unit: str | None = None, stage: str | None = None, status: str | None = None, jurisdiction: str | None = None) -> list[dict[str, Any]]:
    if status not in (None, "open", "done", "cancelled"):
        raise InvalidInput("invalid_value", f"--status must be open, done or cancelled; got {status!r}", "status")
    if stage not in (None, "emergency", "assessment", "intervention"):
        raise InvalidInput("invalid_value", f"--stage must be emergency, assessment or intervention; got {stage!r}", "stage")
    with Session(db.engine()) as s:
        query = select(Task)
        if unit:
            if s.exec(select(Unit).where(Unit.code == unit)).first() is None:
                raise NotFound("unknown_unit", f"no unit {unit!r}", "unit")
            query = query.where(Task.owner_unit == unit)
        if stage:
            query = query.where(Task.stage == stage)
        if status:
            query = query.where(Task.status == status)
        if jurisdiction:
            query = query.join(Case, Case.id == Task.case_id).where(Case.jurisdiction == jurisdiction)
        return [task_view(t) for t in s.exec(query.order_by(col(Task.due_at))).all()]




# ---- the village verification ledger (seed 001 §二(一)6) -------------------------------
def list_visits(actor_name: str | None, unit: str, period: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    """A unit's visits with the child's name (the village director must know whom to visit).

    Needs a named user allowed to see the unit; the read is recorded, and so is a refusal.
    """
    from models import Child, VerificationVisit
    from tasks import verification

    with db.transaction() as s:
        actor = access.user(s, actor_name or config.settings().user)
        if s.exec(select(Unit).where(Unit.code == unit, Unit.jurisdiction == actor.jurisdiction)).first() is None:
            raise NotFound("unknown_unit", f"no unit {unit!r} in {actor.jurisdiction}", "unit")
        try:
            verification.check_may_see(actor, unit)
        except InvalidInput as exc:
            verification.record_access(s, actor.username, "ledger_read", unit, allowed=False, reason=exc.code)
            s.commit()
            raise
        verification.record_access(s, actor.username, "ledger_read", unit)
        query = select(VerificationVisit, Child).join(Child, Child.id == VerificationVisit.child_id).where(VerificationVisit.unit == unit)
        if period:
            query = query.where(VerificationVisit.period == period)
        if open_only:
            query = query.where(VerificationVisit.status == "open")
        at = now()
        return [verification.visit_view(v, c, at) for v, c in
                s.exec(query.order_by(col(VerificationVisit.period), col(Child.name))).all()]


def complete_visit(visit_ref: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """Record a verification visit; bad input changes nothing."""
    from shouhu.inputs import VerificationOutcome
    from tasks import verification

    try:
        visit_id = uuid.UUID(visit_ref)
    except ValueError:
        raise NotFound("unknown_visit", f"no verification visit {visit_ref!r}", "visit") from None
    outcome = parse(VerificationOutcome, data, "outcome")
    with db.transaction() as s:
        return verification.complete(s, visit_id, access.user(s, actor_name), outcome)


def visit_summary(jurisdiction: str, period: str | None = None) -> list[dict[str, Any]]:
    from tasks import verification

    policy.pack(jurisdiction)
    with Session(db.engine()) as s:
        return verification.summary(s, jurisdiction, period, now())


# ---- notifications (the in-app inbox, the outbox, the routing file) ----------------------
def inbox(unit: str, limit: int = 100) -> list[dict[str, Any]]:
    """A unit's messages, newest first, each with its external deliveries."""
    from models import Delivery, Notification

    with Session(db.engine()) as s:
        if s.exec(select(Unit).where(Unit.code == unit)).first() is None:
            raise NotFound("unknown_unit", f"no unit {unit!r}", "unit")
        rows = s.exec(select(Notification, Case.case_no).join(Case, Case.id == Notification.case_id, isouter=True)
                      .where(Notification.unit == unit).order_by(col(Notification.created_at).desc()).limit(limit)).all()
        ids = [n.id for n, _ in rows]
        deliveries: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for d in s.exec(select(Delivery).where(col(Delivery.notification_id).in_(ids))).all() if ids else []:
            deliveries.setdefault(d.notification_id, []).append(
                {"channel": d.channel, "status": d.status, "attempts": d.attempts, "last_error": d.last_error or None,
                 "sent_at": d.sent_at.isoformat() if d.sent_at else None})
    return [{"id": str(n.id), "at": n.created_at.isoformat(), "event": n.event, "case_no": case_no, "subject": n.subject,
             "body": n.body, "status": n.status, "deliveries": deliveries.get(n.id, [])} for n, case_no in rows]


def outbox(status: str | None = None, jurisdiction: str | None = None) -> list[dict[str, Any]]:
    """External deliveries for the managers' board: `failed` ones are what nobody received."""
    from models import Delivery, Notification

    if status not in (None, "pending", "sent", "failed"):
        raise InvalidInput("invalid_value", f"--status must be pending, sent or failed; got {status!r}", "status")
    with Session(db.engine()) as s:
        query = (select(Delivery, Notification, Case.case_no).join(Notification, Notification.id == Delivery.notification_id)
                 .join(Case, Case.id == Notification.case_id, isouter=True))
        if status:
            query = query.where(Delivery.status == status)
        if jurisdiction:
            policy.pack(jurisdiction)
            query = query.where(Notification.jurisdiction == jurisdiction)
        rows = s.exec(query.order_by(col(Delivery.created_at).desc()).limit(1000)).all()
    return [{"notification_id": str(n.id), "case_no": case_no, "unit": n.unit, "event": n.event, "channel": d.channel,
             "status": d.status, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
             "last_error": d.last_error or None, "sent_at": d.sent_at.isoformat() if d.sent_at else None} for d, n, case_no in rows]


def check_routing() -> dict[str, Any]:
    """Load and check the routing file now (what `dispatch` and `serve` do at start)."""
    from notifications import routing

    routes = routing.load()
    return {"ok": True, "file": routes.path, "units": {u: [c.name for c in cs] for u, cs in routes.units.items()}}


def dispatch_now() -> dict[str, Any]:
    """One dispatcher run (a flow run): the routing file is checked first."""
    from flows.dispatcher import dispatcher
    from shouhu.runner import OrchestratorUnavailable, run_flow

    check_routing()
    try:
        return run_flow(dispatcher, ["dispatcher"])
    except OrchestratorUnavailable:  # messages do not wait for the orchestrator either
        from notifications.dispatch import dispatch

        with timeline.in_process("dispatcher"):
            return {**dispatch(), "orchestrator": "unavailable"}


# ---- documents (the official file: they carry identity, so reads need a named user) ----
def _reader_of(s: Session, case: Case, actor_name: str | None, what: str) -> User:
    """Documents carry identity: a named user is required, then the case's access rule."""
    actor = access.user(s, actor_name or config.settings().user)
    _guard(s, case, actor.username, what)
    return actor


def case_documents(ref: str, actor_name: str | None, record_read: bool = True) -> list[dict[str, Any]]:
    from models import Document

    with Session(db.engine()) as s:
        case = _looked_up(s, actor_name, "case_read", ref, lambda: _case(s, ref))
        actor = _reader_of(s, case, actor_name, "documents_list")
        docs = s.exec(select(Document).where(Document.case_id == case.id).order_by(col(Document.created_at))).all()
    if record_read:
        _record_read(case.id, actor.username, "documents")
    masked = not access.may_see_identity(actor)
    return [{"document_id": str(d.id), "kind": d.kind, "title": d.title, "sha256": d.masked_sha256 if masked else d.sha256,
             "created_at": d.created_at.isoformat(),
             "issued_by": d.issued_by, "confidential": d.confidential}
            for d in docs if not d.confidential or access.may_see_reporter(actor)]


def show_document(doc_ref: str, actor_name: str | None) -> dict[str, Any]:
    """One document as this reader may see it (masked for managers, shouhu.masking); its stored
    hash is checked, and checked against the hash its issue put on the timeline.

    A document the reader may not see — another area's, or the intake form for a role that may
    not see the reporter — is answered as an unknown one (and the refusal recorded)."""
    from models import Document

    with Session(db.engine()) as s:
        doc = _looked_up(s, actor_name, "document_read", doc_ref, lambda: _by_id(s, Document, doc_ref, "document"))
        case = s.get(Case, doc.case_id)
        try:
            actor = _reader_of(s, case, actor_name, "document_read")
        except NotFound:
            raise unknown("document", doc_ref) from None
        if doc.confidential and not access.may_see_reporter(actor):
            _refuse(s, actor, "document_read", str(doc.id))
            raise unknown("document", doc_ref)
        masked = not access.may_see_identity(actor)
        if masked and doc.masked_content is None:
            raise InvalidInput("document_not_masked", "this document predates masked copies; your role may read it only masked", "document")
        check = timeline.document_check(s, doc)
    _record_read(case.id, actor.username, f"document:{doc.kind}")
    return {"document_id": str(doc.id), "case_no": case.case_no, "kind": doc.kind, "title": doc.title,
            "sha256": doc.masked_sha256 if masked else doc.sha256,
            "intact": check["intact"], "matches_timeline": check["matches_timeline"], "masked": masked,
            "created_at": doc.created_at.isoformat(), "content_type": doc.content_type,
            "content": doc.masked_content if masked else doc.content}


def _refuse(s: Session, actor: User, action: str, target: str) -> None:
    from tasks.verification import record_access

    record_access(s, actor.username, action, target, allowed=False, reason="not_permitted")
    s.commit()


# ---- scoped lists for the web and the API (one access rule: access.case_scope) ----------
def _scoped(query: Any, actor: User) -> Any:
    field, allowed = access.case_scope(actor)
    return query.where(Case.jurisdiction == actor.jurisdiction, col(getattr(Case, field)).in_(allowed))


def list_cases(actor_name: str, stage: str | None = None, status: str | None = None, limit: int = 50,
               offset: int = 0) -> dict[str, Any]:
    """The cases this user may read, newest first; no identity in the list."""
    from sqlalchemy import func

    if stage not in (None, "emergency", "assessment", "intervention", "closed"):
        raise InvalidInput("invalid_value", f"stage must be emergency, assessment, intervention or closed; got {str(stage)[:40]!r}", "stage")
    if status not in (None, "open", "phase_out", "closed"):
        raise InvalidInput("invalid_value", f"status must be open, phase_out or closed; got {str(status)[:40]!r}", "status")
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = _scoped(select(Case), actor)
        if stage:
            query = query.where(Case.stage == stage)
        if status:
            query = query.where(Case.status == status)
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(col(Case.opened_at).desc(), col(Case.case_no).desc()).offset(offset).limit(limit)).all()
    items = [{"case_id": str(c.id), "case_no": c.case_no, "stage": c.stage, "status": c.status, "urgency": c.urgency,
              "risk_level": c.risk_level, "township": c.township, "village": c.village, "opened_at": c.opened_at.isoformat()} for c in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def list_tasks_for(actor_name: str, mine: bool = False, status: str | None = "open", limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Tasks on cases this user may read; `mine`: those their unit owns. Earliest due first."""
    from sqlalchemy import func

    if status not in (None, "open", "done", "cancelled"):
        raise InvalidInput("invalid_value", f"status must be open, done or cancelled; got {status!r}", "status")
    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = _scoped(select(Task, Case.case_no).join(Case, Case.id == Task.case_id), actor)
        if mine:
            query = query.where(Task.owner_unit == actor.unit)
        if status:
            query = query.where(Task.status == status)
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(col(Task.due_at)).offset(offset).limit(limit)).all()
    return {"items": [{**task_view(t), "case_no": case_no} for t, case_no in rows], "total": total, "limit": limit, "offset": offset}


def breaches_for(actor_name: str, open_only: bool = False, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Breaches on cases this user may read (a manager: the county), a page at a time."""
    from sqlalchemy import func

    from models import Breach

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = _scoped(select(Breach.id).join(Case, Case.id == Breach.case_id), actor)
        if open_only:
            query = query.where(Breach.resolved_at.is_(None))
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        s.expunge(actor)
    rows = list_breaches(actor.jurisdiction, None, open_only, actor=actor, limit=limit, offset=offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


SLA_ROLES = {"manager", "civil_affairs"}


def sla_for(actor_name: str, start: str, end: str) -> dict[str, Any]:
    from shouhu import sla

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
    if actor.role not in SLA_ROLES:
        raise Forbidden("not_permitted", f"{actor.username} may not read the SLA report (managers and civil affairs)", "as")
    return sla.report(start, end, actor.jurisdiction)


def breach_summary(actor_name: str) -> list[dict[str, Any]]:
    """Open breaches counted by owner unit, stage and level (督办 apart), over all the user may read."""
    from sqlalchemy import func

    from models import Breach

    with Session(db.engine()) as s:
        actor = access.user(s, actor_name)
        query = _scoped(select(Breach.owner_unit, Breach.stage, Breach.level, Breach.supervised, func.count())
                        .join(Case, Case.id == Breach.case_id), actor).where(col(Breach.resolved_at).is_(None))
        rows = s.exec(query.group_by(Breach.owner_unit, Breach.stage, Breach.level, Breach.supervised)).all()
    return [{"owner_unit": u, "stage": st, "level": lv, "supervised": sup, "count": n} for u, st, lv, sup, n in rows]
