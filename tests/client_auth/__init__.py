"""Helpers for client-authentication tests: real keys (from ``tppkit``), real signed assertions.

``generate_key(alg, kid)``, ``shared_key`` and ``public_jwks`` are the kit's, re-exported.
"""

from __future__ import annotations

import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import Key

from authserver.client_auth.service import ASSERTION_TYPE
from authserver.clients.models import Client
from authserver.context import Services
from authserver.crypto.jose import FapiJWSRegistry
from tppkit.keys import KEY_TYPES
from tppkit.keys import new_key as generate_key
from tppkit.keys import public_jwks
from tppkit.keys import shared_key
from tppkit.registration import create_client

__all__ = ["KEY_TYPES", "generate_key", "public_jwks", "shared_key"]


def register(svc: Services, client_id: str, key: Key | None = None, **extra: Any) -> Client:
    """A TPP with redirect URI and ``accounts:read`` unless ``extra`` says otherwise."""
    fields: dict[str, Any] = {
        "redirect_uris": ["https://tpp.example/cb"],
        "scopes": ["accounts:read"],
    }
    return create_client(svc, client_id, key, **{**fields, **extra})


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
