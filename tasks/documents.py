"""The case's official documents, rendered from its data at the step that needs them.

Printable HTML (A4 print stylesheet, no external assets; templates/documents/), autoescaped, and
a masked rendering beside it for readers who see the child masked (shouhu.masking).
Each is stored with the case and its SHA-256 goes on the timeline, so a printed copy can be
checked against the file. Documents carry identity — they are the official record — so
reading one follows the case's access rules; the intake form also names the reporter and
is shown only to the roles that may see who reported.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import col, select

from models import Child, Document, Guardian, Report, Reporter, Task, User
from shouhu import citation, config, masking
from shouhu.clock import now
from shouhu.vocab import (
    DOCUMENT_NAMES_ZH,
    SITUATION_NAMES_ZH,
    TASK_STATUS_ZH,
    guardian_status_name,
    named,
    relation_name,
)
from shouhu.wording import format_due, format_time, task_title

if TYPE_CHECKING:  # documents are issued within a transition; the transition issues them
    from tasks.transition import Transition

KINDS: dict[str, tuple[str, bool]] = {  # kind: (title, names the reporter)
    kind: (title, kind == "intake_form") for kind, title in DOCUMENT_NAMES_ZH.items()
}


@lru_cache(maxsize=1)
def _env() -> Environment:
    """Documents say every code in Chinese (shouhu.vocab) and every moment to the minute in Beijing time."""
    env = Environment(
        loader=FileSystemLoader(config.TEMPLATE_DIR / "documents"), autoescape=True, undefined=StrictUndefined
    )
    env.filters.update(when=format_time, named=named, relation=relation_name, guardian_status=guardian_status_name)
    return env


def issue(t: Transition, kind: str, issuer_unit: str, **extra: Any) -> Document:
    """Render, store and hash one document in the transition's transaction.

    Two renderings are kept: the document, and the same document rendered from masked data
    (shouhu.masking) for readers who see the child masked; both hashes go on the timeline.
    """
    title, confidential = KINDS[kind]
    s, case = t.session, t.case
    child = s.get_one(Child, case.child_id)
    report = s.exec(select(Report).where(Report.case_id == case.id).order_by(col(Report.reported_at).desc())).first()
    reporter = s.exec(select(Reporter).where(Reporter.report_id == report.id)).first() if report else None
    actor = s.exec(select(User).where(User.username == t.actor)).first()
    at = now()
    context = dict(
        title=title,
        case=case,
        child=child,
        guardians=s.exec(select(Guardian).where(Guardian.child_id == child.id)).all(),
        report=report,
        reporter=reporter,
        jurisdiction=t.pack.name,
        issuer=t.unit_name(issuer_unit),
        township=t.unit_name(case.township),
        village=t.unit_name(case.village) if case.village else None,
        situations="、".join(named(x, SITUATION_NAMES_ZH) for x in (report.situations if report else [])),
        actor=actor.display_name if actor else t.actor,
        issued_at=format_due(at),
        issued_on=f"{at:%Y年%m月%d日}",
        confidential=confidential,
        basis=citation.readable(t.pack.documents.value[kind].source, t.pack),
        **extra,
    )
    template = _env().get_template(f"{kind}.html.j2")
    # A random check code in the document itself: a masked reader, who sees everything but the
    # hidden fields, cannot find them by hashing guesses until one matches the document's hash.
    html = template.render(**context, check_code=secrets.token_hex(16))
    masked = template.render(**masking.document_context(context), check_code=masking.HIDDEN)
    digest, masked_digest = _sha256(html), _sha256(masked)
    doc = Document(
        case_id=case.id,
        kind=kind,
        title=title,
        content=html,
        sha256=digest,
        masked_content=masked,
        masked_sha256=masked_digest,
        confidential=confidential,
        issued_by=t.actor,
        created_at=at,
    )
    s.add(doc)
    s.flush()
    t.record(
        "document_issued",
        f"生成文书：{title}",
        document_id=str(doc.id),
        kind=kind,
        sha256=digest,
        masked_sha256=masked_digest,
    )
    return doc


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_items(t: Transition) -> list[dict[str, str]]:
    """The assistance plan's lines: every open service and visit, its owner and deadline."""
    tasks = t.session.exec(
        select(Task)
        .where(Task.case_id == t.case.id, Task.status == "open", col(Task.kind).in_(["service", "follow_up_visit"]))
        .order_by(col(Task.due_at))
    ).all()
    return [
        {
            "title": task_title(t.pack, x.kind, x.subject),
            "owner": t.unit_name(x.owner_unit),
            "due": format_due(x.due_at),
        }
        for x in tasks
    ]


def closing_items(t: Transition) -> list[dict[str, Any]]:
    """The closing report's lines: every task, its status, who completed it (by name, as the
    document's 经办人 is named) and when."""
    tasks = t.session.exec(select(Task).where(Task.case_id == t.case.id).order_by(col(Task.created_at))).all()
    done_by = {x.completed_by for x in tasks if x.completed_by}
    names = {
        u.username: u.display_name
        for u in t.session.exec(select(User).where(col(User.username).in_(done_by))).all()
        if u.display_name
    }
    return [
        {
            "title": task_title(t.pack, x.kind, x.subject),
            "status": named(x.status, {**TASK_STATUS_ZH, "open": "未完成"}),
            "by": names.get(x.completed_by, x.completed_by) if x.completed_by else None,
            "at": format_due(x.completed_at) if x.completed_at else None,
        }
        for x in tasks
    ]
