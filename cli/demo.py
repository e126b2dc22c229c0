"""`shouhu demo`: one case through all four steps, narrated in Chinese, the clock moving.

Everything goes through the same service calls as the CLI; the clock is moved in-process
so three months of work take a minute. The child is fictional and never named on screen.

`shouhu demo` writes into a database of its own (`$SHOUHU_HOME/demo.db`, or `--database URL`), never
into the one `shouhu serve` and the CLI use: its case (closed, months ahead of today) and its messages
would otherwise top the real inbox and case lists. `run_demo` itself uses whatever database is current
(the tests give it theirs).
"""

from __future__ import annotations

import os
import random
from datetime import date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from services import accounts, approvals, cases, reports, setup, tasks
from services import documents as documents_service
from shouhu import citation, clock, config, idnumber, policy
from shouhu.vocab import EVENT_NAMES_ZH, STAGE_NAMES_ZH
from shouhu.wording import task_title

console = Console(highlight=False, width=150)
REGION = {"yantai": "370611", "sixian": "341324", "yunyang": "500235", "wuhai": "150302", "mentougou": "110109"}
STEPS = {"emergency": "② 应急处置", "assessment": "③ 评估帮扶", "intervention": "④ 监护干预"}


def _user(jurisdiction: str, role: str, unit: str | None = None) -> str:
    found = [u for u in accounts.list_users(jurisdiction) if u["role"] == role and (unit is None or u["unit"] == unit)]
    assert found, f"no demo user with role {role} in {jurisdiction}"
    return found[0]["username"]


def _say(title: str, text: str) -> None:
    console.print(f"\n[bold cyan]{title}[/]  [dim]{clock.now():%Y-%m-%d %H:%M}[/]")
    console.print(f"  {text}")


