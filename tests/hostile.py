"""A case whose every typed field is hostile, walked through all four steps (every task kind,
every document), for the tests that check no page runs it, no message carries it and no masked
reader sees it. Each field's value carries its own marker, so a leak names the field."""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from approving import approve_pending
from conftest import user_of

from services import cases, reports, tasks
from shouhu import clock, idnumber

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = [
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
    "{{7*7}}<b onmouseover=alert(1)>x</b>",
]


class Marks:
    """Hostile values, each with a unique marker naming the field it was typed into."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.by_field = prefix, {}

    def __call__(self, field: str, limit: int = 200) -> str:
        marker = f"{self.prefix}{len(self.by_field):02d}Q"
        value = f"{marker}{PAYLOADS[len(self.by_field) % len(PAYLOADS)]}"[:limit]
        self.by_field[field] = marker
        return value

    def found_in(self, text: str, fields: set[str] | None = None) -> list[str]:
        return [f for f, m in self.by_field.items() if (fields is None or f in fields) and m in text]


IDENTITY = {
    "child.name",
    "child.address",
    "guardian.name",
    "description",
    "notes",
    "plan",
    "health",
    "placed_at",
    "new_guardian",
    "unfounded_reason",
    "not_filed_reason",
}  # what a masked reader must never see


def hostile_report(marks: Marks, jurisdiction: str = "sixian", sequence: int = 1) -> dict[str, Any]:
    from shouhu import policy

    p = policy.pack(jurisdiction)
    township = next(u for u in p.units.value if u.type == "township")
    village = next(u for u in p.units.value if u.type == "village" and u.parent == township.code)
    born = date(2015, 6, 1) + timedelta(days=sequence)
    return {
        "jurisdiction": jurisdiction,
        "channel": marks("channel"),
        "discovered_at": "2026-11-24T07:00:00+08:00",
        "reporter": {
            "name": marks("reporter.name"),
            "phone": marks("reporter.phone", 32),
            "unit": marks("reporter.unit"),
            "unit_type": "school",
        },
        "child": {
            "name": marks("child.name"),
            "id_number": idnumber.make("341324", born, sequence % 1000),
            "birth_date": born.isoformat(),
            "gender": "male",
            "township": township.code,
            "village": village.code,
            "address": marks("child.address"),
        },
        "guardians": [
            {"name": marks("guardian.name"), "relation": marks("guardian.relation"), "status": marks("guardian.status")}
        ],
        "situations": ["guardian_neglect", "domestic_violence"],
        "description": marks("description"),
        "idempotency_key": marks("idempotency_key"),
    }


def walk_hostile_case(marks: Marks, sequence: int = 1) -> dict[str, Any]:
    """Report → emergency (warning letter, hand-over, temporary care) → assessment → intervention
    (measures, temporary guardianship, petition, ruling, placement) → services, visits → closed.
    Every free-text field of every outcome is hostile. Returns the closed case (as the police see it)."""
    from shouhu import policy

    p = policy.pack("sixian")
    opened = reports.submit_report(hostile_report(marks, sequence=sequence), user_of("sixian", "police_intake"))
    police = user_of("sixian", "police")

    def do(kind: str, outcome: dict[str, Any]) -> dict[str, Any]:
        case = cases.show_case(opened["case_id"], police, record_read=False)
        task = next(t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open")
        return tasks.complete_task(task["task_id"], outcome, user_of("sixian", task["role"], task["owner_unit"]))

    measures = sorted(
        {"warning_letter", "written_handover", "temporary_care", "admonish_guardian"}
        | set(p.least_measures(["guardian_neglect", "domestic_violence"]))
    )
    do("emergency_response", {"unfounded": False, "measures": measures, "notes": marks("notes", 5000)})
    do("temporary_care", {"placed_at": marks("placed_at"), "notes": marks("notes.care", 5000)})
    do("warning_letter_visit", {"child_seen": True, "notes": marks("notes.letter", 5000)})
    do(
        "assessment",
        {
            "safety": "at_risk",
            "guardianship": "absent",
            "health": marks("health", 5000),
            "risk_level": "high",
            "services": ["psychological_counseling"],
            "intervention_needed": True,
            "plan": marks("plan", 5000),
            "notes": marks("notes.assessment", 5000),
        },
    )
    do(
        "guardian_measures",
        {"measures": ["criticism_education"], "guardian_changed": False, "notes": marks("notes.measures", 5000)},
    )
    do(
        "temporary_guardianship",
        {"decided": True, "institution": marks("institution"), "notes": marks("notes.guardianship", 5000)},
    )
    do(
        "court_petition",
        {
            "filed": True,
            "ground": "unattended_danger_unchanged",
            "petitioner": "civil_affairs",
            "notes": marks("notes.petition", 5000),
        },
    )
    clock.advance(days=20)
    do(
        "court_ruling",
        {"revoked": True, "ruled_on": clock.now().date().isoformat(), "new_guardian": marks("new_guardian")},
    )
    do("placement", {"placement": "kinship_care", "notes": marks("notes.placement", 5000)})
    do("service", {"delivered": True, "notes": marks("notes.service", 5000)})
    for _ in range(p.follow_up.by_risk["high"].count):
        do("follow_up_visit", {"child_seen": True, "notes": marks("notes.visit", 5000)})
    reviewed = do("final_review", {"exit_reason": "placed", "notes": marks("notes.review", 5000)})
    return approve_pending(reviewed)  # civil affairs approves the closing (issue 16)


class Tags(HTMLParser):
    """Every element and attribute of a page, to check nothing typed became markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.script_text: list[str] = []  # what any <script> holds between its tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        if self.cdata_elem == "script" and data.strip():
            self.script_text.append(data)

    handle_startendtag = handle_starttag


def allowed_tags() -> set[str]:
    """The elements our own templates and chart write: anything else in a page came from data."""
    import re

    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "templates").rglob("*.j2")] + [
        (ROOT / "web" / "chart.py").read_text()
    ]
    return {t.lower() for src in sources for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", src)} | {
        "html",
        "head",
        "body",
    }


def own_script(attrs: list[tuple[str, str | None]]) -> bool:
    """A <script src> of one of our own static files (web/static/*.js): the only script a page loads."""
    src = dict(attrs).get("src") or ""
    return src.startswith("/static/") and src.endswith(".js") and (ROOT / "web" / src.lstrip("/")).is_file()


def markup_problems(html: str, allowed: set[str]) -> list[str]:
    """Inline scripts or scripts not our own static files, event-handler attributes, javascript:
    links, or elements no template writes."""
    parser = Tags()
    parser.feed(html)
    problems = [f"inline script {text.strip()[:40]!r}" for text in parser.script_text]
    for tag, attrs in parser.elements:
        if (tag == "script" and not own_script(attrs)) or tag not in allowed:
            problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                problems.append(f"attribute {name} on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                problems.append(f"{name}=javascript: on <{tag}>")
    return problems
