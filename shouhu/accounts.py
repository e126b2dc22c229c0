"""Signing in: Argon2id password hashes, throttled failures, server-side sessions, API tokens.

Every sign-in, failed or not, and every lock is recorded in `accessrecord`. A refusal says the
same thing whatever went wrong (unknown user, wrong password, locked, disabled) and costs the
same time: every refused attempt runs exactly one Argon2 verification, against the real hash or
a dummy one, so neither the words nor the clock tell an attacker which names exist.

Failures are counted per (account, source), per source and per account (pack `accounts`; an
IPv6 source is its /64): five wrong passwords from one address lock that address out of that
account; twenty from one address over any accounts lock the address; fifty for one account from
anywhere lock the account for every address but those it signed in from lately. A source the
account signed in from lately is never held by the last two, so nobody is locked out of their
own desk by a stranger's guesses.
A browser session lives in the database (`websession`); the cookie only names it, so logout, a
password change, disabling the account or `shouhu user end-sessions` end it at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import AccessRecord, ApiToken, Credential, LoginThrottle, User, WebSession
from shouhu import db, policy
from shouhu.clock import now
from shouhu.errors import InvalidInput, NotFound

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile
DUMMY_HASH = _hasher.hash("not a password anyone has")
SEEN_EVERY = timedelta(minutes=1)  # a session's last_seen_at is written at most this often


class AuthFailed(InvalidInput):
    """Sign-in refused: one message for every reason (401)."""


def _rule(jurisdiction: str | None) -> policy.AccountRule:
    """The pack's account rule; for a name nobody has, the strictest of all packs."""
    if jurisdiction:
        return policy.pack(jurisdiction).accounts.value
    rules = [policy.pack(j).accounts.value for j in policy.jurisdiction_names()]
    return min(rules, key=lambda r: (r.max_failures, -r.lock_minutes))


def _user(s: Session, username: str) -> User:
    user = s.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("unknown_user", f"no user {username!r}", "username")
    return user


def set_password(username: str, password: str) -> dict[str, str]:
    """A new password ends every session the user had (someone may have known the old one) and
    lifts the account's sign-in locks (an administrator has just vouched for the person)."""
    with db.transaction() as s:
        user = _user(s, username)
        minimum = _rule(user.jurisdiction).min_password_length
        if len(password) < minimum:
            raise InvalidInput("password_too_short", f"password: at least {minimum} characters", "password")
        cred = s.get(Credential, username) or Credential(username=username, password_hash="")
        cred.password_hash, cred.updated_at = _hasher.hash(password), now()
        s.add(cred)
        ended = _end_sessions(s, username, "password_changed")
        s.execute(update(LoginThrottle).where(or_(col(LoginThrottle.key).startswith(f"pair:{username}|", autoescape=True),
                                                  LoginThrottle.key == f"account:{username}")).values(failures=0, locked_until=None))
    return {"username": username, "status": "password set", "sessions_ended": ended}


def login(username: str, password: str, source: str = "") -> User:
    """The user, or AuthFailed. Throttled per (account, source) and per source.

    Three steps, so the slow hash never holds a database lock: read the account and throttles,
    verify (outside any transaction), then count or clear in a short write.
    """
    at = now()
    source = source_key(source)
    name = username[:64] if username.isprintable() else "?"
    keys = (f"pair:{name}|{source}", f"source:{source}", f"account:{name}")
    with Session(db.engine()) as s:
        user = s.exec(select(User).where(User.username == name)).first()
        cred = s.get(Credential, name) if user else None
        pair, from_source, account = (s.get(LoginThrottle, k) for k in keys)
        rule = _rule(user.jurisdiction if user else None)
        known = pair is not None and pair.last_success_at is not None and pair.last_success_at > at - timedelta(days=rule.known_source_days)
        locked = _locked(pair, at) or (not known and (_locked(from_source, at) or _locked(account, at)))
        stored_hash = cred.password_hash if cred else None
        if user is not None:
            s.expunge(user)
    # Exactly one Argon2 verification on every path: the answer takes the same time whatever the reason.
    ok = _verify(stored_hash if stored_hash and not locked else DUMMY_HASH, password) and stored_hash is not None and not locked
    if ok and user.disabled_at is not None:
        ok, reason = False, "disabled"
    else:
        reason = "" if ok else "locked" if locked else "wrong_password" if stored_hash else "unknown_user_or_no_password"
    for attempt in (1, 2):  # two first failures at once may both insert the same throttle row
        try:
            reason = _settle_login(name, password, source, keys, ok, reason, at, rule)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if not ok:
        raise AuthFailed("bad_credentials", "wrong username or password, or sign-in is locked for a while", None)
    return user


