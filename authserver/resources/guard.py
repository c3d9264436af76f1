"""``require_token(scopes)``: the one access-token check every protected endpoint uses.

Validates an RFC 9068 JWT locally against the published keys: typ at+jwt, issuer,
audience, expiry, scope, and the revocation deny-set (fail closed if the store is
unreachable). Sender constraint (DPoP) plugs in here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from typing import ParamSpec
from typing import TypeVar

from flask import g
from flask import request
from joserfc.errors import JoseError

from authserver.context import services
from authserver.keys.service import UnknownKeyError
from authserver.resources.errors import InsufficientScopeError
from authserver.resources.errors import InvalidTokenError
from authserver.resources.errors import MissingTokenError
from authserver.tokens.access_token import ACCESS_TOKEN_TYPE
from authserver.tokens.access_token import audience

P = ParamSpec("P")
R = TypeVar("R")
ACCEPTED_ALGS = ["RS256", "PS256", "ES256"]


def _bearer_token() -> str:
    # RFC 6750 §2.3 is not offered: tokens in the query string are refused (FAPI 2.0 §5.3.4).
    if "access_token" in request.args:
        raise InvalidTokenError("Access tokens are accepted only in the Authorization header.")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise MissingTokenError()
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError()
    return token.strip()


def validate_access_token(token: str) -> dict[str, Any]:
    svc = services()
    try:
        verified = svc.keys.verify(token, ACCEPTED_ALGS)
    except (UnknownKeyError, JoseError, ValueError):
        raise InvalidTokenError() from None
    claims: dict[str, Any] = dict(verified.claims)
    now = svc.clock.time()
    if (
        verified.header.get("typ") != ACCESS_TOKEN_TYPE
        or claims.get("iss") != svc.settings.issuer
        or claims.get("aud") != audience(svc)
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] <= now
    ):
        raise InvalidTokenError()
    if svc.ledger.is_revoked(str(claims.get("jti"))):
        raise InvalidTokenError()
    return claims


def require_token(*scopes: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            claims = validate_access_token(_bearer_token())
            granted = set(str(claims.get("scope", "")).split())
            if not set(scopes) <= granted:
                raise InsufficientScopeError()
            g.token_claims = claims
            return view(*args, **kwargs)

        return wrapper

    return decorator
