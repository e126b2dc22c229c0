"""Turning a policy selector ("station", "township", …) into the unit that acts for a case."""

from __future__ import annotations

from typing import cast

from shouhu.errors import InvalidInput
from shouhu.policy import Pack, UnitRule
from shouhu.vocab import ReporterUnitType


def find_township(pack: Pack, code_or_name: str) -> UnitRule:
    """A township given by code or by name, as the report form allows either."""
    for u in pack.unit_list:
        if u.type == "township" and code_or_name in (u.code, u.name):
            return u
    known = ", ".join(f"{u.code} ({u.name})" for u in pack.unit_list if u.type == "township")
    raise InvalidInput(
        "unknown_township",
        f"child.township {code_or_name!r} is not a township of {pack.pack}; known: {known}",
        "child.township",
    )


def find_village(pack: Pack, township: UnitRule, code_or_name: str) -> UnitRule:
    for u in pack.unit_list:
        if u.type == "village" and u.parent == township.code and code_or_name in (u.code, u.name):
            return u
    known = ", ".join(u.code for u in pack.unit_list if u.type == "village" and u.parent == township.code)
    raise InvalidInput(
        "unknown_village",
        f"child.village {code_or_name!r} is not a village of {township.name}; known: {known}",
        "child.village",
    )


def _first(pack: Pack, unit_type: str) -> str:
    for u in pack.unit_list:
        if u.type == unit_type:
            return u.code
    raise LookupError(unit_type)


def resolve(
    pack: Pack, selector: str, township: str, village: str | None = None, reporter_unit_type: str | None = None
) -> str:
    """The unit code a selector names for a case in `township` (and `village`).

    Falls back along the chain the seeds describe: no station for the area → the county
    bureau; no village on file → the township; no rescue station → civil affairs.
    """
    if selector == "station":
        for u in pack.unit_list:
            if u.type == "police_station" and township in u.covers:
                return u.code
        return _first(pack, "police_bureau")
    if selector == "township":
        return township
    if selector == "village":
        return village or township
    if selector == "rescue_station":
        try:
            return _first(pack, "rescue_station")
        except LookupError:
            return _first(pack, "civil_affairs")
    if selector == "reporter_supervisor":
        target = pack.reporter_supervisors.value.get(
            cast(ReporterUnitType, reporter_unit_type or "other"), "coordination_office"
        )
        return resolve(pack, target, township, village)
    return _first(pack, selector)


def chain_up(pack: Pack, unit: str) -> list[str]:
    """The unit and the units above it (parent first, then supervisor), for who may act."""
    out, seen = [], set()
    while unit and unit not in seen:
        seen.add(unit)
        out.append(unit)
        rule = pack.unit(unit)
        unit = rule.parent or rule.supervisor or ""
    return out


def supervisor_chain(pack: Pack, unit: str) -> list[str]:
    """The unit and its supervisors upward (supervisor, else parent): the escalation ladder."""
    out: list[str] = []
    while unit and unit not in out:
        out.append(unit)
        rule = pack.unit(unit)
        unit = rule.supervisor or rule.parent or ""
    return out


def escalation_target(p: Pack, owner: str, level: int) -> str:
    """The unit told at `level`: the owner, then each supervisor up; past the top, coordination."""
    chain = supervisor_chain(p, owner)
    return chain[level - 1] if level - 1 < len(chain) else resolve(p, "coordination_office", owner)


def recipients(p: Pack, owner: str, level: int, levels: int) -> list[str]:
    """Who is told at `level` of `levels`: its target; at the last (督办) also the coordination
    office and every unit above it — the city, where the county's network has four levels
    (seed 000 §三(一), seed 003 §七(一))."""
    out = [escalation_target(p, owner, level)]
    if level == levels:
        out.append(escalation_target(p, owner, levels + 1))
        out += supervisor_chain(p, resolve(p, "coordination_office", owner))
    return list(dict.fromkeys(out))


PLACE_SELECTORS = {"police_station": "station", "township": "township", "village": "village"}


def counterpart(old: Pack, unit: str, new: Pack, township: str, village: str | None) -> str:
    """The unit of `new` that does, for a case at `township`/`village`, what `unit` of `old` did: the
    station, township or village of the new place; a county-wide office (bureau, civil affairs, court…)
    stays itself, or is the receiving county's office of that type. Used when a correction or a transfer
    moves a case (issue 16 §2–3), so its open tasks go to the units the pack names for the new place."""
    kind = old.unit(unit).type
    selector = PLACE_SELECTORS.get(kind)
    if selector is not None:
        return resolve(new, selector, township, village)
    if old.pack == new.pack:
        return unit
    try:
        return _first(new, kind)
    except LookupError:
        return resolve(new, "civil_affairs", township, village)
