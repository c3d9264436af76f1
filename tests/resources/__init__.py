"""Protected-resource (RFC 6750, RFC 9449 §7) rules, and the small kit their tests share.

Proofs are built here with joserfc directly, not with the server's code, so a bug in
the validator cannot hide behind the same bug in the test; ``ath`` and the key
thumbprint are computed independently too (hashlib, joserfc's RFC 7638 thumbprint).
TEST-ONLY keys: every key here is generated per test.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection
from typing import Any

from flask import Flask
from joserfc import jws

from authserver.context import services
from authserver.crypto.jose import FapiJWSRegistry
from tppkit import PrivateKey
from tppkit import b64url as b64

USERINFO = "/userinfo"
DPOP_ALGS = "PS256 ES256 EdDSA"
"""The ``algs`` of the DPoP challenge: the server's DPoP algorithms, in its order."""


def ath_of(access_token: str) -> str:
    return b64(hashlib.sha256(access_token.encode("ascii")).digest())


def jkt_of(key: PrivateKey) -> str:
    return str(key.thumbprint())


def dpop_proof(
    key: PrivateKey,
    alg: str,
    *,
    iat: Any,
    htu: str,
    htm: str = "GET",
    access_token: str | None = None,
    header: dict[str, Any] | None = None,
    drop: Collection[str] = (),
    signer: PrivateKey | None = None,
    **claims: Any,
) -> str:
    """A compact DPoP proof; ``header``/``claims`` add or override members, ``drop`` removes
    header or claim names, ``signer`` signs with another key than the one in ``jwk``."""
    protected: dict[str, Any] = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    protected.update(header or {})
    payload: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu}
    payload["iat"] = int(iat) if isinstance(iat, float) and iat == iat else iat
    if access_token is not None:
        payload["ath"] = ath_of(access_token)
    payload.update(claims)
    for name in drop:
        payload.pop(name, None)
    body = json.dumps(payload).encode()
    signing = {k: v for k, v in protected.items() if k not in drop or k == "alg"}
    registry = FapiJWSRegistry([alg])
    registry.strict_check_header = False  # let tests add header parameters joserfc doesn't know
    token = jws.serialize_compact(signing, body, signer or key, algorithms=[alg], registry=registry)
    if "alg" in drop:
        # No signer accepts a header without alg: swap the header after signing.
        unsigned = {k: v for k, v in signing.items() if k != "alg"}
        token = ".".join([b64(json.dumps(unsigned).encode()), *token.split(".")[1:]])
    return token


def unsigned_proof(key: PrivateKey, *, iat: float, htu: str, access_token: str) -> str:
    """An ``alg: none`` proof (a JWS with an empty signature)."""
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": key.as_dict(private=False)}
    claims = {"jti": secrets.token_urlsafe(16), "htm": "GET", "htu": htu, "iat": int(iat)}
    claims["ath"] = ath_of(access_token)
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def mint_access_token(
    app: Flask, *, jkt: str | None = None, scope: str = "openid", **overrides: Any
) -> str:
    """An RFC 9068 access token signed by the app's keys (``cnf.jkt`` when ``jkt`` is given).

    Validation needs no ledger row (it checks only the revocation deny-set), so the token is
    signed directly rather than through the token endpoint.
    """
    svc = services(app)
    now = int(svc.clock.time())
    claims: dict[str, Any] = {
        "iss": svc.settings.issuer,
        "sub": "user-1",
        "aud": svc.settings.tokens.audience or svc.settings.issuer,
        "client_id": "tpp-one",
        "scope": scope,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 300,
    }
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    claims.update(overrides)
    with app.app_context():
        return svc.keys.sign(claims, "RS256", typ="at+jwt")
