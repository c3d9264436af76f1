"""The end user's browser session: who logged in, when, and which authorization is pending.

Flask's signed cookie holds it (HttpOnly, SameSite=Lax, Secure on https). Login
clears the session and starts a new session id, so a fixed pre-login cookie is useless.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import session

from authserver.checks.acr import ACR_CA
from authserver.checks.acr import ACR_SCA
from authserver.sca.models import User

__all__ = ["ACR_CA", "ACR_SCA"]  # re-exported: the seam names them here

PENDING_KEY = "authz"
RETURN_KEY = "return_to"
# Pages a login may return to: a fixed list of our own paths, never a user-given URL.
RETURN_PAGES = frozenset({"/account/consents", "/account/security"})


@dataclass(frozen=True)
class Pending:
    client_id: str
    request_uri: str


# What an ID token reports of the login (OB Security Profile; RFC 8176 for amr values).
# RFC 8176 method -> the PSD2 category it evidences (knowledge, possession, inherence).
_CATEGORY = {
    "pwd": "knowledge",
    "otp": "possession",
    "hwk": "possession",
    "swk": "possession",
    "user": "inherence",
}


def acr_for(amr: tuple[str, ...] | list[str]) -> str:
    """SCA needs two independent categories (PSD2 RTS art. 4); anything less is CA."""
    categories = {_CATEGORY[m] for m in amr if m in _CATEGORY}
    return ACR_SCA if len(categories) >= 2 else ACR_CA


def _fresh() -> None:
    """Clear the session but keep what a login must carry over; rotate the session id."""
    pending = session.get(PENDING_KEY)
    return_to = session.get(RETURN_KEY)
    link_request = session.get("link_request")
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)  # rotated at every login step
    if pending:
        session[PENDING_KEY] = pending
    if return_to in RETURN_PAGES:
        session[RETURN_KEY] = return_to
    if link_request:
        session["link_request"] = link_request


def start(user: User, now: float) -> None:
    """A password-only login is complete (the user has no second factor)."""
    complete(user.id, now, ("pwd",))


def start_partial(user: User, now: float) -> None:
    """The password was right and a second factor is due: nobody is logged in yet.

    ``partial_user_id`` names the user for the factor pages only; every other page
    sees no user until ``complete``.
    """
    _fresh()
    session["pre_uid"] = user.id
    session["pre_time"] = int(now)


def partial_user_id() -> str | None:
    value: Any = session.get("pre_uid")
    return str(value) if value else None


def partial_started() -> int:
    return int(session.get("pre_time", 0))


def restart() -> None:
    """Forget who is signed in (fully or half), keeping the pending authorization: the
    next page is the login again (a stale SCA, an expired second-factor step)."""
    _fresh()


def complete(
    user_id: str, now: float, amr: tuple[str, ...] | list[str], linked: str | None = None
) -> None:
    """The login (or a step-up) is done with the methods in ``amr``.

    ``linked``: the dynamic-linking hash a payment approval was bound to (issue 13),
    kept so the consent step can check it against the payment it is about to approve.
    """
    _fresh()
    session["uid"] = user_id
    session["auth_time"] = int(now)
    session["amr"] = list(amr)
    session["acr"] = acr_for(amr)
    if session["acr"] == ACR_SCA:
        session["sca_time"] = int(now)
    if linked is not None:
        session["linked"] = linked
        session.pop("link_request", None)


def amr() -> list[str]:
    value: Any = session.get("amr")
    return [str(m) for m in value] if isinstance(value, list) else []


def acr() -> str | None:
    value: Any = session.get("acr")
    return str(value) if value else None


def sca_time() -> int:
    """When the user last passed strong authentication in this session (0: never)."""
    return int(session.get("sca_time", 0))


def linked() -> str | None:
    value: Any = session.get("linked")
    return str(value) if value else None


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


def request_link(digest: str) -> None:
    """A payment approval waits for a second factor bound to ``digest`` (dynamic linking).

    The factor page that completes the step passes ``pending_link()`` to ``complete``, so
    the session remembers which payment the authentication was for.
    """
    session["link_request"] = digest


def pending_link() -> str | None:
    value: Any = session.get("link_request")
    return str(value) if value else None
