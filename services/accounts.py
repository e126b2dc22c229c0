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

import getpass
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import AccessRecord, AdminRecord, ApiToken, Credential, LoginThrottle, Unit, User, WebSession
from shouhu import access, config, db, policy
from shouhu.clock import now
from shouhu.errors import Conflict, Forbidden, InvalidInput, NotFound
from shouhu.inputs import PasswordChangeIn, UserIn, UserMoveIn, check_ref, parse

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


def set_password(
    username: str, password: str, actor_name: str | None = None, must_change: bool = True
) -> dict[str, Any]:
    """An administrator sets a password (a new person's, or one forgotten): it ends every session the
    user had (someone may have known the old one), lifts the account's sign-in locks (an
    administrator has just vouched for the person) and, unless `must_change` is False (demo and
    test set-ups), makes the person choose their own at the next sign-in."""
    check_ref(username, "username")
    with db.transaction() as s:
        user = _user(s, username)
        actor = _administrator(s, actor_name, user.jurisdiction)
        minimum = _rule(user.jurisdiction).min_password_length
        if len(password) < minimum:
            raise InvalidInput("password_too_short", f"password: at least {minimum} characters", "password")
        cred = s.get(Credential, username) or Credential(username=username, password_hash="")
        cred.password_hash, cred.updated_at = _hasher.hash(password), now()
        s.add(cred)
        user.must_change_password = must_change
        s.add(user)
        ended = _end_sessions(s, username, "password_changed")
        s.execute(
            update(LoginThrottle)
            .where(
                or_(
                    col(LoginThrottle.key).startswith(f"pair:{username}|", autoescape=True),
                    col(LoginThrottle.key) == f"account:{username}",
                )
            )
            .values(failures=0, locked_until=None)
        )
        _admin_record(s, actor, "password_reset", user, must_change=must_change)
    return {
        "username": username,
        "status": "password set",
        "sessions_ended": ended,
        "must_change_password": must_change,
    }


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
        known = (
            pair is not None
            and pair.last_success_at is not None
            and pair.last_success_at > at - timedelta(days=rule.known_source_days)
        )
        locked = _locked(pair, at) or (not known and (_locked(from_source, at) or _locked(account, at)))
        stored_hash = cred.password_hash if cred else None
        if user is not None:
            s.expunge(user)
    # Exactly one Argon2 verification on every path: the answer takes the same time whatever the reason.
    ok = (
        _verify(stored_hash if stored_hash and not locked else DUMMY_HASH, password)
        and stored_hash is not None
        and not locked
    )
    if ok and (user is None or user.disabled_at is not None):  # a password is always some user's
        ok, reason = False, "disabled"
    else:
        reason = (
            "" if ok else "locked" if locked else "wrong_password" if stored_hash else "unknown_user_or_no_password"
        )
    for attempt in (1, 2):  # two first failures at once may both insert the same throttle row
        try:
            reason = _settle_login(name, password, source, keys, ok, reason, at, rule)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if not ok or user is None:
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


def _settle_login(
    name: str,
    password: str,
    source: str,
    keys: tuple[str, ...],
    ok: bool,
    reason: str,
    at: datetime,
    rule: policy.AccountRule,
) -> str:
    """Count a failure (and lock what reached its limit), or clear the pair's count on success."""
    with db.transaction() as s:
        pair, from_source, account = (_throttle(s, k, at, rule) for k in keys)
        if not ok:
            if reason != "locked":
                reason += _count_failure(pair, from_source, account, at, rule)
            s.add_all([pair, from_source, account])
            _record(s, name or "?", "login", False, reason, source)
            return reason
        cred = s.get_one(Credential, name)  # the password just verified is this row's
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
    if row.window_started_at + timedelta(minutes=rule.lock_minutes) < at and not (
        row.locked_until and row.locked_until > at
    ):
        row.failures, row.window_started_at, row.locked_until = 0, at, None  # a new window
    return row


def _count_failure(
    pair: LoginThrottle, from_source: LoginThrottle, account: LoginThrottle, at: datetime, rule: policy.AccountRule
) -> str:
    locks = []
    for row, limit, what in (
        (pair, rule.max_failures, "account locked for this source"),
        (from_source, rule.max_source_failures, "source locked"),
        (account, rule.max_account_failures, "account locked for unknown sources"),
    ):
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
        s.add(
            WebSession(
                id_hash=_hash(token),
                username=user.username,
                source=source or "-",
                created_at=at,
                last_seen_at=at,
                expires_at=at + timedelta(hours=hours),
            )
        )
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


