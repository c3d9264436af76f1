"""What a TPP sends: private_key_jwt assertions (RFC 7523), PKCE S256 (RFC 7636), signed
request objects (RFC 9101) and DPoP proofs (RFC 9449), all signed with joserfc.

TEST-ONLY keys sign everything here.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import urllib.parse
import warnings
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from joserfc import jwk
from joserfc import jwt
from joserfc.errors import SecurityWarning

from tppkit.encoding import b64url
from tppkit.keys import PrivateKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def ath(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url SHA-256 of the access token."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _dpop_alg(key: PrivateKey) -> str:
    named = key.as_dict(private=False).get("alg")
    if isinstance(named, str):
        return named
    if isinstance(key, jwk.ECKey):
        return "ES256"
    return "EdDSA" if isinstance(key, jwk.OKPKey) else "PS256"


def dpop_proof(
    key: PrivateKey,
    method: str,
    url: str,
    *,
    access_token: str | None = None,
    nonce: str | None = None,
    **claim_overrides: Any,
) -> str:
    """A TEST-ONLY RFC 9449 DPoP proof for one request, signed by ``key``.

    Header: typ dpop+jwt, the key's alg and its public JWK. Claims: a fresh jti, htm,
    htu (``url`` without query and fragment), iat now; ath when ``access_token`` is
    given, nonce when ``nonce`` is. ``claim_overrides`` replace claims (None removes one).
    """
    alg = _dpop_alg(key)
    parts = urllib.parse.urlsplit(url)
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()),
    }
    if access_token is not None:
        claims["ath"] = ath(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(claim_overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    with warnings.catch_warnings():
        # FAPI 2.0 names EdDSA (Ed25519 here); joserfc warns that RFC 9864 deprecates it.
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        return jwt.encode(header, claims, key, algorithms=[alg])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


@dataclass
class Tpp:
    """One registered client as the TPP sees itself."""

    client_id: str
    key: PrivateKey
    alg: str
    issuer: str
    redirect_uri: str
    scope: str = "openid accounts:read"
    base_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return (self.base_url or self.issuer) + path

    def assertion(
        self, *, alg: str | None = None, key: PrivateKey | None = None, **overrides: Any
    ) -> str:
        """A client assertion; ``overrides`` replace claims (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        header = {"alg": alg or self.alg, "kid": str(signer.kid)}
        return jwt.encode(header, claims, signer, algorithms=[header["alg"]])

    def auth_form(self, **overrides: Any) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**overrides),
        }

    def authorization_params(self, **overrides: Any) -> tuple[dict[str, str], str]:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update({k: v for k, v in overrides.items() if v is not None})
        for name in [k for k, v in overrides.items() if v is None]:
            params.pop(name, None)
        return params, verifier

    def request_object(
        self,
        params: dict[str, str],
        *,
        alg: str | None = None,
        key: PrivateKey | None = None,
        **overrides: Any,
    ) -> str:
        """A signed request object; ``overrides`` replace claims (None removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            **params,
            "iss": self.client_id,
            "aud": self.issuer,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.key
        header = {"alg": alg or self.alg, "kid": str(signer.kid), "typ": "oauth-authz-req+jwt"}
        return jwt.encode(header, claims, signer, algorithms=[header["alg"]])
