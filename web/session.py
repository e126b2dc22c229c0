"""Browser sessions: a signed, HttpOnly, SameSite=Lax cookie (Starlette + itsdangerous) holding only
a random session id and a CSRF token. The session itself is a row in the database
(services.accounts), so it can be ended at once; every form carries the token and every POST
checks it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import Request

from services import accounts
from services.accounts import User
from shouhu import config, policy


class LoginRequired(Exception):
    """No session: the page handler answers with a redirect to /login."""


class PasswordChangeRequired(Exception):
    """An account made or reset by an administrator: the person chooses their own password before
    any other page opens (the page handler redirects to /account/password)."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token: refused (403), nothing done."""


def secret_key() -> str:
    """SHOUHU_SECRET_KEY, else a random key kept in $SHOUHU_HOME/secret_key (mode 600)."""
    given = config.settings().secret_key
    if given:
        return given
    path = Path(config.home()) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def max_age() -> int:
    """The shortest session any pack allows (pack `accounts.session_hours`)."""
    hours = min(policy.pack(j).accounts.value.session_hours for j in policy.jurisdiction_names())
    return int(hours * 3600)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    if (
        not expected
        or not isinstance(sent, str)
        or not secrets.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
    ):
        raise CsrfFailed()


def current_user(request: Request) -> User:
    """The signed-in user of a live server-side session, else a redirect to sign in."""
    user = accounts.session_user(request.session.get("sid"))
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired()
    return user


def page_user(request: Request) -> User:
    """The signed-in user, who has chosen their own password (else a redirect to choose it)."""
    user = current_user(request)
    if user.must_change_password:
        raise PasswordChangeRequired()
    return user


def optional_page_user(request: Request) -> User | None:
    """For pages anyone may see (errors): the user if signed in, without redirecting."""
    try:
        return accounts.session_user(request.session.get("sid"))
    except Exception:  # noqa: BLE001 - an error page must render even when the database does not answer
        return None
