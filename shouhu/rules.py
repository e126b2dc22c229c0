"""A county's rules in force, one per line: what `shouhu policy show` prints.

Each rule is the merged pack's value at one key, with the source that governs it (the entry's
own source where it has one, else its block's). The JSON keeps codes; the table says every
rule, value and source in Chinese, citing the county's document by its number.
"""

from __future__ import annotations

from typing import Any, cast

from shouhu import citation, units
from shouhu.policy import Pack
from shouhu.vocab import DOCUMENT_NAMES_ZH, LABELS_ZH, ROLE_NAMES_ZH, STAGE_NAMES_ZH, Service, TaskKind

SKIP = {"pack", "name", "source", "extends", "case_prefix", "document", "demo_users"}
SELECTOR_ZH = {
    "station": "派出所",
    "police_bureau": "县级公安机关",
    "township": "乡镇（街道）",
    "village": "村（居）委会",
    "civil_affairs": "民政部门",
    "rescue_station": "救助保护机构",
    "coordination_office": "妇儿工委办（联席会议办公室）",
    "education_bureau": "教育部门",
    "health_bureau": "卫生健康部门",
    "court": "人民法院",
    "reporter_supervisor": "报告人的上级机关",
    "welfare_institution": "儿童福利机构",
    "police_station": "派出所",
}
ROLE_ZH = ROLE_NAMES_ZH
BLOCK_ZH = {
    "wording": "用语",
    "urgent_situations": "紧急案件情形",
    "late_report": "迟报时限",
    "tasks": "任务",
    "services": "服务转介",
    "follow_up": "回访",
    "notify": "通知",
    "required_measures": "应急处置必须采取的措施",
    "measure_tasks": "措施派发的任务",
    "measure_notify": "措施告知的单位",
    "temporary_guardianship_triggers": "启动临时监护的情形",
    "documents": "文书依据",
    "reporter_supervisors": "报告人的上级机关",
    "exit_reasons": "退出情形",
    "child_categories": "台账儿童类别",
    "report_category": "报告立案儿童列入台账的类别",
    "patrol_categories": "重点时段巡查的台账类别",
    "petition_grounds": "撤销监护资格申请事由",
    "petitioners": "申请人",
    "verification_visits": "核实走访周期",
    "patrol_windows": "重点时段巡查",
    "holidays": "本地假日",
    "reminders": "到期提醒",
    "escalation": "逾期升级",
    "delivery": "消息发送",
    "accounts": "账户安全",
    "input_limits": "输入限制",
    "orchestrator": "编排恢复",
    "approvals": "审批",
    "units": "单位",
    "handovers": "更正与移交",
    "retention": "身份信息保存期限",
    "duplicates": "疑似重复档案",
}
TRIGGER_ZH = {"assessment_breach": "评估发现监护缺失、侵害或儿童处于危险", "education_unchanged": "经公安机关教育不改"}
DOCUMENT_ZH = DOCUMENT_NAMES_ZH


