"""Accounts under attack: sessions that really end, a lock-out no stranger can use against staff,
and refusals that tell nothing — not in their words, not in their time."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services import accounts
from shouhu import clock

PASSWORD = "correct horse battery"


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(app: Any, username: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf(client.get("/login").text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def works(app: Any, cookie: str) -> bool:
    """Does a saved session cookie still open a page? (a fresh client: only the cookie)"""
    other = TestClient(app, raise_server_exceptions=False)
    other.cookies.set("shouhu_session", cookie)
    return other.get("/tasks", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("ending", ["logout", "password_change", "disable", "end_all_sessions", "expiry"])
def test_a_saved_cookie_stops_working_when_the_session_ends(db_url: str, ending: str) -> None:
    from web.app import create_app

    app = create_app()
    user = "sx-supervisor-sc"
    accounts.set_password(user, PASSWORD, must_change=False)
    client = signed_in(app, user)
    cookie = client.cookies.get("shouhu_session")
    assert works(app, cookie)
    if ending == "logout":
        client.post("/logout", data={"csrf": csrf(client.get("/tasks").text)})
    elif ending == "password_change":
        accounts.set_password(user, PASSWORD + "!", must_change=False)
    elif ending == "disable":
        accounts.set_disabled(user, True)
    elif ending == "end_all_sessions":
        assert accounts.end_sessions(None)["sessions_ended"] >= 1
    else:
        clock.advance(hours=8, minutes=1)  # the pack's accounts.session_hours
    assert not works(app, cookie)
    if ending == "disable":  # (and enabled again: the demo users are shared by the other tests)
        with pytest.raises(accounts.AuthFailed):
            accounts.login(user, PASSWORD, "10.0.0.1")  # the right password does not sign in a disabled account
        token = accounts.create_token(user, "probe")["token"]
        assert accounts.user_for_token(token) is None
        accounts.set_disabled(user, False)
        assert accounts.login(user, PASSWORD, "10.0.0.1").username == user


def test_a_stranger_cannot_lock_staff_out(db_url: str) -> None:
    """Five wrong passwords from the attacker's address lock that address out of the account,
    not the officer at her desk; twenty failures over many names lock the attacker's address."""
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    for _ in range(5):
        with pytest.raises(accounts.AuthFailed):
            accounts.login("sx-police", "guess guess guess", "203.0.113.66")
    with pytest.raises(accounts.AuthFailed):
        accounts.login(
            "sx-police", PASSWORD, "203.0.113.66"
        )  # locked for the attacker's address, even with the password
    assert accounts.login("sx-police", PASSWORD, "10.1.2.3").username == "sx-police"  # the officer is not locked out
    for n in range(20):  # spraying names from one address
        with pytest.raises(accounts.AuthFailed):
            accounts.login(f"guess-{n}", "guess guess guess", "203.0.113.77")
    with pytest.raises(accounts.AuthFailed):
        accounts.login("sx-manager", PASSWORD, "203.0.113.77")  # the address is locked for every account
    assert accounts.login("sx-manager", PASSWORD, "10.1.2.4").username == "sx-manager"
    clock.advance(minutes=16)  # the pack's lock_minutes have passed
    assert accounts.login("sx-manager", PASSWORD, "203.0.113.77").username == "sx-manager"


