"""Store failures as wire errors: an unreachable store means 503, never a silent fallback."""

from authserver.errors import TemporarilyUnavailableError


class StoreUnavailableError(TemporarilyUnavailableError):
    description = "A required backing service is unavailable; retry later."
