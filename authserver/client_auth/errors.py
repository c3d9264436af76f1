"""The one client-authentication error: fixed wording, so failures reveal nothing."""

from authserver.errors import AuthServerError


class InvalidClientError(AuthServerError):
    error = "invalid_client"
    status_code = 401
    description = "Client authentication failed."
