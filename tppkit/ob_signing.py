"""UK OB ``x-jws-signature``: a TPP's detached JWS over the exact request body (joserfc's
compact serialisation with the payload detached, RFC 7515 Appendix F). TEST-ONLY keys.

``changes`` replace (or, with None, drop) protected-header members, so negative tests can
send a missing ``crit``, a stale ``iat`` or a wrong ``iss`` signed by a real key."""

from __future__ import annotations

import time
from typing import Any

from joserfc import jws
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter

from tppkit.keys import PrivateKey

OB_IAT = "http://openbanking.org.uk/iat"
OB_ISS = "http://openbanking.org.uk/iss"
OB_TAN = "http://openbanking.org.uk/tan"
CRITICAL = (OB_IAT, OB_ISS, OB_TAN)
TRUST_ANCHOR = "openbanking.org.uk"


def _registry(alg: str) -> JWSRegistry:
    # The OB claims declared, their values unchecked: a TPP signs whatever it is told to.
    claims = {name: HeaderParameter(name, lambda value: None) for name in CRITICAL}
    return JWSRegistry(header_registry=claims, algorithms=[alg], strict_check_header=False)


def ob_signature(
    key: PrivateKey,
    body: bytes,
    *,
    client_id: str,
    alg: str = "ES256",
    trust_anchor: str = TRUST_ANCHOR,
    iat: float | None = None,
    **changes: Any,
) -> str:
    """``header..signature`` for the ``x-jws-signature`` header of a request with ``body``."""
    header: dict[str, Any] = {
        "alg": alg,
        "kid": key.kid,
        "typ": "JOSE",
        "cty": "application/json",
        OB_IAT: int(time.time() if iat is None else iat),
        OB_ISS: client_id,
        OB_TAN: trust_anchor,
        "crit": list(CRITICAL),
    }
    header.update(changes)
    header = {name: value for name, value in header.items() if value is not None}
    compact = jws.serialize_compact(header, body, key, registry=_registry(alg))
    return jws.detach_content(compact)
