"""Monthly statistics for the 民政局 (issue 14 §6): a known month built through the real paths (reports,
a ledger import, a case closed by its exit reason and one found unfounded, breaches fired by the sweeper,
a verification visit recorded), counted exactly in JSON and in the XLSX, Beijing month boundaries, the
board's download for managers and a recorded refusal for the police — and no child's identity anywhere."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from approving import approve_pending
from conftest import arrive, make_report, user_of
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from models import AccessRecord, Child, Guardian
from services import ledger, monthly, reports, visits
from services import tasks as tasks_service
from shouhu import clock, db, policy
from shouhu.errors import Forbidden, InvalidInput
from tasks import sweep

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "ledger-sample.xlsx"
BJ = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + BJ)


def open_task(case: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((t for t in case["tasks"] if t["kind"] == kind and t["status"] == "open"), None)


def report(when: str, **overrides: Any) -> dict[str, Any]:
    """A report registered at `when` (Beijing time), the police on scene at once."""
    clock.set_now(at(when))
    opened = reports.submit_report(make_report(discovered_at=at(when).isoformat(), **overrides), "sx-intake")
    return arrive(opened["case_id"], "sx-police")


OUTCOMES: dict[str, dict[str, Any]] = {
    "assessment": {
        "safety": "at_risk",
        "guardianship": "inadequate",
        "health": "良好",
        "risk_level": "low",
        "services": ["guardianship_guidance"],
        "intervention_needed": False,
    },
    "service": {"delivered": True},
    "follow_up_visit": {"child_seen": True},
    "final_review": {"exit_reason": "parent_resumed_care"},
}


def close_by_exit(case: dict[str, Any]) -> dict[str, Any]:
    """Every step of the case done at once, the final review closing it with 父（母）重新履行抚养义务."""
    measures = sorted({"admonish_guardian"} | set(policy.pack("sixian").least_measures(["guardian_neglect"])))
    task = open_task(case, "emergency_response")
    assert task is not None
    case = tasks_service.complete_task(task["task_id"], {"unfounded": False, "measures": measures}, "sx-police")
    for _ in range(20):
        case = approve_pending(case)  # civil affairs approves the closing (issue 16)
        if case["stage"] == "closed":
            return case
        task = next(t for t in case["tasks"] if t["status"] == "open" and t["kind"] in OUTCOMES)
        who = user_of("sixian", task["role"], task["owner_unit"])
        case = tasks_service.complete_task(task["task_id"], OUTCOMES[task["kind"]], who)
    raise AssertionError(f"not closed: {[(t['kind'], t['status']) for t in case['tasks']]}")


def build_month() -> dict[str, Any]:
    """November 2026 in 泗县, and the first minute of December."""
    # 2026-11-01 00:00 Beijing (= 10-31 16:00 UTC): a boy of 4 in 草沟镇, found unfounded after a breach
    r3 = report(
        "2026-11-01T00:00:00",
        **{
            "child.gender": "male",
            "child.birth_date": "2022-03-01",
            "child.id_number": None,
            "child.township": "sx-t-cg",
            "child.village": "sx-v-cg-xz",
        },
    )
    sweep.tick(at("2026-11-01T12:30:00"))  # the response was due at 12:00: a level-1 breach
    clock.set_now(at("2026-11-01T13:00:00"))
    task = open_task(r3, "emergency_response")
    assert task is not None
    approve_pending(
        tasks_service.complete_task(
            task["task_id"], {"unfounded": True, "unfounded_reason": "经核查不属实"}, "sx-police"
        )
    )  # closed (the bureau approving 不属实), and the breach resolved, in November
    clock.set_now(at("2026-11-24T09:00:00"))
    imported = ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    assert imported["created"] == 4
    r1 = close_by_exit(report("2026-11-24T09:00:00"))  # a girl of 10 (make_report), closed by exit reason
    r2 = report(
        "2026-11-24T10:00:00",
        situations=["domestic_violence", "guardian_neglect"],
        **{"child.gender": "male", "child.birth_date": "2012-06-01", "child.id_number": None},
    )  # a boy of 14, left in the emergency step: escalated to 督办
    sweep.tick(at("2026-11-25T09:00:00"))  # also starts the 2026Q4 verification round (due 12-31 23:59:59)
    r5 = report("2026-12-01T00:01:00")  # one minute after November ends in Beijing (11-30 16:01 UTC)
    return {"r1": r1, "r2": r2, "r3": r3, "r5": r5}


def rows(section: dict[str, Any], *keys: str) -> dict[Any, tuple[Any, ...]]:
    return {r["code"]: tuple(r[k] for k in keys) for r in section["rows"]}


def sheet_table(path_or_bytes: Path | bytes) -> dict[str, list[list[Any]]]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    book = load_workbook(source)

    def line(values: tuple[Any, ...]) -> list[Any]:
        out = list(values)
        while out and out[-1] is None:  # the title's merged cells reach past a narrow table
            out.pop()
        return out

    return {ws.title: [line(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def identities() -> set[str]:
    """Every name and ID number of a child or guardian in the database."""
    with Session(db.engine()) as s:
        found = {c.name for c in s.exec(select(Child))} | {c.id_number for c in s.exec(select(Child)) if c.id_number}
        found |= {g.name for g in s.exec(select(Guardian))}
    return {x for x in found if x}


def test_a_known_month_is_counted_exactly_in_json_and_xlsx(db_url: str, tmp_path: Path) -> None:
    built = build_month()
    clock.set_now(at("2026-12-01T00:02:00"))
    nov = monthly.statistics_for("sx-manager", "sixian", "2026-11")
    assert nov["title"] == "泗县 2026年11月 困境儿童和留守儿童工作统计"
    assert (nov["from"], nov["to"]) == ("2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00")
    s = nov["sections"]

    # the ledger at 11-30: the sample's four children (categories started 11-24)
    assert rows(
        s["ledger"], "children", "left_behind", "orphan", "disabled", "poor_family", "de_facto_unsupported"
    ) == {
        "sx-t-sc": (2, 1, 1, 1, 0, 0),
        "sx-t-cg": (2, 1, 0, 0, 1, 1),
    }
    assert (s["ledger"]["total"]["children"], s["ledger"]["total"]["left_behind"]) == (4, 2)

    # cases: opened 11-01 00:00 (r3), 11-24 (r1, r2); r5 at 12-01 00:01 is December's
    assert s["cases_by_sex"]["total"] == {"label": "合计", "opened": 3, "closed": 2}
    assert rows(s["cases_by_sex"], "label", "opened", "closed") == {
        "female": ("女", 1, 1),
        "male": ("男", 2, 1),
        "unknown": ("不详", 0, 0),
    }
    assert rows(s["cases_by_age"], "label", "opened", "closed") == {
        "0-5": ("0–5岁", 1, 1),
        "6-11": ("6–11岁", 1, 1),
        "12-15": ("12–15岁", 1, 0),
        "16-17": ("16–17岁", 0, 0),
    }
    situations = rows(s["cases_by_situation"], "label", "opened", "closed")
    assert situations["guardian_neglect"] == ("监护人疏于照料", 3, 2)
    assert situations["domestic_violence"] == ("家庭暴力", 1, 0)
    assert sum(v[1] for v in situations.values()) == 4 and s["cases_by_situation"]["total"]["opened"] == 3
    assert rows(s["cases_by_township"], "label", "opened", "closed") == {
        "sx-t-sc": ("泗城镇人民政府", 2, 1),
        "sx-t-cg": ("草沟镇人民政府", 1, 1),
    }
    stages = rows(s["cases_by_stage"], "label", "opened")
    assert stages["closed"] == ("已结案", 2) and stages["emergency"] == ("应急处置", 1)
    assert s["cases_by_stage"]["total"]["opened"] == 3
    reasons = rows(s["cases_by_exit_reason"], "label", "closed")
    assert reasons["parent_resumed_care"] == ("父（母）重新履行抚养义务", 1)
    assert reasons["unfounded"] == ("经调查报告不属实", 1) and s["cases_by_exit_reason"]["total"]["closed"] == 2

    # breaches: r3's (level 1, resolved 11-01) and r2's (督办, still open), both the station's
    breaches = rows(s["breaches"], "label", "level_1", "level_3", "supervised", "total", "resolved", "open_at_end")
    assert breaches["sx-pcs-sc"] == ("泗县公安局泗城派出所", 1, 1, 1, 2, 1, 1), s["breaches"]["rows"]
    assert s["breaches"]["total"]["total"] == 2
    # visits: the quarter's fall due 12-31, none in November
    assert s["visits"]["rows"] == [] and s["visits"]["total"]["due"] == 0
    summary = {r["label"]: r["count"] for r in s["summary"]["rows"]}
    assert summary["台账儿童（人，月末在册）"] == 4 and summary["本月新开案件"] == 3 and summary["其中督办"] == 1

    # the XLSX: one sheet per section, Chinese headers and labels, the same numbers, totals
    out = monthly.export_for("sx-manager", "sixian", "2026-11", tmp_path / "nov.xlsx")
    book = sheet_table(tmp_path / "nov.xlsx")
    assert list(book) == out["sheets"] == [x["sheet"] for x in s.values()]
    assert {"台账儿童", "核实走访", "案件·性别", "案件·年龄段", "案件·结案原因", "逾期督办"} <= set(book)
    for section in s.values():
        table = book[section["sheet"]]
        assert table[0][0] == nov["title"]
        assert table[2] == [c["header"] for c in section["columns"]]
        body = [[r.get(c["key"], "") for c in section["columns"]] for r in section["rows"]]
        if section["total"] is not None:
            body.append([section["total"].get(c["key"], "") for c in section["columns"]])
        assert [[v if v is not None else "" for v in line] for line in table[3:]] == body, section["sheet"]
    assert book["案件·性别"][2] == ["性别", "本月新开", "本月结案"]
    assert book["案件·性别"][-1] == ["合计", 3, 2]
    assert ["男", 2, 1] in book["案件·性别"] and ["0–5岁", 1, 1] in book["案件·年龄段"]
    assert book["台账儿童"][2][:2] == ["乡镇（街道）", "留守儿童"] and book["台账儿童"][2][-1] == "合计（人）"
    assert book["逾期督办"][3][:1] == ["泗县公安局泗城派出所"]

    # no identity in the statistics: no child's or guardian's name or ID number in any cell or in the JSON
    names = identities()
    assert {"张小雨", "李明"} <= names and len(names) > 10
    cells = {str(v) for table in book.values() for line in table for v in line if v is not None}
    assert not [n for n in names if any(n in cell for cell in cells)]
    text = json.dumps(nov, ensure_ascii=False)
    assert not [n for n in names if n in text]

    # October: nothing (r3 opened at 11-01 00:00 Beijing, which is still 10-31 in UTC; the ledger began 11-24)
    oct_ = monthly.statistics_for("sx-manager", "sixian", "2026-10")["sections"]
    assert oct_["cases_by_sex"]["total"]["opened"] == 0 and oct_["ledger"]["total"]["children"] == 0
    assert oct_["breaches"]["rows"] == []

    # December, read in January: r5 opened; the quarter's visits fell due 12-31, one done, the rest overdue
    round_ = visits.list_visits("sx-director-dg", "sx-v-sc-dg", "2026Q4")
    clock.set_now(at("2026-12-10T10:00:00"))
    visits.complete_visit(
        round_[0]["visit_id"],
        {
            "visited_on": "2026-12-10",
            "guardianship": "adequate",
            "schooling": "in_school",
            "family_changed": False,
            "concerns": [],
            "notes": "",
        },
        "sx-director-dg",
    )
    clock.set_now(at("2027-01-02T09:00:00"))
    dec = monthly.statistics_for("sx-civil", "sixian", "2026-12")["sections"]
    assert dec["cases_by_sex"]["total"] == {"label": "合计", "opened": 1, "closed": 0}
    assert built["r5"]["case_no"] and dec["ledger"]["total"]["children"] == 4
    assert rows(dec["visits"], "township_name", "due", "done", "done_late", "open", "overdue") == {
        # the ledger's children only: r1 left with its case's closure, r2 is not yet founded, r3 was unfounded
        "sx-v-sc-dg": ("泗城镇人民政府", 2, 1, 0, 1, 1),  # 张小雨, 李明
        "sx-v-cg-xz": ("草沟镇人民政府", 1, 0, 0, 1, 1),  # 王芳芳
        "sx-t-cg": ("草沟镇人民政府", 1, 0, 0, 1, 1),  # 赵一: no village on file
    }
    assert dec["visits"]["total"]["due"] == 4 and dec["visits"]["total"]["overdue"] == 3
    assert rows(dec["breaches"], "supervised", "total", "resolved", "open_at_end") == {"sx-pcs-sc": (1, 1, 0, 1)}


def test_bad_months_and_readers_are_refused_and_refusals_recorded(db_url: str, tmp_path: Path) -> None:
    for bad in ("2026-13", "2026-1", "26-11", "2026-11-01", "", "3000-01"):
        with pytest.raises(InvalidInput) as err:
            monthly.statistics_for("sx-manager", "sixian", bad)
        assert err.value.field == "month"
    with pytest.raises(InvalidInput) as err:
        monthly.export_for("sx-manager", "sixian", "2026-11", tmp_path / "stats.csv")
    assert err.value.field == "out"
    for who in ("sx-police", "sx-director-dg", "sx-supervisor-sc", "yt-manager"):
        with pytest.raises(Forbidden):
            monthly.statistics_for(who, "sixian", "2026-11")
    with Session(db.engine()) as s:
        records = s.exec(select(AccessRecord).where(AccessRecord.action == "monthly_stats")).all()
    refused = {(r.actor, r.reason) for r in records if not r.allowed}
    assert refused == {
        ("sx-police", "not_permitted"),
        ("sx-director-dg", "not_permitted"),
        ("sx-supervisor-sc", "not_permitted"),
        ("yt-manager", "other_jurisdiction"),
    }
    assert all(r.target == "sixian:2026-11" for r in records)


def test_the_board_download_and_the_cli(db_url: str, browser_like: Any, tmp_path: Path) -> None:
    ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    manager = browser_like("sx-manager")
    board = manager.get("/board")
    assert board.status_code == 200 and 'action="/board/stats.xlsx"' in board.text
    assert 'name="month" value="2026-11"' in board.text  # this month by the clock
    got = manager.get("/board/stats.xlsx")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = sheet_table(got.content)
    assert book["台账儿童"][0][0] == "泗县 2026年11月 困境儿童和留守儿童工作统计" and book["台账儿童"][-1][-1] == 4
    september = sheet_table(manager.get("/board/stats.xlsx?month=2026-09").content)
    assert september["概况"][0][0] == "泗县 2026年9月 困境儿童和留守儿童工作统计"
    assert september["台账儿童"][-1][-1] == 0
    assert manager.get("/board/stats.xlsx?month=2026-13").status_code == 400
    police = browser_like("sx-police")
    assert police.get("/board/stats.xlsx?month=2026-11").status_code == 403
    with Session(db.engine()) as s:
        refused = s.exec(
            select(AccessRecord).where(AccessRecord.action == "monthly_stats", col(AccessRecord.allowed).is_(False))
        ).all()
    assert [(r.actor, r.reason) for r in refused] == [("sx-police", "not_permitted")]

    def cli(*args: str, code: int = 0) -> Any:
        env = {**os.environ, "SHOUHU_NOW": "2026-11-24T09:00:00+08:00"}
        proc = subprocess.run(
            [sys.executable, "-m", "cli", "stats", "--jurisdiction", "sixian", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )
        assert proc.returncode == code, (proc.stdout, proc.stderr[-1500:])
        return json.loads(proc.stdout)

    doc = cli("--month", "2026-11", "--as", "sx-civil")
    assert doc["month"] == "2026-11" and doc["sections"]["ledger"]["total"]["children"] == 4
    written = cli("--month", "2026-11", "--as", "sx-civil", "--out", str(tmp_path / "m.xlsx"))
    assert written["ok"] is True and written["sheets"][0] == "概况"
    assert sheet_table(tmp_path / "m.xlsx")["台账儿童"][-1][-1] == 4
    bad = cli("--month", "2026-13", "--as", "sx-civil", code=2)
    assert bad["error"]["field"] == "month" and bad["error"]["code"] == "bad_month"
    refused_cli = cli("--month", "2026-11", "--as", "sx-police", code=2)
    assert refused_cli["error"]["code"] == "not_permitted"
    with Session(db.engine()) as s:
        police_refusals = s.exec(
            select(AccessRecord).where(
                AccessRecord.action == "monthly_stats",
                AccessRecord.actor == "sx-police",
                col(AccessRecord.allowed).is_(False),
            )
        ).all()
    assert len(police_refusals) == 2  # the page's and the command's