def rules(p: Pack) -> list[dict[str, Any]]:
    """Every rule of the merged pack: [{"rule", "value", "source"}], codes as they are in the pack."""
    data = p.model_dump(mode="json")
    out: list[dict[str, Any]] = []
    for key, block in data.items():
        if key in SKIP or block is None:
            continue
        if key == "wording":
            out += [{"rule": f"wording.{k}", "value": v, "source": p.source} for k, v in block.items()]
        elif key in ("tasks", "services"):
            for kind, rule in block.items():
                for part in ("title", "owner", "role"):
                    out.append({"rule": f"{key}.{kind}.{part}", "value": rule[part], "source": rule["source"]})
                for level, duration in rule["due"].items():
                    if duration is not None:
                        out.append(
                            {"rule": f"{key}.{kind}.due.{level}", "value": _plain(duration), "source": rule["source"]}
                        )
        elif key == "follow_up":
            out += [
                {
                    "rule": f"follow_up.by_risk.{risk}",
                    "value": {**r, "every": _plain(r["every"])},
                    "source": block["source"],
                }
                for risk, r in block["by_risk"].items()
            ]
            out.append({"rule": "follow_up.owner", "value": block["owner"], "source": block["source"]})
        elif key == "notify":
            out += [
                {"rule": f"notify.{event}.to", "value": r["to"], "source": r["source"]} for event, r in block.items()
            ]
        elif key == "units":
            out += [
                {
                    "rule": f"units.{u['code']}",
                    "value": {k: v for k, v in u.items() if v not in (None, [])},
                    "source": block["source"],
                }
                for u in block["value"]
            ]
        elif isinstance(block.get("value"), dict) and _entries_sourced(block["value"]):
            for name, entry in block["value"].items():
                if isinstance(entry, list):
                    out += [
                        {
                            "rule": f"{key}.{name}.{i}",
                            "value": {k: v for k, v in e.items() if k != "source"},
                            "source": e["source"],
                        }
                        for i, e in enumerate(entry)
                    ]
                else:
                    value = {k: v for k, v in entry.items() if k != "source"}
                    out.append({"rule": f"{key}.{name}", "value": value or True, "source": entry["source"]})
        elif key == "approvals":  # which decisions wait for whom (each with its source), then the clock and window
            value = block["value"]
            out += [
                {
                    "rule": f"approvals.{kind}",
                    "value": {k: v for k, v in r.items() if k != "source" and v is not None},
                    "source": r["source"],
                }
                for kind, r in value["decisions"].items()
            ]
            out += [
                {"rule": f"approvals.due.{level}", "value": _plain(d), "source": block["source"]}
                for level, d in value["due"].items()
                if d is not None
            ]
            out.append({"rule": "approvals.reopen_months", "value": value["reopen_months"], "source": block["source"]})
        elif key == "escalation":
            out += [
                {
                    "rule": f"escalation.{kind}",
                    "value": [_plain(level["after"]) if level["after"] else "到期时" for level in levels],
                    "source": block["source"],
                }
                for kind, levels in block["value"].items()
            ]
        else:
            out.append(
                {
                    "rule": key,
                    "value": _plain(block["value"]) if isinstance(block["value"], dict) else block["value"],
                    "source": block["source"],
                }
            )
    return out


def _entries_sourced(value: dict[str, Any]) -> bool:
    first = next(iter(value.values()), None)
    return (isinstance(first, dict) and "source" in first) or (
        isinstance(first, list) and bool(first) and isinstance(first[0], dict) and "source" in first[0]
    )


def _plain(value: Any) -> Any:
    """A duration as one figure: {"hours": 1} → "1小时"; other mappings unchanged."""
    if (
        isinstance(value, dict)
        and set(value) <= {"hours", "days", "working_days"}
        and sum(v is not None for v in value.values()) == 1
    ):
        ((unit, n),) = [(k, v) for k, v in value.items() if v is not None]
        return {
            "hours": f"{n:g}小时" if n >= 1 else f"{round(n * 60)}分钟",
            "days": f"{n}日",
            "working_days": f"{n}个工作日",
        }[unit]
    return value


