"""What introspection says about a token, and to whom.

A token is described only to a caller it is meant for: an access token to the client
it was issued to or to a registered resource server of its audience; a refresh token
only to its client. Everything else (unknown, expired, revoked, foreign) is exactly
``{"active": false}`` (RFC 7662 §2.2), so the answer leaks nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import Protocol

from authserver.checks.consent_gate import ConsentGate
from authserver.clients.models import Client
from authserver.clock import Clock
from authserver.tokens.models import ACTIVE
from authserver.tokens.models import RefreshToken
from authserver.tokens.refresh import RefreshTokenService
from authserver.tokens.verifier import BEARER
from authserver.tokens.verifier import DPOP
from authserver.tokens.verifier import AccessTokenVerifier

INACTIVE: dict[str, Any] = {"active": False}
# Claims of an access token that an introspection answer repeats as they are.
# RFC 9396 §9.2: an active token's authorization_details are part of the answer.
_ACCESS_TOKEN_FIELDS = (
    "scope",
    "client_id",
    "sub",
    "aud",
    "iss",
    "exp",
    "iat",
    "jti",
    "cnf",
    "authorization_details",
)


class IntrospectionServices(Protocol):
    """What introspection reads; ``context.Services`` provides it."""

    @property
    def verifier(self) -> AccessTokenVerifier: ...
    @property
    def refresh(self) -> RefreshTokenService: ...
    @property
    def consents(self) -> ConsentGate: ...
    @property
    def clock(self) -> Clock: ...


def introspect(svc: IntrospectionServices, token: str, caller: Client) -> dict[str, Any]:
    # A JWT of ours is an access token; anything else can only be a refresh token.
    claims = svc.verifier.read(token)
    if claims is not None:
        return _access_token(svc, claims, caller)
    row = svc.refresh.find(token)
    if row is not None:
        return _refresh_token(svc, row, caller)
    return dict(INACTIVE)


def _access_token(
    svc: IntrospectionServices, claims: dict[str, Any], caller: Client
) -> dict[str, Any]:
    if not svc.verifier.is_live(claims):
        return dict(INACTIVE)
    meant_for_caller = claims.get("client_id") == caller.client_id or (
        caller.resource_server and claims.get("aud") == svc.verifier.audience
    )
    if not meant_for_caller:
        return dict(INACTIVE)
    body: dict[str, Any] = {"active": True}
    body.update({name: claims[name] for name in _ACCESS_TOKEN_FIELDS if name in claims})
    body["nbf"] = claims.get("nbf", claims.get("iat"))
    cnf = claims.get("cnf")
    body["token_type"] = DPOP if isinstance(cnf, dict) and "jkt" in cnf else BEARER
    if "consent_id" in claims:
        body["consent_id"] = claims["consent_id"]
    return body


def _refresh_token(svc: IntrospectionServices, row: RefreshToken, caller: Client) -> dict[str, Any]:
    now = svc.clock.now()
    expires_at = min(row.expires_at, row.family_expires_at)
    if row.client_id != caller.client_id or row.status != ACTIVE or now >= expires_at:
        return dict(INACTIVE)
    if row.consent_id and not svc.consents.is_live(row.consent_id, row.client_id):
        return dict(INACTIVE)
    return {
        "active": True,
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": row.user_id or row.client_id,
        "iss": svc.verifier.issuer,
        "exp": _epoch(expires_at),
        "iat": _epoch(row.created_at),
        "nbf": _epoch(row.created_at),
        # No token_type: RFC 7662 §2.2 means the access-token type (RFC 6749 §7.1).
    }


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
