"""`shouhu retention run` (个人信息保护法 第十九条、第四十七条; issue 16 §6): remove the identity of the
children whose retention period has passed (tasks.retention says who and what), or count them with
`--dry-run`. An operator's command, like `shouhu sweep`; the sweeper runs the same step daily."""

from __future__ import annotations

from typing import Any

from shouhu import policy
from shouhu.errors import InvalidInput
from tasks import retention


def run_retention(jurisdiction: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """`{"dry_run","children","cases","items":[{"jurisdiction","cutoff","children","cases"}]}` — counts only."""
    known = policy.jurisdiction_names()
    if jurisdiction is not None and jurisdiction not in known:
        raise InvalidInput("unknown_jurisdiction", "no such jurisdiction", "jurisdiction")
    items = [retention.run(j, dry_run=dry_run) for j in ([jurisdiction] if jurisdiction else known)]
    return {
        "dry_run": dry_run,
        "children": sum(i["children"] for i in items),
        "cases": sum(i["cases"] for i in items),
        "items": items,
    }
