"""Issuing RFC 9068 JWT access tokens and OpenID Connect ID tokens, signed through the key ring.

Authorization-server only: verifying lives in ``tokens/verifier.py``, which resource
servers use without this module (and without any private key).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from authserver.checks.intent import INTENT_CLAIM
from authserver.clients.models import Client
from authserver.clock import Clock
from authserver.keys.service import KeyService
from authserver.settings import TokenSettings
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.verifier import ACCESS_TOKEN_TYPE
from authserver.tokens.verifier import BEARER
from authserver.tokens.verifier import DPOP

# OIDC Core §2: every claim an ID token of ours can carry (discovery's claims_supported).
# UK Open Banking adds openbanking_intent_id: the ConsentId the user authorised.
ID_TOKEN_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    INTENT_CLAIM,
)


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
    intent_id: str | None = None
    """``openbanking_intent_id`` for /userinfo (asked under ``claims.userinfo``): the
    resource servers cannot read consents, so the access token carries it."""
    authorization_details: tuple[dict[str, Any], ...] = ()
    """RFC 9396 §7/§9.1: the granted details, in the token response and the JWT."""
    amr: tuple[str, ...] = ()
    """RFC 8176 methods of the login the token stands on (the ID token's ``amr``)."""
    acr: str | None = None
    """The login's OB context (``urn:openbanking:psd2:sca`` or ``:ca``), the ID token's ``acr``."""


def left_half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash for SHA-256 algorithms (PS256, ES256, RS256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


class AccessTokenIssuer:
    """Signs and records access tokens and ID tokens for the token endpoint's grants."""

    def __init__(
        self,
        *,
        settings: TokenSettings,
        issuer: str,
        keys: KeyService,
        ledger: AccessTokenLedger,
        clock: Clock,
        id_token_alg: str,
    ) -> None:
        self._settings = settings
        self._id_token_alg = id_token_alg
        self._issuer = issuer
        self._keys = keys
        self._ledger = ledger
        self._clock = clock
        self.audience = settings.audience or issuer

    def issue(self, client: Client, subject: TokenSubject) -> dict[str, Any]:
        """Sign and record one access token; returns the token-response fields it fills."""
        now = int(self._clock.time())
        ttl = client.access_token_ttl or self._settings.access_ttl
        jti = secrets.token_urlsafe(24)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject.sub,
            "aud": self.audience,
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
        if subject.intent_id is not None:
            claims[INTENT_CLAIM] = subject.intent_id
        if subject.authorization_details:
            # RFC 9396 §9.1: a JWT access token carries the granted details as a claim.
            claims["authorization_details"] = list(subject.authorization_details)
        token = self._keys.sign(claims, self._settings.access_token_alg, typ=ACCESS_TOKEN_TYPE)
        self._ledger.record(
            jti=jti,
            client_id=client.client_id,
            user_id=subject.user_id,
            family_id=subject.family_id,
            code_id=subject.code_id,
            consent_id=subject.consent_id,
            issued_at=datetime.fromtimestamp(now, UTC),
            expires_at=datetime.fromtimestamp(now + ttl, UTC),
        )
        body: dict[str, Any] = {
            "access_token": token,
            # RFC 9449 §5: a bound token is of type DPoP, an unbound one stays Bearer.
            "token_type": DPOP if subject.dpop_jkt is not None else BEARER,
            "expires_in": ttl,
            "scope": claims["scope"],
        }
        if subject.authorization_details:
            # RFC 9396 §7: the token response names the authorization details granted.
            body["authorization_details"] = list(subject.authorization_details)
        return body

    def issue_id_token(
        self,
        client: Client,
        subject: TokenSubject,
        *,
        access_token: str,
        nonce: str | None,
        intent_id: str | None = None,
    ) -> str:
        """``intent_id``: the ConsentId, when the TPP asked for ``openbanking_intent_id``
        under ``claims.id_token``."""
        now = int(self._clock.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject.sub,
            "aud": client.client_id,
            "iat": now,
            "exp": now + self._settings.id_token_ttl,
            "at_hash": left_half_hash(access_token),
        }
        # What the login really was (issue 13): the session's methods, carried by the code.
        if subject.amr:
            claims["amr"] = list(subject.amr)
        if subject.acr is not None:
            claims["acr"] = subject.acr
        if subject.auth_time is not None:
            claims["auth_time"] = int(subject.auth_time)
        if nonce is not None:
            claims["nonce"] = nonce
        if intent_id is not None:
            claims[INTENT_CLAIM] = intent_id
        return self._keys.sign(claims, self._id_token_alg)
