"""Helpers for DPoP tests: real keys and real proofs, signed with joserfc.

``proof`` builds a well-formed proof valid at the given clock for ``POST /token``;
``raw_proof`` signs any header and payload bytes as given, for proofs joserfc would
refuse to produce (no ``alg``, a ``jwk`` that is not a key, NaN, non-object payloads).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import Key

from authserver.clock import Clock
from authserver.crypto.jose import FapiJWSRegistry
from tppkit.encoding import b64url as b64
from tppkit.keys import new_key as generate_key
from tppkit.keys import shared_key

__all__ = ["b64", "generate_key", "shared_key"]
"""Re-exported from the kit: ``generate_key(alg)`` is a bare key (no kid), ``shared_key(alg,
name)`` one made once per process (``name`` tells keys apart and becomes their kid)."""

ISSUER = "https://as.example.test"
TOKEN_PATH = "/token"
TOKEN_URL = ISSUER + TOKEN_PATH


def claims_at(clock: Clock, **overrides: Any) -> dict[str, Any]:
    """jti, htm, htu and iat of a proof for ``POST /token`` made now; ``None`` drops a claim."""
    values: dict[str, Any] = {
        "jti": uuid.uuid4().hex,
        "htm": "POST",
        "htu": TOKEN_URL,
        "iat": int(clock.time()),
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def proof(
    clock: Clock,
    key: Key | None = None,
    *,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A proof signed by ``key`` (default: the shared key for ``alg``) carrying its public jwk.

    ``header`` adds or overrides header fields; ``claims`` add or override claims, and a
    ``None`` value in either removes that field.
    """
    key = key or shared_key(alg)
    fields = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False), **(header or {})}
    fields = {name: value for name, value in fields.items() if value is not None}
    body = claims_at(clock, **claims)
    registry = FapiJWSRegistry([alg]) if alg in ("ES256", "PS256", "EdDSA") else None
    if registry is None:
        return jwt.encode(fields, body, key, algorithms=[alg])
    registry.max_header_length = 4096  # room for an RSA jwk
    registry.strict_check_header = False  # tests add unregistered header parameters
    return jwt.encode(fields, body, key, registry=registry)


def raw_proof(header: dict[str, Any], payload: bytes, key: Key, alg: str = "ES256") -> str:
    """Sign ``header`` and ``payload`` exactly as given with ``alg``, whatever they hold."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}".encode()
    signature = FapiJWSRegistry([alg]).get_alg(alg).sign(signing_input, key)
    return f"{signing_input.decode()}.{b64(signature)}"


def proof_header(key: Key, alg: str = "ES256") -> dict[str, Any]:
    return {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
