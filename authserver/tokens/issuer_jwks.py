"""The issuer's published JWKS fetched over HTTP, for a resource server in its own process.

Cached for a short TTL; an unknown ``kid`` (a key rotated in since the last fetch)
triggers one refetch, at most once per ``min_refetch_seconds`` so a flood of forged
kids cannot turn into a flood of requests to the issuer. When the issuer cannot be
reached and nothing usable is cached the answer is 503 ``temporarily_unavailable``:
an unknown key set is never a pass, and never blamed on the client's token.
"""

from __future__ import annotations

import threading
from http.client import HTTPException
from typing import Any

import structlog

from authserver.client_auth.jwks import fetch_jwks
from authserver.clients.service import validate_public_jwks
from authserver.clock import Clock
from authserver.errors import TemporarilyUnavailableError

log = structlog.get_logger(__name__)


class IssuerUnreachableError(TemporarilyUnavailableError):
    """The issuer's JWKS could not be fetched and no fresh copy is cached."""


class IssuerJwks:
    """A ``PublicKeySource`` (tokens/verifier.py) reading ``{issuer}/jwks``."""

    def __init__(
        self,
        jwks_uri: str,
        clock: Clock,
        *,
        ttl: float,
        min_refetch_seconds: float,
        timeout: float,
    ) -> None:
        self._uri = jwks_uri
        self._clock = clock
        self._ttl = ttl
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def public_key(self, kid: str) -> dict[str, Any] | None:
        with self._lock:
            now = self._clock.time()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                self._refresh(now, required=True)
            elif kid not in self._keys and now - self._fetched_at >= self._min_refetch:
                # A kid we have not seen: maybe a key rotated in since the last fetch.
                self._refresh(now, required=False)
            return self._keys.get(kid)

    def _refresh(self, now: float, *, required: bool) -> None:
        try:
            document = validate_public_jwks(fetch_jwks(self._uri, self._timeout))
        except (OSError, HTTPException, ValueError, TypeError, KeyError) as exc:
            log.warning("issuer_jwks_unavailable", jwks_uri=self._uri, error_detail=repr(exc))
            if required:
                raise IssuerUnreachableError() from None
            return
        self._keys = {str(key["kid"]): dict(key) for key in document["keys"] if "kid" in key}
        self._fetched_at = now