def source_key(source: str) -> str:
    """Where a sign-in comes from, as throttled: an IPv4 address, or an IPv6 /64 network (one
    household or office gets a whole /64: counting its addresses one by one would count nothing)."""
    import ipaddress

    try:
        address = ipaddress.ip_address((source or "").strip())
    except ValueError:
        return (source or "-")[:64]
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _locked(row: LoginThrottle | None, at: datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > at


def _settle_login(name: str, password: str, source: str, keys: tuple[str, ...], ok: bool, reason: str, at: datetime,
                  rule: policy.AccountRule) -> str:
    """Count a failure (and lock what reached its limit), or clear the pair's count on success."""
    with db.transaction() as s:
        pair, from_source, account = (_throttle(s, k, at, rule) for k in keys)
        if not ok:
            if reason != "locked":
                reason += _count_failure(pair, from_source, account, at, rule)
            s.add_all([pair, from_source, account])
            _record(s, name or "?", "login", False, reason, source)
            return reason
        cred = s.get(Credential, name)
        if _hasher.check_needs_rehash(cred.password_hash):
            cred.password_hash = _hasher.hash(password)
            s.add(cred)
        pair.failures, pair.locked_until, pair.last_success_at = 0, None, at
        s.add(pair)
        _record(s, name, "login", True, "", source)
        return reason


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _throttle(s: Session, key: str, at: datetime, rule: policy.AccountRule) -> LoginThrottle:
    row = s.get(LoginThrottle, key) or LoginThrottle(key=key, failures=0, window_started_at=at)
    if row.window_started_at + timedelta(minutes=rule.lock_minutes) < at and not (row.locked_until and row.locked_until > at):
        row.failures, row.window_started_at, row.locked_until = 0, at, None  # a new window
    return row


def _count_failure(pair: LoginThrottle, from_source: LoginThrottle, account: LoginThrottle, at: datetime, rule: policy.AccountRule) -> str:
    locks = []
    for row, limit, what in ((pair, rule.max_failures, "account locked for this source"),
                             (from_source, rule.max_source_failures, "source locked"),
                             (account, rule.max_account_failures, "account locked for unknown sources")):
        row.failures += 1
        if row.failures >= limit:
            row.locked_until, row.failures = at + timedelta(minutes=rule.lock_minutes), 0
            locks.append(f"{what} for {rule.lock_minutes} min")
    return "".join(f"; {lock}" for lock in locks)


# ---- browser sessions ------------------------------------------------------------------
def start_session(user: User, source: str = "") -> str:
    """A new session for a signed-in user; the returned id goes into the (signed) cookie only."""
    token = secrets.token_urlsafe(32)
    at = now()
    hours = _rule(user.jurisdiction).session_hours
    with db.transaction() as s:
        s.add(WebSession(id_hash=_hash(token), username=user.username, source=source or "-", created_at=at, last_seen_at=at,
                         expires_at=at + timedelta(hours=hours)))
    return token


def session_user(token: str | None) -> User | None:
    """The user of a live session: not ended, not expired, the account not disabled."""
    if not token or not isinstance(token, str):
        return None
    at = now()
    with db.transaction() as s:
        row = s.get(WebSession, _hash(token))
        if row is None or row.ended_at is not None or row.expires_at <= at:
            return None
        user = s.exec(select(User).where(User.username == row.username)).first()
        if user is None or user.disabled_at is not None:
            return None
        if at - row.last_seen_at >= SEEN_EVERY:
            row.last_seen_at = at
            s.add(row)
        s.expunge(user)
        return user


def end_session(token: str | None, reason: str = "logout") -> None:
    if not token:
        return
    with db.transaction() as s:
        row = s.get(WebSession, _hash(token))
        if row is not None and row.ended_at is None:
            row.ended_at, row.ended_reason = now(), reason
            s.add(row)
            _record(s, row.username, "logout", True, reason, row.source)


def end_sessions(username: str | None = None, reason: str = "ended_by_administrator") -> dict[str, int | str]:
    """End every live session of one user, or of everyone (username None)."""
    with db.transaction() as s:
        if username is not None:
            _user(s, username)
        count = _end_sessions(s, username, reason)
    return {"username": username or "*", "sessions_ended": count}


def _end_sessions(s: Session, username: str | None, reason: str) -> int:
    query = update(WebSession).where(col(WebSession.ended_at).is_(None))
    if username is not None:
        query = query.where(WebSession.username == username)
    result = s.execute(query.values(ended_at=now(), ended_reason=reason))
    if result.rowcount:
        _record(s, username or "*", "sessions_ended", True, reason, "-")
    return int(result.rowcount or 0)


def set_disabled(username: str, disabled: bool) -> dict[str, str | int]:
    """Disable (the person left, or must not act) or enable an account. Disabling ends its
    sessions; its password and tokens stop working while it stays disabled."""
    with db.transaction() as s:
        user = _user(s, username)
        user.disabled_at = now() if disabled else None
        s.add(user)
        ended = _end_sessions(s, username, "account_disabled") if disabled else 0
        _record(s, username, "account_disabled" if disabled else "account_enabled", True, "", "-")
    return {"username": username, "status": "disabled" if disabled else "enabled", "sessions_ended": ended}


# ---- API tokens ------------------------------------------------------------------------
def create_token(username: str, name: str) -> dict[str, str]:
    """A new API token for a machine client; shown once, stored as its SHA-256 only."""
    token = "shh_" + secrets.token_urlsafe(32)
    with db.transaction() as s:
        _user(s, username)
        s.add(ApiToken(username=username, name=name, token_hash=_hash(token), created_at=now()))
    return {"username": username, "name": name, "token": token}


def user_for_token(token: str) -> User | None:
    with db.transaction() as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        user = s.exec(select(User).where(User.username == row.username)).first()
        if user is None or user.disabled_at is not None:
            return None
        row.last_used_at = now()
        s.add(row)
        s.expunge(user)
        return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _record(s: Session, actor: str, action: str, allowed: bool, reason: str, source: str) -> None:
    s.add(AccessRecord(at=now(), actor=actor, action=action, target=source or "-", allowed=allowed, reason=reason))
