"""Message text from Jinja2 templates (templates/notifications/<event>.txt.j2).

The context holds case number, stage, what is asked, by when and a link — nothing that
identifies a child or a reporter — so no template can leak what it was never given.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

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


def _base() -> str:
    return config.settings().base_url


def case_link(case_no: str) -> str:
    return f"{_base()}/cases/{case_no}"


def board_link() -> str:
    return f"{_base()}/board"


def visits_link(unit: str) -> str:
    """A unit's verification ledger: the unit code is the only thing in the address."""
    return f"{_base()}/visits?unit={unit}"


def render(event: str, **context: str) -> tuple[str, str]:
    """(subject, body) for an event. Refuses context keys outside the allowed, non-personal set."""
    extra = set(context) - ALLOWED_CONTEXT
    if extra:
        raise ValueError(f"notification context may not carry {sorted(extra)}")
    text = _env().get_template(f"{event}.txt.j2").render(**context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()