def test_every_refusal_costs_one_password_hash_and_says_the_same(db_url: str, monkeypatch: Any) -> None:
    """Unknown name, no password set, wrong password, locked address, disabled account: each runs
    exactly one Argon2 verification (so each takes the time a wrong password takes) and raises
    the same error. bench/login.py prints the times."""
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    accounts.set_password("sx-director-dg", PASSWORD, must_change=False)
    accounts.set_disabled("sx-director-dg", True)
    for _ in range(5):
        with pytest.raises(accounts.AuthFailed):
            accounts.login("sx-police", "wrong wrong wrong", "198.51.100.9")
    verifications: list[str] = []
    real = accounts._hasher

    class Counting:  # PasswordHasher has slots: wrap it instead of patching it
        def verify(self, stored: str, password: str) -> bool:
            verifications.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    refusals = {
        "unknown name": ("nobody-here", PASSWORD, "198.51.100.1"),
        "no password set": ("sx-intake", PASSWORD, "198.51.100.1"),  # a real user who has no password yet
        "wrong password": ("sx-police", "not the password", "198.51.100.2"),
        "locked address": ("sx-police", PASSWORD, "198.51.100.9"),
        "disabled": ("sx-director-dg", PASSWORD, "198.51.100.3"),
    }
    answers = {}
    try:
        for reason, args in refusals.items():
            verifications.clear()
            with pytest.raises(accounts.AuthFailed) as refused:
                accounts.login(*args)
            answers[reason] = refused.value.as_json()
            assert len(verifications) == 1, (reason, len(verifications))
    finally:
        accounts.set_disabled("sx-director-dg", False)  # the demo users are shared by the other tests
    assert len({str(a) for a in answers.values()}) == 1  # one answer for every reason


def test_sign_in_goes_back_only_to_a_page_of_this_site(db_url: str) -> None:
    from web.app import create_app

    app = create_app()
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    for target, expected in (
        ("/cases", "/cases"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client = TestClient(app, raise_server_exceptions=False)
        page = client.get("/login", params={"next": target})
        r = client.post(
            "/login",
            data={"username": "sx-police", "password": PASSWORD, "csrf": csrf(page.text), "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == expected, (target, r.headers["location"])


def test_session_clock_is_the_injected_one(db_url: str) -> None:
    from web.app import create_app

    app = create_app()
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    client = signed_in(app, "sx-police")
    clock.advance(hours=7, minutes=59)
    assert client.get("/tasks", follow_redirects=False).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/tasks", follow_redirects=False).status_code == 303
    assert timedelta(hours=8) == timedelta(hours=accounts._rule("sixian").session_hours)


def test_many_addresses_cannot_guess_and_a_shared_address_cannot_lock_out_a_known_colleague(db_url: str) -> None:
    """Guesses spread over many IPv6 addresses of one /64 count as one source; guesses spread over
    many networks lock the account for strangers only; a colleague behind an address that a
    stranger got locked still signs in from where she signed in before."""
    accounts.set_password("sx-police", PASSWORD, must_change=False)
    accounts.set_password("sx-manager", PASSWORD, must_change=False)
    assert accounts.login("sx-manager", PASSWORD, "203.0.113.7").username == "sx-manager"  # her usual office address
    assert accounts.source_key("2001:db8::1") == accounts.source_key("2001:db8::ffff") == "2001:db8::/64"
    for n in range(5):
        with pytest.raises(accounts.AuthFailed):
            accounts.login("sx-police", "guess guess guess", f"2001:db8::{n:x}")
    with pytest.raises(accounts.AuthFailed):
        accounts.login("sx-police", PASSWORD, "2001:db8::99")  # the same /64: locked for that network
    for n in range(50):  # one guess each from fifty networks
        with pytest.raises(accounts.AuthFailed):
            accounts.login("sx-police", "guess guess guess", f"198.18.{n}.1")
    with pytest.raises(accounts.AuthFailed):
        accounts.login("sx-police", PASSWORD, "198.19.0.1")  # a stranger's address: locked out
    for n in range(20):  # a stranger behind the office's shared address sprays names
        with pytest.raises(accounts.AuthFailed):
            accounts.login(f"guess-{n}", "guess guess guess", "203.0.113.7")
    with pytest.raises(accounts.AuthFailed):
        accounts.login("sx-intake", PASSWORD, "203.0.113.7")  # never signed in from there: held by the lock
    assert accounts.login("sx-manager", PASSWORD, "203.0.113.7").username == "sx-manager"  # a known colleague is not
