"""Signing in: Argon2id password hashes, lock-out after repeated failures, API tokens.

Every sign-in, failed or not, and every lock is recorded in `accessrecord`. A failure says the
same thing whatever went wrong (unknown user, wrong password, locked), so it tells an attacker
nothing; the record says which. Limits are the pack's `accounts` (local defaults).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models import AccessRecord, ApiToken, Credential, User
from shouhu import db, policy
from shouhu.clock import now
from shouhu.errors import InvalidInput, NotFound

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile
DUMMY_HASH = _hasher.hash("not a password anyone has")


class AuthFailed(InvalidInput):
    """Sign-in refused: one message for every reason (401)."""


def _rule(user: User) -> policy.AccountRule:
    return policy.pack(user.jurisdiction).accounts.value


def set_password(username: str, password: str) -> dict[str, str]:
    with db.transaction() as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound("unknown_user", f"no user {username!r}", "username")
        minimum = _rule(user).min_password_length
        if len(password) < minimum:
            raise InvalidInput("password_too_short", f"password: at least {minimum} characters", "password")
        cred = s.get(Credential, username) or Credential(username=username, password_hash="")
        cred.password_hash, cred.failed_attempts, cred.locked_until, cred.updated_at = _hasher.hash(password), 0, None, now()
        s.add(cred)
    return {"username": username, "status": "password set"}


def login(username: str, password: str, source: str = "") -> User:
    """The user, or AuthFailed. Counts failures; the pack's maximum locks the account for a while."""
    at = now()
    with db.transaction() as s:
        user = s.exec(select(User).where(User.username == username)).first()
        cred = s.get(Credential, username) if user else None
        if user is None or cred is None:
            _spend_time(password)  # an unknown name costs what a wrong password costs
            _record(s, username or "?", "login", False, "unknown_user_or_no_password", source)
            raise_after_commit(s)
        if cred.locked_until is not None and cred.locked_until > at:
            _record(s, username, "login", False, "locked", source)
            raise_after_commit(s)
        try:
            _hasher.verify(cred.password_hash, password)
        except (VerificationError, InvalidHashError):
            rule = _rule(user)
            cred.failed_attempts += 1
            reason = "wrong_password"
            if cred.failed_attempts >= rule.max_failures:
                cred.locked_until, cred.failed_attempts = at + timedelta(minutes=rule.lock_minutes), 0
                reason = f"wrong_password; locked for {rule.lock_minutes} min"
            s.add(cred)
            _record(s, username, "login", False, reason, source)
            raise_after_commit(s)
        if _hasher.check_needs_rehash(cred.password_hash):
            cred.password_hash = _hasher.hash(password)
        cred.failed_attempts, cred.locked_until = 0, None
        s.add(cred)
        _record(s, username, "login", True, "", source)
        s.expunge(user)
        return user


def raise_after_commit(s: Session) -> None:
    """Keep the record of the failure, then refuse."""
    s.commit()
    raise AuthFailed("bad_credentials", "wrong username or password, or the account is locked for a while", None)


def create_token(username: str, name: str) -> dict[str, str]:
    """A new API token for a machine client; shown once, stored as its SHA-256 only."""
    token = "shh_" + secrets.token_urlsafe(32)
    with db.transaction() as s:
        if s.exec(select(User).where(User.username == username)).first() is None:
            raise NotFound("unknown_user", f"no user {username!r}", "username")
        s.add(ApiToken(username=username, name=name, token_hash=_token_hash(token), created_at=now()))
    return {"username": username, "name": name, "token": token}


def user_for_token(token: str) -> User | None:
    with db.transaction() as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        row.last_used_at = now()
        s.add(row)
        user = s.exec(select(User).where(User.username == row.username)).first()
        s.expunge(user)
        return user


def _spend_time(password: str) -> None:
    try:
        _hasher.verify(DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _record(s: Session, actor: str, action: str, allowed: bool, reason: str, source: str) -> None:
    s.add(AccessRecord(at=now(), actor=actor, action=action, target=source or "-", allowed=allowed, reason=reason))