def zh(value: Any, p: Pack | None = None) -> str:
    """A value as people read it: codes to their Chinese names (the pack's titles and labels first)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return _word(value, p)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, list):
        return "、".join(zh(v, p) for v in value) or "无"
    if isinstance(value, dict) and value and all(isinstance(v, dict) and set(v) == {"label"} for v in value.values()):
        return "、".join(v["label"] for v in value.values())  # a vocabulary (儿童类别): its names
    if isinstance(value, dict):
        return "；".join(f"{ZH_KEYS.get(k) or _word(k, p)}：{zh(v, p)}" for k, v in value.items() if k != "code")
    return str(value)


def _word(code: str, p: Pack | None) -> str:
    if p is not None:
        if code in p.tasks:
            return p.tasks[code].title
        if code in p.exit_reasons.value:
            return p.exit_reasons.value[code].label
        if code in p.petition_grounds.value:
            return p.petition_grounds.value[code].label
        if code in p.child_categories.value:
            return p.child_categories.value[code].label
        if any(u.code == code for u in p.unit_list):
            return p.unit(code).name
    return (
        SELECTOR_ZH.get(code)
        or ROLE_ZH.get(code)
        or LABELS_ZH.get(code)
        or STAGE_NAMES_ZH.get(code)
        or TRIGGER_ZH.get(code)
        or CODES_ZH.get(code)
        or code
    )


CODES_ZH = {
    "image/jpeg": "照片（常见格式）",
    "image/png": "图片（无损格式）",
    "image/webp": "网页图片",
    "application/pdf": "便携式文档",
    "quarter": "每季度",
    "month": "每月",
    "default": "一般任务",
    "guardian_unchanged_after_education": "已记录公安机关教育后监护人未改正",
    "refused_since_six_months": "拒不履行监护职责满六个月",
    "serious_harm_recorded": "已记录严重损害身心健康",
    "coordination_office": "妇儿工委办（联席会议办公室）",
    "police_bureau": "公安局",
    "police_station": "派出所",
    "education_bureau": "教育部门",
    "health_bureau": "卫生健康部门",
    "verification_visit": "核实走访",
    "village_committee": "村民委员会",
    "high": "高风险",
    "medium": "中风险",
    "low": "低风险",
}
ZH_KEYS = {
    "one_of": "其一",
    "task": "任务",
    "to": "告知",
    "label": "名称",
    "phase_out_months": "渐退期（月）",
    "until_graduation": "在校至毕业",
    "requires": "条件",
    "every": "间隔",
    "count": "次数",
    "name": "名称",
    "type": "类型",
    "parent": "上级",
    "supervisor": "督办上级",
    "covers": "辖区",
    "start": "开始",
    "end": "结束",
    "hours": "小时",
    "max_attempts": "最多发送次数",
    "first_retry_seconds": "首次重试（秒）",
    "max_retry_seconds": "最长重试间隔（秒）",
    "lease_seconds": "发送租约（秒）",
    "send_timeout_seconds": "发送超时（秒）",
    "digest_hour": "每日汇总时刻",
    "anchor_hour": "时间线锚点时刻",
    "max_failures": "同一账户同一来源失败上限",
    "lock_minutes": "锁定（分钟）",
    "min_password_length": "密码最短长度",
    "session_hours": "会话时长（小时）",
    "max_source_failures": "同一来源失败上限",
    "max_account_failures": "同一账户失败上限",
    "known_source_days": "常用来源（日）",
    "short_text": "短文本（字）",
    "long_text": "长文本（字）",
    "list_items": "列表项数",
    "body_bytes": "请求大小（字节）",
    "upload_bytes": "上传文件上限（字节）",
    "attachment_bytes": "案件附件上限（字节）",
    "attachment_types": "案件附件类型",
    "depth": "嵌套层数",
    "oldest_year": "最早年份",
    "resume_after_seconds": "恢复等待（秒）",
    "resume_batch": "每批恢复数",
    "max_resume_attempts": "最多恢复次数",
    "correct_by": "可更正案件的单位",
    "years": "年数",
    "hour": "每日执行时刻（时）",
    "min_score": "列出的最低相似分",
    "transfer_by": "发起和接收移交的单位",
    "required": "须经审批",
    "decides": "审批单位",
}


def rule_name(p: Pack, key: str) -> str:
    """A rule's key as a Chinese phrase: tasks.police_arrival.due.urgent → 任务「出警到场」时限（紧急）."""
    parts = key.split(".")
    block = BLOCK_ZH.get(parts[0], parts[0])
    if parts[0] in ("tasks", "services"):
        title = (
            p.tasks[cast(TaskKind, parts[1])].title
            if parts[0] == "tasks"
            else p.services[cast(Service, parts[1])].title
        )
        rest = {"title": "名称", "owner": "承办单位", "role": "承办人员", "due": "时限"}[parts[2]]
        if parts[2] == "due":
            rest += "（紧急）" if parts[3] == "urgent" else "（一般）"
        return f"{block}「{title}」{rest}"
    if parts[0] == "notify":
        from shouhu.vocab import EVENT_NAMES_ZH

        return f"{block}「{EVENT_NAMES_ZH.get(parts[1], parts[1])}」"
    if parts[0] == "follow_up":
        return f"{block}「{CODES_ZH.get(parts[-1]) if parts[1] == 'by_risk' else '承办单位'}」"
    if parts[0] == "escalation":
        return f"{block}「{_word(parts[1], p)}」"
    if parts[0] == "approvals":
        from shouhu.vocab import APPROVAL_KINDS_ZH

        if parts[1] == "due":
            return f"{block}时限（{'紧急' if parts[2] == 'urgent' else '一般'}）"
        if parts[1] == "reopen_months":
            return "结案后可重新办理的期限（月）"
        return f"{block}「{APPROVAL_KINDS_ZH[parts[1]]}」"
    if parts[0] == "units":
        return f"{block}「{p.unit(parts[1]).name}」"
    if parts[0] == "documents":
        return f"{block}「{DOCUMENT_ZH.get(parts[1], parts[1])}」"
    if len(parts) > 1:
        name = {"township": "乡镇", "village": "村"}.get(parts[1]) or zh(parts[1], p)
        return f"{block}「{name}」" + (f"第{int(parts[2]) + 1}项" if len(parts) > 2 and parts[2].isdigit() else "")
    return block


