"""TEST-ONLY client keys: generation, session-wide reuse, and JWKS documents.

``generate_key`` is a TPP's registered key (RFC 7638 thumbprint as ``kid``, ``alg``,
``use: sig``); ``new_key`` is a key with exactly the members asked for (a DPoP key, or a
negative test's key). RSA generation costs tens of milliseconds, so tests that only need
*a* key of a type take ``shared_key``, generated once per process.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from joserfc import jwk

PrivateKey = jwk.ECKey | jwk.RSAKey | jwk.OKPKey
KEY_TYPES = {"ES256": "EC", "PS256": "RSA", "RS256": "RSA", "EdDSA": "OKP"}
"""The key type each client algorithm signs with (EC P-256, RSA 2048, Ed25519)."""


def new_key(alg: str = "ES256", kid: str | None = None, **parameters: Any) -> PrivateKey:
    """A fresh private key for ``alg`` carrying only ``kid`` (if given) and ``parameters``."""
    members: Any = {**parameters, **({"kid": kid} if kid is not None else {})}
    kty = KEY_TYPES[alg]
    if kty == "EC":
        return jwk.ECKey.generate_key("P-256", members, private=True)
    if kty == "RSA":
        return jwk.RSAKey.generate_key(2048, members, private=True)
    return jwk.OKPKey.generate_key("Ed25519", members, private=True)


def generate_key(alg: str = "ES256") -> PrivateKey:
    """A TPP's signing key: its RFC 7638 thumbprint as ``kid``, ``alg`` and ``use: sig``."""
    key = new_key(alg)
    members: Any = {"kid": key.thumbprint(), "alg": alg, "use": "sig"}
    return type(key).import_key(key.as_dict(private=True), members)


@cache
def shared_key(alg: str = "ES256", kid: str | None = None) -> PrivateKey:
    """``new_key(alg, kid)`` made once per process: for tests whose clients differ but whose
    key material may be the same (a key's identity is never what such a test checks)."""
    return new_key(alg, kid)


@cache
def shared_tpp_key(alg: str = "ES256", name: str = "a") -> PrivateKey:
    """``generate_key(alg)`` made once per process per ``name`` (each client registers its own
    public key, so reusing the material across tests and clients changes no rule tested)."""
    return generate_key(alg)


def public_jwks(*keys: PrivateKey | jwk.Key) -> dict[str, Any]:
    """The JWKS a client registers: the public halves of ``keys``."""
    return {"keys": [key.as_dict(private=False) for key in keys]}


def write_key_files(directory: Path, name: str, key: PrivateKey) -> tuple[Path, Path]:
    """Write ``key`` as a private JWK (mode 600) and its public JWKS, both named TEST-ONLY;
    returns (private JWK file, public JWKS file) for ``authserver clients create``."""
    private = directory / f"{name}.test-only.private.jwk.json"
    public = directory / f"{name}.test-only.public.jwks.json"
    private.write_text(json.dumps(key.as_dict(private=True)))
    private.chmod(0o600)
    public.write_text(json.dumps(public_jwks(key)))
    return private, public
