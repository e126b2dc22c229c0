"""Each county's rules as its own document says: the emergency step under every pack, situation
and measure set; police arrival at once; petition grounds as alternatives; temporary guardianship
triggers; children of a detained parent; the phase-out that acts; citations that are the county's own.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any, get_args

import pytest
from approving import approve_pending
from conftest import make_report, user_of
from sqlmodel import Session, col, select

from models import Case, Command, Notification, Task, TimelineEvent
from services import cases, deadlines, documents, reports, setup, tasks
from shouhu import citation, clock, db, policy, units
from shouhu.vocab import Measure, Situation

PACKS = ["yantai", "sixian", "yunyang", "wuhai", "mentougou"]
SITUATIONS = list(get_args(Situation))
MEASURES = list(get_args(Measure))
OWN_SEED = {"yantai": "000", "sixian": "001", "yunyang": "002", "wuhai": "003", "mentougou": "004"}


def open_case_directly(jurisdiction: str, situations: list[str]) -> tuple[str, str]:
    """A case in 应急处置 made by the intake procedure itself (no flow run: hundreds are needed)."""
    from flows.intake import open_case_for_report

    report = make_report(jurisdiction, situations=situations)
    with db.transaction() as s:
        command = Command(
            kind="report",
            idempotency_key=str(uuid.uuid4()),
            actor=user_of(jurisdiction, "police_intake"),
            payload={"report": report},
            created_at=clock.now(),
        )
        s.add(command)
        s.flush()
        result = open_case_for_report(s, command)
        task = s.exec(
            select(Task).where(Task.case_id == uuid.UUID(result["case_id"]), Task.kind == "emergency_response")
        ).one()
        return result["case_id"], str(task.id)


def respond(jurisdiction: str, task_id: str, measures: list[str]) -> dict[str, Any]:
    """The emergency response applied in a transaction that is rolled back: what it would queue and open."""
    from flows import emergency
    from tasks.apply import completion

    with Session(db.engine()) as s:
        try:
            command = Command(
                kind="complete_task",
                idempotency_key=str(uuid.uuid4()),
                actor=user_of(jurisdiction, "police"),
                payload={"task_id": task_id, "outcome": {"unfounded": False, "measures": measures}},
                created_at=clock.now(),
            )
            s.add(command)
            s.flush()
            result = completion(emergency.handle)(s, command)
            s.flush()
            sent = s.exec(
                select(Notification.event, Notification.unit).where(
                    col(Notification.dedupe_key).startswith(f"{command.id}:")
                )
            ).all()
            opened = s.exec(
                select(Task.kind).where(Task.case_id == uuid.UUID(result["case_id"]), Task.status == "open")
            ).all()
            return {"sent": [tuple(x) for x in sent], "opened": list(opened), "stage": result["stage"]}
        finally:
            s.rollback()


def measure_sets(p: policy.Pack, situation: str) -> list[list[str]]:
    """Every choice among the situation's alternatives, each alone and with random other measures, and all measures."""
    rng = random.Random(f"{p.pack}:{situation}")
    requirements = p.required_measures.value.get(situation, [])
    choices = [sorted(set(c)) for c in itertools.product(*[r.one_of for r in requirements])] or [[]]
    sets = [c for c in choices if c]
    for _ in range(3):
        extra = rng.sample(MEASURES, rng.randint(1, 6))
        sets.append(sorted(set(rng.choice(choices)) | set(extra)))
    sets.append(sorted(MEASURES))
    return sets


