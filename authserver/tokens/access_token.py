"""RFC 9068 JWT access tokens and OpenID Connect ID tokens, signed through the key ring."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from joserfc.errors import JoseError

from authserver.clients.models import Client
from authserver.context import Services
from authserver.keys.service import UnknownKeyError

ACCESS_TOKEN_TYPE = "at+jwt"
# Every algorithm an access token of ours may carry (tokens.access_token_alg choices).
ACCESS_TOKEN_ALGS = ["RS256", "PS256", "ES256"]
BEARER = "Bearer"
DPOP = "DPoP"
AMR_PASSWORD = ["pwd"]
# Single-factor password login; the SCA step will raise it once TOTP/WebAuthn land.
ACR_PASSWORD = "urn:authserver:acr:password"
# OIDC Core §2: every claim an ID token of ours can carry (discovery's claims_supported).
ID_TOKEN_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr")


@dataclass(frozen=True)
class TokenSubject:
    """Who and what a token speaks for."""

    sub: str
    scopes: tuple[str, ...]
    user_id: str | None = None
    consent_id: str | None = None
    family_id: str | None = None
    code_id: str | None = None
    auth_time: float | None = None
    dpop_jkt: str | None = None
    """RFC 9449 §6: the thumbprint of the proof key the token is bound to (``cnf.jkt``)."""


def audience(svc: Services) -> str:
    return svc.settings.tokens.audience or svc.settings.issuer


def issue_access_token(svc: Services, client: Client, subject: TokenSubject) -> dict[str, Any]:
    """Sign and record one access token; returns the token-response fields it fills."""
    now = int(svc.clock.time())
    ttl = client.access_token_ttl or svc.settings.tokens.access_ttl
    jti = secrets.token_urlsafe(24)
    claims: dict[str, Any] = {
        "iss": svc.settings.issuer,
        "sub": subject.sub,
        "aud": audience(svc),
        "client_id": client.client_id,
        "scope": " ".join(subject.scopes),
        "jti": jti,
        "iat": now,
        "exp": now + ttl,
    }
    if subject.auth_time is not None:
        claims["auth_time"] = int(subject.auth_time)
    if subject.consent_id:
        claims["consent_id"] = subject.consent_id
    if subject.dpop_jkt is not None:
        # RFC 9449 §6.1: the JWT access token names the key it is bound to.
        claims["cnf"] = {"jkt": subject.dpop_jkt}
    token = svc.keys.sign(claims, svc.settings.tokens.access_token_alg, typ=ACCESS_TOKEN_TYPE)
    svc.ledger.record(
        jti=jti,
        client_id=client.client_id,
        user_id=subject.user_id,
        family_id=subject.family_id,
        code_id=subject.code_id,
        consent_id=subject.consent_id,
        issued_at=datetime.fromtimestamp(now, UTC),
        expires_at=datetime.fromtimestamp(now + ttl, UTC),
    )
    return {
        "access_token": token,
        # RFC 9449 §5: a bound token is of type DPoP, an unbound one stays Bearer.
        "token_type": DPOP if subject.dpop_jkt is not None else BEARER,
        "expires_in": ttl,
        "scope": claims["scope"],
    }


def read_access_token(svc: Services, token: str) -> dict[str, Any] | None:
    """The claims of a JWT access token this server signed, or None.

    Checks what makes it ours (signature by a published key, ``typ`` at+jwt per RFC
    9068 §4 so an ID token is never taken for one, our ``iss``); expiry, audience and
    revocation are for the caller, because revocation must act on expired tokens too.
    """
    try:
        verified = svc.keys.verify(token, ACCESS_TOKEN_ALGS)
    except (UnknownKeyError, JoseError, ValueError):
        return None
    claims: dict[str, Any] = dict(verified.claims)
    if verified.header.get("typ") != ACCESS_TOKEN_TYPE or claims.get("iss") != svc.settings.issuer:
        return None
    return claims


def live_access_token(svc: Services, token: str) -> dict[str, Any] | None:
    """The claims of an access token of ours that is for our audience, unexpired and not
    revoked; None otherwise. Shared by the resource guard and introspection."""
    claims = read_access_token(svc, token)
    return claims if claims is not None and is_live(svc, claims) else None


def is_live(svc: Services, claims: dict[str, Any]) -> bool:
    """For our audience, unexpired and not revoked (claims already verified as ours).

    StoreUnavailableError (a 503) propagates: an unknown revocation state is never a 200.
    """
    if (
        claims.get("aud") != audience(svc)
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] <= svc.clock.time()
    ):
        return False
    return not svc.revocation_view.is_revoked(claims)


def left_half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash for SHA-256 algorithms (PS256, ES256, RS256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def issue_id_token(
    svc: Services, client: Client, subject: TokenSubject, *, access_token: str, nonce: str | None
) -> str:
    now = int(svc.clock.time())
    claims: dict[str, Any] = {
        "iss": svc.settings.issuer,
        "sub": subject.sub,
        "aud": client.client_id,
        "iat": now,
        "exp": now + svc.settings.tokens.id_token_ttl,
        "at_hash": left_half_hash(access_token),
        "amr": AMR_PASSWORD,
        "acr": ACR_PASSWORD,
    }
    if subject.auth_time is not None:
        claims["auth_time"] = int(subject.auth_time)
    if nonce is not None:
        claims["nonce"] = nonce
    return svc.keys.sign(claims, svc.policy.id_token_signing_alg)