def end_sessions(
    username: str | None = None, reason: str = "ended_by_administrator", actor_name: str | None = None
) -> dict[str, Any]:
    """End every live session of one user, or of everyone (username None: the local operator only)."""
    with db.transaction() as s:
        if username is not None:
            user = _user(s, username)
            actor = _administrator(s, actor_name, user.jurisdiction)
            _admin_record(s, actor, "sessions_end", user)
        elif actor_name:
            raise Forbidden(
                "not_permitted", "ending everyone's sessions is for the operator of this machine (no --as)", "as"
            )
        count = _end_sessions(s, username, reason)
    return {"username": username or "*", "sessions_ended": count}


def _end_sessions(s: Session, username: str | None, reason: str) -> int:
    query = update(WebSession).where(col(WebSession.ended_at).is_(None))
    if username is not None:
        query = query.where(col(WebSession.username) == username)
    result = s.exec(query.values(ended_at=now(), ended_reason=reason))
    if result.rowcount:
        _record(s, username or "*", "sessions_ended", True, reason, "-")
    return int(result.rowcount or 0)


# ---- API tokens ------------------------------------------------------------------------
def create_token(username: str, name: str, actor_name: str | None = None) -> dict[str, Any]:
    """A new API token for a machine client; shown once, stored as its SHA-256 only. Its id is what
    `shouhu user token revoke` takes."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or not name.isprintable():
        raise InvalidInput("invalid_value", "name: what the token is for, 1 to 100 printable characters", "name")
    token = "shh_" + secrets.token_urlsafe(32)
    with db.transaction() as s:
        user = _user(s, username)
        actor = _administrator(s, actor_name, user.jurisdiction)
        row = ApiToken(username=username, name=name, token_hash=_hash(token), created_at=now())
        s.add(row)
        s.flush()
        _admin_record(s, actor, "token_create", user, token_id=str(row.id), name=name)
    return {"username": username, "name": name, "token_id": str(row.id), "token": token}


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


# ---- staff administration ---------------------------------------------------------------
# Managers and administrators (access.ADMINISTERING_ROLES) keep their county's accounts; on the
# machine itself the local operator (os:<login>, who holds the database) may too. Nothing is ever
# deleted: a person who leaves is disabled, so every past action stays attributed to them. Each
# action is an AdminRecord a manager can read (`shouhu user audit`, /admin/records).
def _administrator(s: Session, actor_name: str | None, jurisdiction: str) -> str:
    """Who administers: a named manager/admin of that county, or the local operator."""
    name = actor_name or config.settings().user
    if not name:
        return f"os:{getpass.getuser()}"
    actor = access.user(s, name)
    try:
        if actor.disabled_at is not None:
            raise Forbidden("account_disabled", f"{actor.username} is disabled", "as")
        access.check_may_administer(actor, jurisdiction)
    except Forbidden as exc:
        _record(s, actor.username, "administer", False, exc.code, jurisdiction)
        s.commit()
        raise
    return actor.username


def _admin_record(s: Session, actor: str, action: str, user: User, **detail: Any) -> None:
    s.add(
        AdminRecord(
            at=now(), jurisdiction=user.jurisdiction, actor=actor, action=action, target=user.username, detail=detail
        )
    )


def _fitting_unit(s: Session, jurisdiction: str, code: str, role: str) -> Unit:
    """The unit must be the county's, and of a kind the role works in (access.ROLE_UNIT_TYPES)."""
    unit = s.exec(select(Unit).where(Unit.code == code, Unit.jurisdiction == jurisdiction)).first()
    if unit is None:
        raise InvalidInput(
            "unknown_unit",
            f"unit: no unit {code[:64]!r} in {jurisdiction} (see `shouhu units --jurisdiction {jurisdiction}`)",
            "unit",
        )
    allowed = access.ROLE_UNIT_TYPES[role]
    if unit.type not in allowed:
        raise InvalidInput(
            "unit_does_not_fit_role",
            f"unit: a {role} works in a unit of type {', '.join(sorted(allowed))}; {unit.code} is a {unit.type}",
            "unit",
        )
    return unit


def _temporary_password(jurisdiction: str) -> str:
    return secrets.token_urlsafe(max(12, _rule(jurisdiction).min_password_length))