@pytest.mark.parametrize("jurisdiction", PACKS)
def test_every_situation_and_measure_set_completes_the_emergency_step_with_one_message_per_unit(
    db_url: str, jurisdiction: str
) -> None:
    """The mentougou crash (two measures telling one unit: UNIQUE dedupe_key) and its whole class."""
    p = policy.pack(jurisdiction)
    runs = 0
    for situation in SITUATIONS:
        _, task_id = open_case_directly(jurisdiction, [situation])
        for measures in measure_sets(p, situation):
            outcome = respond(jurisdiction, task_id, measures)
            runs += 1
            assert outcome["stage"] == "assessment"
            per_event = Counter(outcome["sent"])
            assert all(n == 1 for n in per_event.values()), (
                situation,
                measures,
                {k: n for k, n in per_event.items() if n > 1},
            )  # one per unit per hand-off
            told = {
                units.resolve(p, p.measure_notify.value[m].to, "", None)
                for m in measures
                if m in p.measure_notify.value
            }
            assert {u for e, u in outcome["sent"] if e == "measure"} == told, (situation, measures)
            wanted = {p.measure_tasks.value[m].task for m in measures if m in p.measure_tasks.value}
            assert wanted <= set(outcome["opened"]) and "assessment" in outcome["opened"], (
                situation,
                measures,
                outcome["opened"],
            )
    # every situation at once, every measure: the widest hand-off of all
    _, task_id = open_case_directly(jurisdiction, SITUATIONS)
    outcome = respond(jurisdiction, task_id, MEASURES)
    assert all(n == 1 for n in Counter(outcome["sent"]).values())
    assert runs >= 4 * len(SITUATIONS)  # each situation: its choices, three random sets, all measures


@pytest.mark.parametrize("jurisdiction", PACKS)
def test_a_missing_requirement_is_refused_naming_the_alternatives(db_url: str, jurisdiction: str) -> None:
    from shouhu.errors import InvalidInput

    p = policy.pack(jurisdiction)
    for situation, requirements in p.required_measures.value.items():
        _, task_id = open_case_directly(jurisdiction, [situation])
        for r in requirements:
            others = sorted(set(MEASURES) - set(r.one_of))
            with pytest.raises(InvalidInput) as err:
                respond(jurisdiction, task_id, others)
            assert err.value.code == "required_measure_missing" and err.value.field == "outcome.measures"
            assert " or ".join(r.one_of) in err.value.message and situation in err.value.message


def test_the_mentougou_domestic_violence_response_that_crashed(db_url: str, prefect_server: str) -> None:
    """stop_harm, shelter_escort and temporary_care through the real flow: recorded, civil affairs told once."""
    report = reports.submit_report(make_report("mentougou", situations=["domestic_violence"]), "mtg-intake")
    case = cases.show_case(report["case_id"], "mtg-police", record_read=False)
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    after = tasks.complete_task(
        task["task_id"],
        {"unfounded": False, "measures": ["stop_harm", "shelter_escort", "temporary_care"]},
        "mtg-police",
    )
    assert after["stage"] == "assessment"
    with Session(db.engine()) as s:
        rows = s.exec(
            select(Notification).where(
                Notification.case_id == uuid.UUID(report["case_id"]), Notification.event == "measure"
            )
        ).all()
    assert [(r.unit, "护送至临时庇护场所" in r.body and "救助保护机构临时照料" in r.body) for r in rows] == [
        ("mtg-mz", True)
    ]


# ---- 1. police go at once ------------------------------------------------------------------
URGENT_AT_LEAST = {
    "living_alone",
    "guardianship_absent",
    "accidental_injury",
    "unlawful_harm",
    "sexual_harm",
    "domestic_violence",
    "missing",
    "abandonment",
    "parent_detained",
}


@pytest.mark.parametrize("jurisdiction", PACKS)
def test_every_report_opens_an_arrival_clock_of_an_hour_or_less_shorter_when_urgent(
    db_url: str, jurisdiction: str
) -> None:
    p = policy.pack(jurisdiction)
    assert set(p.urgent_situations.value) >= URGENT_AT_LEAST
    rule = p.tasks["police_arrival"]
    assert (
        (rule.due.normal.hours or 99) <= 1 and rule.due.urgent.hours < rule.due.normal.hours and rule.owner == "station"
    )
    for situation in SITUATIONS:
        case_id, _ = open_case_directly(jurisdiction, [situation])
        with Session(db.engine()) as s:
            arrival = s.exec(
                select(Task).where(Task.case_id == uuid.UUID(case_id), Task.kind == "police_arrival")
            ).one()
            urgent = s.get(Case, uuid.UUID(case_id)).urgency == "urgent"
        limit = (rule.due.urgent if urgent else rule.due.normal).hours
        assert urgent == (situation in p.urgent_situations.value)
        assert arrival.due_at - clock.now() == timedelta(hours=limit), situation


