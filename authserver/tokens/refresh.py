"""Refresh-token families (TOK-4): opaque, hashed at rest, rotated on use with a grace window.

- ≥ 256 bits, stored only as SHA-256 hashes, bound to the client.
- Every use rotates: the old token is marked rotated, a new one joins the family.
- Within ``grace`` seconds a retry with the just-rotated token gets the same new
  response (lost responses are common); the response is kept sealed in the store.
- After the grace window a spent token means theft: the whole family (refresh and
  access tokens) is revoked and the caller gets ``invalid_grant``.
- Concurrent refreshes with one token: one conditional UPDATE wins, so exactly one
  new family head exists; the others get the winner's response (grace) or fail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from authserver.audit.service import AuditTrail
from authserver.clock import Clock
from authserver.crypto.envelope import Envelope
from authserver.settings import TokenSettings
from authserver.store.base import Store
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.models import RefreshToken

TokenResponse = dict[str, Any]
# Given the spent row and the new refresh token's row, build the token response
# (access token, id token...) to which the service adds "refresh_token".
Mint = Callable[[RefreshToken], TokenResponse]


class RefreshTokenService:
    def __init__(
        self,
        settings: TokenSettings,
        grace: int,
        store: Store,
        envelope: Envelope,
        clock: Clock,
        ledger: AccessTokenLedger,
        audit: AuditTrail,
    ) -> None:
        self._settings = settings
        self._grace = grace
        self._store = store
        self._envelope = envelope
        self._clock = clock
        self._ledger = ledger
        self._audit = audit

    def issue(
        self,
        *,
        client_id: str,
        user_id: str | None,
        consent_id: str | None,
        scope: str,
        auth_time: datetime | None,
        dpop_jkt: str | None = None,
    ) -> tuple[str, RefreshToken]:
        """Start a new family; returns the opaque token (shown once) and its row."""
        raise NotImplementedError

    def rotate(self, token: str, client_id: str, mint: Mint) -> TokenResponse:
        """Spend ``token`` and return the new response; InvalidGrantError on any failure."""
        raise NotImplementedError

    def revoke_family(self, family_id: str, *, reason: str) -> None:
        """Revoke every refresh token of the family and the access tokens it produced."""
        raise NotImplementedError
