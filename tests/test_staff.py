"""Staff administration (issue 13 §2): a county keeps its own accounts — add, move, disable,
passwords, tokens — on every face (CLI, API, pages), each action on a record a manager reads, a
departed person's access gone at once and their past actions still theirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, csrf, make_report
from fastapi.testclient import TestClient
from hostile import PAYLOADS
from sqlmodel import Session, select

from models import AccessRecord, AdminRecord, TimelineEvent, User
from services import accounts, cases, reports
from shouhu import db
from shouhu.errors import Conflict, Forbidden, InvalidInput, ShouhuError

ROOT = Path(__file__).resolve().parent.parent
NEW = {
    "username": "sx-li-na",
    "role": "village_director",
    "unit": "sx-v-sc-dg",
    "display_name": "李娜",
    "jurisdiction": "sixian",
}


def state() -> tuple[Any, ...]:
    """Everything staff administration may change: a refused action must leave all of it as it was."""
    with Session(db.engine()) as s:
        users = sorted(
            (u.username, u.role, u.unit, u.display_name, u.disabled_at, u.must_change_password)
            for u in s.exec(select(User))
        )
        records = len(s.exec(select(AdminRecord)).all())
    return tuple(users), records


def sign_in(app: Any, username: str, password: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf(client.get("/login").text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def test_an_account_from_its_first_day_to_its_last(db_url: str) -> None:
    """Added by a manager with a temporary password → must choose their own before any page opens →
    works → moved → disabled: sessions and tokens end at once, past actions keep the name."""
    from web.app import create_app

    app = create_app()
    created = accounts.add_user(NEW, "sx-manager")
    assert {
        k: created[k] for k in ("username", "role", "unit", "display_name", "disabled", "must_change_password")
    } == {
        "username": "sx-li-na",
        "role": "village_director",
        "unit": "sx-v-sc-dg",
        "display_name": "李娜",
        "disabled": False,
        "must_change_password": True,
    }
    listed = {u["username"]: u for u in accounts.list_users("sixian", "sx-manager")}
    assert listed["sx-li-na"] == {
        "username": "sx-li-na",
        "role": "village_director",
        "unit": "sx-v-sc-dg",
        "display_name": "李娜",
        "disabled": False,
    }

    # the first sign-in leads to the password page, and nothing else opens until it is done
    client = sign_in(app, "sx-li-na", created["temporary_password"])
    for path in ("/", "/tasks", "/cases", "/inbox"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/account/password"), path
    page = client.get("/account/password")
    assert "临时密码" in page.text
    same = client.post(
        "/account/password",
        data={
            "csrf": csrf(page.text),
            "current_password": created["temporary_password"],
            "new_password": created["temporary_password"],
            "repeat_password": created["temporary_password"],
        },
    )
    assert same.status_code == 400 and "新密码不能与当前密码相同" in same.text
    done = client.post(
        "/account/password",
        data={
            "csrf": csrf(page.text),
            "current_password": created["temporary_password"],
            "new_password": PASSWORD,
            "repeat_password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/tasks", follow_redirects=False).status_code == 200  # the browser in hand stays signed in
    with pytest.raises(ShouhuError):  # the temporary password is gone
        accounts.login("sx-li-na", created["temporary_password"])

    # works: a report's case in the village is hers to read
    case = reports.submit_report(make_report(child={**make_report()["child"], "village": "sx-v-sc-dg"}), "sx-intake")
    assert cases.show_case(case["case_no"], "sx-li-na")["case_no"] == case["case_no"]

    # moved to the other village: what she may read changes at once
    assert accounts.move_user("sx-li-na", {"unit": "sx-v-cg-xz"}, "sx-manager")["unit"] == "sx-v-cg-xz"
    with pytest.raises(ShouhuError) as refused:
        cases.show_case(case["case_no"], "sx-li-na")
    assert refused.value.code == "unknown_case"

    # disabled: the saved cookie and the token stop at once; what she did stays hers
    token = accounts.create_token("sx-li-na", "village tablet", "sx-manager")
    api = TestClient(app, raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    cookie = client.cookies.get("shouhu_session")
    gone = accounts.set_disabled("sx-li-na", True, "sx-manager")
    assert gone["sessions_ended"] == 1 and gone["tokens_revoked"] == 1
    stale = TestClient(app, raise_server_exceptions=False)
    stale.cookies.set("shouhu_session", cookie)
    assert stale.get("/tasks", follow_redirects=False).headers["location"].startswith("/login")
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
    accounts.set_disabled("sx-li-na", False, "sx-manager")
    assert api.get("/api/v1/me", headers=bearer).status_code == 401, (
        "enabling again does not bring a revoked token back"
    )
    with Session(db.engine()) as s:
        read = s.exec(
            select(TimelineEvent).where(TimelineEvent.kind == "case_read", TimelineEvent.actor == "sx-li-na")
        ).all()
    assert read, "her earlier read of the case is still on its timeline under her name"

    # every administrative action is on the record, in order, with who did it
    records = accounts.admin_records("sixian", "sx-manager")
    assert [(r["action"], r["actor"], r["target"]) for r in reversed(records)] == [
        ("user_add", "sx-manager", "sx-li-na"),
        ("user_move", "sx-manager", "sx-li-na"),
        ("token_create", "sx-manager", "sx-li-na"),
        ("user_disable", "sx-manager", "sx-li-na"),
        ("user_enable", "sx-manager", "sx-li-na"),
    ]
    assert records[-2]["detail"] == {"from": "sx-v-sc-dg", "to": "sx-v-cg-xz"}


def test_a_token_is_revoked_by_its_id(db_url: str) -> None:
    from web.app import create_app

    app = create_app()
    api = TestClient(app, raise_server_exceptions=False)
    one, two = (accounts.create_token("sx-police", name, "sx-manager") for name in ("one", "two"))
    revoked = accounts.revoke_token(one["token_id"], "sx-manager")
    assert revoked["revoked_at"] is not None and revoked["token_id"] == one["token_id"]
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {one['token']}"}).status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {two['token']}"}).status_code == 200
    listed = {t["token_id"]: t for t in accounts.list_tokens("sx-police", "sx-manager")}
    assert listed[one["token_id"]]["revoked_at"] and listed[two["token_id"]]["revoked_at"] is None
    assert all("token" not in t and "token_hash" not in t for t in listed.values())


@pytest.mark.parametrize("who", ["sx-police", "sx-civil", "sx-director-dg", "yt-manager"])
def test_only_the_countys_managers_and_admins_administer_and_a_refusal_changes_nothing(db_url: str, who: str) -> None:
    before = state()
    for act in (
        lambda: accounts.add_user(NEW, who),
        lambda: accounts.move_user("sx-police", {"unit": "sx-ga"}, who),
        lambda: accounts.set_disabled("sx-police", True, who),
        lambda: accounts.admin_records("sixian", who),
        lambda: accounts.list_users("sixian", who),
        lambda: accounts.create_token("sx-police", "x", who),
        lambda: accounts.set_password("sx-police", PASSWORD, who),
    ):
        with pytest.raises(Forbidden):
            act()
    assert state() == before
    with Session(db.engine()) as s:
        refusals = s.exec(
            select(AccessRecord).where(AccessRecord.actor == who, AccessRecord.action == "administer")
        ).all()
    assert len(refusals) == 7 and not any(r.allowed for r in refusals)


def test_an_admin_keeps_accounts_and_reads_no_childs_file(db_url: str) -> None:
    from web.app import create_app

    admin = accounts.add_user(
        {**NEW, "username": "sx-it", "role": "admin", "unit": "sx-mz", "display_name": "王工"}, None
    )
    accounts.set_password("sx-it", PASSWORD, "sx-manager", must_change=False)
    case = reports.submit_report(make_report(), "sx-intake")
    assert admin["role"] == "admin"
    assert accounts.add_user({**NEW, "username": "sx-new"}, "sx-it")["username"] == "sx-new"
    with pytest.raises(ShouhuError) as refused:
        cases.show_case(case["case_no"], "sx-it")
    assert refused.value.code == "unknown_case"
    assert cases.list_cases("sx-it")["total"] == 0
    client = sign_in(create_app(), "sx-it", PASSWORD)
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == "/admin/users"
    page = client.get("/admin/users")
    assert page.status_code == 200 and "sx-new" in page.text and "人员管理" in page.text
    assert client.get(f"/cases/{case['case_no']}").status_code == 404


HOSTILE = [
    *PAYLOADS,
    "\x00",
    "a\x07b",
    "李\u202e娜",
    " ",
    "x" * 5000,
    "../../etc/passwd",
    "'; DROP TABLE user; --",
    "sx-police",
    "ＳＸ－ｍｚ",
    "👧🏻",
    "\ud800",
]
BAD = [
    ({"username": "Has Space"}, "username", "invalid_value"),
    ({"username": "x"}, "username", "invalid_value"),
    ({"username": "sx-police"}, "username", "username_taken"),
    ({"role": "superuser"}, "role", "invalid_value"),
    ({"unit": "sx-nowhere"}, "unit", "unknown_unit"),
    ({"unit": "yt-t-qy"}, "unit", "unknown_unit"),  # another county's unit
    ({"unit": "sx-t-sc"}, "unit", "unit_does_not_fit_role"),  # a village director in a township
    ({"display_name": ""}, "display_name", "missing_field"),
    ({"display_name": "李" * 41}, "display_name", "too_long"),
    ({"display_name": "李\u202e娜"}, "display_name", "control_character"),
    ({"jurisdiction": "atlantis"}, "jurisdiction", "unknown_jurisdiction"),
    ({"extra": 1}, "extra", "unknown_field"),
]


@pytest.mark.parametrize(("change", "field", "code"), BAD, ids=[f"{b[1]}-{b[2]}" for b in BAD])
def test_a_bad_account_is_refused_naming_the_field_and_nothing_changes(
    db_url: str, change: dict[str, Any], field: str, code: str
) -> None:
    before = state()
    with pytest.raises((InvalidInput, Conflict)) as refused:
        accounts.add_user({**NEW, **change}, "sx-manager")
    assert (refused.value.field, refused.value.code) == (field, code), refused.value.message
    assert field in refused.value.message or refused.value.code in ("unknown_jurisdiction", "unknown_field")
    assert state() == before


def test_hostile_strings_through_every_field_of_every_staff_form(db_url: str) -> None:
    """Each field of add (and move) through the hostile strings: refused naming that field, or
    stored exactly as given and shown escaped on the pages."""
    from web.app import create_app

    client = sign_in(create_app(), *_manager())
    before = state()
    for text in HOSTILE:
        for field in ("username", "role", "unit", "display_name"):
            try:
                made = accounts.add_user(
                    {**NEW, "username": f"sx-h{abs(hash((field, text))) % 10**8}", field: text}, "sx-manager"
                )
            except (InvalidInput, Conflict) as exc:
                assert exc.field == field, (field, text, exc.field)
                continue
            assert field == "display_name" and made["display_name"] == text.strip()
        with pytest.raises((InvalidInput, ShouhuError)) as refused:
            accounts.move_user("sx-police", {"unit": text}, "sx-manager")
        assert refused.value.field == "unit"
    page = client.get("/admin/users")
    assert page.status_code == 200 and "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert state()[1] > before[1]  # the names that are allowed were added, each on the record


def _manager() -> tuple[str, str]:
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    return "sx-manager", PASSWORD


def test_the_pages_add_move_disable_and_show_the_record(db_url: str) -> None:
    from web.app import create_app

    client = sign_in(create_app(), *_manager())
    page = client.get("/admin/users")
    bad = client.post(
        "/admin/users",
        data={
            "csrf": csrf(page.text),
            "username": "sx-li-na",
            "display_name": "李娜",
            "role": "village_director",
            "unit": "sx-t-sc",
        },
    )
    assert (
        bad.status_code == 400
        and "该单位不适合此角色" in bad.text
        and "sx-li-na" not in {u["username"] for u in accounts.list_users("sixian", None)}
    )
    made = client.post(
        "/admin/users",
        data={
            "csrf": csrf(page.text),
            "username": "sx-li-na",
            "display_name": "李娜",
            "role": "village_director",
            "unit": "sx-v-sc-dg",
        },
    )
    assert made.status_code == 200 and "临时密码" in made.text
    temporary = made.text.split("临时密码：<code>")[1].split("</code>")[0]
    assert accounts.login("sx-li-na", temporary).username == "sx-li-na"
    one = client.get("/admin/users/sx-li-na")
    moved = client.post(
        "/admin/users/sx-li-na",
        data={"csrf": csrf(one.text), "action": "move", "unit": "sx-v-cg-xz"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    off = client.post(
        "/admin/users/sx-li-na", data={"csrf": csrf(one.text), "action": "disable"}, follow_redirects=True
    )
    assert "已停用" in off.text
    assert {u["username"]: u for u in accounts.list_users("sixian", None)}["sx-li-na"] == {
        "username": "sx-li-na",
        "role": "village_director",
        "unit": "sx-v-cg-xz",
        "display_name": "李娜",
        "disabled": True,
    }
    record = client.get("/admin/records")
    assert [w for w in ("新增账户", "调整单位", "停用账户") if w in record.text] == ["新增账户", "调整单位", "停用账户"]
    assert "user_add" not in record.text  # codes stay in JSON
    police = sign_in(create_app(), "sx-police", _password("sx-police"))
    assert police.get("/admin/users").status_code == 403


def _password(username: str) -> str:
    accounts.set_password(username, PASSWORD, must_change=False)
    return PASSWORD


def test_the_api_administers_under_the_same_rules(db_url: str) -> None:
    from web.app import create_app

    api = TestClient(create_app(), raise_server_exceptions=False)
    manager = {"Authorization": f"Bearer {accounts.create_token('sx-manager', 'admin api')['token']}"}
    police = {"Authorization": f"Bearer {accounts.create_token('sx-police', 'api')['token']}"}
    r = api.post("/api/v1/users", headers=manager, json=NEW)
    assert r.status_code == 201 and r.json()["temporary_password"]
    assert (
        api.post("/api/v1/users", headers=manager, json={**NEW, "username": "sx-x", "unit": "sx-t-sc"}).json()["error"][
            "field"
        ]
        == "unit"
    )
    assert (
        api.post("/api/v1/users/sx-li-na/move", headers=manager, json={"unit": "sx-v-cg-xz"}).json()["unit"]
        == "sx-v-cg-xz"
    )
    assert api.post("/api/v1/users/sx-li-na/disable", headers=manager).json()["disabled"] is True
    users = {u["username"]: u for u in api.get("/api/v1/users", headers=manager).json()}
    assert users["sx-li-na"]["disabled"] is True and set(users["sx-li-na"]) == {
        "username",
        "role",
        "unit",
        "display_name",
        "disabled",
    }
    refused = api.post("/api/v1/users", headers=police, json={**NEW, "username": "sx-y"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_may_not_administer"
    assert [r["action"] for r in api.get("/api/v1/admin-records", headers=manager).json()][:3] == [
        "user_disable",
        "user_move",
        "user_add",
    ]


def cli(*args: str, stdin: str | None = None, code: int = 0, env: dict[str, str] | None = None) -> Any:
    run_env = {**os.environ, **(env or {})}
    run_env.pop("SHOUHU_USER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "cli", *args, "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        env=run_env,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    return json.loads(proc.stdout)


def test_the_cli_contract(db_url: str) -> None:
    """The commands of the issue, as the county's IT officer types them on the machine (as its
    operator) or as a named manager."""
    made = cli(
        "user",
        "add",
        "sx-li-na",
        "--role",
        "village_director",
        "--unit",
        "sx-v-sc-dg",
        "--name",
        "李娜",
        "--jurisdiction",
        "sixian",
    )
    assert made["must_change_password"] is True and len(made["temporary_password"]) >= 12
    assert cli("user", "move", "sx-li-na", "--unit", "sx-v-cg-xz", "--as", "sx-manager")["unit"] == "sx-v-cg-xz"
    token = cli("user", "token", "create", "sx-li-na", "--name", "tablet")
    assert cli("user", "token", "revoke", token["token_id"])["revoked_at"]
    assert cli("user", "disable", "sx-li-na")["disabled"] is True
    listed = {u["username"]: u for u in cli("user", "list", "--jurisdiction", "sixian")}
    assert listed["sx-li-na"] == {
        "username": "sx-li-na",
        "role": "village_director",
        "unit": "sx-v-cg-xz",
        "display_name": "李娜",
        "disabled": True,
    }
    audit = cli("user", "audit", "--jurisdiction", "sixian", "--as", "sx-manager")
    assert [r["action"] for r in audit] == ["user_disable", "token_revoke", "token_create", "user_move", "user_add"]
    assert audit[-1]["actor"].startswith("os:") and audit[-2]["actor"] == "sx-manager"
    refused = cli(
        "user",
        "add",
        "sx-z",
        "--role",
        "police",
        "--unit",
        "sx-pcs-sc",
        "--name",
        "张",
        "--jurisdiction",
        "sixian",
        "--as",
        "sx-police",
        code=2,
    )
    assert refused["error"]["code"] == "role_may_not_administer"
    bad = cli(
        "user",
        "add",
        "sx-z",
        "--role",
        "police",
        "--unit",
        "sx-t-sc",
        "--name",
        "张",
        "--jurisdiction",
        "sixian",
        code=2,
    )
    assert bad["error"]["field"] == "unit"


def test_demo_users_come_only_with_the_demo(tmp_path: Path) -> None:
    env = {"SHOUHU_HOME": str(tmp_path), "SHOUHU_DATABASE_URL": f"sqlite:///{tmp_path / 'plain.db'}"}
    assert cli("init", env=env)["users"] == 0
    assert cli("user", "list", "--jurisdiction", "sixian", env=env) == []
    assert cli("init", "--demo", env=env)["users"] > 0
    assert "sx-manager" in {u["username"] for u in cli("user", "list", "--jurisdiction", "sixian", env=env)}