def user_view(u: User) -> dict[str, Any]:
    """An account as `shouhu user list` and the API show it (no secret, no time of sign-in)."""
    return {
        "username": u.username,
        "role": u.role,
        "unit": u.unit,
        "display_name": u.display_name,
        "disabled": u.disabled_at is not None,
    }


def add_user(data: Any, actor_name: str | None) -> dict[str, Any]:
    """A new account with a one-time temporary password (shown once): the person must choose their
    own at the first sign-in."""
    new = parse(UserIn, data)
    policy.pack(new.jurisdiction)
    with db.transaction() as s:
        actor = _administrator(s, actor_name, new.jurisdiction)
        if s.exec(select(User).where(User.username == new.username)).first() is not None:
            raise Conflict(
                "username_taken",
                f"username: {new.username!r} is taken (an account is never reused, even disabled)",
                "username",
            )
        _fitting_unit(s, new.jurisdiction, new.unit, new.role)
        user = User(
            username=new.username,
            display_name=new.display_name,
            role=new.role,
            unit=new.unit,
            jurisdiction=new.jurisdiction,
            must_change_password=True,
        )
        s.add(user)
        s.flush()
        temporary = _temporary_password(new.jurisdiction)
        s.add(Credential(username=user.username, password_hash=_hasher.hash(temporary), updated_at=now()))
        _admin_record(s, actor, "user_add", user, role=new.role, unit=new.unit)
        return {
            **user_view(user),
            "jurisdiction": user.jurisdiction,
            "must_change_password": True,
            "temporary_password": temporary,
        }


def move_user(username: str, data: Any, actor_name: str | None) -> dict[str, Any]:
    """Another unit of the same county (what the person may read changes with it at once)."""
    check_ref(username, "username")
    moved = parse(UserMoveIn, data)
    with db.transaction() as s:
        user = _user(s, username)
        actor = _administrator(s, actor_name, user.jurisdiction)
        before = user.unit
        _fitting_unit(s, user.jurisdiction, moved.unit, user.role)
        user.unit = moved.unit
        s.add(user)
        if before != moved.unit:
            _admin_record(s, actor, "user_move", user, **{"from": before, "to": moved.unit})
        return user_view(user)


def set_disabled(username: str, disabled: bool, actor_name: str | None = None) -> dict[str, Any]:
    """Disable (the person left, or must not act) or enable an account. Disabling ends its
    sessions and revokes its API tokens at once; its past actions keep its name."""
    check_ref(username, "username")
    with db.transaction() as s:
        user = _user(s, username)
        actor = _administrator(s, actor_name, user.jurisdiction)
        was = user.disabled_at is not None
        user.disabled_at = (user.disabled_at or now()) if disabled else None
        s.add(user)
        ended = _end_sessions(s, username, "account_disabled") if disabled else 0
        revoked = _revoke_tokens(s, username) if disabled else 0
        if was != disabled:
            _record(s, username, "account_disabled" if disabled else "account_enabled", True, "", "-")
            _admin_record(
                s,
                actor,
                "user_disable" if disabled else "user_enable",
                user,
                sessions_ended=ended,
                tokens_revoked=revoked,
            )
    return {
        "username": username,
        "status": "disabled" if disabled else "enabled",
        "disabled": disabled,
        "sessions_ended": ended,
        "tokens_revoked": revoked,
    }


def _revoke_tokens(s: Session, username: str) -> int:
    result = s.exec(
        update(ApiToken)
        .where(col(ApiToken.username) == username, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now())
    )
    return int(result.rowcount or 0)


def revoke_token(token_id: str, actor_name: str | None) -> dict[str, Any]:
    """Revoke one API token by its id (shown by `user token create` and `user tokens`)."""
    check_ref(token_id, "token")
    with db.transaction() as s:
        try:
            row = s.get(ApiToken, uuid.UUID(token_id))
        except ValueError:
            row = None
        if row is None:
            raise NotFound("unknown_token", f"no token {token_id[:64]!r}", "token")
        user = _user(s, row.username)
        actor = _administrator(s, actor_name, user.jurisdiction)
        if row.revoked_at is None:
            row.revoked_at = now()
            s.add(row)
            _admin_record(s, actor, "token_revoke", user, token_id=str(row.id), name=row.name)
        return token_view(row)


