"""The report form (登记强制报告): its fields, closed lists where the vocabulary is closed, the
village list grouped by township, and every problem of a submitted form at once, each at its
field — 必填 for what is missing. The service checks again, one problem at a time (API, CLI)."""

from __future__ import annotations

import typing
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from services.accounts import User
from shouhu import policy, units
from shouhu.clock import CHINA_TZ
from shouhu.errors import InvalidInput
from shouhu.inputs import ReportIn, invalid_from, report_problems
from shouhu.vocab import (
    FORM_GUARDIAN_STATUSES,
    FORM_RELATIONS,
    REPORT_CHANNELS,
    ReporterUnitType,
    Situation,
    named,
)
from web import messages
from web.forms import FormField
from web.messages import ERROR_ZH

NOT_A_CHOICE = "请从列表中选择"
FORM_ERROR = "_form"  # a problem of no field on the page (the hidden key): said in the summary only
LEFT_BEHIND = "留守儿童（父母双方外出务工，或一方外出务工、另一方无监护能力）"
# Lists the page closes although the API takes free text (shouhu.vocab says why).
PAGE_CHOICES = {
    "channel": REPORT_CHANNELS,
    "guardian.relation": FORM_RELATIONS,
    "guardian.status": FORM_GUARDIAN_STATUSES,
}
CHILD_KEYS = ("name", "id_number", "birth_date", "gender", "township", "village", "address")


def report_fields(user: User) -> dict[str, list[FormField]]:
    p = policy.pack(user.jurisdiction)
    townships = [u for u in p.unit_list if u.type == "township"]
    villages = [
        (t.code, t.name, [(u.code, u.name) for u in p.unit_list if u.type == "village" and u.parent == t.code])
        for t in townships
    ]
    F = FormField  # noqa: N806 - a class, aliased short for the field lists
    return {
        "report": [
            F("channel", "报告方式", "select", True, [(c, c) for c in REPORT_CHANNELS]),
            F("discovered_at", "发现时间", "datetime", False),
            F("situations", "情形", "checkboxes", True, [(s, named(s)) for s in typing.get_args(Situation)]),
            F("description", "情况描述", "textarea", True),
        ],
        "reporter": [
            F("reporter.name", "姓名", "text", True),
            F("reporter.phone", "联系电话", "text", True),
            F("reporter.unit", "单位", "text", True),
            F(
                "reporter.unit_type",
                "单位类别",
                "select",
                True,
                [(t, named(t)) for t in typing.get_args(ReporterUnitType)],
            ),
        ],
        "child": [
            F("child.name", "姓名", "text", True),
            F("child.id_number", "公民身份号码", "text", False),
            F("child.birth_date", "出生日期", "date", True),
            F("child.gender", "性别", "select", True, [("female", "女"), ("male", "男"), ("unknown", "不详")]),
            F("child.township", "乡镇（街道）", "select", True, [(t.code, t.name) for t in townships]),
            F(
                "child.village",
                "村（居）",
                "select",
                False,
                groups=[g for g in villages if g[2]],
                depends_on="child.township",
            ),
            F("child.address", "住址", "text", False),
            F("child.left_behind", LEFT_BEHIND, "check", False),
        ],
        "guardian": [
            F("guardian.name", "监护人姓名", "text", False),
            F("guardian.relation", "与儿童的关系", "select", False, [(r, named(r)) for r in FORM_RELATIONS]),
            F("guardian.status", "监护人现状", "select", False, [(s, named(s)) for s in FORM_GUARDIAN_STATUSES]),
        ],
    }


SECTIONS = {"reporter": "报告人", "child": "儿童"}  # 姓名 is asked of both: the summary says whose


def labels_of(groups: dict[str, list[FormField]]) -> dict[str, str]:
    """Each field's label as the error summary says it, by its name, in the order of the form."""
    return {f.name: SECTIONS.get(group, "") + f.label for group, fields in groups.items() for f in fields}


def shown_back(form: Any) -> dict[str, Any]:
    """What was typed, to show the form again with it (the template escapes it)."""
    return {k: (form.getlist(k) if k == "situations" else form.get(k)) for k in form}


