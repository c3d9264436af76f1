"""RFC 6750 §3.1 errors, with the WWW-Authenticate challenge clients act on."""

from __future__ import annotations

from authserver.errors import AuthServerError


class InvalidTokenError(AuthServerError):
    error = "invalid_token"
    status_code = 401
    description = "The access token is invalid, expired or revoked."

    def extra_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}"'}


class MissingTokenError(InvalidTokenError):
    """No credentials at all: RFC 6750 §3.1 says the challenge carries no error code."""

    error = "invalid_request"
    status_code = 401
    description = "An access token is required in the Authorization header."

    def extra_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InsufficientScopeError(AuthServerError):
    error = "insufficient_scope"
    status_code = 403
    description = "The access token does not carry the scope this resource needs."

    def extra_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.error}"'}
