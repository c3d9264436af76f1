"""Verifying RFC 9068 JWT access tokens from the published keys only.

Split from issuing (``tokens/access_token.py``) so that a resource server verifies
with nothing but public keys: in-process through the read-only ``PublishedKeys``
view, or from the issuer's ``/jwks`` over HTTP (``tokens/issuer_jwks.py``). Nothing
reachable from here can create, write or open a private key (an import-linter
contract keeps it so).
"""

from __future__ import annotations

from typing import Any
from typing import Protocol

import structlog
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwk import import_key

from authserver.clock import Clock

log = structlog.get_logger(__name__)

ACCESS_TOKEN_TYPE = "at+jwt"
# Every algorithm an access token of ours may carry (tokens.access_token_alg choices).
ACCESS_TOKEN_ALGS = ["RS256", "PS256", "ES256"]
BEARER = "Bearer"
DPOP = "DPoP"


class PublicKeySource(Protocol):
    def public_key(self, kid: str) -> dict[str, Any] | None:
        """The issuer's public JWK published under ``kid``, or None."""


class RevocationCheck(Protocol):
    def is_revoked(self, claims: dict[str, Any]) -> bool:
        """True when the token is deny-listed or under a watermark; a store outage raises."""


class AccessTokenVerifier:
    """Ours (signature by a published key, ``typ`` at+jwt, our ``iss``), then live (our
    audience, unexpired, not revoked). Shared by the resource guard, introspection and
    /revoke."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: PublicKeySource,
        clock: Clock,
        revocations: RevocationCheck,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = keys
        self._clock = clock
        self._revocations = revocations

    def read(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT access token this server signed, or None.

        Expiry, audience and revocation are for ``is_live``, because revocation must act
        on expired tokens too; ``typ`` at+jwt (RFC 9068 §4) keeps an ID token from ever
        passing for an access token.
        """
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
            public = self._keys.public_key(str(kid)) if isinstance(kid, str) else None
            if public is None:
                log.info("access_token_unverified", error_detail="kid not published")
                return None
            verified = jwt.decode(token, KeySet([import_key(public)]), algorithms=ACCESS_TOKEN_ALGS)
        except (JoseError, ValueError):
            return None
        claims: dict[str, Any] = dict(verified.claims)
        if verified.header.get("typ") != ACCESS_TOKEN_TYPE or claims.get("iss") != self.issuer:
            return None
        return claims

    def is_live(self, claims: dict[str, Any]) -> bool:
        """For our audience, unexpired and not revoked (claims already verified as ours).

        StoreUnavailableError (a 503) propagates: an unknown revocation state is never a 200.
        """
        if (
            claims.get("aud") != self.audience
            or not isinstance(claims.get("exp"), int)
            or claims["exp"] <= self._clock.time()
        ):
            return False
        return not self._revocations.is_revoked(claims)

    def live(self, token: str) -> dict[str, Any] | None:
        """The claims of a live access token of ours; None otherwise."""
        claims = self.read(token)
        return claims if claims is not None and self.is_live(claims) else None
