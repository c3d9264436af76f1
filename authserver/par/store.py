"""Pushed requests in the shared store: random request_uri, bound to its client, single use.

The request stays readable across page reloads while the user logs in and is
consumed atomically (GETDEL) only when authorization completes (FAPI 2.0 note 3).
Once /authorize has accepted it, the short ``expires_in`` no longer caps the login:
the record lives for the login window instead, so a slow second factor does not
end on an error page (keycloak#51761). An unvisited request_uri still expires on time.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from authserver.checks.authorization_request import AuthorizationRequest
from authserver.clock import Clock
from authserver.par.errors import InvalidRequestUriError
from authserver.store.base import Store

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
_KEY_PREFIX = "par:"


class ParStore:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def push(self, request: AuthorizationRequest, ttl: int) -> str:
        # 256 bits from the CSPRNG (RFC 9126 §2.2 and FAPI entropy checks want ≥ 128).
        reference = secrets.token_urlsafe(32)
        record = {"request": request.to_dict(), "expires_at": self._clock.time() + ttl}
        self._store.set(_KEY_PREFIX + reference, json.dumps(record).encode(), ttl)
        return URN_PREFIX + reference

    def accept(self, request_uri: str, client_id: str, login_window: int) -> AuthorizationRequest:
        """First use at /authorize: validate, then keep the request for the login window."""
        key, record = self._record(request_uri, client_id, consume=False)
        if not record.get("accepted"):
            record.update(accepted=True, expires_at=self._clock.time() + login_window)
            self._store.set(key, json.dumps(record).encode(), login_window)
        return AuthorizationRequest.from_dict(record["request"])

    def get(self, request_uri: str, client_id: str) -> AuthorizationRequest:
        """Read without consuming (page reloads during login)."""
        return self._load(request_uri, client_id, consume=False)

    def consume(self, request_uri: str, client_id: str) -> AuthorizationRequest:
        """Read and delete atomically, when authorization completes."""
        return self._load(request_uri, client_id, consume=True)

    def _load(self, request_uri: str, client_id: str, *, consume: bool) -> AuthorizationRequest:
        return AuthorizationRequest.from_dict(
            self._record(request_uri, client_id, consume)[1]["request"]
        )

    def _record(
        self, request_uri: str, client_id: str, consume: bool
    ) -> tuple[str, dict[str, Any]]:
        if not request_uri.startswith(URN_PREFIX):
            raise InvalidRequestUriError()
        key = _KEY_PREFIX + request_uri.removeprefix(URN_PREFIX)
        raw = self._store.consume(key) if consume else self._store.get(key)
        if raw is None:
            raise InvalidRequestUriError()
        record: dict[str, Any] = json.loads(raw)
        # RFC 9126 §4: the request_uri is bound to the client that pushed it.
        if (
            record["request"]["client_id"] != client_id
            or record["expires_at"] <= self._clock.time()
        ):
            raise InvalidRequestUriError()
        return key, record
