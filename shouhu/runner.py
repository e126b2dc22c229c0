"""Running a stage flow for a stored command, tagged with the case number."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from shouhu import config


def run_flow(flow_fn: Callable[..., Any], tags: list[str], **parameters: Any) -> dict[str, Any]:
    config.prepare_prefect_environment()
    from prefect import tags as prefect_tags

    with prefect_tags(*tags):
        return asyncio.run(flow_fn(**parameters))


def stage_flow(stage: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(flow, procedure) that applies a task completion for a task opened in `stage`."""
    config.prepare_prefect_environment()
    from flows import assessment, emergency, intervention
    from tasks.apply import completion

    module = {"emergency": emergency, "assessment": assessment, "intervention": intervention}[stage]
    return getattr(module, stage), completion(module.handle)
