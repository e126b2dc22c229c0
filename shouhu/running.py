"""What runs where for one SHOUHU_HOME: `shouhu serve` records itself in `$SHOUHU_HOME/serve.json`
(its process, web address and Prefect API), so a CLI command of the same home runs its flows on that
Prefect server instead of starting an ephemeral one of its own (~10 s), and `shouhu status` can say
what is running.

A record whose process is gone (serve killed with SIGKILL) is stale and ignored; a live record whose
Prefect server does not answer its health check within half a second is ignored too, so a command
never waits on a server that is not there — it starts its own as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from shouhu import config

RECORD = "serve.json"
HEALTH_TIMEOUT = 0.5  # seconds: a local server answers in milliseconds


def record_path() -> Path:
    return config.home() / RECORD


def write(info: dict[str, Any]) -> Path:
    """Record this serve (mode 0600, written whole then renamed: a reader never sees half)."""
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{RECORD}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f, ensure_ascii=False)
    os.replace(temporary, path)
    return path


def clear(pid: int) -> None:
    """Remove the record if it is still this process's (a later serve may have replaced it)."""
    found = _load()
    if found is not None and found.get("pid") == pid:
        with contextlib.suppress(FileNotFoundError):
            record_path().unlink()


def _load() -> dict[str, Any] | None:
    try:
        found = json.loads(record_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("pid"), int) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that number: not our serve
        return False
    return True


def serve_record() -> dict[str, Any] | None:
    """The live serve of this home, or None (no record, or its process is gone)."""
    found = _load()
    return found if found is not None and _alive(found["pid"]) else None


def answers(url: str, timeout: float = HEALTH_TIMEOUT) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def database_fingerprint(url: str) -> str:
    """Which database a process uses, comparable without storing the URL (it may hold a password)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def new_operator_key() -> str:
    """The key with which this home's CLI hands a command to the running serve (kept in the 0600 record,
    valid for that serve process only)."""
    return secrets.token_urlsafe(32)


def delegate_target() -> tuple[str, str] | None:
    """(web address, operator key) of this home's running serve when this process would do exactly what
    it does — the same database and the same clock — and its web app answers; else None (run here)."""
    found = serve_record()
    if not found or not isinstance(found.get("operator_key"), str) or not isinstance(found.get("web"), str):
        return None
    if found.get("database") != database_fingerprint(config.database_url()) or found.get("now") != (
        os.environ.get("SHOUHU_NOW") or None
    ):
        return None
    return (found["web"], found["operator_key"]) if answers(f"{found['web']}/healthz") else None


def operator_key_of_this_process() -> str | None:
    """The operator key, when the running serve recorded in this home is this very process."""
    found = serve_record()
    return found.get("operator_key") if found is not None and found.get("pid") == os.getpid() else None


def prefect_api_of_serve() -> str | None:
    """The Prefect API of this home's running serve, when it answers."""
    found = serve_record()
    api = found.get("prefect_api") if found else None
    return api if isinstance(api, str) and answers(f"{api.rstrip('/')}/health") else None


def prepare_prefect_environment() -> None:
    """Set Prefect defaults before Prefect is imported (it reads settings at import).

    Embedded mode keeps Prefect's own database under SHOUHU_HOME, sends no telemetry (no
    internet here or on government intranets) and logs quietly. Anything the user set wins.
    Without PREFECT_API_URL, the Prefect server of this home's running `shouhu serve` is used
    (when it answers), so the command does not start an ephemeral one.
    """
    if "PREFECT_API_URL" not in os.environ:
        api = prefect_api_of_serve()
        if api is not None:
            os.environ["PREFECT_API_URL"] = api
    defaults = {
        "PREFECT_HOME": str(config.home() / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        # Our timeline is the record; shipping Prefect's state-change logs costs ~15 % per run.
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        # A cold ephemeral server start takes ~10 s on two cores; the 20 s default is too tight.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        # Fail fast when the server is gone or hung (measured: the defaults wait ~2.5 min after a
        # server dies mid-run, ~7 min on a hung one); the command is safe in our database and is
        # applied when the server answers again.
        "PREFECT_CLIENT_MAX_RETRIES": "1",
        "PREFECT_API_REQUEST_TIMEOUT": "10",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)  # Prefect will not make parents
