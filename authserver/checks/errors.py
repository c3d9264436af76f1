"""Authorization-request error codes (RFC 6749 §4.1.2.1)."""

from authserver.errors import AuthServerError


class UnsupportedResponseTypeError(AuthServerError):
    error = "unsupported_response_type"
    status_code = 400
    description = "Only response_type=code is supported."


class InvalidScopeError(AuthServerError):
    error = "invalid_scope"
    status_code = 400
    description = "The requested scope is invalid or not allowed for this client."


class AccessDeniedError(AuthServerError):
    error = "access_denied"
    status_code = 400
    description = "The user denied the request."


class InvalidAuthorizationDetailsError(AuthServerError):
    # RFC 9396 §5: malformed authorization_details, an unknown type, or a value the AS
    # will not grant.
    error = "invalid_authorization_details"
    status_code = 400
    description = "The authorization_details are invalid."
