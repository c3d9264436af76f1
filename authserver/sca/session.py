"""The end user's browser session: who logged in, when, and which authorization is pending.

Flask's signed cookie holds it (HttpOnly, SameSite=Lax, Secure on https). Login
clears the session and starts a new session id, so a fixed pre-login cookie is useless.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import session

from authserver.sca.models import User

PENDING_KEY = "authz"
RETURN_KEY = "return_to"
# Pages a login may return to: a fixed list of our own paths, never a user-given URL.
RETURN_PAGES = frozenset({"/account/consents"})


@dataclass(frozen=True)
class Pending:
    client_id: str
    request_uri: str


def start(user: User, now: float) -> None:
    pending = session.get(PENDING_KEY)
    return_to = session.get(RETURN_KEY)
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)  # rotated at every login
    session["uid"] = user.id
    session["auth_time"] = int(now)
    if pending:
        session[PENDING_KEY] = pending
    if return_to in RETURN_PAGES:
        session[RETURN_KEY] = return_to


def set_return_to(path: str) -> None:
    if path not in RETURN_PAGES:
        raise ValueError("not a page a login may return to")
    session[RETURN_KEY] = path


def take_return_to() -> str | None:
    value = session.pop(RETURN_KEY, None)
    return value if value in RETURN_PAGES else None


def current_user_id() -> str | None:
    value: Any = session.get("uid")
    return str(value) if value else None


def auth_time() -> int:
    return int(session.get("auth_time", 0))


def set_pending(client_id: str, request_uri: str) -> None:
    session[PENDING_KEY] = {"client_id": client_id, "request_uri": request_uri}


def pending() -> Pending | None:
    value = session.get(PENDING_KEY)
    if not isinstance(value, dict):
        return None
    return Pending(str(value.get("client_id")), str(value.get("request_uri")))


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)
