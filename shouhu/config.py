"""Every setting in one object (`Settings`), read from the SHOUHU_* environment and validated in
one place, so every entry point agrees; plus where Shouhu keeps its code-side files.

The object is rebuilt only when a SHOUHU_* variable changes (tests change them per test). The
clock reads SHOUHU_NOW itself: it is asked for the time thousands of times a second by the sweeper.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = PROJECT_ROOT / "policies"
TEMPLATE_DIR = PROJECT_ROOT / "templates"
# Read by the test suite and CI only (see tests/conftest.py, .ci/run); not settings of a deployment.
TEST_VARIABLES = {"SHOUHU_REQUIRE_POSTGRES", "SHOUHU_REQUIRE_BROWSER"}
# Read by prefect.yaml's pull step when deploying (the checkout's path on the workers), not by Shouhu.
DEPLOYMENT_VARIABLES = {"SHOUHU_CHECKOUT"}


class Settings(BaseSettings):
    """The deployment's settings (README "Settings" lists them)."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_", extra="ignore", frozen=True, env_ignore_empty=True)
    home: Path = Path(".shouhu")  # the embedded SQLite file, Prefect's home, anchors by default
    database_url: str | None = None  # overrides the embedded SQLite (postgresql+psycopg://…)
    now: datetime | None = None  # fixes the clock (ISO 8601 with an offset)
    user: str | None = None  # who reads, when a command has no --as
    base_url: str | None = None  # links in messages (else the address `shouhu serve` recorded: notifications.render)
    timeline_key: str | None = None  # the seal key (else a key file under home)
    secret_key: str | None = None  # signs the web session cookie (else a key file under home)
    anchor_dir: Path | None = None  # daily timeline anchors (default home/anchors)
    routing: Path | None = None  # the routing file (default home/routing.yaml)
    trusted_proxies: str = "127.0.0.1"  # proxies whose X-Forwarded-For is believed
    secure_cookies: bool = False  # true behind HTTPS: the session cookie is sent over HTTPS only
    round_workers: int = Field(2, ge=1, le=32)  # counties whose rounds start at once (PostgreSQL; SQLite: one)
    chromium: Path = Path(
        "/usr/bin/chromium"
    )  # prints official documents as PDF (Debian's chromium + fonts-wqy-zenhei)

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-24T09:30:00+08:00")
        return value

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class SettingsError(ValueError):
    """A SHOUHU_* variable with a value that cannot be used: names the variable and what is allowed."""


def settings() -> Settings:
    return _settings(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("SHOUHU_"))))


@lru_cache(maxsize=32)
def _settings(_environment: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "SHOUHU_" + str(err["loc"][0]).upper()
        raise SettingsError(f"{name}={os.environ.get(name, '')!r}: {err['msg']}") from None


def unknown_variables() -> list[str]:
    """SHOUHU_* variables that are not settings (a typo is otherwise silently ignored)."""
    known = {"SHOUHU_" + name.upper() for name in Settings.model_fields} | TEST_VARIABLES | DEPLOYMENT_VARIABLES
    return sorted(k for k in os.environ if k.startswith("SHOUHU_") and k not in known)


def home() -> Path:
    """SHOUHU_HOME (default ./.shouhu) holds the embedded SQLite file and Prefect's home."""
    return settings().home.resolve()


def database_url() -> str:
    """SHOUHU_DATABASE_URL overrides the embedded SQLite database (postgresql+psycopg://… works)."""
    url = settings().database_url
    if url:
        return url
    home().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home() / 'shouhu.db'}"