def late_arrival(report: dict[str, Any]) -> dict[str, Any]:
    return next(
        t
        for t in cases.show_case(report["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "police_arrival"
    )


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args, "--json"], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_arrival_is_acknowledged_once_from_the_cli_and_a_missed_arrival_escalates(
    db_url: str, prefect_server: str
) -> None:
    from tasks.sweep import tick

    late = reports.submit_report(make_report("sixian", situations=["missing"]), "sx-intake")  # urgent: 30 minutes
    on_time = reports.submit_report(make_report("sixian"), "sx-intake")
    arrival = next(
        t
        for t in cases.show_case(on_time["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "police_arrival"
    )
    other = next(
        t
        for t in cases.show_case(on_time["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "emergency_response"
    )
    first = cli("task", "ack", arrival["task_id"], "--as", "sx-police")
    assert first.returncode == 0, first.stderr
    assert next(t for t in json.loads(first.stdout)["tasks"] if t["kind"] == "police_arrival")["status"] == "done"
    again = cli("task", "ack", arrival["task_id"], "--as", "sx-police")
    assert again.returncode == 3 and json.loads(again.stdout)["error"]["code"] == "task_not_open"
    from shouhu.errors import InvalidInput, ShouhuError

    with pytest.raises(InvalidInput) as err:
        tasks.acknowledge_task(other["task_id"], "sx-police")
    assert err.value.code == "not_an_acknowledgement" and err.value.exit_code == 2
    with pytest.raises(ShouhuError) as err:  # not theirs to acknowledge
        tasks.acknowledge_task(late_arrival(late)["task_id"], "sx-supervisor-sc")
    assert err.value.exit_code == 2

    clock.advance(minutes=31)  # past the urgent arrival's 30 minutes, and its first escalation level
    tick()
    with Session(db.engine()) as s:
        fired = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.case_id == uuid.UUID(late["case_id"]), TimelineEvent.kind == "deadline_escalated"
            )
        ).all()
        told = s.exec(
            select(Notification.unit).where(
                Notification.case_id == uuid.UUID(late["case_id"]), Notification.event == "escalation"
            )
        ).all()
    assert [e.payload["level"] for e in fired] == [1] and "出警到场" in fired[0].summary and set(told) == {"sx-pcs-sc"}
    clock.advance(minutes=30)
    tick()
    with Session(db.engine()) as s:
        told = s.exec(
            select(Notification.unit).where(
                Notification.case_id == uuid.UUID(late["case_id"]), Notification.event == "escalation"
            )
        ).all()
    assert set(told) == {"sx-pcs-sc", "sx-ga"}  # level 2: the county bureau
    breaches = deadlines.list_breaches(jurisdiction="sixian", open_only=True)
    assert any(b["kind"] == "police_arrival" and b["case_no"] == late["case_no"] for b in breaches)


def test_a_response_recorded_before_arrival_says_the_police_were_there(db_url: str, prefect_server: str) -> None:
    report = reports.submit_report(make_report("yunyang"), "yy-intake")
    case = cases.show_case(report["case_id"], "yy-police", record_read=False)
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    after = tasks.complete_task(task["task_id"], {"unfounded": False, "measures": ["entrusted_care"]}, "yy-police")
    arrival = next(t for t in after["tasks"] if t["kind"] == "police_arrival")
    assert arrival["status"] == "done"


def test_the_task_page_is_one_tap_for_arrival(browser_like: Any) -> None:
    report = reports.submit_report(make_report("sixian"), "sx-intake")
    arrival = next(
        t
        for t in cases.show_case(report["case_id"], "sx-police", record_read=False)["tasks"]
        if t["kind"] == "police_arrival"
    )
    police = browser_like("sx-police")
    page = police.get(f"/tasks/{arrival['task_id']}")
    assert page.status_code == 200 and "已到场" in page.text
    assert re.findall(r'<(?:input|textarea|select)\b(?![^>]*type="hidden")', page.text) == []  # nothing to fill in
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = police.post(f"/tasks/{arrival['task_id']}", data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    assert (
        next(
            t
            for t in cases.show_case(report["case_id"], "sx-police", record_read=False)["tasks"]
            if t["kind"] == "police_arrival"
        )["status"]
        == "done"
    )


# ---- 2. petition grounds are alternatives; 3. temporary guardianship triggers ----------------
def to_assessment(
    jurisdiction: str, situations: list[str] | None = None, measures: list[str] | None = None
) -> dict[str, Any]:
    p = policy.pack(jurisdiction)
    report = reports.submit_report(
        make_report(jurisdiction, situations=situations or ["guardian_neglect"]), user_of(jurisdiction, "police_intake")
    )
    police = user_of(jurisdiction, "police")
    case = cases.show_case(report["case_id"], police, record_read=False)
    task = next(t for t in case["tasks"] if t["kind"] == "emergency_response")
    chosen = measures or sorted({"entrusted_care"} | set(p.least_measures(situations or ["guardian_neglect"])))
    return tasks.complete_task(task["task_id"], {"unfounded": False, "measures": chosen}, police)


def assess(jurisdiction: str, case: dict[str, Any], **outcome: Any) -> dict[str, Any]:
    task = next(t for t in case["tasks"] if t["kind"] == "assessment" and t["status"] == "open")
    base = {
        "safety": "at_risk",
        "guardianship": "inadequate",
        "health": "良好",
        "risk_level": "medium",
        "services": [],
        "intervention_needed": False,
    }
    return tasks.complete_task(
        task["task_id"], {**base, **outcome}, user_of(jurisdiction, "township_caseworker", task["owner_unit"])
    )


def open_kinds(case: dict[str, Any]) -> set[str]:
    return {t["kind"] for t in case["tasks"] if t["status"] == "open"}


def test_six_months_of_refusal_opens_the_petition_without_police_education(db_url: str, prefect_server: str) -> None:
    from tasks.sweep import tick

    case = to_assessment("mentougou")
    since = (clock.now() - timedelta(days=200)).date().isoformat()
    case = assess("mentougou", case, guardian_refused_since=since)
    assert case["stage"] == "assessment" and "court_petition" not in open_kinds(case)
    tick()
    case = cases.show_case(case["case_id"], "mtg-civil", record_read=False)
    assert (
        case["stage"] == "intervention"
        and "court_petition" in open_kinds(case)
        and "guardian_measures" not in open_kinds(case)
    )
    petition = next(t for t in case["tasks"] if t["kind"] == "court_petition")
    filed = tasks.complete_task(
        petition["task_id"], {"filed": True, "ground": "refused_six_months", "petitioner": "civil_affairs"}, "mtg-civil"
    )
    assert "court_ruling" in open_kinds(filed)  # the refusal date on file is the ground's proof


def test_serious_harm_recorded_opens_the_petition_by_itself(db_url: str, prefect_server: str) -> None:
    case = to_assessment("sixian", situations=["abandonment"])
    case = assess("sixian", case, serious_harm=True)
    assert case["stage"] == "intervention" and "court_petition" in open_kinds(case)
    petition = next(t for t in case["tasks"] if t["kind"] == "court_petition")
    # ground 1 still needs police education without change: refused
    from shouhu.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        tasks.complete_task(
            petition["task_id"],
            {"filed": True, "ground": "unattended_danger_unchanged", "petitioner": "civil_affairs"},
            "sx-civil",
        )
    assert err.value.code == "ground_not_met"
    filed = tasks.complete_task(
        petition["task_id"],
        {"filed": True, "ground": "serious_harm_or_abandonment", "petitioner": "civil_affairs"},
        "sx-civil",
    )
    assert "court_ruling" in open_kinds(filed)


@pytest.mark.parametrize(
    "jurisdiction,opens",
    [("yunyang", True), ("mentougou", True), ("sixian", False), ("yantai", False), ("wuhai", False)],
)
def test_no_change_after_police_education_opens_temporary_guardianship_where_the_document_says_so(
    db_url: str, prefect_server: str, jurisdiction: str, opens: bool
) -> None:
    case = assess(
        jurisdiction, to_assessment(jurisdiction), intervention_needed=True
    )  # no breach found: no temporary guardianship yet
    assert "temporary_guardianship" not in open_kinds(case)
    task = next(t for t in case["tasks"] if t["kind"] == "guardian_measures")
    case = tasks.complete_task(
        task["task_id"],
        {"measures": ["criticism_education"], "guardian_changed": False},
        user_of(jurisdiction, "police"),
    )
    assert ("temporary_guardianship" in open_kinds(case)) == opens and "court_petition" in open_kinds(case)
    if opens:
        assert "education_unchanged" in policy.pack(jurisdiction).temporary_guardianship_triggers.value
        assert (
            f"seed {OWN_SEED[jurisdiction]}"
            in policy.pack(jurisdiction).temporary_guardianship_triggers.value["education_unchanged"].source
        )


def test_a_child_taken_away_with_no_guardian_gets_temporary_guardianship_in_the_emergency_step(
    db_url: str, prefect_server: str
) -> None:
    p = policy.pack("sixian")
    assert "seed 001 §二(一)5" in p.measure_tasks.value["urgent_removal"].source
    case = to_assessment("sixian", situations=["guardianship_absent"], measures=["urgent_removal"])
    guardianship = next(t for t in case["tasks"] if t["kind"] == "temporary_guardianship")
    assert (
        guardianship["stage"] == "emergency" and guardianship["owner_unit"] == "sx-mz"
    )  # county civil affairs (seed 001 §二(一)5)
    done = tasks.complete_task(guardianship["task_id"], {"decided": True, "institution": "县民政局"}, "sx-civil")
    assert next(t for t in done["tasks"] if t["kind"] == "temporary_guardianship")["status"] == "done"
    assert any(
        d["kind"] == "temporary_guardianship_decision" for d in documents.case_documents(case["case_id"], "sx-civil")
    )


# ---- 4. children of a detained parent; 5. one-of requirements ----------------------------------
@pytest.mark.parametrize(
    "jurisdiction,seed",
    [("sixian", "001 §二(一)5"), ("yunyang", "002 §三(四)"), ("mentougou", "004 §三(一)2"), ("yantai", "000 §三(二)")],
)
def test_the_children_of_a_detained_parent_need_a_care_measure_with_the_countys_citation(
    jurisdiction: str, seed: str
) -> None:
    p = policy.pack(jurisdiction)
    care = p.required_measures.value["parent_detained"][0]
    assert set(care.one_of) == {"entrusted_care", "temporary_care"} and f"seed {seed}" in care.source
    assert p.unmet_requirements(["parent_detained"], ["admonish_guardian"]) and not p.unmet_requirements(
        ["parent_detained"], p.least_measures(["parent_detained"])
    )
    if jurisdiction == "yantai":
        assert [r.one_of for r in p.required_measures.value["parent_detained"]][1] == ["written_handover"]


def test_mentougou_offers_a_choice_where_its_document_does() -> None:
    p = policy.pack("mentougou")
    assert not p.unmet_requirements(["guardian_incapable"], ["entrusted_care"]) and not p.unmet_requirements(
        ["guardian_incapable"], ["temporary_care"]
    )
    assert p.unmet_requirements(["guardian_incapable"], ["admonish_guardian"])
    assert not p.unmet_requirements(["unlawful_harm", "accidental_injury"], ["stop_harm"])


# ---- 6. each county its own rules; 8. citations; 3. policy show -------------------------------
def every_source(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, source) of every `source` in a pack's data."""
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "source":
                out.append((path, v))
            else:
                out += every_source(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += every_source(v, f"{path}.{i}")
    return out


def test_national_cites_no_county_and_no_pack_cites_another_county() -> None:
    national = policy.load_pack("national").model_dump()
    assert not [(k, s) for k, s in every_source(national) if "seed" in s]
    for name, p in policy.all_packs().items():
        foreign = [
            (k, s)
            for k, s in every_source(p.model_dump())
            for n in re.findall(r"seed (\d{3})", s)
            if n != OWN_SEED[name]
        ]
        assert not foreign, (name, foreign)
        own = [k for k, s in every_source(p.model_dump()) if f"seed {OWN_SEED[name]}" in s]
        assert len(own) >= 5, (name, own)


def test_the_four_level_networks_put_the_city_at_the_top_of_escalation() -> None:
    from shouhu.units import recipients

    for name, city in (("yantai", "yt-city-mz"), ("wuhai", "wh-city-mz")):
        p = policy.pack(name)
        for owner in ("yt-pcs-qq" if name == "yantai" else "wh-pcs-xh", p.units.value[0].code):
            assert city in recipients(p, owner, 3, 3)
            assert city not in recipients(p, owner, 1, 3)
    assert all(u.type != "civil_affairs" or not u.code.endswith("city-mz") for u in policy.pack("sixian").units.value)


def test_policy_show_lists_every_rule_with_its_source() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cli", "policy", "show", "--jurisdiction", "sixian", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and json.loads(out.stdout) == setup.policy_rules("sixian"), out.stderr
    for name in PACKS:
        rules = setup.policy_rules(name)
        assert len(rules) > 80 and all(set(r) == {"rule", "value", "source"} and r["source"] for r in rules)
        assert all(re.search(r"seed \d{3}|local default|法|意见|国发", r["source"]) for r in rules)
        assert not [r for r in rules for n in re.findall(r"seed (\d{3})", r["source"]) if n != OWN_SEED[name]]
        keys = {r["rule"] for r in rules}
        assert {"tasks.police_arrival.due.normal", "required_measures.parent_detained.0", "urgent_situations"} <= keys
    table = subprocess.run(
        [sys.executable, "-m", "cli", "policy", "show", "--jurisdiction", "mentougou"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0 and "门政办发〔2017〕69号" in table.stdout and "镇街" in table.stdout
    assert not re.search(r"[A-Za-z]{3,}", table.stdout.replace("GB/T", "")), "codes or English in the table people read"


def test_citations_read_as_the_countys_document() -> None:
    p = policy.pack("sixian")
    assert citation.readable("seed 001 §二(一)5 由县民政部门承担", p) == "泗政办秘〔2020〕9号 第二部分（一）5"
    assert (
        citation.readable("未保法 art. 11 ¶3; 民法典 art. 36; 未保法 arts. 92–93")
        == "《未成年人保护法》第十一条第三款；《民法典》第三十六条；《未成年人保护法》第九十二至第九十三条"
    )
    assert citation.readable("local default: 24小时") == "地方默认（24小时）"
    assert citation.readable("local default: remind at half") == "地方默认"
    for name, q in policy.all_packs().items():
        for _, source in every_source(q.model_dump()):
            text = citation.readable(source, q)
            assert "seed" not in text and not re.search(r"[A-Za-z]{3,}", text.replace("GB/T", "")), (name, source, text)


def test_the_readme_table_is_the_packs() -> None:
    from pathlib import Path

    from shouhu import rules

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- county-rules:begin -->\n", 1)[1].split("\n<!-- county-rules:end -->", 1)[0]
    assert block.strip() == rules.readme_table({n: policy.pack(n) for n in PACKS}).strip()


# ---- 7. the phase-out acts (wuhai) --------------------------------------------------------------
def to_final_review(jurisdiction: str) -> dict[str, Any]:
    case = assess(jurisdiction, to_assessment(jurisdiction), risk_level="low")
    for visit in [t for t in case["tasks"] if t["kind"] == "follow_up_visit"]:
        case = tasks.complete_task(
            visit["task_id"],
            {"child_seen": True, "concerns": False},
            user_of(jurisdiction, "village_director", visit["owner_unit"]),
        )
    assert "final_review" in open_kinds(case)
    return case


def review(jurisdiction: str, case: dict[str, Any], **outcome: Any) -> dict[str, Any]:
    task = next(t for t in case["tasks"] if t["kind"] == "final_review")
    decided = tasks.complete_task(
        task["task_id"], outcome, user_of(jurisdiction, "township_caseworker", task["owner_unit"])
    )
    return approve_pending(decided)  # civil affairs approves the closing (issue 16)


def test_the_phase_out_ends_by_itself_and_a_child_in_school_stays_until_graduation(
    db_url: str, prefect_server: str
) -> None:
    from shouhu.errors import InvalidInput
    from tasks.sweep import tick

    plain = review("wuhai", to_final_review("wuhai"), exit_reason="family_able_to_care")
    assert plain["status"] == "phase_out"
    graduating = to_final_review("wuhai")
    with pytest.raises(InvalidInput) as err:  # graduation only extends the reason the document says it does
        review(
            "wuhai",
            graduating,
            exit_reason="family_able_to_care",
            studying_until=(clock.now() + timedelta(days=400)).date().isoformat(),
        )
    assert err.value.field == "outcome.studying_until"
    graduation = (clock.now() + timedelta(days=400)).date()
    student = review("wuhai", graduating, exit_reason="aged_out", studying_until=graduation.isoformat())
    assert student["status"] == "phase_out"

    clock.advance(days=186)  # six months on: the plain one's phase-out is over, the student is still at school
    tick()
    plain = cases.show_case(plain["case_id"], "wh-civil", record_read=False)
    student = cases.show_case(student["case_id"], "wh-civil", record_read=False)
    assert (plain["status"], student["status"]) == ("closed", "phase_out")
    with Session(db.engine()) as s:
        told = s.exec(
            select(Notification.unit).where(
                Notification.case_id == uuid.UUID(plain["case_id"]), Notification.event == "phase_out_ended"
            )
        ).all()
        ended = s.exec(
            select(TimelineEvent).where(
                TimelineEvent.case_id == uuid.UUID(plain["case_id"]), TimelineEvent.kind == "phase_out_ended"
            )
        ).all()
    assert sorted(told) == sorted(["wh-mz", plain["township"]]) and len(ended) == 1
    clock.advance(days=220)  # past graduation
    tick()
    assert cases.show_case(student["case_id"], "wh-civil", record_read=False)["status"] == "closed"
    assert cases.verify_case(student["case_id"])["ok"]


def test_every_event_a_pack_notifies_has_its_message_template() -> None:
    """A notify rule without a template would fail only when its moment comes (the phase-out did)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "templates" / "notifications"
    explicit = {"measure": "measure_notice", "escalation": "overdue"}  # events that always name their template
    missing = [
        e
        for p in policy.all_packs().values()
        for e in p.notify
        if not (folder / f"{explicit.get(e, e)}.txt.j2").exists()
    ]
    assert missing == []


def test_a_second_message_to_one_unit_in_one_hand_off_is_kept_not_a_crash(db_url: str) -> None:
    """The procedures merge what one unit is told; if a new one ever does not, the outbox keeps both
    (the class test above fails on it) instead of refusing the police's whole response."""
    from shouhu.timeline import lock_case
    from tasks.transition import Transition

    case_id, _ = open_case_directly("mentougou", ["domestic_violence"])
    with Session(db.engine()) as s:
        try:
            command = Command(
                kind="complete_task",
                idempotency_key=str(uuid.uuid4()),
                actor="mtg-police",
                payload={},
                created_at=clock.now(),
            )
            s.add(command)
            s.flush()
            t = Transition(s, lock_case(s, uuid.UUID(case_id)), command, "mtg-police")
            t.notify("measure", template="measure_notice", to=["civil_affairs"], ask="护送至临时庇护场所")
            t.notify("measure", template="measure_notice", to=["civil_affairs"], ask="救助保护机构临时照料")
            s.flush()
            keys = s.exec(
                select(Notification.dedupe_key).where(col(Notification.dedupe_key).startswith(f"{command.id}:"))
            ).all()
            assert sorted(keys) == [f"{command.id}:measure:", f"{command.id}:measure:#1"]
        finally:
            s.rollback()
