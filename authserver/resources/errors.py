"""Resource-server errors (RFC 6750 §3, RFC 9449 §7.1) and the challenges clients act on.

Every 401 and 403 names the schemes the resource accepts: always ``DPoP algs="..."``,
plus ``Bearer`` while unbound Bearer tokens are accepted and the request did not use
DPoP. Each challenge is its own ``WWW-Authenticate`` field, the scheme the request
used (or Bearer, when it used none) first: RFC 9110 §11.6.1 also allows one
comma-joined field, but auth-params are comma-separated as well, and clients that read
only the first field or split on commas get one whole challenge per field this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authserver.errors import AuthServerError
from authserver.fapi import FAPI_SIGNING_ALGS


@dataclass(frozen=True)
class Challenge:
    """The schemes one response offers; the guard builds it from the settings and request."""

    dpop_algs: tuple[str, ...] = FAPI_SIGNING_ALGS
    bearer: bool = True

    def fields(self, error: str | None) -> list[str]:
        """One WWW-Authenticate value per scheme; no error code when credentials were absent."""
        dpop = f'DPoP algs="{" ".join(self.dpop_algs)}"'
        if error:
            dpop += f', error="{error}"'
        if not self.bearer:
            return [dpop]
        return [f'Bearer error="{error}"' if error else "Bearer", dpop]


class ResourceServerError(AuthServerError):
    """Base of the errors a protected resource answers; ``challenge`` is set by the guard."""

    error = "invalid_token"
    status_code = 401
    challenge = Challenge()
    # RFC 6750 §3.1: a request without credentials gets the challenges but no error code.
    challenge_error: str | None = "invalid_token"

    def extra_headers(self) -> dict[str, Any]:
        # A list value becomes one header field per item (werkzeug Headers.update → setlist).
        return {"WWW-Authenticate": self.challenge.fields(self.challenge_error)}


class InvalidTokenError(ResourceServerError):
    error = "invalid_token"
    challenge_error = "invalid_token"
    description = "The access token is invalid, expired or revoked."


class MissingTokenError(ResourceServerError):
    """No credentials, or an unsupported scheme (RFC 6750 §3.1): challenges without error."""

    error = "invalid_request"
    challenge_error = None
    description = "An access token is required in the Authorization header."


class InvalidProofError(ResourceServerError):
    """RFC 9449 §7.1: the DPoP proof is missing or invalid (401 here, 400 at the AS)."""

    error = "invalid_dpop_proof"
    challenge_error = "invalid_dpop_proof"
    description = "The DPoP proof is missing or invalid."


class NonceRequiredError(ResourceServerError):
    """RFC 9449 §9: retry with a proof carrying the nonce in the DPoP-Nonce header."""

    error = "use_dpop_nonce"
    challenge_error = "use_dpop_nonce"
    description = "Resend the request with a DPoP proof carrying the server's nonce."

    def __init__(self, nonce: str, description: str | None = None) -> None:
        super().__init__(description)
        self.nonce = nonce

    def extra_headers(self) -> dict[str, Any]:
        return {**super().extra_headers(), "DPoP-Nonce": self.nonce}


class InsufficientScopeError(ResourceServerError):
    error = "insufficient_scope"
    status_code = 403
    challenge_error = "insufficient_scope"
    description = "The access token does not carry the scope this resource needs."
