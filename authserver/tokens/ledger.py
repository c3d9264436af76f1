"""Ledger of issued access tokens, so a family or a replayed code can be revoked everywhere.

Revocation writes SQL first (revoked_at), then puts the jti in the store's deny-set
for the token's remaining life; ``is_revoked`` reads the deny-set and fails closed.
"""

from __future__ import annotations

from datetime import datetime

from authserver.clock import Clock
from authserver.store.base import Store

DENY_PREFIX = "revoked_jti:"


class AccessTokenLedger:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        *,
        jti: str,
        client_id: str,
        user_id: str | None,
        family_id: str | None,
        code_id: str | None,
        consent_id: str | None,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Add one issued access token (flushed, committed with the caller's unit of work)."""
        raise NotImplementedError

    def revoke_family(self, family_id: str) -> int:
        """Revoke every unexpired access token of a refresh family; returns how many."""
        raise NotImplementedError

    def revoke_code(self, code_id: str) -> int:
        """Revoke every access token issued from one authorization code (code replay)."""
        raise NotImplementedError

    def is_revoked(self, jti: str) -> bool:
        """True when the jti is in the deny-set; StoreUnavailableError when that can't be known."""
        raise NotImplementedError
