"""DPoP error codes (RFC 9449 §5, §8, §9): the AS answers 400, a resource server 401."""

from __future__ import annotations

from authserver.errors import AuthServerError


class InvalidDPoPProofError(AuthServerError):
    error = "invalid_dpop_proof"
    status_code = 400
    description = "The DPoP proof is missing or invalid."


class UseDPoPNonceError(AuthServerError):
    """RFC 9449 §8: the client must retry with the server-provided nonce."""

    error = "use_dpop_nonce"
    status_code = 400
    description = "Resend the request with a DPoP proof carrying the server's nonce."

    def __init__(self, nonce: str, description: str | None = None) -> None:
        super().__init__(description)
        self.nonce = nonce

    def extra_headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": self.nonce}
