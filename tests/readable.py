"""What people read (issue 12 §2.9, issue 15 §3): Chinese only. Codes stay in JSON and the API.

`Reader` signs people in and walks the pages they can reach from their home page (same-origin GET
links, bounded); `unreadable` names what in a text people must not read: a vocabulary code, an English
status word, "seed", a timestamp that was never formatted (ISO `T`, seconds, fractions, an offset).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

from conftest import PASSWORD, csrf

# English words a page shows when a status or a flag was printed as it is stored.
STATUS_WORDS = {
    "open",
    "closed",
    "sent",
    "queued",
    "failed",
    "pending",
    "done",
    "cancelled",
    "true",
    "false",
    "none",
    "null",
    "applied",
    "rejected",
    "routed",
    "retrying",
    "overdue",
    "breached",
    "met",
    "phase_out",
    "urgent",
    "normal",
}
TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d"  # ISO with its T
    r"|\d\d:\d\d:\d\d"  # seconds (pages show minutes)
    r"|\d\d:\d\d\.\d+"  # fractions of a second
    r"|\d\d:\d\d ?[+-]\d\d:?\d\d\b"  # an offset (+08:00)
)
# Any lowercase English word is code-like (elderly, working_away), known to the vocabularies or not: a person
# reads Chinese, names (Shouhu), abbreviations (SHA-256, CSV) and identifiers (sx-police, SX-2026-00001).
CODE_LIKE = re.compile(r"[a-z]{3,}(?:_[a-z]+)*|[a-z]+(?:_[a-z]+)+")
# A word of letters, digits, _ and -, not part of an address, a file name or a number.
WORD = re.compile(r"(?<![\w\-./:=?&@#%])[A-Za-z][A-Za-z0-9_\-]*(?![\w\-./:=?&@#%])")


def vocabulary_codes() -> set[str]:
    """Every code people must never read: the closed vocabularies (shouhu/vocab.py), every pack's keys
    (units, situations, measures, services, tasks, exit reasons, grounds, categories…), error codes."""
    from typing import get_args

    from shouhu import policy, vocab
    from web.messages import ERROR_ZH

    codes: set[str] = set(ERROR_ZH)
    for name in dir(vocab):
        value = getattr(vocab, name)
        if name.isupper() and isinstance(value, dict):
            codes |= {k for k in value if isinstance(k, str)}
        elif get_args(value) and all(isinstance(a, str) for a in get_args(value)):
            codes |= set(get_args(value))
    for p in policy.all_packs().values():
        codes |= (
            {u.code for u in p.unit_list}
            | {u.type for u in p.unit_list}
            | {u.role for u in (p.demo_users.value if p.demo_users else [])}
        )
        codes |= set(p.tasks) | set(p.services) | set(p.notify) | set(p.escalation.value) | set(p.documents.value)
        codes |= set(p.required_measures.value) | set(p.measure_tasks.value) | set(p.exit_reasons.value)
        codes |= set(p.petition_grounds.value) | set(p.petitioners.value) | set(p.temporary_guardianship_triggers.value)
        codes |= set(p.child_categories.value) | set(p.reporter_supervisors.value)
    return {c for c in codes if len(c) >= 3 and c.isascii()} | STATUS_WORDS


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: its text (title included), and the attributes a browser shows
    (title, placeholder, aria-label, alt, a button's value, a text field's value); no tags, scripts or styles."""
    page = re.sub(r"(?is)<!--.*?-->|<(script|style)\b.*?</\1\s*>", " ", page)
    shown = re.findall(r"""(?is)\s(?:title|placeholder|aria-label|alt)\s*=\s*"([^"]*)\"""", page)
    for tag in re.findall(r"(?is)<input\b[^>]*>", page):
        kind = re.search(r'(?i)\stype\s*=\s*"([^"]*)"', tag)
        value = re.search(r'(?i)\svalue\s*=\s*"([^"]*)"', tag)
        if value and (kind.group(1).lower() if kind else "text") in ("submit", "button", "reset", "text", "search"):
            shown.append(value.group(1))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + "\n" + "\n".join(shown))


