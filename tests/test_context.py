"""Pages people can work from (issue 15 §1, §2): every task's page carries the case's context its role
needs (who, where, guardians, situations, what earlier steps found and did) within the access and
masking rules; the case page opens with a summary and filters its timeline."""

from __future__ import annotations

import re
from typing import Any

from conftest import make_report, user_of
from readable import unreadable, visible_text, vocabulary_codes

from services import cases, notes, reports, tasks
from shouhu import policy

ADDRESS = "泗城镇东关村三组十二号"
DESCRIPTION = "孩子独自在家三天，邻居发现"
POLICE_NOTES = "民警已电话训诫母亲，孩子暂由邻居照看"
HEALTH = "身体无明显外伤，情绪低落"
PLAN = "每周由村儿童主任上门一次"


def do(case_id: str, kind: str, outcome: dict[str, Any]) -> dict[str, Any]:
    case = cases.show_case(case_id, "sx-police", record_read=False)
    task = next(t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open")
    return tasks.complete_task(task["task_id"], outcome, user_of("sixian", task["role"], task["owner_unit"]))


def open_task(case_id: str, kind: str) -> dict[str, Any]:
    case = cases.show_case(case_id, "sx-police", record_read=False)
    return next(t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open")


def walk_to_assessment() -> tuple[dict[str, Any], dict[str, Any]]:
    report = make_report(**{"child.address": ADDRESS}, description=DESCRIPTION)
    opened = reports.submit_report(report, "sx-intake")
    measures = sorted({"admonish_guardian"} | set(policy.pack("sixian").least_measures(["guardian_neglect"])))
    do(opened["case_id"], "police_arrival", {})
    do(opened["case_id"], "emergency_response", {"unfounded": False, "measures": measures, "notes": POLICE_NOTES})
    for kind in ("temporary_care", "warning_letter_visit"):  # whatever the measures opened
        if any(
            t["kind"] == kind and t["status"] == "open"
            for t in cases.show_case(opened["case_id"], "sx-police", record_read=False)["tasks"]
        ):
            do(opened["case_id"], kind, {"placed_at": "邻居家"} if kind == "temporary_care" else {"child_seen": True})
    return report, opened


def readable(text: str) -> list[str]:
    return unreadable(visible_text(text), vocabulary_codes())


def test_each_task_page_carries_what_its_role_needs(browser_like) -> None:
    report, opened = walk_to_assessment()
    child = report["child"]["name"]
    police = browser_like("sx-police")
    done_police = next(
        t
        for t in cases.show_case(opened["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "emergency_response"
    )
    page = police.get(f"/tasks/{done_police['task_id']}")  # the police's own task, done: the context stays
    text = visible_text(page.text)
    assert page.status_code == 200 and "该任务已完成" in text
    for shown in (child, ADDRESS, "监护人疏于照料", DESCRIPTION, "13700000000", "母亲", "外出务工", "电话报警"):
        assert shown in text, shown
    assert readable(page.text) == [], readable(page.text)

    caseworker = browser_like("sx-supervisor-sc")
    assessment = open_task(opened["case_id"], "assessment")
    page = caseworker.get(f"/tasks/{assessment['task_id']}")
    text = visible_text(page.text)
    assert page.status_code == 200 and "安全处境" in text  # the form is there, below its context
    for shown in (child, ADDRESS, "训诫教育监护人", POLICE_NOTES, "监护人疏于照料", DESCRIPTION):
        assert shown in text, shown
    assert "13700000000" not in text and "周老师" not in text  # the reporter: police and managers only
    assert readable(page.text) == [], readable(page.text)

    do(
        opened["case_id"],
        "assessment",
        {
            "safety": "at_risk",
            "guardianship": "inadequate",
            "health": HEALTH,
            "risk_level": "medium",
            "services": ["psychological_counseling"],
            "intervention_needed": False,
            "plan": PLAN,
        },
    )
    visit = open_task(opened["case_id"], "follow_up_visit")
    worker = browser_like(user_of("sixian", visit["role"], visit["owner_unit"]))
    page = worker.get(f"/tasks/{visit['task_id']}")
    text = visible_text(page.text)
    assert page.status_code == 200 and "见到儿童本人" in text
    for shown in (child, ADDRESS, "母亲", "存在风险", "监护不到位", HEALTH, PLAN, "心理疏导", "风险等级", "中"):
        assert shown in text, shown
    assert readable(page.text) == [], readable(page.text)

    manager = browser_like("sx-manager")
    masked = manager.get(f"/tasks/{visit['task_id']}")
    text = visible_text(masked.text)
    assert masked.status_code == 200 and "已脱敏" in text and "存在风险" in text and "训诫教育监护人" in text
    for hidden in (child, ADDRESS, DESCRIPTION, POLICE_NOTES, HEALTH, PLAN, "测试监护人", report["child"]["id_number"]):
        assert hidden not in text, hidden
    assert child[:1] + "*" in text  # the name in outline

    outsider = browser_like("sx-director-xz")  # another village's director
    refused = outsider.get(f"/tasks/{visit['task_id']}")
    unknown = outsider.get("/tasks/00000000-0000-4000-8000-000000000000")
    assert refused.status_code == unknown.status_code == 404 and child not in refused.text
    assert visible_text(refused.text) == visible_text(unknown.text)

    events = cases.case_timeline(opened["case_id"], "sx-police", record_read=False, group="reads")
    assert [e["summary"] for e in events].count("查阅案卷：任务及案情") == 4  # each task page read: one recorded read


def test_the_case_page_opens_with_a_summary_and_filters_its_timeline(browser_like) -> None:
    report, opened = walk_to_assessment()
    do(
        opened["case_id"],
        "assessment",
        {
            "safety": "at_risk",
            "guardianship": "inadequate",
            "health": HEALTH,
            "risk_level": "high",
            "services": ["psychological_counseling"],
            "intervention_needed": False,
            "plan": PLAN,
        },
    )
    notes.add_note(opened["case_no"], {"kind": "phone_call", "text": "电话联系母亲，约定周五返乡"}, "sx-supervisor-sc")
    caseworker = browser_like("sx-supervisor-sc")
    page = caseworker.get(f"/cases/{opened['case_no']}")
    summary = visible_text(page.text.split('id="summary"')[1].split("任务与时限")[0])
    for shown in ("监护人疏于照料", DESCRIPTION, "母亲", "测试监护人", "外出务工", "训诫教育监护人", POLICE_NOTES):
        assert shown in summary, shown
    for shown in ("存在风险", "监护不到位", HEALTH, "心理疏导", PLAN, "风险等级", "高"):
        assert shown in summary, shown
    assert readable(page.text) == [], readable(page.text)

    def timeline_rows(kind: str) -> list[str]:
        r = caseworker.get(f"/cases/{opened['case_no']}?kind={kind}")
        assert r.status_code == 200 and readable(r.text) == []
        table = r.text.split('id="timeline"')[1].split("<tbody>")[1]
        return [visible_text(row) for row in re.findall(r"<tr>.*?</tr>", table, re.S)]

    everything = timeline_rows("all")
    only_notes, only_reads, work = timeline_rows("notes"), timeline_rows("reads"), timeline_rows("tasks")
    assert only_notes and all("工作记录" in row for row in only_notes)
    assert only_reads and all("查阅案卷" in row for row in only_reads)
    assert work and not any("查阅案卷" in row or "工作记录：" in row for row in work)
    assert any("派发任务" in row for row in work) and len(everything) > len(work) + len(only_reads)
    bad = caseworker.get(f"/cases/{opened['case_no']}?kind=nonsense")
    assert bad.status_code == 400 and "取值不正确" in visible_text(bad.text)
    assert caseworker.get(f"/cases/{opened['case_no']}?kind=all").text.count('aria-current="true"') == 1


def test_hostile_strings_in_every_context_field_are_escaped(browser_like) -> None:
    """A case whose every typed field is hostile (tests/hostile.py): its task pages and case page show
    them as text; the manager's copy shows none of the identity fields."""
    from hostile import IDENTITY, Marks, allowed_tags, markup_problems, walk_hostile_case

    marks = Marks("CX")
    closed = walk_hostile_case(marks, sequence=301)
    allowed = allowed_tags()
    police, manager = browser_like("sx-police"), browser_like("sx-manager")
    pages = {
        "case": police.get(f"/cases/{closed['case_no']}"),
        **{f"task {t['kind']}": police.get(f"/tasks/{t['task_id']}") for t in closed["tasks"]},
    }
    shown = set()
    for where, r in pages.items():
        assert r.status_code == 200, where
        assert markup_problems(r.text, allowed) == [], (where, markup_problems(r.text, allowed))
        shown |= set(marks.found_in(r.text))
    expected = {"child.name", "child.address", "guardian.name", "description", "notes", "health", "plan"}
    assert expected | {"reporter.phone", "placed_at", "notes.assessment", "notes.visit"} <= shown, sorted(shown)
    identity = {f for f in marks.by_field if f.split(".")[0] in IDENTITY or f in IDENTITY}
    for url in [f"/cases/{closed['case_no']}"] + [f"/tasks/{t['task_id']}" for t in closed["tasks"][:4]]:
        r = manager.get(url)
        assert r.status_code == 200 and markup_problems(r.text, allowed) == [], url
        assert not marks.found_in(r.text, identity), (url, marks.found_in(r.text, identity))