def token_view(t: ApiToken) -> dict[str, Any]:
    return {
        "token_id": str(t.id),
        "username": t.username,
        "name": t.name,
        "created_at": t.created_at.isoformat(),
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


def list_tokens(username: str, actor_name: str | None) -> list[dict[str, Any]]:
    check_ref(username, "username")
    with db.transaction() as s:
        user = _user(s, username)
        _administrator(s, actor_name, user.jurisdiction)
        rows = s.exec(select(ApiToken).where(ApiToken.username == username).order_by(col(ApiToken.created_at))).all()
        return [token_view(t) for t in rows]


def list_users(jurisdiction: str, actor_name: str | None = None) -> list[dict[str, Any]]:
    """`shouhu user list`: every account of the county, disabled ones too. `actor_name` "" is the
    default administrator (SHOUHU_USER, else the machine's operator); None is the code itself
    (the demo picking its users)."""
    check_ref(jurisdiction, "jurisdiction")
    policy.pack(jurisdiction)
    with db.transaction() as s:
        if actor_name is not None:
            _administrator(s, actor_name, jurisdiction)
        rows = s.exec(select(User).where(User.jurisdiction == jurisdiction).order_by(col(User.username))).all()
        return [user_view(u) for u in rows]


def get_user(username: str, actor_name: str | None) -> dict[str, Any]:
    """One account for its administration page."""
    check_ref(username, "username")
    with db.transaction() as s:
        user = _user(s, username)
        _administrator(s, actor_name, user.jurisdiction)
        return {**user_view(user), "jurisdiction": user.jurisdiction, "must_change_password": user.must_change_password}


def admin_records(jurisdiction: str, actor_name: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Administrative actions on the county's accounts, newest first (`shouhu user audit`)."""
    check_ref(jurisdiction, "jurisdiction")
    policy.pack(jurisdiction)
    with db.transaction() as s:
        _administrator(s, actor_name, jurisdiction)
        rows = s.exec(
            select(AdminRecord)
            .where(AdminRecord.jurisdiction == jurisdiction)
            .order_by(col(AdminRecord.id).desc())
            .limit(limit)
        ).all()
        return [
            {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail}
            for r in rows
        ]


def change_own_password(username: str, data: Any) -> dict[str, Any]:
    """The person's own change (the forced one at first sign-in, or any time): the current password
    is checked, the new one must differ and be long enough; every session ends (the caller starts a
    new one for the browser in hand)."""
    change = parse(PasswordChangeIn, data)
    with Session(db.engine()) as s:
        user = _user(s, username)
        cred = s.get(Credential, username)
        stored = cred.password_hash if cred else DUMMY_HASH
    if not _verify(stored, change.current_password) or cred is None:
        raise InvalidInput("wrong_password", "current_password: not your current password", "current_password")
    if change.new_password == change.current_password:
        raise InvalidInput("password_unchanged", "new_password: must differ from the current one", "new_password")
    minimum = _rule(user.jurisdiction).min_password_length
    if len(change.new_password) < minimum:
        raise InvalidInput("password_too_short", f"new_password: at least {minimum} characters", "new_password")
    with db.transaction() as s:
        cred = s.get_one(Credential, username)  # checked above
        user = _user(s, username)
        cred.password_hash, cred.updated_at = _hasher.hash(change.new_password), now()
        user.must_change_password = False
        s.add(cred)
        s.add(user)
        ended = _end_sessions(s, username, "password_changed")
        _record(s, username, "password_changed", True, "own", "-")
    return {"username": username, "status": "password changed", "sessions_ended": ended}


def operator_user(key: str, username: str | None, source: str) -> User:
    """The user a command handed over by this machine's CLI acts as (`Authorization: Operator <key>`,
    `X-Shouhu-As`): only from this machine, only with the key of the serve running in this very process
    (shouhu.running) — the trust of the operator who holds the database — and only for an enabled user."""
    from shouhu import running

    expected = running.operator_key_of_this_process()
    loopback = source in ("127.0.0.1", "::1", "localhost")
    if not expected or not loopback or not secrets.compare_digest(expected.encode(), key.encode("utf-8", "replace")):
        raise AuthFailed("unauthenticated", "send Authorization: Bearer <token>", None)
    with db.transaction() as s:
        user = access.user(s, username)
        if user.disabled_at is not None:
            raise AuthFailed("unauthenticated", "send Authorization: Bearer <token>", None)
        _record(s, user.username, "cli_handover", True, "", source)  # the operator acted as this user
        s.flush()
        s.expunge(user)
    return user
