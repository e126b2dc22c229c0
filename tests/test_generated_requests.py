"""Generated requests over every endpoint of the API (schemathesis, from /api/v1/openapi.json):
valid and invalid data, as a police officer and as a manager, with made-up and with real
identifiers. Zero 5xx; every 4xx in the documented shape; nothing written by a refused request.

The totals are printed with -s (the issue's figures: requests, 5xx)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from approving import pending_of
from conftest import make_report, user_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from sqlalchemy import text

from services import accounts, cases, children, documents, notes, reports, tasks
from shouhu import db

EXAMPLES = 50  # per operation, mode, identity and user: ~2,400 requests per database in all
WRITTEN = (
    "case",
    "command",
    "report",
    "reporter",
    "task",
    "deadline",
    "timelineevent",
    "notification",
    "document",
    "child",
    "guardian",
    "breach",
    "clockfire",
    "websession",
    "user",
    "apitoken",
    "adminrecord",
    "credential",
    "approval",
)


def rows() -> tuple[int, ...]:
    """Row counts of every table a request could write (access records excepted: a refusal is recorded on purpose)."""
    query = " UNION ALL ".join(f'SELECT {i}, count(*) FROM "{t}"' for i, t in enumerate(WRITTEN))
    with db.engine().connect() as conn:
        return tuple(n for _, n in sorted(conn.execute(text(query)).all()))


class CountingApp:
    """Counts every answer the app gives (status classes), whatever sent the request."""

    def __init__(self, app: Any, counts: Counter) -> None:
        self.app, self.counts = app, counts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.counts["requests"] += 1
                self.counts[f"{message['status'] // 100}xx"] += 1
            await send(message)

        await self.app(scope, receive, counting if scope["type"] == "http" else send)


OPERATIONS = [
    "GET /api/v1/me",
    "POST /api/v1/reports",
    "GET /api/v1/cases",
    "GET /api/v1/cases/{ref}",
    "GET /api/v1/cases/{ref}/timeline",
    "GET /api/v1/cases/{ref}/documents",
    "GET /api/v1/children",
    "GET /api/v1/children/{child_id}",
    "POST /api/v1/children/{child_id}/exit",
    "GET /api/v1/documents/{document_id}",
    "GET /api/v1/documents/{document_id}/pdf",
    "GET /api/v1/cases/{ref}/notes",
    "POST /api/v1/cases/{ref}/notes",
    "GET /api/v1/cases/{ref}/attachments",
    "POST /api/v1/cases/{ref}/attachments",
    "GET /api/v1/attachments/{attachment_id}",
    "GET /api/v1/tasks",
    "POST /api/v1/tasks/{task_id}/complete",
    "POST /api/v1/tasks/{task_id}/ack",
    "GET /api/v1/breaches",
    "GET /api/v1/sla",
    "GET /api/v1/users",
    "POST /api/v1/users",
    "GET /api/v1/users/{username}",
    "POST /api/v1/users/{username}/move",
    "POST /api/v1/users/{username}/disable",
    "POST /api/v1/users/{username}/enable",
    "GET /api/v1/users/{username}/tokens",
    "POST /api/v1/tokens/{token_id}/revoke",
    "GET /api/v1/admin-records",
    "POST /api/v1/cases/{ref}/correct",
    "POST /api/v1/cases/{ref}/transfer",
    "POST /api/v1/cases/{ref}/transfer/withdraw",
    "POST /api/v1/cases/{ref}/accept",
    "POST /api/v1/tasks/{task_id}/claim",
    "POST /api/v1/tasks/{task_id}/assign",
    "GET /api/v1/children-duplicates",
    "POST /api/v1/children/{keep}/merge/{other}",
    "POST /api/v1/merges/{merge_id}/unmerge",
    "GET /api/v1/approvals",
    "POST /api/v1/approvals/{approval_id}/decide",
    "POST /api/v1/cases/{ref}/reopen",
]


def test_the_list_names_every_operation() -> None:
    """The parametrised test below covers every operation the OpenAPI document has, no more, no fewer."""
    from web.api import router

    found = sorted(f"{m} {r.path}" for r in router.routes for m in r.methods)
    assert found == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests(db_url: str, label: str, capsys: pytest.CaptureFixture) -> None:
    import schemathesis
    from schemathesis import GenerationMode

    from web.app import create_app

    counts: Counter = Counter()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", CountingApp(create_app(), counts))
    opened = reports.submit_report(make_report(), user_of("sixian", "police_intake"))
    case = cases.show_case(opened["case_id"], "sx-police", record_read=False)
    docs = documents.case_documents(opened["case_id"], "sx-police", record_read=False)
    real = {
        "ref": [opened["case_no"], opened["case_id"]],
        "task_id": [t["task_id"] for t in case["tasks"]],
        "document_id": [d["document_id"] for d in docs],
        # accounts the requests may move or disable: never the two making the requests
        "username": ["sx-civil", "sx-director-dg", "yt-police"],
        "token_id": [accounts.create_token("sx-civil", "to be revoked")["token_id"]],
        "child_id": [children.search_children(opened["case_no"], "sx-police")["items"][0]["child_id"]],
        "attachment_id": [notes.add_attachment(opened["case_no"], "p.pdf", b"%PDF-1.4", "sx-police")["attachment_id"]],
    }
    # one child, one file: the child's own file as both sides (refused as the same file), a merge that is not there
    real["keep"] = real["other"] = real["child_id"]
    real["merge_id"] = ["00000000-0000-4000-8000-000000000000"]
    if "{approval_id}" in label:  # made only where used: a second case and its stage flows
        real["approval_id"] = [pending_approval()]
    users = {who: accounts.create_token(who, "generated requests")["token"] for who in ("sx-police", "sx-manager")}
    problems: list[str] = []
    method, path = label.split(" ", 1)
    [operation] = [
        r.ok()
        for r in schema.get_all_operations()
        if (r.ok().method.upper(), r.ok().path) == (method, path.removeprefix("/api/v1"))
        or (r.ok().method.upper(), r.ok().full_path) == (method, path)
    ]
    names = [p.name for p in operation.path_parameters]
    identities = [None] + ([{n: st.sampled_from(real[n]) for n in names}] if names else [])
    counts.clear()  # (the schema's own fetch)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for identity in identities:
            for who, token in users.items():
                strategy = operation.as_strategy(generation_mode=mode)
                if identity:
                    strategy = st.fixed_dictionaries({n: s for n, s in identity.items()}).flatmap(
                        lambda ids, base=strategy: base.map(lambda c, ids=ids: _with_path(c, ids))
                    )
                fuzz(strategy, who, token, problems)
    with capsys.disabled():
        print(
            f"\n  generated requests, {label}: {counts['requests']} ({counts['2xx']} 2xx, {counts['4xx']} 4xx, {counts['5xx']} 5xx)"
        )
    assert not problems, problems[:10]
    assert counts["5xx"] == 0 and counts["requests"] >= 2  # (identical inputs are generated once: GET /me has none)


def pending_approval() -> str:
    """A 不属实 finding waiting for the county bureau to approve it: the decide endpoint's real approval."""
    opened = reports.submit_report(make_report(), user_of("sixian", "police_intake"))
    police = user_of("sixian", "police")
    case = cases.show_case(opened["case_id"], police, record_read=False)
    [task] = [t for t in case["tasks"] if t["kind"] == "emergency_response" and t["status"] == "open"]
    outcome = {"unfounded": True, "unfounded_reason": "经核查，儿童由祖母照看，情况不属实"}
    tasks.complete_task(task["task_id"], outcome, police)
    [approval] = pending_of(opened["case_id"])
    return str(approval["approval_id"])


def fuzz(strategy: Any, who: str, token: str, problems: list[str]) -> None:
    @given(generated=strategy)
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def run(generated: Any) -> None:
        before = rows()
        response = generated.call(headers={"Authorization": f"Bearer {token}"})
        label = f"{who} {generated.method} {generated.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{label}: {response.text[:200]}")
        elif response.status_code >= 400:
            kind = response.headers.get("content-type", "")
            kind = kind[0] if isinstance(kind, list) else kind
            body = response.json() if kind.startswith("application/json") else None
            error = body.get("error") if isinstance(body, dict) else None
            if not (
                isinstance(error, dict)
                and set(error) == {"code", "message", "field"}
                and isinstance(error["code"], str)
            ):
                problems.append(f"{label}: not the error shape: {response.text[:200]}")
            if rows() != before:
                problems.append(f"{label}: a refused request wrote rows")

    try:
        run()
    except Unsatisfiable:  # nothing invalid can be made (GET /me has no input): the positive run covers it
        pass


def _with_path(case: Any, ids: dict[str, str]) -> Any:
    case.path_parameters = {**(case.path_parameters or {}), **ids}
    return case
