"""RFC 7636 PKCE, S256 only and always required (FAPI 2.0 SP 5.3.2.2-5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from authserver.errors import InvalidRequestError

# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is the base64url SHA-256 digest: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_challenge(challenge: str | None, method: str | None) -> None:
    """Validate the authorization request's PKCE parameters."""
    if not challenge:
        # RFC 7636 §4.4.1: a server that requires PKCE answers invalid_request.
        raise InvalidRequestError("code_challenge is required (PKCE S256).")
    if method != "S256":
        # Never default a missing method to plain; S256 is the only method accepted.
        raise InvalidRequestError("code_challenge_method must be S256.")
    if not _S256_CHALLENGE.match(challenge):
        raise InvalidRequestError("code_challenge is not a valid S256 challenge.")


def verifier_matches(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6, compared in constant time; a malformed verifier never matches."""
    if not verifier or not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
