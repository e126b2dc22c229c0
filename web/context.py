"""The case's context as people read it (services.cases.case_summary, already within the access and
masking rules): sections of labelled lines, in Chinese only, for a task's page (what its role needs
open first) and the case page's summary. Every value is named here; templates only print."""

from __future__ import annotations

from typing import Any

from shouhu import policy
from shouhu.errors import ShouhuError
from shouhu.inputs import OUTCOMES
from shouhu.vocab import guardian_status_name, named, relation_name
from shouhu.wording import format_time, task_title
from web import forms

# Which sections a task's page opens (the rest are folded, one tap away): what its role works from.
SECTIONS = ("child", "guardians", "report", "emergency", "assessment", "later")
OPEN_FOR: dict[str, set[str]] = {
    "police_arrival": {"child", "guardians", "report"},
    "emergency_response": {"child", "guardians", "report"},
    "temporary_care": {"child", "guardians", "report", "emergency"},
    "warning_letter_visit": {"child", "guardians", "emergency"},
    "assessment": {"child", "guardians", "report", "emergency"},
    "service": {"child", "guardians", "assessment"},
    "follow_up_visit": {"child", "guardians", "assessment", "later"},
    "holiday_patrol": {"child", "guardians", "assessment", "later"},
    "guardian_measures": {"child", "guardians", "report", "emergency", "assessment"},
    "temporary_guardianship": {"child", "guardians", "emergency", "assessment", "later"},
    "court_petition": {"child", "guardians", "emergency", "assessment", "later"},
    "court_ruling": {"child", "guardians", "later"},
    "placement": {"child", "guardians", "assessment", "later"},
    "final_review": set(SECTIONS),
}
EMERGENCY_KINDS = ("police_arrival", "emergency_response", "temporary_care", "warning_letter_visit")
GENDER = {"male": "男", "female": "女", "unknown": "不详"}


def choices(p: policy.Pack) -> dict[str, list[tuple[str, str]]]:
    """The options of the fields a pack decides (exit reasons, petition grounds, petitioners)."""
    return {
        "exit_reason": [(k, v.label) for k, v in p.exit_reasons.value.items()],
        "ground": [(k, v.label) for k, v in p.petition_grounds.value.items()],
        "petitioner": [(k, named(k)) for k in p.petitioners.value],
    }


def _unit(p: policy.Pack, code: str | None) -> str:
    if not code:
        return "—"
    try:
        return p.unit(code).name
    except ShouhuError:
        return "其他"


def _title(p: policy.Pack, kind: str, subject: str | None) -> str:
    try:
        return task_title(p, kind, subject)
    except (KeyError, ShouhuError):
        return "任务"


def _value(f: forms.FormField, value: Any) -> str | None:
    """One recorded value as people read it; None when nothing was recorded."""
    if value is None or value == "" or value == []:
        return None
    options = dict(f.options)
    if f.kind == "yesno" or isinstance(value, bool):
        return "是" if value else "否"
    if f.kind == "checkboxes" or isinstance(value, list):
        return "、".join(options.get(str(v)) or named(v) for v in value)
    if f.kind == "select":
        return options.get(str(value)) or named(value)
    if f.kind == "datetime":
        return format_time(str(value))
    return str(value)


def outcome_lines(p: policy.Pack, kind: str, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """A task's recorded outcome, field by field in its form's order and words."""
    model = OUTCOMES.get(kind)
    if model is None:
        return []
    lines = []
    for f in forms.fields_of(model, choices(p)):
        if f.name not in outcome:
            continue
        shown = _value(f, outcome[f.name])
        if shown is not None:
            lines.append({"label": f.label, "text": shown, "long": f.kind == "textarea" or f.name == "health"})
    return lines


def _step(p: policy.Pack, step: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": _title(p, step["kind"], step["subject"]),
        "when": format_time(step["completed_at"]),
        "by": step["completed_by"] or "—",
        "lines": outcome_lines(p, step["kind"], step["outcome"]),
    }


def sections(summary: dict[str, Any], task_kind: str | None = None, task_id: str | None = None) -> list[dict[str, Any]]:
    """The context's sections: {key, title, open, lines, steps}; a task's page opens what its role
    needs (OPEN_FOR), the case page (task_kind None) opens every section."""
    p = policy.pack(summary["jurisdiction"])
    wanted = OPEN_FOR.get(task_kind, set(SECTIONS)) if task_kind else set(SECTIONS)
    child = summary["child"]

    def line(label: str, text: Any, long: bool = False) -> dict[str, Any]:
        return {"label": label, "text": text if text not in (None, "") else "—", "long": long}

    born = child["birth_date"]
    child_lines = [
        line("姓名", child["name"]),
        line("性别", GENDER.get(child["gender"], "不详")),
        line("年龄", f"{child['age']} 岁（{born} 出生）" if child["age"] is not None else f"{born or '—'} 年出生"),
        line(
            "所在地",
            f"{_unit(p, summary['township'])} {_unit(p, summary['village']) if summary['village'] else ''}".strip(),
        ),
    ]
    if not summary["masked"]:
        child_lines.append(line("住址", child["address"]))
        child_lines.append(line("身份证号", child["id_number"]))
    if child["left_behind"]:
        child_lines.append(line("留守儿童", "是"))

    guardian_lines = [
        line(
            relation_name(g["relation"]),
            "，".join(
                x
                for x in (g["name"], guardian_status_name(g["status"]), f"电话 {g['phone']}" if g["phone"] else "")
                if x
            ),
        )
        for g in summary["guardians"]
    ] or [line("监护人", "报告未提供")]

    report_lines = [line("情形", "、".join(named(x) for x in summary["situations"]) or "—")]
    many = len(summary["reports"]) > 1
    for i, r in enumerate(summary["reports"], 1):
        tag = f"（第 {i} 份报告）" if many else ""
        report_lines += [
            line(f"情况描述{tag}", r["description"], long=True),
            line(f"发现时间{tag}", format_time(r["discovered_at"])),
            line(f"接报时间{tag}", format_time(r["reported_at"]) + ("（迟报）" if r["late"] else "")),
            line(f"报告方式{tag}", r["channel"]),
        ]
    for r in summary["reporters"] or []:
        report_lines.append(line("报告人（保密）", f"{r['name']}，{r['unit']}，电话 {r['phone']}"))

    steps = [st for st in summary["steps"] if st["task_id"] != task_id]
    emergency = [_step(p, st) for st in steps if st["kind"] in EMERGENCY_KINDS]
    assessment = [_step(p, st) for st in steps if st["kind"] == "assessment"]
    later = [_step(p, st) for st in steps if st["kind"] not in EMERGENCY_KINDS and st["kind"] != "assessment"]
    risk = [line("风险等级", named(summary["risk_level"]) if summary["risk_level"] else "未评估")]

    out: list[dict[str, Any]] = [
        {"key": "child", "title": "儿童", "lines": child_lines, "steps": []},
        {"key": "guardians", "title": "监护人", "lines": guardian_lines, "steps": []},
        {"key": "report", "title": "报告的情形", "lines": report_lines, "steps": []},
        {"key": "emergency", "title": "应急处置（公安）", "lines": [], "steps": emergency, "empty": "尚未处置"},
        {"key": "assessment", "title": "评估结论", "lines": risk, "steps": assessment, "empty": "尚未评估"},
        {"key": "later", "title": "后续办理", "lines": [], "steps": later, "empty": "暂无"},
    ]
    for s in out:
        s["open"] = s["key"] in wanted
    return out
