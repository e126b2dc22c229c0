"""Running a stage flow for a stored command, tagged with the case number — and knowing when the
orchestrator does not answer, so the caller can say "queued" instead of failing.

Prefect's client is told to fail fast (one retry, a 10 s request timeout: a hung server would
otherwise hold an officer's request for minutes); when PREFECT_API_URL names a server, a 1 s
health check comes first, so a down server answers in milliseconds, not seconds. Our database
is the system of record: whatever the orchestrator did or did not do, the caller re-reads the
command to know whether it was applied.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from shouhu import running


class OrchestratorUnavailable(Exception):
    """Prefect did not answer (down, hung, or unreachable): the work was not started by it."""


_health: dict[str, tuple[float, bool]] = {}
HEALTH_TTL = 2.0  # seconds a health answer is reused within one burst of requests


def orchestrator_answers(timeout: float = 1.0) -> bool:
    """True when the configured Prefect server answers its health check (embedded mode: True,
    the ephemeral server lives in this process)."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return True
    cached = _health.get(url)
    if cached and time.monotonic() - cached[0] < HEALTH_TTL and cached[1]:
        return True
    import httpx

    try:
        ok = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        ok = False
    _health[url] = (time.monotonic(), ok)
    return ok


def is_unavailable(exc: BaseException) -> bool:
    """Prefect's ways of saying it could not be reached (measured: RuntimeError "Failed to reach
    API" on the first call of a process, httpx connection and timeout errors afterwards)."""
    import httpx

    if isinstance(exc, OrchestratorUnavailable | httpx.TransportError):
        return True
    response = getattr(exc, "response", None)  # the server answered, but with its own failure (5xx)
    if isinstance(exc, httpx.HTTPStatusError) and response is not None and response.status_code >= 500:
        return True
    if isinstance(exc, RuntimeError) and "reach API" in str(exc):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_unavailable(cause)


def run_flow(flow_fn: Callable[..., Any], tags: list[str], **parameters: Any) -> dict[str, Any]:
    running.prepare_prefect_environment()
    if not orchestrator_answers():
        raise OrchestratorUnavailable("the Prefect server does not answer its health check")
    from prefect import tags as prefect_tags

    try:
        with prefect_tags(*tags):
            return asyncio.run(flow_fn(**parameters))
    except Exception as exc:
        if is_unavailable(exc):
            _health.pop(os.environ.get("PREFECT_API_URL", ""), None)
            raise OrchestratorUnavailable(f"{type(exc).__name__} while talking to the Prefect server") from exc
        raise


def stage_flow(stage: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(flow, procedure) that applies a task completion for a task opened in `stage`."""
    running.prepare_prefect_environment()
    from flows import assessment, emergency, intervention
    from tasks.apply import completion

    module = {"emergency": emergency, "assessment": assessment, "intervention": intervention}[stage]
    return getattr(module, stage), completion(module.handle)


def command_flow(command: Any) -> Callable[..., Any]:
    """The flow that applies a stored command (for resuming what was queued)."""
    running.prepare_prefect_environment()
    if command.kind == "report":
        from flows.intake import intake

        return intake
    if command.kind in ("correct_case", "assign_task", "transfer_case", "accept_transfer", "withdraw_transfer"):
        from flows.handovers import handover

        return handover

    if command.kind in ("decide_approval", "reopen_case"):
        from flows.approvals import approvals

        return approvals
    return stage_flow(command.payload["stage"])[0]
