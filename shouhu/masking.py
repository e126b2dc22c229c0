"""The one masking rule, for every way a child's file leaves the system (page, API, CLI, document,
export, search): a reader whose role does not work with the child (a manager) sees who the
child is only in outline — the family name's first character, the ID number's region, the year
of birth — and none of what people typed about the child and family (descriptions, notes,
plans, guardians' names, where the child is placed).

`access.may_see_identity` decides who is masked; this module decides what masked means.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

HIDDEN = "（已隐去）"
# What stands for a name once the retention period removed it (services.retention): shown as is to
# every reader, masked or not — there is nothing left to mask.
REMOVED_NAME = "（身份信息已删除）"
# Fields people type freely about the child and family: hidden whole from masked readers.
FREE_TEXT = frozenset(
    {
        "description",
        "notes",
        "plan",
        "health",
        "detail",
        "unfounded_reason",
        "not_filed_reason",
        "new_guardian",
        "placed_at",
        "address",
    }
)


def name(value: str | None) -> str | None:
    if not value or value == REMOVED_NAME:
        return value
    return value[:1] + "*" * max(1, len(value) - 1)


def id_number(value: str | None) -> str | None:
    return value[:6] + "*" * 12 if value else value


def birth(value: date | str | None) -> str | None:
    if value is None:
        return None
    return str(value)[:4]


def free_text(value: Any) -> Any:
    return HIDDEN if value else value


def child(record: Any, visible: bool) -> dict[str, Any]:
    """The child as a reader may see them (a row or anything with the same attributes)."""
    birth_date = record.birth_date.isoformat() if hasattr(record.birth_date, "isoformat") else record.birth_date
    if visible:
        return {
            "name": record.name,
            "id_number": record.id_number,
            "birth_date": birth_date,
            "gender": record.gender,
            "address": record.address,
            "left_behind": getattr(record, "left_behind", False),
            "masked": False,
        }
    return {
        "name": name(record.name),
        "id_number": id_number(record.id_number),
        "birth_date": birth(birth_date),
        "gender": record.gender,
        "address": None,
        "left_behind": getattr(record, "left_behind", False),
        "masked": True,
    }


def guardian(record: Any, visible: bool) -> dict[str, Any]:
    fields = {"name": record.name, "relation": record.relation, "status": record.status}
    return fields if visible else {**fields, "name": name(record.name)}


def outcome(values: dict[str, Any], visible: bool) -> dict[str, Any]:
    """A task's recorded outcome (its JSON) as a reader may see it: free text hidden when masked."""
    if visible:
        return dict(values)
    return {k: free_text(v) if k in FREE_TEXT else v for k, v in values.items()}


def document_context(context: dict[str, Any]) -> dict[str, Any]:
    """A document's rendering context with the rule applied: rendered from this, a masked copy
    cannot show what it was never given (whatever a template prints)."""
    out = dict(context)
    out["child"] = SimpleNamespace(**child(context["child"], visible=False))
    out["guardians"] = [SimpleNamespace(**guardian(g, visible=False)) for g in context.get("guardians") or []]
    report = context.get("report")
    if report is not None:
        out["report"] = SimpleNamespace(
            **{
                **{
                    k: getattr(report, k)
                    for k in ("channel", "discovered_at", "reported_at", "late", "late_by_minutes", "situations")
                },
                "description": free_text(report.description),
            }
        )
    for key, value in context.items():
        if key in FREE_TEXT:
            out[key] = free_text(value)
        elif (
            key not in ("child", "guardians", "report", "reporter", "case")
            and hasattr(value, "model_copy")
            and not hasattr(type(value), "__table__")
        ):  # an outcome (not a table row): hide its free text
            out[key] = value.model_copy(
                update={f: free_text(getattr(value, f)) for f in type(value).model_fields if f in FREE_TEXT}
            )
    return out