def table(p: Pack) -> list[tuple[str, str, str]]:
    """(规则, 值, 依据) rows, all in Chinese."""
    worded = {"township": p.word("township"), "village": p.word("village")}
    return [
        (
            rule_name(p, r["rule"]),
            (worded.get(r["value"]) if isinstance(r["value"], str) else None) or zh(r["value"], p),
            citation.readable(r["source"], p),
        )
        for r in rules(p)
    ]


def _due_text(p: Pack, kind: str) -> str:
    due = p.tasks[cast(TaskKind, kind)].due
    normal = _plain(due.normal.model_dump())
    return f"{normal}（紧急 {_plain(due.urgent.model_dump())}）" if due.urgent else normal


def readme_table(packs: dict[str, Pack]) -> str:
    """The README's table of where the counties differ, generated from the packs (a test compares)."""
    names = list(packs)
    rows: list[tuple[str, list[str]]] = [
        ("document", [p.document.number if p.document else "" for p in packs.values()]),
        ("township wording", [p.word("township") for p in packs.values()]),
        ("police arrival", [_due_text(p, "police_arrival") for p in packs.values()]),
        ("emergency response", [_due_text(p, "emergency_response") for p in packs.values()]),
        (
            "required measures",
            [
                "; ".join(
                    f"{s}: " + " + ".join("/".join(r.one_of) for r in reqs)
                    for s, reqs in sorted(p.required_measures.value.items())
                )
                for p in packs.values()
            ],
        ),
        (
            "measures that open a task",
            ["; ".join(f"{m} → {r.task}" for m, r in sorted(p.measure_tasks.value.items())) for p in packs.values()],
        ),
        (
            "temporary guardianship",
            [
                f"{p.tasks['temporary_guardianship'].owner}; on " + ", ".join(p.temporary_guardianship_triggers.value)
                for p in packs.values()
            ],
        ),
        (
            "follow-up visits (days × count)",
            [
                ", ".join(f"{k} {v.every.days}×{v.count}" for k, v in p.follow_up.by_risk.items())
                for p in packs.values()
            ],
        ),
        (
            "verification / patrols",
            [f"{p.verification_visits.value} / {len(p.patrol_windows.value)} windows" for p in packs.values()],
        ),
        (
            "exit with phase-out",
            [
                ", ".join(
                    f"{k} {r.phase_out_months} m" + (" (school: to graduation)" if r.until_graduation else "")
                    for k, r in p.exit_reasons.value.items()
                    if r.phase_out_months
                )
                or "—"
                for p in packs.values()
            ],
        ),
        (
            "督办 also tells",
            [
                ", ".join(units.supervisor_chain(p, units.resolve(p, "coordination_office", ""))[1:]) or "—"
                for p in packs.values()
            ],
        ),
    ]
    lines = ["| rule | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {name} | " + " | ".join(v.replace("|", "/") for v in values) + " |" for name, values in rows]
    return "\n".join(lines)


def refresh_readme(path: str = "README.md") -> bool:
    """Rewrite the README's county table from the packs (`python -m shouhu.rules`); True if it changed."""
    from pathlib import Path

    from shouhu import policy

    file = Path(path)
    text = file.read_text(encoding="utf-8")
    head, rest = text.split("<!-- county-rules:begin -->\n", 1)
    _, tail = rest.split("\n<!-- county-rules:end -->", 1)
    order = ["yantai", "sixian", "yunyang", "wuhai", "mentougou"]
    packs = policy.all_packs()
    table = readme_table(
        {n: packs[n] for n in order if n in packs} | {n: p for n, p in packs.items() if n not in order}
    )
    new = f"{head}<!-- county-rules:begin -->\n{table}\n<!-- county-rules:end -->{tail}"
    file.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("README.md county table " + ("updated" if refresh_readme() else "already current"))
