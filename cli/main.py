"""`shouhu`: the JSON command-line contract (see README). Exit 0 ok, 2 invalid, 3 conflict.

Imports are lazy: `import prefect` costs ~2 s, and read-only commands never need it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

import typer

# Locals in tracebacks could print a child's data into a log: never show them.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Shouhu 守护: child-protection case pipelines.",
)
case_app = typer.Typer(no_args_is_help=True, help="One case: show, timeline, verify, documents, notes, attachments.")
task_app = typer.Typer(no_args_is_help=True, help="Human tasks: complete one, or acknowledge an arrival.")
app.add_typer(case_app, name="case")
app.add_typer(task_app, name="task")

JSON_OPT = typer.Option(False, "--json", help="Print one compact JSON document.")
AS_OPT = typer.Option(None, "--as", help="Username of the person acting (reads: SHOUHU_USER is the default).")


def _emit(value: Any, compact: bool) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=None if compact else 2, default=str)
    sys.stdout.write(text + "\n")


def _run(
    action: Callable[[], Any],
    compact: bool,
    fail_if: Callable[[Any], bool] | None = None,
    quiet: bool = False,
    fail_code: int = 1,
) -> None:
    from shouhu.errors import PolicyError, ShouhuError

    try:
        result = action()
    except ShouhuError as exc:
        _emit(exc.as_json(), compact)
        raise typer.Exit(exc.exit_code) from None
    except PolicyError as exc:
        _emit({"error": {"code": "policy_invalid", "message": str(exc), "field": f"{exc.file}:{exc.key}"}}, compact)
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - one JSON document, and the type only on stderr
        if "no such table" in str(exc) or "UndefinedTable" in type(getattr(exc, "orig", exc)).__name__:
            _emit(
                {
                    "error": {
                        "code": "not_initialised",
                        "message": "the database has no Shouhu schema yet: run `shouhu init`",
                        "field": None,
                    }
                },
                compact,
            )
            raise typer.Exit(2) from None
        _emit(
            {
                "error": {
                    "code": "internal",
                    "message": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
                    "field": None,
                }
            },
            compact,
        )
        sys.stderr.write(
            f"shouhu: internal error ({type(exc).__name__}); a report or outcome that was stored before it is listed by "
            "`shouhu commands` and is applied by the sweeper\n"
        )
        raise typer.Exit(1) from None
    if not quiet:
        _emit(result, compact)
    if fail_if is not None and fail_if(result):
        raise typer.Exit(fail_code)


def _handed_to_serve(path: str, source: str | None, as_: str | None, compact: bool) -> None:
    """When this home's `shouhu serve` runs with the same database and clock, hand the command to it
    (its API, as this machine's operator: shouhu.running) instead of importing Prefect here; the answer
    and the exit code are the ones the command gives when it runs here. Returns when it cannot."""
    from shouhu import running

    target = running.delegate_target()
    if target is None:
        return
    try:
        if source is None:
            raw = b""
        elif source == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as f:
                raw = f.read()
    except OSError:
        return  # the command here says what is wrong with the file
    import httpx

    web, key = target
    headers = {"Authorization": f"Operator {key}", "Content-Type": "application/json"}
    if as_:
        headers["X-Shouhu-As"] = as_
    try:
        answer = httpx.post(f"{web}/api/v1{path}", content=raw or b"{}", headers=headers, timeout=300)
    except httpx.HTTPError:
        if source == "-":  # stdin is read: it cannot be read again here
            _emit(
                {
                    "error": {
                        "code": "serve_unreachable",
                        "message": f"the running serve at {web} stopped answering; "
                        "`shouhu commands` shows whether it was stored",
                        "field": None,
                    }
                },
                compact,
            )
            raise typer.Exit(1) from None
        return
    _emit(answer.json(), compact)
    code = answer.status_code
    raise typer.Exit(0 if code < 300 else 3 if code == 409 else 1 if code >= 500 else 2)


def _read_input(source: str) -> Any:
    """The JSON of a file or stdin, read as the API reads a body (shouhu.inputs.load_json)."""
    from shouhu.errors import InvalidInput
    from shouhu.inputs import LIMITS, load_json

    try:
        if source == "-":
            raw = sys.stdin.buffer.read(LIMITS.body_bytes + 1)
        else:
            with open(source, "rb") as f:
                raw = f.read(LIMITS.body_bytes + 1)
    except OSError as exc:
        raise InvalidInput("unreadable_input", f"cannot read {source}: {exc.strerror}", "file") from exc
    return load_json(raw, "file")


AS_ADMIN = typer.Option(
    None, "--as", help="the manager or admin acting (default: SHOUHU_USER, else this machine's operator)"
)


@app.command()
def init(
    demo: bool = typer.Option(False, "--demo", help="also the packs' demo users (for the demo and trials only)"),
    json_: bool = JSON_OPT,
) -> None:
    """Create or upgrade the schema and load the policy packs (idempotent); staff come from `shouhu user add`."""
    from services import setup

    _run(lambda: setup.init(demo=demo), json_)


@app.command()
def units(jurisdiction: str = typer.Option(..., "--jurisdiction"), json_: bool = JSON_OPT) -> None:
    """A jurisdiction's units: [{code, name, type, parent}]."""
    from services import setup

    _run(lambda: setup.list_units(jurisdiction), json_)


@app.command()
def users(
    jurisdiction: str = typer.Option(..., "--jurisdiction"), as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT
) -> None:
    """A jurisdiction's users (the same as `shouhu user list`)."""
    from services import accounts

    _run(lambda: accounts.list_users(jurisdiction, as_ or ""), json_)


@app.command()
def report(
    file: str = typer.Argument(..., help="JSON file, or - for stdin"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Register a mandatory report (强制报告): opens the child's case or joins an open one."""
    _handed_to_serve("/reports", file, as_, json_)
    from services import reports

    _run(lambda: reports.submit_report(_read_input(file), as_), json_)


@app.command()
def tasks(
    unit: Optional[str] = typer.Option(None, "--unit"),
    stage: Optional[str] = typer.Option(None, "--stage"),
    status: Optional[str] = typer.Option(None, "--status"),
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction"),
    json_: bool = JSON_OPT,
) -> None:
    """Tasks, filtered by owner unit, stage and status, earliest due first."""
    from services import tasks as tasks_service

    _run(lambda: tasks_service.list_tasks(unit, stage, status, jurisdiction), json_)


@case_app.command("show")
def case_show(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """A case with its tasks and deadlines (the read is recorded on its timeline)."""
    from services import cases

    _run(lambda: cases.show_case(case, as_), json_)


@case_app.command("timeline")
def case_timeline(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """The case's hash-chained timeline."""
    from services import cases

    _run(lambda: cases.case_timeline(case, as_), json_)


@case_app.command("verify")
def case_verify(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """Check the timeline's hash chain; exit 1 if any event was edited or deleted."""
    from services import cases

    _run(lambda: cases.verify_case(case, as_), json_, fail_if=lambda r: not r["ok"])


@app.command()
def verify(
    all_: bool = typer.Option(False, "--all", help="every case and every anchor"), json_: bool = JSON_OPT
) -> None:
    """Check every case's timeline, seal and documents, and every daily anchor; exit 1 if anything was changed."""
    from services import cases
    from shouhu.errors import InvalidInput

    def act() -> Any:
        if not all_:
            raise InvalidInput("invalid_value", "say --all (one case: shouhu case verify CASE)", "all")
        return cases.verify_all()

    _run(act, json_, fail_if=lambda r: not r["ok"])


@app.command()
def anchor(jurisdiction: str = typer.Option(..., "--jurisdiction"), json_: bool = JSON_OPT) -> None:
    """Write today's timeline anchor of a jurisdiction now (the sweeper writes one daily by itself)."""
    from services import deadlines

    _run(lambda: deadlines.anchor_now(jurisdiction), json_)


@case_app.command("documents")
def case_documents(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """The case's official documents (the read is recorded; needs --as or SHOUHU_USER)."""
    from services import documents

    _run(lambda: documents.case_documents(case, as_), json_)


@case_app.command("note")
def case_note(
    case: str,
    file: str = typer.Argument(..., help='JSON file or -: {"kind": phone_call|home_visit|meeting|other, "text": "…"}'),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Add a note to the case (工作记录: append-only, on the timeline with its author and time)."""
    from services import notes

    _run(lambda: notes.add_note(case, _read_input(file), as_), json_)


@case_app.command("notes")
def case_notes(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """The case's notes, oldest first (the read is recorded)."""
    from services import notes

    _run(lambda: notes.list_notes(case, as_), json_)


@case_app.command("attach")
def case_attach(
    case: str,
    file: Path = typer.Argument(..., help="a photo, scan or PDF (JPEG, PNG, WebP, PDF)"),
    note: str = typer.Option("", "--note", help="what it shows"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Keep a photo, scan or PDF with the case (its SHA-256 on the timeline)."""
    from services import notes
    from shouhu.errors import InvalidInput
    from shouhu.inputs import LIMITS

    def act() -> Any:
        try:
            with open(file, "rb") as f:
                data = f.read(LIMITS.attachment_bytes + 1)
        except OSError as exc:
            raise InvalidInput("unreadable_input", f"cannot read {file}: {exc.strerror}", "file") from exc
        return notes.add_attachment(case, file.name, data, as_, note)

    _run(act, json_)


@case_app.command("attachments")
def case_attachments(case: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """The case's attachments, newest first (names and notes masked for managers)."""
    from services import notes

    _run(lambda: notes.list_attachments(case, as_), json_)


attachment_app = typer.Typer(no_args_is_help=True, help="One attachment of a case.")
app.add_typer(attachment_app, name="attachment")


@attachment_app.command("get")
def attachment_get(
    attachment: str,
    out: Path = typer.Option(..., "--out", help="where to write the file (created, readable by you only)"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Write an attachment's file to --out (the read is recorded on the case's timeline)."""
    import os
    import shutil

    from services import notes
    from shouhu.errors import Conflict

    def act() -> Any:
        view, path = notes.open_attachment(attachment, as_)
        if out.exists():
            raise Conflict("file_exists", f"{out} exists: choose a new file", "out")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as target, open(path, "rb") as source:
            shutil.copyfileobj(source, target)
        return {**view, "file": str(out)}

    _run(act, json_)


document_app = typer.Typer(no_args_is_help=True, help="One official document.")
app.add_typer(document_app, name="document")


@document_app.command("show")
def document_show(document: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """Print a document's printable HTML (with --json: its record, hash check and content)."""
    from services import documents

    if json_:
        _run(lambda: documents.show_document(document, as_), json_)
        return
    holder: dict[str, Any] = {}
    _run(lambda: holder.setdefault("doc", documents.show_document(document, as_)), True, quiet=True)
    sys.stdout.write(holder["doc"]["content"])


@document_app.command("pdf")
def document_pdf(
    document: str,
    out: Path = typer.Option(..., "--out", help="FILE.pdf (created, readable by you only)"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Print a document to PDF with the system's Chromium (Chinese fonts embedded; masked for managers)."""
    import os

    from services import documents
    from shouhu.errors import Conflict

    def act() -> Any:
        if out.exists():
            raise Conflict("file_exists", f"{out} exists: choose a new file", "out")
        shown, data = documents.document_pdf(document, as_)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return {**shown, "file": str(out), "bytes": len(data)}

    _run(act, json_)


@task_app.command("complete")
def task_complete(
    task: str,
    file: str = typer.Argument(..., help="outcome JSON file, or -"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Record a task's outcome; the stage's flow opens what comes next."""
    _handed_to_serve(f"/tasks/{quote(task, safe='')}/complete", file, as_, json_)
    from services import tasks as tasks_service

    _run(lambda: tasks_service.complete_task(task, _read_input(file), as_), json_)


@task_app.command("ack")
def task_ack(task: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """Acknowledge a task that is done by saying so (出警到场): exit 0 with the case, 3 if already acknowledged."""
    _handed_to_serve(f"/tasks/{quote(task, safe='')}/ack", None, as_, json_)
    from services import tasks as tasks_service

    _run(lambda: tasks_service.acknowledge_task(task, as_), json_)


@case_app.command("correct")
def case_correct(
    case: str,
    file: str = typer.Argument(
        ..., help='JSON file or -: {"field", "value", "reason"} (field: township, village, child.*, situations)'
    ),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Put a case right (更正): the original value stays on the timeline; a new place moves its open tasks."""
    from services import corrections

    _run(lambda: corrections.correct_case(case, _read_input(file), as_), json_)


@case_app.command("transfer")
def case_transfer(
    case: str,
    to: Optional[str] = typer.Option(None, "--to", help="the receiving county (jurisdiction)"),
    reason: str = typer.Option("", "--reason"),
    cancel: bool = typer.Option(False, "--cancel", help="withdraw the request instead"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Send the case to another county (移交); it moves when that county's civil affairs accept."""
    from services import handovers
    from shouhu.errors import InvalidInput

    def act() -> Any:
        if cancel:
            return handovers.withdraw_transfer(case, {"reason": reason}, as_)
        if not to:
            raise InvalidInput("missing_field", "--to: name the receiving county", "to")
        return handovers.transfer_case(case, to, {"reason": reason}, as_)

    _run(act, json_)


@case_app.command("accept")
def case_accept(
    case: str,
    township: Optional[str] = typer.Option(None, "--township", help="the child's township in this county"),
    village: Optional[str] = typer.Option(None, "--village"),
    refuse: bool = typer.Option(False, "--refuse", help="refuse the case instead (with --reason)"),
    reason: str = typer.Option("", "--reason"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Accept (接收) a case another county sent here, placing it in a township (and village) of this county."""
    from services import handovers

    if refuse:
        _run(lambda: handovers.withdraw_transfer(case, {"reason": reason}, as_), json_)
        return
    place = {"township": township or "", **({"village": village} if village else {})}
    _run(lambda: handovers.accept_transfer(case, place, as_), json_)


@task_app.command("claim")
def task_claim(task: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """Take a task of your unit (认领): it shows as yours."""
    from services import handovers

    _run(lambda: handovers.claim_task(task, as_), json_)


@task_app.command("assign")
def task_assign(
    task: str,
    to: Optional[str] = typer.Option(None, "--to", help="USERNAME in the owning unit (or in --unit)"),
    unit: Optional[str] = typer.Option(None, "--unit", help="hand the task to another unit (with --reason)"),
    reason: Optional[str] = typer.Option(None, "--reason"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Give a task to a person of its unit, or to another unit with a reason (转交); its deadline is kept."""
    from services import handovers

    _run(lambda: handovers.assign_task(task, to, as_, unit=unit, reason=reason), json_)


@app.command()
def sweep(
    every: Optional[float] = typer.Option(
        None, "--every", help="Keep ticking every N seconds in this process (Ctrl-C stops)."
    ),
    json_: bool = JSON_OPT,
) -> None:
    """One sweeper tick at SHOUHU_NOW: fire due reminders, escalations and watches (once each).

    With --every, the embedded scheduler: one tick (one flow run) every N seconds, one JSON line each.
    """
    from services import deadlines

    _repeat(deadlines.sweep, every, json_)


def _repeat(action: Callable[[], Any], every: Optional[float], json_: bool) -> None:
    """Once, or every N seconds in this process (one JSON line each) until Ctrl-C."""
    if every is None:
        _run(action, json_)
        return
    if every <= 0:
        _emit(
            {
                "error": {
                    "code": "invalid_value",
                    "message": "--every must be a positive number of seconds",
                    "field": "every",
                }
            },
            json_,
        )
        raise typer.Exit(2)
    import time

    try:
        while True:
            started = time.monotonic()
            _run(action, True)
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def breaches(
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction"),
    unit: Optional[str] = typer.Option(None, "--unit"),
    open_: bool = typer.Option(False, "--open", help="Only breaches not yet resolved."),
    json_: bool = JSON_OPT,
) -> None:
    """Overdue tasks: escalation level, 督办 first, minutes late."""
    from services import deadlines

    _run(lambda: deadlines.list_breaches(jurisdiction, unit, open_), json_)


@app.command()
def search(
    query: str = typer.Argument(
        ..., help="a name (or part), an 18-character ID number, a case number, a township or village, a stage"
    ),
    kind: Optional[str] = typer.Option(
        None, "--kind", help="name, id_number, case_no, place or stage (guessed when not given)"
    ),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Find children you may read: {"kind","total","limit","items","case","masked"} (the search is recorded, not its text)."""
    from services import children

    _run(lambda: children.search_children(query, as_, kind), json_)


child_app = typer.Typer(no_args_is_help=True, help="One child's file (一人一档).")
app.add_typer(child_app, name="child")


@child_app.command("show")
def child_show(child: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """The child's file: identity, categories, guardians, carer, cases, visits, documents, timeline (the read is recorded)."""
    from services import children

    _run(lambda: children.show_child(child, as_), json_)


visits_app = typer.Typer(no_args_is_help=True, help="The village verification ledger (seed 001 §二(一)6 每季度核实).")
app.add_typer(visits_app, name="visits")


@visits_app.command("list")
def visits_list(
    unit: str = typer.Option(..., "--unit"),
    period: Optional[str] = typer.Option(None, "--period", help="e.g. 2026Q4"),
    open_: bool = typer.Option(False, "--open", help="Only visits not yet done."),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """A unit's verification visits, with whom to visit (the read is recorded; needs --as or SHOUHU_USER)."""
    from services import visits

    _run(lambda: visits.list_visits(as_, unit, period, open_), json_)


@visits_app.command("complete")
def visits_complete(
    visit: str,
    file: str = typer.Argument(..., help="outcome JSON file, or -"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Record a verification visit: family, guardianship and schooling as found."""
    from services import visits

    _run(lambda: visits.complete_visit(visit, _read_input(file), as_), json_)


@visits_app.command("summary")
def visits_summary(
    jurisdiction: str = typer.Option(..., "--jurisdiction"),
    period: Optional[str] = typer.Option(None, "--period"),
    json_: bool = JSON_OPT,
) -> None:
    """Per unit and period: visits due, done, open and overdue (counts only)."""
    from services import visits

    _run(lambda: visits.visit_summary(jurisdiction, period), json_)


commands_app = typer.Typer(
    no_args_is_help=False,
    invoke_without_command=True,
    help="Stored reports and task outcomes: `pending` ones wait for the orchestrator (the sweeper resumes them).",
)
app.add_typer(commands_app, name="commands")


@commands_app.callback()
def commands(
    ctx: typer.Context,
    status: Optional[str] = typer.Option("pending", "--status", help="pending, applied, rejected or failed"),
    json_: bool = JSON_OPT,
) -> None:
    """List stored commands by status."""
    if ctx.invoked_subcommand is None:
        from services import commands as commands_service

        _run(lambda: commands_service.list_commands(status), json_)


@commands_app.command("retry")
def commands_retry(command: str, json_: bool = JSON_OPT) -> None:
    """Queue a `failed` command again (after its cause was mended); the sweeper applies it."""
    from services import commands as commands_service

    _run(lambda: commands_service.retry_command(command), json_)


@app.command()
def inbox(unit: str = typer.Option(..., "--unit"), json_: bool = JSON_OPT) -> None:
    """A unit's in-app messages, newest first, with each external delivery's status."""
    from services import messages

    _run(lambda: messages.inbox(unit), json_)


@app.command()
def outbox(
    status: Optional[str] = typer.Option(None, "--status", help="pending, sent or failed"),
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction"),
    json_: bool = JSON_OPT,
) -> None:
    """External deliveries (for managers: --status failed is what nobody received)."""
    from services import messages

    _run(lambda: messages.outbox(status, jurisdiction), json_)


@app.command()
def dispatch(
    every: Optional[float] = typer.Option(None, "--every", help="Keep dispatching every N seconds (Ctrl-C stops)."),
    json_: bool = JSON_OPT,
) -> None:
    """Send queued notifications now (one flow run); the routing file is checked first."""
    from services import messages

    _repeat(messages.dispatch_now, every, json_)


user_app = typer.Typer(
    no_args_is_help=True,
    help="Staff accounts (managers and admins; on this machine also its operator): "
    "add, move, disable, passwords, API tokens, the record of it all.",
)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(
        ...,
        "--role",
        help="police_intake, police, township_caseworker, village_director, civil_affairs, manager or admin",
    ),
    unit: str = typer.Option(..., "--unit", help="unit code (shouhu units --jurisdiction J)"),
    name: str = typer.Option(..., "--name", help="the person's name as colleagues read it"),
    jurisdiction: str = typer.Option(..., "--jurisdiction"),
    as_: Optional[str] = AS_ADMIN,
    json_: bool = JSON_OPT,
) -> None:
    """Add a staff account; prints a one-time temporary password the person must change at first sign-in."""
    from services import accounts

    _run(
        lambda: accounts.add_user(
            {"username": username, "role": role, "unit": unit, "display_name": name, "jurisdiction": jurisdiction}, as_
        ),
        json_,
    )


@user_app.command("move")
def user_move(
    username: str, unit: str = typer.Option(..., "--unit"), as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT
) -> None:
    """Move a person to another unit of the county (what they may read changes at once)."""
    from services import accounts

    _run(lambda: accounts.move_user(username, {"unit": unit}, as_), json_)


@user_app.command("list")
def user_list(
    jurisdiction: str = typer.Option(..., "--jurisdiction"), as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT
) -> None:
    """Every account of the county: [{username, role, unit, display_name, disabled}]."""
    from services import accounts

    _run(lambda: accounts.list_users(jurisdiction, as_ or ""), json_)


@user_app.command("audit")
def user_audit(
    jurisdiction: str = typer.Option(..., "--jurisdiction"), as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT
) -> None:
    """What was done to the county's accounts, by whom, newest first."""
    from services import accounts

    _run(lambda: accounts.admin_records(jurisdiction, as_), json_)


@user_app.command("password")
def user_password(
    username: str,
    keep: bool = typer.Option(
        False, "--keep", help="do not ask for a change at the next sign-in (demo and test set-ups)"
    ),
    as_: Optional[str] = AS_ADMIN,
    json_: bool = JSON_OPT,
) -> None:
    """Set a user's password, read from stdin (never an argument: it would stay in shell history)."""
    from services import accounts

    _run(lambda: accounts.set_password(username, sys.stdin.readline().rstrip("\n"), as_, must_change=not keep), json_)


@user_app.command("disable")
def user_disable(username: str, as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT) -> None:
    """Disable an account (the person left, or must not act): sessions end and tokens are revoked at once."""
    from services import accounts

    _run(lambda: accounts.set_disabled(username, True, as_), json_)


@user_app.command("enable")
def user_enable(username: str, as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT) -> None:
    """Enable a disabled account again (its revoked tokens stay revoked)."""
    from services import accounts

    _run(lambda: accounts.set_disabled(username, False, as_), json_)


@user_app.command("end-sessions")
def user_end_sessions(
    username: Optional[str] = typer.Argument(None, help="whose sessions; omit with --all"),
    all_: bool = typer.Option(False, "--all", help="every signed-in browser of every user"),
    as_: Optional[str] = AS_ADMIN,
    json_: bool = JSON_OPT,
) -> None:
    """End browser sessions at once: one user's, or everyone's (--all, this machine's operator only)."""
    from services import accounts
    from shouhu.errors import InvalidInput

    def act() -> Any:
        if (username is None) == (not all_):
            raise InvalidInput("invalid_value", "give a USERNAME or --all (not both)", "username")
        return accounts.end_sessions(username, "ended_by_administrator", as_)

    _run(act, json_)


token_app = typer.Typer(no_args_is_help=True, help="API tokens for machine clients.")
user_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    username: str,
    name: str = typer.Option(..., "--name", help="what the token is for"),
    as_: Optional[str] = AS_ADMIN,
    json_: bool = JSON_OPT,
) -> None:
    """Create an API token for a machine client acting as USERNAME; printed once, stored hashed."""
    from services import accounts

    _run(lambda: accounts.create_token(username, name, as_), json_)


@token_app.command("revoke")
def token_revoke(token_id: str, as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT) -> None:
    """Revoke an API token by its id: it stops working at once."""
    from services import accounts

    _run(lambda: accounts.revoke_token(token_id, as_), json_)


@token_app.command("list")
def token_list(username: str, as_: Optional[str] = AS_ADMIN, json_: bool = JSON_OPT) -> None:
    """A user's API tokens (ids, names, when made, last used, revoked) — never the tokens themselves."""
    from services import accounts

    _run(lambda: accounts.list_tokens(username, as_), json_)


routing_app = typer.Typer(no_args_is_help=True, help="The deployment's routing file (SHOUHU_ROUTING).")
app.add_typer(routing_app, name="routing")


@routing_app.command("check")
def routing_check(json_: bool = JSON_OPT) -> None:
    """Check the routing file: units known, URLs valid, secrets present (exit 2 names the unit)."""
    from services import messages

    _run(messages.check_routing, json_)


@app.command()
def backup(
    out: Path = typer.Option(..., "--out", help="the archive to write (FILE.tar, or FILE.tar.gz to compress)"),
    without_keys: bool = typer.Option(
        False,
        "--without-keys",
        help="leave the seal and session key files out (keep them apart; a restore then needs SHOUHU_TIMELINE_KEY)",
    ),
    json_: bool = JSON_OPT,
) -> None:
    """Back up the database (online: safe while serve runs), the anchors, attachments and key files into one archive."""
    from services import backup as backups

    _run(lambda: backups.backup(out, keys=not without_keys), json_)


@app.command()
def restore(
    archive: Path = typer.Argument(..., help="an archive written by `shouhu backup`"), json_: bool = JSON_OPT
) -> None:
    """Restore an archive into an EMPTY database and this SHOUHU_HOME (checked first; nothing changes on a refusal)."""
    from services import backup as backups

    _run(lambda: backups.restore(archive), json_)


ledger_app = typer.Typer(
    no_args_is_help=True, help="The county's ledger of children (一人一档): import, export, template."
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("import")
def ledger_import(
    file: Path = typer.Argument(..., help="the county's spreadsheet: .xlsx (first sheet) or .csv (UTF-8)"),
    jurisdiction: str = typer.Option(..., "--jurisdiction"),
    as_: Optional[str] = AS_OPT,
    dry_run: bool = typer.Option(False, "--dry-run", help="check and count, write nothing"),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="write the good rows even if some have errors"),
    json_: bool = JSON_OPT,
) -> None:
    """Import the ledger: every bad row listed (row, column, reason in Chinese); exit 2 if any, and then nothing
    is written unless --skip-bad-rows. The same file twice changes nothing."""
    from services import ledger

    def act() -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(
            TextColumn("台账导入"), BarColumn(), MofNCompleteColumn(), transient=True, console=_stderr_console()
        ) as bar:
            task = bar.add_task("rows", total=None)
            result = ledger.import_ledger(
                file, jurisdiction, as_, dry_run, skip_bad_rows, progress=lambda n: bar.update(task, completed=n)
            )
        return result

    _run(act, json_, fail_if=lambda r: bool(r["errors"]), fail_code=2)


@ledger_app.command("export")
def ledger_export(
    jurisdiction: str = typer.Option(..., "--jurisdiction"),
    out: Path = typer.Option(..., "--out", help="FILE.xlsx"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Export the ledger (children with a category in force) to XLSX in the import's columns."""
    from services import ledger

    _run(lambda: ledger.export_ledger(jurisdiction, out, as_), json_)


@ledger_app.command("template")
def ledger_template(out: Path = typer.Option(..., "--out", help="FILE.xlsx"), json_: bool = JSON_OPT) -> None:
    """An empty spreadsheet with the expected column headers."""
    from services import ledger

    _run(lambda: ledger.write_template(out), json_)


@ledger_app.command("exit")
def ledger_exit(
    child: str = typer.Argument(..., help="the child's id (shouhu search / child show)"),
    file: str = typer.Argument(..., help='JSON file or -: {"reason": EXIT_REASON, "notes": "…"}'),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """The child leaves coverage (退出保障范围) for one of the county's exit reasons; a phase-out keeps the
    visits going until it ends. A child with an open case leaves with that case's closure instead."""
    from services import children

    _run(lambda: children.exit_coverage(child, _read_input(file), as_), json_)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


db_app = typer.Typer(no_args_is_help=True, help="The database schema: its revision, and upgrading it (migrations/).")
app.add_typer(db_app, name="db")


@db_app.command("current")
def db_current(json_: bool = JSON_OPT) -> None:
    """The revision the database is at and the newest this code has: {"current","head","up_to_date"}."""
    from services import setup

    _run(setup.schema_revision, json_)


@db_app.command("upgrade")
def db_upgrade(json_: bool = JSON_OPT) -> None:
    """Bring the database to the newest revision (`shouhu init` does this too): {"from","to","head"}."""
    from services import setup

    _run(setup.upgrade_schema, json_)


policy_app = typer.Typer(no_args_is_help=True, help="A county's rules as they are in force (the merged policy pack).")
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="e.g. sixian"), json_: bool = JSON_OPT
) -> None:
    """Every rule of the county with its value and source; with --json [{"rule","value","source"}], else a Chinese table."""
    from services import setup

    if json_:
        _run(lambda: setup.policy_rules(jurisdiction), True)
        return
    holder: dict[str, Any] = {}
    _run(lambda: holder.setdefault("rows", setup.policy_table(jurisdiction)), False, quiet=True)
    from rich.console import Console
    from rich.table import Table

    rows = holder["rows"]
    table = Table(title=f"{rows['name']}现行规则（{rows['document']}及国家有关规定）", show_lines=False)
    for name in ("规则", "值", "依据"):
        table.add_column(name, overflow="fold")
    for row in rows["rows"]:
        table.add_row(*row)
    Console(width=160).print(table)


sla_app = typer.Typer(no_args_is_help=True, help="Service-level figures for managers.")
app.add_typer(sla_app, name="sla")


@sla_app.command("report")
def sla_report(
    from_: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD"),
    to: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD"),
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction"),
    json_: bool = JSON_OPT,
) -> None:
    """Per unit and stage: tasks due, done on time, compliance %, time to dispatch, assessment start, plan."""
    from services import stats

    _run(lambda: stats.report(from_, to, jurisdiction), json_)


@app.command()
def stats(
    jurisdiction: str = typer.Option(..., "--jurisdiction"),
    month: str = typer.Option(..., "--month", help="YYYY-MM (a Beijing-time month)"),
    out: Optional[Path] = typer.Option(None, "--out", help="FILE.xlsx: the workbook instead of JSON"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Monthly statistics for the 民政局: the ledger, verification visits, cases opened and closed, breaches
    (counts only). JSON, or with --out an XLSX with one sheet per section."""
    from services import monthly

    if out is None:
        _run(lambda: monthly.statistics_for(as_, jurisdiction, month), json_)
    else:
        _run(lambda: monthly.export_for(as_, jurisdiction, month, out), json_)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    prefect_port: int = typer.Option(4200, "--prefect-port", help="embedded mode: the local Prefect server and UI"),
    every: float = typer.Option(
        60.0, "--every", help="seconds between sweeper/dispatcher runs; 0: leave it to deployments"
    ),
    json_: bool = JSON_OPT,
) -> None:
    """The web app and API; in embedded mode also a Prefect server and the scheduled sweeper and dispatcher. Ctrl-C stops all."""
    from cli.serve import serve as run_server

    _run(lambda: run_server(host, port, prefect_port, every), json_)


@app.command()
def status(json_: bool = JSON_OPT) -> None:
    """What runs where for this SHOUHU_HOME: database and schema, a running serve, the Prefect server commands use."""
    from services import setup

    _run(setup.status, json_)


@app.command()
def demo(
    jurisdiction: str = typer.Option("sixian", "--jurisdiction"),
    database: str | None = typer.Option(
        None, "--database", help="the demo's database URL (default: demo.db in SHOUHU_HOME, never SHOUHU_DATABASE_URL)"
    ),
    json_: bool = JSON_OPT,
) -> None:
    """A narrated case through all four steps, moving the clock (in Chinese), in a database of its own."""
    from cli.demo import main as run_demo
    from shouhu.errors import ShouhuError

    try:
        ok = run_demo(jurisdiction, database)["ok"]
    except ShouhuError as exc:
        _emit(exc.as_json(), json_)
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(0 if ok else 1)


children_app = typer.Typer(no_args_is_help=True, help="One child, one file: likely duplicates, merge, unmerge.")
app.add_typer(children_app, name="children")


@children_app.command("duplicates")
def children_duplicates(
    jurisdiction: str = typer.Option(..., "--jurisdiction"), as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT
) -> None:
    """Likely pairs of files of one child, with a score and the reasons (civil affairs of the county)."""
    from services import onefile

    _run(lambda: onefile.find_duplicates(jurisdiction, as_), json_)


@children_app.command("merge")
def children_merge(
    keep: str,
    other: str,
    file: str = typer.Argument(..., help='{"reason"} JSON file, or -'),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """OTHER's cases, visits, categories, guardians move to KEEP; OTHER points to KEEP. Prints the merge record."""
    from services import onefile

    _run(lambda: onefile.merge_children(keep, other, _read_input(file), as_), json_)


@children_app.command("unmerge")
def children_unmerge(merge: str, as_: Optional[str] = AS_OPT, json_: bool = JSON_OPT) -> None:
    """Put back exactly what a merge moved (refused, with the reason, when later changes make it unsafe)."""
    from services import onefile

    _run(lambda: onefile.unmerge_children(merge, as_), json_)


retention_app = typer.Typer(
    no_args_is_help=True, help="Retention (个人信息保护法): remove identities past the pack's period."
)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run(
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; change nothing."),
    json_: bool = JSON_OPT,
) -> None:
    """Children past the retention period lose their identity (counts only; the cases stay)."""
    from services import retention

    _run(lambda: retention.run_retention(jurisdiction, dry_run), json_)


# ---- approvals and reopening (issue 16) ----------------------------------------------------------
approval_app = typer.Typer(no_args_is_help=True, help="One approval: decide it (同意, or 不同意 with a reason).")
app.add_typer(approval_app, name="approval")


@app.command()
def approvals(
    unit: Optional[str] = typer.Option(None, "--unit", help="Approvals this unit decides (default: your unit's)."),
    status: Optional[str] = typer.Option("pending", "--status", help="pending, approved or refused"),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Approvals waiting for (or decided by) a unit, earliest due first: no child's data."""
    from services import approvals as approvals_service

    _run(lambda: approvals_service.list_approvals(as_, unit, status), json_)


@approval_app.command("decide")
def approval_decide(
    approval: str,
    file: str = typer.Argument(..., help='JSON file or -: {"approve": true|false, "reason": "…"}'),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Approve (the decision takes effect) or refuse with a reason (the work reopens); prints the case."""
    _handed_to_serve(f"/approvals/{quote(approval, safe='')}/decide", file, as_, json_)
    from services import approvals as approvals_service

    _run(lambda: approvals_service.decide_approval(approval, _read_input(file), as_), json_)


@case_app.command("reopen")
def case_reopen(
    case: str,
    file: str = typer.Argument(..., help='JSON file or -: {"reason": "…"}'),
    as_: Optional[str] = AS_OPT,
    json_: bool = JSON_OPT,
) -> None:
    """Reopen a closed case within the pack's window (new danger), with the approval the pack asks for."""
    _handed_to_serve(f"/cases/{quote(case, safe='')}/reopen", file, as_, json_)
    from services import approvals as approvals_service

    _run(lambda: approvals_service.reopen_case(case, _read_input(file), as_), json_)


def main() -> None:
    """Refuse control characters in any argument before anything reads it (one JSON error, exit 2)."""
    import unicodedata

    for number, arg in enumerate(sys.argv[1:], start=1):
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in arg):
            _emit(
                {
                    "error": {
                        "code": "control_character",
                        "message": f"argument {number} holds a control character",
                        "field": f"argv[{number}]",
                    }
                },
                "--json" in sys.argv,
            )
            raise SystemExit(2)
    from shouhu import config

    try:
        config.settings()  # every SHOUHU_* setting validated before any command runs
    except config.SettingsError as exc:
        _emit(
            {"error": {"code": "invalid_setting", "message": str(exc), "field": str(exc).split("=", 1)[0]}},
            "--json" in sys.argv,
        )
        raise SystemExit(2) from None
    for name in config.unknown_variables():
        sys.stderr.write(
            f"shouhu: warning: {name} is not a Shouhu setting (a typo?); it is ignored. Settings: see the README\n"
        )
    app()


if __name__ == "__main__":
    main()
