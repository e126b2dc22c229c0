"""Search and the child's page (issue 14 §5): children found by name, ID number, case number, place and
stage, within the reader's scope and masked per role; the child's page (一人一档) with categories,
guardians, carer, cases, visits, documents and timeline; every read and search recorded (the kind and
count, never the text); an unknown child and one outside the scope the same 404 — on every face."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import make_report
from conftest import run_cli as cli
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AccessRecord
from services import accounts, children, ledger, reports, visits
from shouhu import clock, db
from shouhu.errors import Forbidden, InvalidInput, NotFound

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "ledger-sample.xlsx"
ZHANG_ID = "341324201503080127"  # 张小雨 in the sample: 泗城镇东关村, 留守儿童, carer 张建国
LI_ID = "341324201707210317"  # 李明: 泗城镇东关村, 孤儿、残疾儿童
ZHAO_ID = "341324201901050572"  # 赵一: 草沟镇 (no village)


def records(actor: str | None = None) -> list[AccessRecord]:
    with Session(db.engine()) as s:
        query = select(AccessRecord)
        if actor:
            query = query.where(AccessRecord.actor == actor)
        return list(s.exec(query).all())


def ledger_and_a_case() -> dict[str, Any]:
    """The sample ledger (4 children in two townships) and a report on 张小雨 (joins her file)."""
    assert ledger.import_ledger(SAMPLE, "sixian", "sx-civil")["created"] == 4
    opened = reports.submit_report(
        make_report(**{"child.name": "张小雨", "child.id_number": ZHANG_ID, "child.birth_date": "2015-03-08"}),
        "sx-intake",
    )
    zhang = children.search_children(ZHANG_ID, "sx-civil")["items"][0]
    return {"case_no": opened["case_no"], "case_id": opened["case_id"], "zhang": zhang["child_id"]}


def admin() -> str:
    """An IT officer of the county (reads no child's file): made once per test."""
    if not any(u["username"] == "sx-it" for u in accounts.list_users("sixian")):
        accounts.add_user(
            {
                "username": "sx-it",
                "role": "admin",
                "unit": "sx-coord",
                "display_name": "信息科",
                "jurisdiction": "sixian",
            },
            None,
        )
    return "sx-it"


def names(found: dict[str, Any]) -> set[str]:
    return {c["name"] for c in found["items"]}


def test_each_kind_of_search_and_what_is_recorded(db_url: str) -> None:
    made = ledger_and_a_case()
    civil = "sx-civil"
    by_name = children.search_children("小雨", civil)
    assert by_name["kind"] == "name" and names(by_name) == {"张小雨"} and by_name["total"] == 1
    assert by_name["items"][0]["categories"] == ["left_behind"]
    assert [c["stage"] for c in by_name["items"][0]["open_cases"]] == ["emergency"]
    by_id = children.search_children(LI_ID, civil)
    assert by_id["kind"] == "id_number" and names(by_id) == {"李明"} and by_id["items"][0]["id_number"] == LI_ID
    by_case = children.search_children(made["case_no"].lower(), civil)
    assert by_case["kind"] == "case_no" and names(by_case) == {"张小雨"}
    assert by_case["case"]["case_no"] == made["case_no"] and by_case["case"]["stage"] == "emergency"
    assert names(children.search_children("东关村", civil)) == {"张小雨", "李明"}
    assert names(children.search_children("sx-v-sc-dg", civil)) == {"张小雨", "李明"}
    assert names(children.search_children("草沟镇", civil)) == {"王芳芳", "赵一"}
    assert children.search_children("草沟镇", civil)["kind"] == "place"
    assert names(children.search_children("应急处置", civil)) == {"张小雨"}
    assert names(children.search_children("emergency", civil, kind="stage")) == {"张小雨"}
    assert children.search_children("assessment", civil)["total"] == 0
    assert children.search_children("SX-2026-99999", civil) == {**by_case, "total": 0, "items": [], "case": None}
    assert children.search_children("100%_", civil)["total"] == 0  # LIKE wildcards are searched as text
    for query, kind, code in (
        ("0127", None, "bad_id_number"),  # an ID number is searched whole
        ("12345", "id_number", "bad_id_number"),
        ("火星镇", "place", "unknown_unit"),
        ("已结案", "stage", "invalid_value"),
        ("   ", None, "missing_field"),
        ("张" * 41, None, "too_long"),
        ("张\x00", None, "control_character"),
        ("张", "nickname", "invalid_value"),
    ):
        with pytest.raises(InvalidInput) as refused:
            children.search_children(query, civil, kind)
        assert (refused.value.code, refused.value.field) == (code, "q" if kind != "nickname" else "kind")
    searches = [r for r in records(civil) if r.action == "child_search"]
    assert [r.target for r in searches] == [
        "id_number",  # (ledger_and_a_case)
        "name",
        "id_number",
        "case_no",
        "place",
        "place",
        "place",
        "place",
        "stage",
        "stage",
        "stage",
        "case_no",
        "name",
    ]
    assert searches[1].reason == "results=1" and searches[-2].reason == "results=0"
    typed = (ZHANG_ID, LI_ID, "小雨", "东关", "草沟", made["case_no"], "应急")
    every = " ".join(f"{r.target} {r.reason}" for r in records())
    assert not [t for t in typed if t in every], "never what was typed, least of all an ID number"


def test_scope_per_role_and_managers_masked(db_url: str) -> None:
    ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    four = {"张小雨", "李明", "王芳芳", "赵一"}
    assert names(children.search_children("sx-t-sc", "sx-director-dg")) == {"张小雨", "李明"}
    assert names(children.search_children("草沟镇", "sx-director-dg")) == set()  # not its village
    assert names(children.search_children("王芳芳", "sx-director-xz")) == {"王芳芳"}
    assert names(children.search_children("李明", "sx-director-xz")) == set()
    assert names(children.search_children("草沟镇", "sx-supervisor-cg")) == {"王芳芳", "赵一"}
    assert names(children.search_children("泗城镇", "sx-supervisor-cg")) == set()
    assert (
        names(children.search_children("sx-t-sc", "sx-police"))
        | names(children.search_children("sx-t-cg", "sx-police"))
        == four
    )  # the station covers both townships
    assert children.search_children(ZHANG_ID, "yt-police")["total"] == 0  # another county
    masked = children.search_children("东关村", "sx-manager")
    assert masked["masked"] is True and masked["total"] == 2
    assert {c["name"] for c in masked["items"]} == {"张**", "李*"}
    assert all(c["id_number"].endswith("*" * 12) and len(c["birth_date"]) == 4 for c in masked["items"])
    for query in ("张小雨", ZHANG_ID):  # a masked reader may not find out whether a named child is on file
        with pytest.raises(Forbidden) as refused:
            children.search_children(query, "sx-manager")
        assert refused.value.code == "identity_search_not_permitted"
    with pytest.raises(Forbidden):
        children.search_children("东关村", admin())
    refusals = [r for r in records() if r.action == "child_search" and not r.allowed]
    assert [(r.actor, r.target) for r in refusals] == [
        ("sx-manager", "name"),
        ("sx-manager", "id_number"),
        (admin(), "place"),
    ]
    zhang = children.search_children(ZHANG_ID, "sx-civil")["items"][0]["child_id"]
    shown = children.show_child(zhang, "sx-manager")
    assert shown["masked"] and shown["name"] == "张**" and shown["address"] is None
    assert shown["guardians"][0]["phone"] is None and shown["entrusted_care"][0]["phone"] is None
    assert ZHANG_ID not in json.dumps(shown, ensure_ascii=False) and "13800000001" not in json.dumps(shown)


def test_unknown_and_out_of_scope_are_the_same_404_and_both_recorded(browser_like: Any, db_url: str) -> None:
    ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    zhao = children.search_children(ZHAO_ID, "sx-civil")["items"][0]["child_id"]  # 草沟镇
    unknown = "00000000-0000-4000-8000-000000000000"
    answers = []
    for ref in (zhao, unknown, ZHANG_ID):  # out of scope, unknown, and not an id at all
        with pytest.raises(NotFound) as refused:
            children.show_child(ref, "sx-director-dg")
        answers.append(refused.value.as_json())
    assert answers[0] == answers[1] == answers[2] and answers[0]["error"]["code"] == "unknown_child"
    reads = [(r.target, r.allowed, r.reason) for r in records("sx-director-dg") if r.action == "child_read"]
    assert reads == [
        (zhao, False, "not_permitted"),
        (f"unknown:{unknown}", False, "unknown"),
        ("unknown:malformed", False, "unknown"),  # never the text typed (here an ID number)
    ]
    page = browser_like("sx-director-dg")
    out, missing = page.get(f"/children/{zhao}"), page.get(f"/children/{unknown}")
    assert out.status_code == missing.status_code == 404 and out.text == missing.text
    token = accounts.create_token("sx-director-dg", "test")["token"]
    api = TestClient(page.app, raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    a, b = api.get(f"/api/v1/children/{zhao}", headers=auth), api.get(f"/api/v1/children/{unknown}", headers=auth)
    assert a.status_code == b.status_code == 404 and a.json() == b.json()
    assert browser_like(admin()).get(f"/children/{zhao}").status_code == 403


def test_the_child_page_holds_the_whole_file(browser_like: Any, db_url: str) -> None:
    from tasks import sweep

    made = ledger_and_a_case()
    sweep.tick(clock.now())  # the quarter's verification round
    visit = next(v for v in visits.list_visits("sx-director-dg", "sx-v-sc-dg") if v["child_name"] == "张小雨")
    visits.complete_visit(
        visit["visit_id"],
        {"visited_on": "2026-11-24", "guardianship": "adequate", "schooling": "in_school", "family_changed": False},
        "sx-director-dg",
    )
    shown = children.show_child(made["zhang"], "sx-police")
    assert [c["case_no"] for c in shown["cases"]] == [made["case_no"]] and shown["other_cases"] == 0
    assert [(v["period"], v["status"]) for v in shown["visits"]] == [("2026Q4", "done")]
    assert [(c["category"], c["in_force"]) for c in shown["categories"]] == [("left_behind", True)]
    assert shown["timeline"][0]["kind"] == "enrolled" and shown["documents"], "the police see the intake form"
    police = browser_like("sx-police")
    html = police.get(f"/children/{made['zhang']}")
    assert html.status_code == 200, html.text[:300]
    text = html.text
    for words in (
        "张小雨",
        ZHANG_ID,
        "2015年3月8日",
        "泗城镇人民政府 泗城镇东关村民委员会",
        "泗城镇中心小学",
        "留守儿童",
        "有效",
        "台账导入（ledger-sample.xlsx）",
        "张建国",
        "13800000001",
        f'href="/cases/{made["case_no"]}"',
        "应急处置",
        "在办",
        "2026年11月24日",
        "2026年第四季度",
        "已走访",
        "监护到位，在校，家庭情况无变化",
        "列入台账",
        'href="/documents/',
        'href="/children"',  # the nav
    ):
        assert words in text, words
    for code in ("left_behind", "emergency", "2026Q4", "T09:", "+08:00", "import:", "enrolled"):
        assert code not in text.split("<main>")[1], code
    manager = browser_like("sx-manager").get(f"/children/{made['zhang']}").text
    assert "张**" in manager and "张小雨" not in manager and ZHANG_ID not in manager and "13800000001" not in manager
    assert "已脱敏" in manager and "2015年" in manager and "2015年3月8日" not in manager
    search = police.get("/children", params={"q": made["case_no"]})
    assert search.status_code == 200 and f'href="/children/{made["zhang"]}"' in search.text
    assert f'href="/cases/{made["case_no"]}"' in search.text and "按案件编号查找：共 1 名儿童" in search.text
    refused = browser_like("sx-manager").get("/children", params={"q": "张小雨"})
    assert refused.status_code == 403 and "不能按姓名或身份证号查找" in refused.text
    assert browser_like(admin()).get("/children").status_code == 403
    assert 'href="/children"' not in browser_like(admin()).get("/admin/users").text


def test_hostile_strings_are_escaped(browser_like: Any, db_url: str) -> None:
    hostile = "<script>alert(1)</script>"
    opened = reports.submit_report(
        make_report(**{"child.name": hostile, "child.address": '"><img src=x>'}), "sx-intake"
    )
    found = children.search_children(opened["case_no"], "sx-police")
    page = browser_like("sx-police")
    child = page.get(f"/children/{found['items'][0]['child_id']}")
    search = page.get("/children", params={"q": '"><script>alert(2)</script>', "kind": "name"})
    listed = page.get("/children", params={"q": "<script>"})
    for r in (child, search, listed):
        assert r.status_code == 200 and "<script>" not in r.text and "<img" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in child.text and "&lt;script&gt;alert(1)" in listed.text


def test_the_cli_and_the_api(db_url: str) -> None:
    from web.app import create_app

    ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    found = cli("search", "东关村", "--as", "sx-director-dg")
    assert (
        found["kind"] == "place" and found["total"] == 2 and {c["name"] for c in found["items"]} == {"张小雨", "李明"}
    )
    li = cli("search", LI_ID, "--as", "sx-supervisor-sc")["items"][0]
    shown = cli("child", "show", li["child_id"], "--as", "sx-supervisor-sc")
    assert shown["name"] == "李明" and {c["category"] for c in shown["categories"]} == {"orphan", "disabled"}
    assert shown["guardians"][0]["phone"] == "13800000003"
    refused = cli("child", "show", li["child_id"], "--as", "sx-supervisor-cg", code=2)
    assert refused["error"]["code"] == "unknown_child"
    assert cli("search", "李明", "--as", "sx-manager", code=2)["error"]["code"] == "identity_search_not_permitted"
    assert cli("search", "李明", "--kind", "place", "--as", "sx-civil", code=2)["error"]["code"] == "unknown_unit"
    api = TestClient(create_app(), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {accounts.create_token('sx-manager', 'test')['token']}"}
    listed = api.get("/api/v1/children", params={"q": "sx-v-sc-dg"}, headers=auth)
    assert listed.status_code == 200 and listed.json()["masked"] and listed.json()["total"] == 2
    one = api.get(f"/api/v1/children/{li['child_id']}", headers=auth)
    assert one.status_code == 200 and one.json()["name"] == "李*" and LI_ID not in one.text
    assert api.get("/api/v1/children", params={"q": "李明"}, headers=auth).status_code == 403
    assert api.get("/api/v1/children", headers=auth).status_code == 400


def test_leaving_coverage_from_the_page_the_api_and_the_cli(browser_like: Any, db_url: str) -> None:
    """退出保障范围: civil affairs on the child's page (an error at the form changes nothing), over the API
    and the CLI; a village director sees no form and is refused."""
    from conftest import csrf

    from web.app import create_app

    ledger.import_ledger(SAMPLE, "sixian", "sx-civil")
    ids = {c["name"]: c["child_id"] for c in children.search_children("sx-v-sc-dg", "sx-civil", "place")["items"]}
    zhang, li = ids["张小雨"], ids["李明"]
    assert "办理退出</button>" not in browser_like("sx-director-dg").get(f"/children/{zhang}").text
    civil = browser_like("sx-civil")
    page = civil.get(f"/children/{zhang}").text
    assert "退出保障范围" in page and "已妥善安置" in page
    bad = civil.post(f"/children/{zhang}/exit", data={"csrf": csrf(page), "reason": "", "notes": "<b>x</b>"})
    assert bad.status_code == 400 and "请选择退出情形" in bad.text and "&lt;b&gt;x&lt;/b&gt;" in bad.text
    assert all(c["in_force"] for c in children.show_child(zhang, "sx-civil")["categories"])
    done = civil.post(f"/children/{zhang}/exit", data={"csrf": csrf(page), "reason": "placed", "notes": "已送养"})
    assert done.status_code == 200 and "已办理退出保障范围" in done.text and "办理退出</button>" not in done.text
    assert not any(c["in_force"] for c in children.show_child(zhang, "sx-civil")["categories"])
    director = browser_like("sx-director-dg")
    refused = director.post(f"/children/{li}/exit", data={"csrf": csrf(director.get("/").text), "reason": "placed"})
    assert refused.status_code == 403

    api = TestClient(create_app(), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {accounts.create_token('sx-civil', 'test')['token']}"}
    wrong = api.post(f"/api/v1/children/{li}/exit", json={"reason": "nope"}, headers=auth)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "reason"
    again = api.post(f"/api/v1/children/{zhang}/exit", json={"reason": "placed"}, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_on_ledger"
    left = cli("ledger", "exit", li, "-", "--as", "sx-civil", stdin='{"reason": "adopted"}')
    assert left["categories_ended"] and left["reason"] == "adopted"
