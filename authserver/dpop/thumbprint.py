"""RFC 7638 JWK thumbprints: required members only, lexicographic order, SHA-256, base64url.

The one function behind ``cnf.jkt``, ``dpop_jkt`` and replay-cache keys, so a key is
never hashed two different ways (a classic interop bug: hashing optional members).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

REQUIRED_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """Raise ValueError for a key type or member set RFC 7638 does not define."""
    members = REQUIRED_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(name), str) for name in members):
        raise ValueError("unsupported or incomplete JWK")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
