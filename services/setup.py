"""Setting up a database: schema (migrations), the packs' jurisdictions and units, the rules in force."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models import Jurisdiction, Unit, User
from shouhu import db, policy, timeline
from shouhu.errors import InvalidInput


def init(demo: bool = False) -> dict[str, Any]:
    """Create or upgrade the schema (migrations), load every pack's units, and — for the demo only
    (`shouhu init --demo`, `shouhu demo`) — the packs' demo users. Safe to run again.

    A real county's staff are added with `shouhu user add`; demo users (with no password until
    one is set) never appear in a database that was not asked for them."""
    packs = policy.all_packs()
    schema = upgrade_schema()
    counts = {"jurisdictions": 0, "units": 0, "users": 0}
    with db.transaction() as s:
        check_timeline_key(s)
        # One read per table, not one per row: a province's packs hold tens of thousands of units, and
        # a query per unit flushed the growing session each time (minutes, growing with the square).
        jurisdictions = {j.code: j for j in s.exec(select(Jurisdiction)).all()}
        units = {u.code: u for u in s.exec(select(Unit)).all()}
        users = {u.username: u for u in s.exec(select(User)).all()} if demo else {}
        for name, p in packs.items():
            j = jurisdictions.get(name) or Jurisdiction(code=name, name="", case_prefix="", source="")
            j.name, j.case_prefix, j.source = p.name, p.case_prefix, p.source
            s.add(j)
            counts["jurisdictions"] += 1
            for u in p.unit_list:
                unit = units.get(u.code) or Unit(code=u.code, jurisdiction=name, name="", type=u.type)
                units[u.code] = unit
                unit.name, unit.type, unit.parent, unit.supervisor, unit.covers = (
                    u.name,
                    u.type,
                    u.parent,
                    u.supervisor,
                    list(u.covers),
                )
                s.add(unit)
                counts["units"] += 1
            for du in p.demo_users.value if p.demo_users and demo else []:
                user = users.get(du.username) or User(
                    username=du.username, display_name="", role=du.role, unit=du.unit, jurisdiction=name
                )
                users[du.username] = user
                user.display_name, user.role, user.unit, user.jurisdiction = du.display_name, du.role, du.unit, name
                s.add(user)
                counts["users"] += 1
    return {
        "ok": True,
        "database": db.engine().url.render_as_string(hide_password=True),
        "schema": schema["to"],
        **counts,
    }


def check_timeline_key(s: Session) -> None:
    """The first init records which key seals this database's timelines; later a different key
    is refused at once (else every case would look tampered with)."""
    from models import Setting

    found = s.get(Setting, "timeline_key_fingerprint")
    if found is None:
        s.add(Setting(key="timeline_key_fingerprint", value=timeline.key_fingerprint()))
    elif found.value != timeline.key_fingerprint():
        raise InvalidInput(
            "wrong_timeline_key",
            "SHOUHU_TIMELINE_KEY is not the key this database was sealed with "
            f"(fingerprint {found.value}); set the right one",
            "SHOUHU_TIMELINE_KEY",
        )


def list_units(jurisdiction: str) -> list[dict[str, Any]]:
    policy.pack(jurisdiction)
    with Session(db.engine()) as s:
        rows = s.exec(select(Unit).where(Unit.jurisdiction == jurisdiction).order_by(Unit.code)).all()
        return [
            {"code": u.code, "name": u.name, "type": u.type, "parent": u.parent, "supervisor": u.supervisor}
            for u in rows
        ]


def schema_revision() -> dict[str, Any]:
    """`shouhu db current`."""
    from shouhu import migrate

    return migrate.current()


def upgrade_schema() -> dict[str, Any]:
    """`shouhu db upgrade`: the migrations, and the one-time sealing of rows written before seals."""
    from shouhu import migrate

    result = migrate.upgrade()
    if result.pop("seal_legacy"):
        with db.transaction() as s:
            timeline.seal_legacy(s)
    return result


def policy_rules(jurisdiction: str) -> list[dict[str, Any]]:
    """`shouhu policy show --json`: every rule in force, its value and source."""
    from shouhu import rules

    return rules.rules(policy.pack(jurisdiction))


def policy_table(jurisdiction: str) -> dict[str, Any]:
    """The same rules in Chinese: rule, value, and source as the county's document number and section."""
    from shouhu import rules

    p = policy.pack(jurisdiction)
    return {"name": p.name, "document": p.document.number if p.document else p.name, "rows": rules.table(p)}


def status() -> dict[str, Any]:
    """`shouhu status`: what runs where for this SHOUHU_HOME — the database and its schema, this
    home's `shouhu serve` (from its record) and whether it answers, the Prefect server commands
    would use, and the stored commands still waiting. Never imports Prefect (it answers at once)."""
    import os

    from models import Command
    from shouhu import config, migrate, running

    record = running.serve_record()
    serve = None
    if record is not None:
        shown = {k: v for k, v in record.items() if k != "operator_key"}  # a secret: in the 0600 file only
        serve = {**shown, "web_answers": running.answers(f"{record['web']}/healthz")}
    own = os.environ.get("PREFECT_API_URL")
    api = own or (record or {}).get("prefect_api")
    prefect = {
        "api_url": api,
        "from": "PREFECT_API_URL" if own else ("serve" if api else "ephemeral"),
        "answers": running.answers(f"{api.rstrip('/')}/health") if api else None,
    }
    out: dict[str, Any] = {
        "home": str(config.home()),
        "database": db.engine().url.render_as_string(hide_password=True),
        "serve": serve,
        "prefect": prefect,
    }
    try:
        out["schema"] = migrate.current()
        from sqlalchemy import func

        with Session(db.engine()) as s:
            counted = dict(
                s.exec(
                    select(Command.status, func.count())
                    .where(col(Command.status).in_(("pending", "failed")))
                    .group_by(Command.status)
                ).all()
            )
        out["commands"] = {k: counted.get(k, 0) for k in ("pending", "failed")}
        from services import messages

        out["links"] = messages.link_base()
    except Exception as exc:  # noqa: BLE001 - status reports an unreachable database instead of failing
        out["schema"] = {"error": type(exc).__name__}
        out["commands"] = None
        out["links"] = None
    return out
