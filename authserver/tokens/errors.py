"""Token-endpoint error codes (RFC 6749 §5.2)."""

from authserver.errors import AuthServerError


class InvalidGrantError(AuthServerError):
    error = "invalid_grant"
    status_code = 400
    description = "The grant is invalid, expired, revoked or was issued to another client."


class UnsupportedGrantTypeError(AuthServerError):
    error = "unsupported_grant_type"
    status_code = 400
    description = "The grant type is not supported."


class UnauthorizedClientError(AuthServerError):
    error = "unauthorized_client"
    status_code = 400
    description = "The client is not allowed to use this grant type."
