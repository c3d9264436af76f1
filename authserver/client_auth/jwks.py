"""A client's public keys: registered ``jwks``, or ``jwks_uri`` fetched (timeout, cache)."""

from __future__ import annotations

from joserfc.jwk import KeySet

from authserver.clients.models import Client
from authserver.clock import Clock


class ClientKeyResolver:
    def __init__(self, timeout: float, cache_seconds: int, clock: Clock) -> None:
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock

    def key_set(self, client: Client, kid: str | None) -> KeySet:
        """Keys to verify ``client``'s JWTs; refetch a jwks_uri once when ``kid`` is unknown."""
        raise NotImplementedError
