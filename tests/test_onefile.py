"""One child, one file (issue 16 §5): likely duplicates by blocks (birth date, pinyin), merging two files
with a reason (everything moves, the other file stays as a stub) and undoing a merge exactly — with the
access rule (civil affairs of the county only), on every face, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, csrf, make_report, on_ledger
from conftest import run_cli as cli
from sqlmodel import Session, col, select

from models import (
    AccessRecord,
    Attachment,
    Case,
    Child,
    ChildCategory,
    ChildEvent,
    ChildMerge,
    Document,
    EntrustedCare,
    Guardian,
    TimelineEvent,
    VerificationVisit,
)
from services import cases, children, onefile, reports
from shouhu import db, idnumber
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from tasks import rounds

CIVIL = "sx-civil"
TOWN, OTHER_TOWN = "sx-t-sc", "sx-t-cg"
_seq = iter(range(1, 10_000))


def add_child(
    name: str, born: date, township: str = TOWN, with_id: bool = True, guardian: str | None = None
) -> uuid.UUID:
    """A child's file as intake or an import leaves it (a guardian named, an ID number or none)."""
    with db.transaction() as s:
        child = Child(
            jurisdiction="sixian",
            id_number=idnumber.make("341324", born, next(_seq)) if with_id else None,
            name=name,
            birth_date=born,
            gender="male",
            township=township,
            created_at=now(),
        )
        s.add(child)
        s.flush()
        s.add(
            Guardian(
                child_id=child.id, name=guardian or f"监护人{uuid.uuid4().hex[:6]}", relation="母亲", status="在家"
            )
        )
        return child.id


def pairs(found: dict[str, Any]) -> dict[frozenset[str], dict[str, Any]]:
    return {frozenset(c["child_id"] for c in x["children"]): x for x in found["items"]}


def test_likely_duplicates_and_what_is_not_one(db_url: str) -> None:
    """Same or same-sounding names (homophones, traditional characters) with the same birth date, one file
    without an ID number: listed with the reasons. Two ID numbers, or nothing in common but a birth date,
    a township or a guardian, or a name alone: not listed."""
    expected = {}
    for n, (a, b) in enumerate([("张小明", "张小明"), ("张晓明", "张小明"), ("張小明", "张小明"), ("李丽", "李莉")]):
        born = date(2015, 1, 1) + timedelta(days=40 * n)
        first, second = add_child(a, born), add_child(b, born, OTHER_TOWN, with_id=False)
        expected[frozenset({str(first), str(second)})] = ["same_name" if a == b else "same_pinyin"]
    born = date(2017, 3, 3)
    add_child("王芳", born), add_child("王芳", born)  # two ID numbers: two children
    add_child("赵强", born, guardian="刘梅"), add_child("孙磊", born, with_id=False, guardian="刘梅")  # twins?
    add_child("周杰", date(2016, 2, 2)), add_child("周杰", date(2016, 9, 9), with_id=False)  # a name alone
    found = pairs(onefile.find_duplicates("sixian", CIVIL))
    assert set(found) == set(expected)
    for key, name_reason in expected.items():
        assert found[key]["reasons"] == [*name_reason, "same_birth_date", "no_id_number"]
        assert found[key]["score"] >= 60
        assert found[key]["children"][0]["id_number"]  # the file with the ID number first: the one to keep
    with Session(db.engine()) as s:
        seen = s.exec(select(AccessRecord).where(AccessRecord.action == "child_duplicates")).all()
    assert [(r.actor, r.reason) for r in seen] == [(CIVIL, "results=4")]


def test_duplicates_scale_by_blocks(db_url: str) -> None:
    """Candidates come from blocks (birth date, pinyin), never all pairs: a county of 10,000 children is
    scored in seconds, and the planted pair is found among them."""
    rng = random.Random(16)
    family, given = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
    with db.transaction() as s:
        for n in range(10_000):
            s.add(
                Child(
                    jurisdiction="sixian",
                    id_number=idnumber.make("341324", date(2010, 1, 1), n % 1000)[:-4] + f"{n:04d}",
                    name=rng.choice(family) + rng.choice(given) + rng.choice(given),
                    birth_date=date(2010, 1, 1) + timedelta(days=rng.randrange(365 * 8)),
                    gender="female",
                    township=TOWN,
                    created_at=now(),
                )
            )
    planted = (add_child("欧阳晓雯", date(2012, 7, 7)), add_child("欧阳小雯", date(2012, 7, 7), with_id=False))
    started = time.perf_counter()
    found = onefile.find_duplicates("sixian", CIVIL)
    took = time.perf_counter() - started
    assert frozenset(map(str, planted)) in pairs(found)
    with Session(db.engine()) as s:
        rows = s.exec(select(Child)).all()
    files = [{"birth_date": c.birth_date, "pinyin": onefile.pinyin_key(c.name)} for c in rows]
    candidates = len(onefile.candidate_pairs(files))
    print(f"\n10,002 children: {candidates} candidate pairs of {len(rows) * (len(rows) - 1) // 2}, {took:.2f} s")
    assert candidates < len(rows) * 20 and took < 30


