"""Time and audience rules for every JWT we receive (client assertions, request objects, DPoP).

One implementation of FAPI 2.0 §5.3.2.1-13: iat/nbf up to ``skew`` seconds in the
future are accepted, later ones refused. Callers turn a problem into their own
error code (invalid_client, invalid_request_object, invalid_dpop_proof).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    """The claim as a NumericDate (RFC 7519 §2), or None when it is not a usable one.

    JSON parsing accepts ``NaN``, ``Infinity`` and integers beyond float range. NaN
    compares false with everything, so it would pass every window check (an assertion
    that never expires and whose jti is forgotten at once); a huge integer would crash
    the check with OverflowError. Neither is a time, so both count as "not a number".
    """
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def time_problem(
    claims: Mapping[str, Any],
    now: float,
    *,
    skew: int,
    required: Iterable[str] = ("exp",),
    max_lifetime: int | None = None,
    lifetime_start: str = "iat",
) -> str | None:
    """Why the JWT's time claims are unacceptable, or None when they are fine."""
    for name in required:
        if _number(claims, name) is None:
            return f"{name} is missing or not a number"
    for name in ("exp", "iat", "nbf"):
        if name in claims and _number(claims, name) is None:
            return f"{name} is not a number"
    exp, iat, nbf = (_number(claims, n) for n in ("exp", "iat", "nbf"))
    if exp is not None and exp <= now:
        return "exp is in the past"
    for name, value in (("iat", iat), ("nbf", nbf)):
        # FAPI 2.0 SP 5.3.2.1-13: accept up to the skew ahead, refuse beyond it.
        if value is not None and value > now + skew:
            return f"{name} is too far in the future"
    if max_lifetime is not None and exp is not None:
        start = _number(claims, lifetime_start)
        if start is None:
            start = now
        if exp - start > max_lifetime:
            return "lifetime is too long"
    return None


def audience_is_issuer_string(aud: Any, issuer: str) -> bool:
    """Client assertions: the issuer as a JSON string and nothing else (rfc7523bis, FAPI 2.0)."""
    return isinstance(aud, str) and aud == issuer


def audience_contains_issuer(aud: Any, issuer: str) -> bool:
    """Request objects: the issuer, or an array containing it (FAPI 2.0 Message Signing §5.3.1)."""
    if isinstance(aud, str):
        return aud == issuer
    return isinstance(aud, list) and issuer in aud
