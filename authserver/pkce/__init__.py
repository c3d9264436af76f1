"""RFC 7636 PKCE, always required; the methods accepted are ``FapiPolicy.pkce_methods``
(S256 only under FAPI 2.0 SP 5.3.2.2-5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from collections.abc import Collection

from authserver.errors import InvalidRequestError

# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is the base64url SHA-256 digest: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# The methods this module can verify: a challenge's shape and the verifier's transform.
# The policy picks among them; "plain" is deliberately absent (RFC 9700 §2.1.1).
_METHODS: dict[str, tuple[re.Pattern[str], Callable[[str], str]]] = {
    "S256": (_S256_CHALLENGE, s256),
}


def check_challenge(challenge: str | None, method: str | None, allowed: Collection[str]) -> None:
    """Validate the authorization request's PKCE parameters against the ``allowed`` methods."""
    names = " or ".join(allowed)
    if not challenge:
        # RFC 7636 §4.4.1: a server that requires PKCE answers invalid_request.
        raise InvalidRequestError(f"code_challenge is required (PKCE {names}).")
    # Never default a missing method to plain; only the allowed methods are accepted.
    if method is None or method not in allowed or method not in _METHODS:
        raise InvalidRequestError(f"code_challenge_method must be {names}.")
    if not _METHODS[method][0].match(challenge):
        raise InvalidRequestError(f"code_challenge is not a valid {method} challenge.")


def verifier_matches(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6, compared in constant time; a malformed verifier never matches.

    Codes keep only the challenge, so this applies the one transform implemented; a
    second method would have to be stored with the code first."""
    if not verifier or not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