def file_of(case_id: str) -> str:
    with Session(db.engine()) as s:
        return str(s.get_one(Case, uuid.UUID(case_id)).child_id)


def snapshot(*child_ids: str) -> dict[str, Any]:
    """Every row of the two files but their timelines: what a merge moves and an unmerge must put back."""
    ids = [uuid.UUID(c) for c in child_ids]
    with Session(db.engine()) as s:
        case_rows = s.exec(select(Case).where(col(Case.child_id).in_(ids))).all()
        case_ids = [c.id for c in case_rows]

        def rows(model: Any, where: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
            found = [r.model_dump(exclude=set(drop)) for r in s.exec(select(model).where(where)).all()]
            return sorted(found, key=lambda r: str(r["id"]))

        return {
            "children": rows(Child, col(Child.id).in_(ids)),
            "guardians": rows(Guardian, col(Guardian.child_id).in_(ids)),
            "carers": rows(EntrustedCare, col(EntrustedCare.child_id).in_(ids)),
            "categories": rows(ChildCategory, col(ChildCategory.child_id).in_(ids)),
            "visits": rows(VerificationVisit, col(VerificationVisit.child_id).in_(ids)),
            "cases": rows(Case, col(Case.id).in_(case_ids), ("timeline_seq", "timeline_head", "seal")),
            "documents": rows(Document, col(Document.case_id).in_(case_ids)),
            "attachments": rows(Attachment, col(Attachment.case_id).in_(case_ids)),
        }


def two_files() -> dict[str, Any]:
    """张小明 reported with an ID number, 张晓明 (same birth date) without one: two files, two cases, both
    on the ledger with this quarter's visit, the second with a carer and an attachment."""
    born = "2015-06-01"
    with_id = make_report(**{"child.name": "张小明", "child.birth_date": born})
    with_id["child"]["id_number"] = idnumber.make("341324", date(2015, 6, 1), 901)
    without = make_report(**{"child.name": "张晓明", "child.birth_date": born, "child.id_number": None})
    without["guardians"] = [{"name": "王秀英", "relation": "mother", "status": "working_away"}]
    keep_case, other_case = reports.submit_report(with_id, "sx-intake"), reports.submit_report(without, "sx-intake")
    on_ledger([with_id, without])
    assert rounds.start_due_rounds(T0.date())["verification_visits"] == 2
    keep, other = file_of(keep_case["case_id"]), file_of(other_case["case_id"])
    with db.transaction() as s:
        s.add(
            EntrustedCare(
                child_id=uuid.UUID(other), name="王奶奶", relation="祖母", phone="13900000001", created_at=now()
            )
        )
        s.add(
            Attachment(
                case_id=uuid.UUID(other_case["case_id"]),
                name="照片.jpg",
                content_type="image/jpeg",
                size=3,
                sha256="0" * 64,
                added_by="sx-police",
                created_at=now(),
            )
        )
    return {"keep": keep, "other": other, "keep_case": keep_case, "other_case": other_case}


def test_a_merge_moves_everything_and_an_unmerge_puts_back_exactly_that(db_url: str) -> None:
    f = two_files()
    keep, other = f["keep"], f["other"]
    assert frozenset({keep, other}) in pairs(onefile.find_duplicates("sixian", CIVIL))
    before = snapshot(keep, other)
    assert before["documents"] and before["attachments"]
    merge = onefile.merge_children(keep, other, {"reason": "经东关村委会核实为同一儿童"}, CIVIL)
    moved = merge["moved"]
    assert (len(moved["cases"]), len(moved["guardians"]), len(moved["carers"])) == (1, 1, 1)
    assert len(moved["visits_set_aside"]) == 1 and len(moved["categories_set_aside"]) == 1  # the same quarter, entry
    after = snapshot(keep, other)
    assert {r["child_id"] for r in after["cases"]} == {uuid.UUID(keep)}
    assert {r["child_id"] for r in after["guardians"] + after["carers"]} == {uuid.UUID(keep)}
    assert [v["status"] for v in after["visits"] if str(v["child_id"]) == other] == ["merged"]
    day = T0.date()
    assert all(c["ended_on"] and c["ended_on"] <= day for c in after["categories"] if str(c["child_id"]) == other)
    # the stub points to KEEP; the searches and the pages follow the merge
    stub = children.show_child(other, CIVIL)
    assert stub["merged_into"] == keep and stub["cases"] == [] and stub["timeline"][-1]["kind"] == "merged_into"
    assert [m["merge_id"] for m in children.show_child(keep, CIVIL)["merges"]] == [merge["merge_id"]]
    assert [c["child_id"] for c in children.search_children("张晓明", CIVIL)["items"]] == [keep]
    assert [c["child_id"] for c in children.search_children(f["other_case"]["case_no"], CIVIL)["items"]] == [keep]
    assert [c["child_id"] for c in children.search_children("张", CIVIL)["items"]] == [keep]
    for case in (f["keep_case"], f["other_case"]):
        assert cases.verify_case(case["case_id"], CIVIL)["ok"]
    kinds = [e["kind"] for e in cases.case_timeline(f["other_case"]["case_id"], CIVIL)]
    assert [k for k in kinds if k.startswith("child_")] == ["child_merged"]
    # the next round visits KEEP only; a new report without an ID number joins KEEP
    assert rounds.start_due_rounds(date(2027, 1, 2))["verification_visits"] == 1
    again = reports.submit_report(
        make_report(**{"child.name": "张晓明", "child.birth_date": "2015-06-01", "child.id_number": None}), "sx-intake"
    )
    assert file_of(again["case_id"]) == keep
    with pytest.raises(Conflict) as err:  # a stub is merged into nothing
        onefile.merge_children(other, keep, {"reason": "反向"}, CIVIL)
    assert err.value.code == "already_merged"


def test_unmerge_restores_the_snapshot(db_url: str) -> None:
    """Merge and unmerge at once: every row of both files is as it was (ids, values, seals)."""
    f = two_files()
    before = snapshot(f["keep"], f["other"])
    merge = onefile.merge_children(f["keep"], f["other"], {"reason": "同一儿童"}, CIVIL)
    undone = onefile.unmerge_children(merge["merge_id"], CIVIL)
    assert undone["status"] == "unmerged"
    assert snapshot(f["keep"], f["other"]) == before
    for case in (f["keep_case"], f["other_case"]):
        assert cases.verify_case(case["case_id"], CIVIL)["ok"]
    with Session(db.engine()) as s:
        events = s.exec(select(ChildEvent.kind).where(ChildEvent.child_id == uuid.UUID(f["other"]))).all()
        assert events[-2:] == ["merged_into", "unmerged"]
        kinds = s.exec(
            select(TimelineEvent.kind).where(TimelineEvent.case_id == uuid.UUID(f["other_case"]["case_id"]))
        ).all()
        assert [k for k in kinds if k.startswith("child_")] == ["child_merged", "child_unmerged"]
    with pytest.raises(Conflict) as err:
        onefile.unmerge_children(merge["merge_id"], CIVIL)
    assert err.value.code == "already_unmerged"


def test_the_id_number_joins_the_kept_file_and_comes_back(db_url: str) -> None:
    keep, other = add_child("陈静", date(2014, 4, 4), with_id=False), add_child("陈静", date(2014, 4, 4))
    before = snapshot(str(keep), str(other))
    number = before["children"][[c["id"] for c in before["children"]].index(other)]["id_number"]
    merge = onefile.merge_children(str(keep), str(other), {"reason": "同一儿童"}, CIVIL)
    assert merge["moved"]["id_number"] == number
    assert [c["child_id"] for c in children.search_children(number, CIVIL)["items"]] == [str(keep)]
    onefile.unmerge_children(merge["merge_id"], CIVIL)
    assert snapshot(str(keep), str(other)) == before


def test_unsafe_unmerges_and_refused_merges_change_nothing(db_url: str) -> None:
    a, b, c = (add_child("林涛", date(2013, 3, 3), with_id=False) for _ in range(3))
    first = onefile.merge_children(str(a), str(b), {"reason": "同一儿童"}, CIVIL)
    second = onefile.merge_children(str(c), str(a), {"reason": "同一儿童"}, CIVIL)
    with pytest.raises(Conflict) as err:
        onefile.unmerge_children(first["merge_id"], CIVIL)
    assert err.value.code == "unmerge_merged_again"
    onefile.unmerge_children(second["merge_id"], CIVIL)
    onefile.unmerge_children(first["merge_id"], CIVIL)  # safe again once the later merge is undone
    x, y = add_child("黄磊", date(2012, 2, 2)), add_child("黄磊", date(2012, 2, 2))
    before = snapshot(str(x), str(y))
    refusals = [
        (
            lambda: onefile.merge_children(str(x), str(y), {"reason": "同一儿童"}, CIVIL),
            Conflict,
            "different_id_numbers",
        ),
        (lambda: onefile.merge_children(str(x), str(x), {"reason": "同一儿童"}, CIVIL), InvalidInput, "same_child"),
        (lambda: onefile.merge_children(str(x), str(a), {}, CIVIL), InvalidInput, "missing_field"),
        (lambda: onefile.merge_children(str(x), str(a), {"reason": " "}, CIVIL), InvalidInput, None),
        (lambda: onefile.merge_children(str(x), "nonsense", {"reason": "同一儿童"}, CIVIL), NotFound, "unknown_child"),
        (lambda: onefile.unmerge_children(str(uuid.uuid4()), CIVIL), NotFound, "unknown_merge"),
    ]
    for action, kind, code in refusals:
        with pytest.raises(kind) as err:
            action()
        assert code is None or err.value.code == code
    assert snapshot(str(x), str(y)) == before
    with Session(db.engine()) as s:
        assert len(s.exec(select(ChildMerge)).all()) == 2


@pytest.mark.parametrize(
    "who", ["sx-manager", "sx-police", "sx-intake", "sx-supervisor-sc", "sx-director-dg", "yt-civil"]
)
def test_only_civil_affairs_of_the_county_find_and_merge(db_url: str, who: str) -> None:
    a, b = add_child("吴敏", date(2011, 1, 1)), add_child("吴敏", date(2011, 1, 1), with_id=False)
    with pytest.raises(Forbidden):
        onefile.find_duplicates("sixian", who)
    with pytest.raises((Forbidden, NotFound)):
        onefile.merge_children(str(a), str(b), {"reason": "同一儿童"}, who)
    merge = onefile.merge_children(str(a), str(b), {"reason": "同一儿童"}, "sx-rescue")  # civil affairs too
    with pytest.raises((Forbidden, NotFound)):
        onefile.unmerge_children(merge["merge_id"], who)
    with Session(db.engine()) as s:
        refused = s.exec(select(AccessRecord).where(AccessRecord.actor == who, AccessRecord.allowed == False)).all()  # noqa: E712
    assert len(refused) == 3


def test_the_cli_and_the_api(db_url: str, browser_like: Any) -> None:
    a, b = add_child("郭超", date(2010, 5, 5)), add_child("郭超", date(2010, 5, 5), with_id=False)
    found = cli("children", "duplicates", "--jurisdiction", "sixian", "--as", CIVIL)
    assert [sorted(c["child_id"] for c in x["children"]) for x in found["items"]] == [sorted([str(a), str(b)])]
    cli("children", "duplicates", "--jurisdiction", "sixian", "--as", "sx-manager", code=2)
    c = add_child("郭超", date(2010, 5, 5))
    refused = cli("children", "merge", str(a), str(c), "-", "--as", CIVIL, code=3, stdin='{"reason": "同一儿童"}')
    assert refused["error"]["code"] == "different_id_numbers"
    merged = cli("children", "merge", str(a), str(b), "-", "--as", CIVIL, stdin='{"reason": "同一儿童"}')
    assert merged["other"] == str(b)
    assert cli("children", "unmerge", merged["merge_id"], "--as", CIVIL)["status"] == "unmerged"
    from fastapi.testclient import TestClient

    from services import accounts
    from web.app import create_app

    client = TestClient(create_app(), raise_server_exceptions=False)

    def token(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {accounts.create_token(who, 'test')['token']}"}

    civil = token(CIVIL)
    r = client.get("/api/v1/children-duplicates", params={"jurisdiction": "sixian"}, headers=civil)
    assert r.status_code == 200 and r.json()["total"] == 2  # b with a, and with c
    assert (
        client.get(
            "/api/v1/children-duplicates", params={"jurisdiction": "sixian"}, headers=token("sx-manager")
        ).status_code
        == 403
    )
    r = client.post(f"/api/v1/children/{a}/merge/{c}", json={"reason": "同一儿童"}, headers=civil)
    assert r.status_code == 409 and r.json()["error"]["code"] == "different_id_numbers"
    r = client.post(f"/api/v1/children/{a}/merge/{b}", json={}, headers=civil)
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"
    r = client.post(f"/api/v1/children/{a}/merge/{b}", json={"reason": "同一儿童"}, headers=civil)
    assert r.status_code == 200
    r = client.post(f"/api/v1/merges/{r.json()['merge_id']}/unmerge", headers=civil)
    assert r.status_code == 200 and r.json()["status"] == "unmerged"


def test_the_pages(db_url: str, browser_like: Any) -> None:
    """Civil affairs sees the pairs in words, merges from the page, the stub's page says where it went, and
    the merge is undone from the child's page; a manager is refused the list."""
    from readable import unreadable, visible_text, vocabulary_codes

    a, b = add_child("马丽", date(2010, 6, 6)), add_child("馬麗", date(2010, 6, 6), with_id=False)
    civil = browser_like(CIVIL)
    page = civil.get("/duplicates")
    assert page.status_code == 200 and "姓名同音" in page.text and "未登记" in page.text
    codes = vocabulary_codes()
    assert unreadable(visible_text(page.text), codes) == []
    token = csrf(page.text)
    r = civil.post("/duplicates/merge", data={"csrf": token, "a": str(a), "b": str(b), "keep": str(a), "reason": ""})
    assert r.status_code == 400 and "必填" in r.text
    r = civil.post(
        "/duplicates/merge",
        data={"csrf": token, "a": str(a), "b": str(b), "keep": str(a), "reason": "同一儿童"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/children/{a}"
    kept = civil.get(f"/children/{a}")
    assert "已合并" in kept.text and "撤销合并" in kept.text
    stub = civil.get(f"/children/{b}")
    assert "本档案已并入" in stub.text and f'href="/children/{a}"' in stub.text
    for text in (kept.text, stub.text):
        assert unreadable(visible_text(text), codes) == []
    merge_id = children.show_child(str(a), CIVIL)["merges"][0]["merge_id"]
    r = civil.post(f"/merges/{merge_id}/unmerge", data={"csrf": csrf(kept.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/children/{b}"
    r = civil.post(f"/merges/{merge_id}/unmerge", data={"csrf": csrf(kept.text)})
    assert r.status_code == 409 and "该合并已撤销" in r.text
    assert browser_like("sx-manager").get("/duplicates").status_code == 403


def test_merge_and_unmerge_on_a_phone(site: str, database_url: str) -> None:
    """A real browser 390 px wide: civil affairs merges a pair from 疑似重复档案 and undoes it from the child's
    page; nothing is wider than the screen."""
    from conftest import CHROMIUM
    from playwright.sync_api import sync_playwright

    from services import accounts

    password = "correct horse battery"
    accounts.set_password(CIVIL, password, must_change=False)
    a, b = add_child("何静", date(2011, 8, 8)), add_child("何靜", date(2011, 8, 8), with_id=False)
    artifacts = Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
        page.goto(f"{site}/login")
        page.fill("#username", CIVIL)
        page.fill("#password", password)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{site}/**")
        page.goto(f"{site}/children")
        page.click("a[href='/duplicates']")
        page.wait_for_url(f"{site}/duplicates")
        assert "姓名同音" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / f"{backend}-onefile-duplicates-390.png"), full_page=True)
        page.fill("#reason-1", "经村委会核实为同一儿童")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{site}/children/{a}")
        assert "已合并为同一份档案" in page.inner_text(".banner")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / f"{backend}-onefile-merged-390.png"), full_page=True)
        page.click("main form button:has-text('撤销合并')")
        page.wait_for_url(f"{site}/children/{b}")
        assert "已撤销合并" in page.inner_text(".banner")
        browser.close()
    with Session(db.engine()) as s:
        assert s.get_one(Child, b).merged_into is None
