"""PAR and JAR error codes (RFC 9126 §2.3, RFC 9101 §6.3)."""

from authserver.errors import AuthServerError


class InvalidRequestObjectError(AuthServerError):
    error = "invalid_request_object"
    status_code = 400
    description = "The request object is invalid."


class InvalidRequestUriError(AuthServerError):
    error = "invalid_request_uri"
    status_code = 400
    description = "The request_uri is unknown, expired, already used or issued to another client."
