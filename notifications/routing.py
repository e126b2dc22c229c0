"""Which external channels each unit has: the deployment's routing file, checked at start.

Every unit always has its in-app inbox (our database). A routing file adds Apprise URLs per
unit — e-mail (`mailto://`), DingTalk (`dingtalk://`), WeCom bot (`wecombot://`), Feishu
(`feishu://`), JSON webhook (`json://`) — and lives with the deployment, not in the
repository. Secrets are `${ENV_VAR}` references filled from the environment; a password
written into the file is refused. A broken file is an error naming the unit and the channel.

    units:
      sx-pcs-sc:
        - json://10.0.0.5:8080/shouhu
        - {name: email, url: "mailto://${SMTP_USER}:${SMTP_PASSWORD}@mail.example.gov.cn?to=pcs@example.gov.cn"}
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shouhu import config
from shouhu.errors import InvalidInput

ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
INLINE_PASSWORD = re.compile(r"^[a-z0-9+]+://[^/@?]*:(?!\$\{)[^/@?]+@", re.IGNORECASE)


class RoutingError(InvalidInput):
    """The routing file is wrong: exit 2 at start, naming the unit and channel."""


@dataclass(frozen=True)
class Channel:
    name: str  # shown in the timeline and the board; never the URL (it may carry a secret)
    url: str


@dataclass
class Routing:
    path: str | None
    units: dict[str, list[Channel]] = field(default_factory=dict)

    def channels(self, unit: str) -> list[Channel]:
        return self.units.get(unit, [])

    def channel(self, unit: str, name: str) -> Channel | None:
        return next((c for c in self.channels(unit) if c.name == name), None)


def routing_path() -> Path | None:
    """SHOUHU_ROUTING, else $SHOUHU_HOME/routing.yaml if present; none means inbox only."""
    given = config.settings().routing
    if given:
        return Path(given)
    default = config.home() / "routing.yaml"
    return default if default.exists() else None


def load(path: Path | None = None, known_units: set[str] | None = None) -> Routing:
    """Read and check the whole file: every URL must parse as an Apprise URL."""
    path = path or routing_path()
    if path is None:
        return Routing(None)
    where = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise RoutingError("routing_unreadable", f"routing file {where}: {exc.strerror}", "routing") from None
    except yaml.YAMLError as exc:
        raise RoutingError("routing_invalid", f"routing file {where}: not YAML ({exc})", "routing") from None
    if not isinstance(raw, dict) or set(raw) - {"units"} or not isinstance(raw.get("units", {}), dict):
        raise RoutingError(
            "routing_invalid",
            f"routing file {where}: expected one key `units:` mapping unit codes to channel lists",
            "routing",
        )
    known = known_units if known_units is not None else _known_units()
    routing = Routing(where)
    for unit, entries in (raw.get("units") or {}).items():
        field_name = f"units.{unit}"
        if unit not in known:
            raise RoutingError(
                "routing_unknown_unit",
                f"routing file {where}: {field_name}: no unit {unit!r} in any policy pack",
                field_name,
            )
        if not isinstance(entries, list):
            raise RoutingError(
                "routing_invalid", f"routing file {where}: {field_name}: expected a list of channels", field_name
            )
        routing.units[unit] = [_channel(where, unit, i, entry) for i, entry in enumerate(entries, start=1)]
        names = [c.name for c in routing.units[unit]]
        if len(set(names)) != len(names):
            raise RoutingError(
                "routing_invalid", f"routing file {where}: {field_name}: channel names repeat: {names}", field_name
            )
    return routing


def _channel(where: str, unit: str, index: int, entry: Any) -> Channel:
    field_name = f"units.{unit}[{index}]"
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or set(entry) - {"url", "name"}:
        raise RoutingError(
            "routing_invalid", f"routing file {where}: {field_name}: expected a URL or {{name, url}}", field_name
        )
    template = entry["url"].strip()
    scheme = template.split("://", 1)[0].lower() if "://" in template else ""
    name = str(entry.get("name") or f"{scheme or 'channel'}-{index}")
    if INLINE_PASSWORD.match(template):
        raise RoutingError(
            "routing_inline_secret",
            f"routing file {where}: {field_name} ({unit}): a password is written into the URL; "
            "use ${ENV_VAR} and set it in the environment",
            field_name,
        )
    missing = [v for v in ENV_REF.findall(template) if v not in os.environ]
    if missing:
        raise RoutingError(
            "routing_missing_secret",
            f"routing file {where}: {field_name} ({unit}): environment variable(s) {', '.join(missing)} not set",
            field_name,
        )
    url = ENV_REF.sub(lambda m: os.environ[m.group(1)], template)
    import apprise  # lazy: ~0.3 s, and only the dispatcher needs it

    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise RoutingError(
            "routing_bad_url",
            f"routing file {where}: {field_name} ({unit}): {scheme or template[:20]!r} is not a "
            "valid Apprise URL (e.g. json://host/path, mailto://host?to=addr, dingtalk://token)",
            field_name,
        )
    return Channel(name, url)


def _known_units() -> set[str]:
    from shouhu import policy

    return {u.code for name in policy.jurisdiction_names() for u in policy.pack(name).unit_list}


@lru_cache(maxsize=4)
def _cached(path: str | None, mtime: float) -> Routing:
    return load(Path(path) if path else None)


def current() -> Routing:
    """The routing in force, re-read when the file changes."""
    path = routing_path()
    if path is None:
        return Routing(None)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return _cached(str(path), mtime)