def form_field(loc: typing.Sequence[Any] | str | None) -> str:
    """A problem's field as the form names it: guardians.0.relation → guardian.relation."""
    parts = [str(p) for p in (loc.split(".") if isinstance(loc, str) else (loc or ()))]
    if not parts:
        return FORM_ERROR
    if parts[0] == "guardians":
        return "guardian." + (parts[2] if len(parts) > 2 else "name")
    if parts[0] in ("child", "reporter"):
        return ".".join(parts[:2])
    if parts[0] in ("channel", "discovered_at", "situations", "description"):
        return parts[0]
    return FORM_ERROR


def _message(err: typing.Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "literal_error":
        return NOT_A_CHOICE
    if kind == "too_short" and ctx.get("min_length") == 1:
        return ERROR_ZH["missing_field"]  # no situation ticked
    if kind in ("string_too_short", "too_short") and ctx.get("min_length", 1) > 1:
        return f"至少 {ctx['min_length']} 个字符"
    if kind.startswith("date_"):
        return ERROR_ZH["bad_date"]
    if kind.startswith("datetime_"):
        return ERROR_ZH["bad_datetime"]
    return messages.zh(invalid_from(err))


def read_report(user: User, form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The report the form holds (the service's JSON shape; empty fields left out, so they read as
    missing) and every problem found, by form field: shape, the page's lists, the rules beyond
    shape for the parts that could be read, and the village of the township chosen."""
    errors: dict[str, str] = {}

    def text(name: str) -> str | None:
        value = str(form.get(name) or "").strip()
        return value or None

    data: dict[str, Any] = {"jurisdiction": user.jurisdiction, "situations": list(form.getlist("situations"))}
    data |= {k: v for k in ("channel", "description", "idempotency_key") if (v := text(k)) is not None}
    discovered: datetime | None = None
    if raw := text("discovered_at"):
        try:
            discovered = datetime.fromisoformat(raw)
            discovered = discovered if discovered.tzinfo else discovered.replace(tzinfo=CHINA_TZ)
            data["discovered_at"] = discovered.isoformat()
        except ValueError:
            errors["discovered_at"] = ERROR_ZH["bad_datetime"]
    data["reporter"] = {
        k: v for k in ("name", "phone", "unit", "unit_type") if (v := text(f"reporter.{k}")) is not None
    }
    child: dict[str, Any] = {k: v for k in CHILD_KEYS if (v := text(f"child.{k}")) is not None}
    child["left_behind"] = form.get("child.left_behind") == "true"
    data["child"] = child
    guardian = {k: v for k in ("name", "relation", "status") if (v := text(f"guardian.{k}")) is not None}
    if guardian:  # a guardian half described is asked for the rest
        data["guardians"] = [guardian]
    for name, allowed in PAGE_CHOICES.items():
        if (value := text(name)) is not None and value not in allowed:
            errors[name] = NOT_A_CHOICE

    try:
        ReportIn.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            errors.setdefault(form_field(err["loc"]), _message(err))

    born = _day(child.get("birth_date")) if "child.birth_date" not in errors else None
    id_number = child.get("id_number") if "child.id_number" not in errors else None
    for problem in report_problems(born, id_number, discovered if "discovered_at" not in errors else None):
        errors.setdefault(form_field(problem.field), messages.zh(problem))

    p = policy.pack(user.jurisdiction)
    if (township := child.get("township")) and "child.township" not in errors:
        try:
            found = units.find_township(p, township)
            if (village := child.get("village")) and "child.village" not in errors:
                units.find_village(p, found, village)
        except InvalidInput as exc:
            errors.setdefault(form_field(exc.field), messages.zh(exc))
    return data, errors


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def in_form_order(groups: dict[str, list[FormField]], errors: dict[str, str]) -> dict[str, str]:
    """The problems in the order of the form (what has no field first): the first is focused."""
    order = [FORM_ERROR, *labels_of(groups)]
    return {name: errors[name] for name in sorted(errors, key=lambda n: order.index(n) if n in order else 0)}
