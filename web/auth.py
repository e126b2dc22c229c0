"""Who is calling: an API token (Authorization: Bearer …), hashed at rest (services.accounts)."""

from __future__ import annotations

from fastapi import Request

from services import accounts
from services.accounts import AuthFailed, User


def api_user(request: Request) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "operator" and token.strip():  # this machine's CLI, handing a command to its serve
        source = request.client.host if request.client else ""
        return accounts.operator_user(token.strip(), request.headers.get("x-shouhu-as"), source)
    user = accounts.user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise AuthFailed(
            "unauthenticated", "send Authorization: Bearer <token> (create one with `shouhu token create`)", None
        )
    return user
