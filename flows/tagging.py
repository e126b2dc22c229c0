"""Tag a running flow with its case number once intake has assigned one."""

from __future__ import annotations

import uuid

from prefect import get_client
from prefect.runtime import flow_run


async def tag_current_run(tags: list[str]) -> None:
    run_id = flow_run.get_id()
    if not run_id:
        return
    async with get_client() as client:  # one API call: the run's own tags are known in-process
        await client.update_flow_run(uuid.UUID(run_id), tags=sorted(set(flow_run.get_tags()) | set(tags)))