def _open(case: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open"]


def _complete(task: dict[str, Any], outcome: dict[str, Any], user: str) -> dict[str, Any]:
    return tasks.complete_task(task["task_id"], outcome, user)


def _waiting(case: dict[str, Any], jurisdiction: str) -> list[dict[str, Any]]:
    """The case's pending approvals, as the civil affairs unit that decides them lists them."""
    civil = _user(jurisdiction, "civil_affairs")
    return [a for a in approvals.list_approvals(civil) if a["case_id"] == case["case_id"]]


def _show_tasks(p: policy.Pack, case: dict[str, Any]) -> None:
    for t in sorted((t for t in case["tasks"] if t["status"] == "open"), key=lambda t: t["due_at"]):
        console.print(
            f"  [yellow]待办[/] {task_title(p, t['kind'], t['subject'])} → {p.unit(t['owner_unit']).name}，时限 {t['due_at'][:16].replace('T', ' ')}"
        )


def demo_database(given: str | None = None) -> str:
    """The demo's database: the one given, else `demo.db` in SHOUHU_HOME (SHOUHU_DATABASE_URL is not
    used: that is the database people work in)."""
    if given:
        return given
    config.home().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{config.home() / 'demo.db'}"


def main(jurisdiction: str, database: str | None = None) -> dict[str, Any]:
    """`shouhu demo`: the demo in its own database (this process only: the variable is set here)."""
    os.environ["SHOUHU_DATABASE_URL"] = demo_database(database)
    from shouhu import db

    shown = db.engine().url.render_as_string(hide_password=True)
    console.print(f"[dim]演示数据写入单独的数据库 {shown}，不进入 shouhu serve 使用的数据库。[/]")
    return run_demo(jurisdiction)


def run_demo(jurisdiction: str) -> dict[str, Any]:
    """The demo moves the clock; whoever called it gets their clock back as it was."""
    with clock.held_at(clock.now()):
        return _run_demo(jurisdiction)


def _run_demo(jurisdiction: str) -> dict[str, Any]:
    p = policy.pack(jurisdiction)
    start = clock.now()
    setup.init(demo=True)
    township = next(u for u in p.unit_list if u.type == "township")
    village = next(u for u in p.unit_list if u.type == "village" and u.parent == township.code)
    born = date(start.year - 9, 3, 2)
    console.print(f"[bold]守护 Shouhu 演示：{p.name}[/]  一名儿童从强制报告到结案的全过程（四步工作机制）")
    console.print(
        f"[dim]规则来源：{p.document.number if p.document else p.name}及国家有关规定；所有时限由政策包计算，时钟在演示中快进。[/]"
    )

    situations = ["living_alone", "guardian_neglect"] + (
        ["parent_detained"] if "parent_detained" in p.required_measures.value else []
    )
    report = {
        "jurisdiction": jurisdiction,
        "channel": "电话报警（学校强制报告）",
        "discovered_at": (start - timedelta(hours=3)).isoformat(),
        "reporter": {
            "name": "班主任",
            "phone": "13900000000",
            "unit": f"{township.name}中心小学",
            "unit_type": "school",
        },
        "child": {
            "name": "演示儿童",
            "id_number": idnumber.make(REGION[jurisdiction], born, random.randint(0, 999)),
            "birth_date": born.isoformat(),
            "gender": "female",
            "township": township.code,
            "village": village.code,
            "left_behind": True,
        },
        "guardians": [{"name": "演示监护人", "relation": "father", "status": "working_away"}],
        "situations": situations,
        "description": "学生连续三天未到校，家访发现独自在家，无人照料。",
    }
    intake = _user(jurisdiction, "police_intake")
    _say("① 强制报告", f"学校发现一名 9 岁留守儿童独自居住、无人照料，第一时间向公安机关报告；接警员 {intake} 登记。")
    opened = reports.submit_report(report, intake)
    case = cases.show_case(opened["case_id"], intake, record_read=False)
    console.print(
        f"  案件 [bold]{case['case_no']}[/] 已受理，进入 {STAGE_NAMES_ZH[case['stage']]}；已通知派出所与县公安局。"
    )
    _show_tasks(p, case)

    clock.advance(minutes=20)
    police = _user(jurisdiction, "police")
    arrival = _open(case, "police_arrival")[0]
    _say(
        STEPS["emergency"],
        f"民警 {police} 立即出警，20 分钟后到场（出警到场时限 {arrival['due_at'][11:16]}），点“已到场”。",
    )
    case = tasks.acknowledge_task(arrival["task_id"], police)

    clock.advance(minutes=30)
    measures = sorted({"admonish_guardian", "entrusted_care"} | set(p.least_measures(situations)))
    _say(
        STEPS["emergency"],
        f"民警 {police} 出警调查：对监护人训诫教育、落实委托照护{'、办理书面交接' if 'written_handover' in measures else ''}。",
    )
    case = _complete(
        _open(case, "emergency_response")[0], {"unfounded": False, "measures": measures, "notes": "已出警"}, police
    )
    console.print(f"  公安机关通报{p.word('township')}，案件进入 {STAGE_NAMES_ZH[case['stage']]}。")
    _show_tasks(p, case)

    clock.advance(days=1)
    worker = _user(jurisdiction, "township_caseworker", township.code)
    _say(
        STEPS["assessment"],
        f"{p.word('township')}儿童督导员 {worker} 会同民政、公安调查评估：风险高，监护人拒不履责，需要监护干预。",
    )
    case = _complete(
        _open(case, "assessment")[0],
        {
            "safety": "at_risk",
            "guardianship": "harmful",
            "health": "营养不良，情绪低落",
            "risk_level": "high",
            "services": ["guardianship_guidance", "psychological_counseling"],
            "intervention_needed": True,
            "plan": "心理疏导、监护指导，每月回访",
            "notes": "",
        },
        worker,
    )
    console.print(
        f"  帮扶方案已制定：服务转介 2 项，回访 {p.follow_up.by_risk['high'].count} 次；案件进入 {STAGE_NAMES_ZH[case['stage']]}。"
    )
    _show_tasks(p, case)

    assessed_at = clock.now()
    civil = _user(
        jurisdiction,
        "civil_affairs",
        next(t["owner_unit"] for t in case["tasks"] if t["kind"] == "temporary_guardianship"),
    )
    clock.advance(hours=3)
    _say(STEPS["intervention"], f"公安机关对监护人批评教育、训诫，监护人仍不改正；{civil} 作出临时监护决定。")
    case = _complete(
        _open(case, "guardian_measures")[0],
        {"measures": ["criticism_education", "admonition"], "guardian_changed": False},
        police,
    )
    case = _complete(_open(case, "temporary_guardianship")[0], {"decided": True, "institution": "救助保护机构"}, civil)

    clock.set_now(assessed_at + timedelta(days=5))
    _say(STEPS["assessment"], "帮扶方案中的监护指导、心理疏导服务按期完成。")
    for task in _open(case, "service"):
        case = _complete(
            task, {"delivered": True, "notes": "服务已完成"}, _user(jurisdiction, task["role"], task["owner_unit"])
        )

    clock.set_now(assessed_at + timedelta(days=7))
    petitioner = _user(jurisdiction, "civil_affairs", _open(case, "court_petition")[0]["owner_unit"])
    ground = p.petition_grounds.value["unattended_danger_unchanged"].label
    _say(
        STEPS["intervention"],
        f"民政部门向人民法院申请撤销监护人资格，事由：{ground}（依据 {citation.readable(p.petition_grounds.source, p)}）。",
    )
    case = _complete(
        _open(case, "court_petition")[0],
        {"filed": True, "ground": "unattended_danger_unchanged", "petitioner": "civil_affairs"},
        petitioner,
    )

    def visit(task: dict[str, Any]) -> dict[str, Any]:
        clock.set_now(datetime.fromisoformat(task["due_at"]) - timedelta(days=1))
        director = _user(jurisdiction, task["role"], task["owner_unit"])
        _say(
            STEPS["assessment"], f"{p.word('village')}儿童主任 {director} 按期回访（{task['subject']}）：儿童生活稳定。"
        )
        return _complete(task, {"child_seen": True, "concerns": False}, director)

    visits = sorted(_open(case, "follow_up_visit"), key=lambda t: t["due_at"])
    case = visit(visits[0])
    clock.set_now(assessed_at + timedelta(days=32))
    _say(STEPS["intervention"], "法院在一个月内裁定撤销监护人资格，另行指定祖父母为监护人；儿童由亲属抚养。")
    case = _complete(
        _open(case, "court_ruling")[0],
        {"revoked": True, "ruled_on": clock.now().date().isoformat(), "new_guardian": "祖父母"},
        petitioner,
    )
    case = _complete(_open(case, "placement")[0], {"placement": "kinship_care"}, petitioner)
    for task in visits[1:]:
        case = visit(task)

    clock.advance(days=2)
    review = _open(case, "final_review")[0]
    _say("结案", f"服务与回访全部完成，{p.word('township')}结案评估：已妥善安置。")
    case = _complete(
        review,
        {"exit_reason": "placed", "notes": "亲属抚养，回访稳定"},
        _user(jurisdiction, "township_caseworker", review["owner_unit"]),
    )
    for waiting in _waiting(case, jurisdiction):
        decider = _user(jurisdiction, "civil_affairs", waiting["unit"])
        _say("结案", f"{p.unit(waiting['unit']).name}审批结案（第二人复核，审批人 {decider}）：同意。")
        clock.advance(hours=4)
        case = approvals.decide_approval(
            waiting["approval_id"], {"approve": True, "reason": "材料齐全，同意结案"}, decider
        )
    console.print(f"  案件状态：{STAGE_NAMES_ZH[case['stage']]}；已通知派出所向报告人反馈处理结果。")

    documents = documents_service.case_documents(case["case_id"], intake, record_read=False)
    console.print(
        "  案卷文书（哈希记入时间线，`shouhu document show` 可打印）：" + "、".join(d["title"] for d in documents)
    )

    events = cases.case_timeline(case["case_id"], intake)
    table = Table(title=f"案件 {case['case_no']} 时间线（哈希链）", show_lines=False)
    for col_name in ("#", "时间", "阶段", "事件", "经办", "摘要", "哈希"):
        table.add_column(col_name, overflow="fold")
    for e in events:
        table.add_row(
            str(e["seq"]),
            e["at"][5:16].replace("T", " "),
            STAGE_NAMES_ZH.get(e["stage"], e["stage"]),
            EVENT_NAMES_ZH.get(e["kind"], e["kind"]),
            e["actor"],
            e["summary"],
            e["hash"][:10],
        )
    console.print(table)
    verdict = cases.verify_case(case["case_id"], intake)
    outcome = "通过" if verdict["ok"] else f"失败于第 {verdict['broken_at']} 条"
    console.print(f"[bold {'green' if verdict['ok'] else 'red'}]时间线校验（case verify）：{outcome}[/]")
    return {"ok": verdict["ok"] and case["stage"] == "closed", "case_id": case["case_id"], "case_no": case["case_no"]}
