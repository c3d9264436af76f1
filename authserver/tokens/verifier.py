"""Verifying RFC 9068 JWT access tokens from the published keys only.

Split from issuing (``tokens/access_token.py``) so that a resource server verifies
with nothing but public keys: in-process through the read-only ``PublishedKeys``
view, or from the issuer's ``/jwks`` over HTTP (``tokens/issuer_jwks.py``). Nothing
reachable from here can create, write or open a private key (an import-linter
contract keeps it so).
"""

from __future__ import annotations

import functools
import json
from typing import Any
from typing import Protocol

import structlog
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jwk import import_key

from authserver.clock import Clock

log = structlog.get_logger(__name__)

ACCESS_TOKEN_TYPE = "at+jwt"
# Every algorithm an access token of ours may carry (tokens.access_token_alg choices).
ACCESS_TOKEN_ALGS = ["RS256", "PS256", "ES256"]
BEARER = "Bearer"
DPOP = "DPoP"
_REGISTRY = jws.JWSRegistry(algorithms=ACCESS_TOKEN_ALGS)
"""Built once: joserfc builds a registry per call when given only the algorithm names."""
KEY_CACHE_SIZE = 64


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
            # Parsed once: the extracted token is verified, then its payload read.
            compact = jws.extract_compact(token.encode())
            header = compact.headers()
            kid = header.get("kid")
            public = self._keys.public_key(str(kid)) if isinstance(kid, str) else None
            if public is None:
                log.info("access_token_unverified", error_detail="kid not published")
                return None
            key = _imported(json.dumps(public, sort_keys=True, separators=(",", ":")))
            if not jws.validate_compact(compact, key, ACCESS_TOKEN_ALGS, _REGISTRY):
                return None
            payload = json.loads(compact.payload)
        except (JoseError, ValueError):
            return None
        if not isinstance(payload, dict):
            return None
        claims: dict[str, Any] = payload
        if header.get("typ") != ACCESS_TOKEN_TYPE or claims.get("iss") != self.issuer:
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


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def _imported(canonical_jwk: str) -> Key:
    """A published key imported once per process, by its whole public JWK (so a key
    published anew under the same ``kid`` is imported anew); every request used to
    import the RSA key again."""
    return import_key(json.loads(canonical_jwk))
