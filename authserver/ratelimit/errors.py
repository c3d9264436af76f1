"""The refusals of a spent budget: 429 with an OAuth body or an OB ``OBErrorResponse1``."""

from __future__ import annotations

from authserver.errors import AuthServerError
from authserver.openbanking.errors import OTHER_REASON
from authserver.openbanking.errors import OBError
from authserver.openbanking.errors import OBErrorResponse

TOO_MANY = "Too many requests for this client; retry after the Retry-After delay."


class RateLimitedError(AuthServerError):
    """OAuth endpoints (PAR, token). RFC 6749 names no rate-limit code: the registered
    ``temporarily_unavailable`` says "retry later", and ``Retry-After`` says when."""

    error = "temporarily_unavailable"
    status_code = 429
    description = TOO_MANY


def ob_rate_limited() -> OBErrorResponse:
    """OB endpoints. v4.0's 429 response defines headers only; the body is an
    ``OBErrorResponse1`` with ``U042`` (UK.OBIE.OtherReason), the code set's catch-all."""
    return OBErrorResponse(429, [OBError(OTHER_REASON, TOO_MANY)])
