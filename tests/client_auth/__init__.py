"""Helpers for client-authentication tests: real keys, real signed assertions."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import Key
from joserfc.jwk import OKPKey
from joserfc.jwk import RSAKey

from authserver.client_auth.service import ASSERTION_TYPE
from authserver.client_auth.service import FapiJWSRegistry
from authserver.clients.models import Client
from authserver.clients.service import ClientRequest
from authserver.context import Services

KEY_TYPES = {"ES256": "EC", "PS256": "RSA", "RS256": "RSA", "EdDSA": "OKP"}


def generate_key(alg: str, kid: str) -> Key:
    """A fresh private key for ``alg`` (EC P-256, RSA 2048 or Ed25519) named ``kid``."""
    parameters: Any = {"kid": kid}
    if KEY_TYPES[alg] == "EC":
        return ECKey.generate_key("P-256", parameters, private=True)
    if KEY_TYPES[alg] == "RSA":
        return RSAKey.generate_key(2048, parameters, private=True)
    return OKPKey.generate_key("Ed25519", parameters, private=True)


@cache
def shared_key(alg: str, kid: str) -> Key:
    """Keys are reused across tests (RSA generation is slow); clients differ per test."""
    return generate_key(alg, kid)


def public_jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def register(svc: Services, client_id: str, key: Key | None = None, **extra: Any) -> Client:
    values: dict[str, Any] = {
        "client_name": f"TPP {client_id}",
        "redirect_uris": ["https://tpp.example/cb"],
        "scopes": ["accounts:read"],
        "client_id": client_id,
    }
    if key is not None:
        values["jwks"] = public_jwks(key)
    values.update(extra)
    return svc.clients.create(ClientRequest(**values), actor="test")


def sign(header: dict[str, Any], claims: dict[str, Any], key: Key) -> str:
    alg = header["alg"]
    if alg == "EdDSA":
        return jwt.encode(header, claims, key, registry=FapiJWSRegistry([alg]))
    return jwt.encode(header, claims, key, algorithms=[alg])


def assertion(
    svc: Services,
    client_id: str,
    key: Key,
    *,
    alg: str = "ES256",
    drop: tuple[str, ...] = (),
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A private_key_jwt assertion valid at ``svc.clock`` unless overridden.

    ``drop`` removes claims; a ``None`` value in ``header`` removes that header field.
    """
    now = int(svc.clock.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": svc.settings.issuer,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    body.update(claims)
    for name in drop:
        body.pop(name)
    fields = {"alg": alg, "kid": key.kid, **(header or {})}
    return sign({k: v for k, v in fields.items() if v is not None}, body, key)


def form(token: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token, **extra}
