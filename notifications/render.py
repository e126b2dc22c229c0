"""Message text from Jinja2 templates (templates/notifications/<event>.txt.j2).

The context holds case number, stage, what is asked, by when and a link — nothing that
identifies a child or a reporter — so no template can leak what it was never given.

Links are written into a message when it is queued (a message says afterwards what it said when it
was sent), by whichever process queues it: a web request, the CLI, the sweeper in `shouhu serve` or
in a Prefect worker on another machine. So the address they start with is kept where every one of
them looks, the database: SHOUHU_BASE_URL when it is set, else the address the last `shouhu serve`
of this database recorded at its start (`setting.web_address`), else serve's default address.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session

from models import Setting
from shouhu import config

ALLOWED_CONTEXT = {"case_no", "stage", "ask", "due", "link", "unit_name", "jurisdiction", "detail"}


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(config.TEMPLATE_DIR / "notifications"),
        autoescape=False,  # noqa: S701 - plain-text channels; the web inbox escapes on display
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


DEFAULT_BASE = "http://127.0.0.1:8000"  # `shouhu serve`'s default address, before any serve recorded its own
WEB_ADDRESS = "web_address"  # the `setting` row `shouhu serve` writes at its start


def link_base(session: Session) -> str:
    """Where message links point: SHOUHU_BASE_URL, else the address recorded by this database's
    last `shouhu serve`, else the default. Read in the caller's transaction (no second connection,
    which SQLite's write lock would make wait on the caller)."""
    configured = config.settings().base_url
    if configured:
        return configured
    with session.no_autoflush:
        found = session.get(Setting, WEB_ADDRESS)
    return found.value if found is not None else DEFAULT_BASE


def link_source(session: Session) -> str:
    """Where `link_base` came from: `SHOUHU_BASE_URL`, `serve` (recorded) or `default`."""
    if config.settings().base_url:
        return "SHOUHU_BASE_URL"
    with session.no_autoflush:
        return "serve" if session.get(Setting, WEB_ADDRESS) is not None else "default"


def record_web_address(session: Session, url: str) -> None:
    """`shouhu serve` at its start: the address messages of this database link to from now on."""
    found = session.get(Setting, WEB_ADDRESS)
    if found is None:
        session.add(Setting(key=WEB_ADDRESS, value=url))
    else:
        found.value = url
        session.add(found)


# Every link holds a case number, a page or a unit code — never a child's name, ID or address (PIPL).
def case_link(session: Session, case_no: str) -> str:
    return f"{link_base(session)}/cases/{case_no}"


def board_link(session: Session) -> str:
    return f"{link_base(session)}/board"


def visits_link(session: Session, unit: str) -> str:
    """A unit's verification ledger: the unit code is the only thing in the address."""
    return f"{link_base(session)}/visits?unit={unit}"


def render(event: str, **context: str) -> tuple[str, str]:
    """(subject, body) for an event. Refuses context keys outside the allowed, non-personal set."""
    extra = set(context) - ALLOWED_CONTEXT
    if extra:
        raise ValueError(f"notification context may not carry {sorted(extra)}")
    text = _env().get_template(f"{event}.txt.j2").render(**context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()
