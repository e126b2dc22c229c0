"""Task forms from the typed outcome models (shouhu.inputs.OUTCOMES): one model per step gives
the API's JSON shape, the CLI's, and the page's fields — one way to say what a step records."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from shouhu.clock import CHINA_TZ
from shouhu.vocab import named

LABELS: dict[str, str] = {
    "unfounded": "报告不属实",
    "unfounded_reason": "不属实的理由",
    "measures": "已采取的措施",
    "notes": "备注",
    "placed_at": "照料地点",
    "safety": "安全处境",
    "guardianship": "监护情况",
    "health": "身心健康",
    "risk_level": "风险等级",
    "services": "转介服务",
    "intervention_needed": "需要监护干预",
    "plan": "帮扶方案",
    "guardian_refused_since": "监护人拒不履责起始日",
    "delivered": "服务已提供",
    "visited_at": "走访时间",
    "child_seen": "见到儿童本人",
    "concerns": "发现新的问题",
    "exit_reason": "退出原因",
    "guardian_changed": "监护人已改正",
    "decided": "作出临时监护决定",
    "institution": "临时监护机构",
    "filed": "已提出申请",
    "ground": "申请事由",
    "petitioner": "申请人",
    "refused_since": "拒不履责起始日",
    "serious_harm": "造成严重损害",
    "not_filed_reason": "不申请的理由",
    "revoked": "撤销监护资格",
    "ruled_on": "裁定日期",
    "new_guardian": "新监护人",
    "placement": "安置方式",
    "visited_on": "走访日期",
    "schooling": "就学情况",
    "family_changed": "家庭情况有变化",
    "studying_until": "在读预计毕业日期（仍在校的）",
}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text | textarea | select | checkboxes | yesno | date | datetime | check (one box)
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    # a select's options in groups (<optgroup>): (group code, group label, options); a page's
    # script may show only the group another field chose (the village list of a township)
    groups: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    depends_on: str = ""


def _literal_values(tp: Any) -> list[str] | None:
    if typing.get_origin(tp) is Literal:
        return [str(v) for v in typing.get_args(tp)]
    return None


def fields_of(model: type[BaseModel], choices: dict[str, list[tuple[str, str]]] | None = None) -> list[FormField]:
    """A form field per model field; `choices` supplies options a pack decides (exit reasons, grounds)."""
    out = []
    for name, info in model.model_fields.items():
        tp, required = info.annotation, info.is_required()
        args = (
            [a for a in typing.get_args(tp) if a is not type(None)]
            if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union
            else [tp]
        )
        base = args[0] if args else tp
        label = LABELS.get(name) or named(name)
        if choices and name in choices:
            out.append(FormField(name, label, "select", required, choices[name]))
        elif (values := _literal_values(base)) is not None:
            out.append(FormField(name, label, "select", required, [(v, named(v)) for v in values]))
        elif typing.get_origin(base) is list and (values := _literal_values(typing.get_args(base)[0])) is not None:
            out.append(FormField(name, label, "checkboxes", required, [(v, named(v)) for v in values]))
        elif base is bool:
            out.append(FormField(name, label, "yesno", required))
        elif base is date:
            out.append(FormField(name, label, "date", required))
        elif base is datetime:
            out.append(FormField(name, label, "datetime", required))
        else:
            out.append(
                FormField(name, label, "textarea" if name in ("notes", "plan", "description") else "text", required)
            )
    return out


MAX_FIELDS = 300  # the intake form has ~25; a page never needs more


async def read_form(request: Any) -> Any:
    """A submitted form, bounded (no files, at most MAX_FIELDS fields; the body size is bounded
    by web.middleware.Guard). What the fields hold is checked where they are parsed, so an error
    names the field on the form it came from."""
    return await request.form(max_files=0, max_fields=MAX_FIELDS)


def parse_form(fields: list[FormField], form: Any) -> dict[str, Any]:
    """Form data → the outcome's JSON shape; empty optional fields are left out, so the model decides."""
    data: dict[str, Any] = {}
    for f in fields:
        if f.kind == "checkboxes":
            data[f.name] = list(form.getlist(f.name))
            continue
        value = (form.get(f.name) or "").strip()
        if value == "":
            continue
        if f.kind == "yesno":
            data[f.name] = value == "true"
        elif f.kind == "datetime":
            data[f.name] = (
                datetime.fromisoformat(value).replace(tzinfo=CHINA_TZ).isoformat() if "+" not in value else value
            )
        else:
            data[f.name] = value
    return data