def unreadable(text: str, codes: set[str]) -> list[str]:
    """What in `text` people must not read: "seed", a vocabulary code or English status word, a raw timestamp."""
    found = re.findall(r"(?i)\bseed\b", text) + TIMESTAMP.findall(text)
    words = WORD.findall(text)
    return found + sorted({w for w in words if w in codes or w.lower() in STATUS_WORDS or CODE_LIKE.fullmatch(w)})


def download_text(content: bytes, content_type: str) -> str:
    """The cells of a CSV or XLSX download, one per line."""
    if "csv" in content_type:
        return "\n".join(cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row if cell
    )


class Reader:
    """Signed-in test clients, one per username; signed in again when the (moved) clock ended a session."""

    def __init__(self, app: Any) -> None:
        self.app, self.clients = app, {}

    def get(self, username: str, url: str) -> Any:
        for _ in range(2):
            client = self.clients.get(username) or self._sign_in(username)
            page = client.get(url, follow_redirects=False)
            if page.status_code in (302, 303, 307) and page.headers["location"].startswith("/login"):
                self.clients.pop(username)
                continue
            if page.status_code in (302, 303, 307):
                return self.get(username, urljoin(url, page.headers["location"]))
            return page
        raise AssertionError(f"{username} cannot stay signed in to read {url}")

    def _sign_in(self, username: str) -> Any:
        from fastapi.testclient import TestClient

        from services import accounts

        accounts.set_password(username, PASSWORD, must_change=False)
        client = TestClient(self.app, raise_server_exceptions=False)
        r = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf": csrf(client.get("/login").text), "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        self.clients[username] = client
        return client


def shape(path: str) -> str:
    """A page's kind: its path with ids, case numbers and usernames as placeholders."""
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", path)
    path = re.sub(r"^/admin/users/[^/]+", "/admin/users/{username}", path)
    return re.sub(r"/[A-Z]+-\d{4}-\d{5}", "/{case}", path)


def walk(
    reader: Reader,
    username: str,
    check: Callable[[str, str], None],
    also: Iterable[str] = (),
    once: set[str] | None = None,
    per_kind: int = 3,
    limit: int = 80,
) -> list[str]:
    """Every page `username` reaches from the home page by same-origin GET links (breadth first), at most
    `per_kind` of each kind (every document) and `limit` in all; `check(where, text)` reads each one's
    visible text (a download's cells). `also`: addresses a form would open (a search, a month chosen),
    read whatever they answer (a refusal too) and walked on from. `once`: documents already read as this
    reader sees them (by another reader of the same rendering), not read again. Returns the addresses read."""
    extra = list(also)
    queue, seen, kinds, read = ["/", *extra], {"/", *extra}, {}, []
    while queue and len(read) < limit:
        url = queue.pop(0)
        if urlsplit(url).path.endswith("/pdf"):
            continue  # a document's PDF is its HTML printed (tests/test_documents.py reads its text)
        kind = shape(urlsplit(url).path)
        if kind.startswith("/documents/"):
            if once is not None and url in once:
                continue
            if once is not None:
                once.add(url)
        elif kinds.get(kind, 0) >= per_kind:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        page = reader.get(username, url)
        assert page.status_code == 200 or url in extra, (username, url, page.status_code)
        read.append(url)
        content_type = page.headers.get("content-type", "")
        if "html" not in content_type:
            check(f"{username} {url}", download_text(page.content, content_type))
            continue
        check(f"{username} {url}", visible_text(page.text))
        for href in links(page.text):
            target = urljoin(url, href)
            if target not in seen and followable(target):
                seen.add(target)
                queue.append(target)
    return read


def links(page: str) -> Iterable[str]:
    return (html.unescape(h) for h in re.findall(r'(?i)<a\b[^>]*\shref="([^"#]*)"', page) if h)


def followable(url: str) -> bool:
    parts = urlsplit(url)
    return (
        not parts.scheme
        and not parts.netloc
        and parts.path.startswith("/")
        and not parts.path.startswith(("/static/", "/api/", "/logout"))
    )
