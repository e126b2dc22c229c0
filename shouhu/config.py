"""Where Shouhu keeps its data, read from the environment once, so every entry point agrees."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = PROJECT_ROOT / "policies"
TEMPLATE_DIR = PROJECT_ROOT / "templates"


def home() -> Path:
    """SHOUHU_HOME (default ./.shouhu) holds the embedded SQLite file and Prefect's home."""
    return Path(os.environ.get("SHOUHU_HOME", ".shouhu")).resolve()


def database_url() -> str:
    """SHOUHU_DATABASE_URL overrides the embedded SQLite database (postgresql+psycopg://… works)."""
    url = os.environ.get("SHOUHU_DATABASE_URL")
    if url:
        return url
    home().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home() / 'shouhu.db'}"


def prepare_prefect_environment() -> None:
    """Set Prefect defaults before Prefect is imported (it reads settings at import).

    Embedded mode keeps Prefect's own database under SHOUHU_HOME, sends no telemetry (no
    internet here or on government intranets) and logs quietly. Anything the user set wins.
    """
    defaults = {
        "PREFECT_HOME": str(home() / "prefect"),
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
