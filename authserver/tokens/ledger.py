"""Ledger of issued access tokens, so a family or a replayed code can be revoked everywhere.

Revocation writes SQL first (revoked_at), then puts the jti in the store's deny-set
for the token's remaining life; ``is_revoked`` reads the deny-set and fails closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import update

from authserver.clock import Clock
from authserver.db import db
from authserver.store.base import Store
from authserver.tokens.models import IssuedAccessToken

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
        db.session.add(
            IssuedAccessToken(
                jti=jti,
                client_id=client_id,
                user_id=user_id,
                family_id=family_id,
                code_id=code_id,
                consent_id=consent_id,
                issued_at=issued_at,
                expires_at=expires_at,
                revoked_at=None,
            )
        )
        db.session.flush()

    def revoke_family(self, family_id: str) -> int:
        """Revoke every unexpired access token of a refresh family; returns how many."""
        return self._revoke(IssuedAccessToken.family_id == family_id)

    def revoke_code(self, code_id: str) -> int:
        """Revoke every access token issued from one authorization code (code replay)."""
        return self._revoke(IssuedAccessToken.code_id == code_id)

    def is_revoked(self, jti: str) -> bool:
        """True when the jti is in the deny-set; StoreUnavailableError when that can't be known."""
        return self._store.get(DENY_PREFIX + jti) is not None

    def _revoke(self, condition: ColumnElement[bool]) -> int:
        """Mark matching rows revoked and commit, then deny-list the still-unexpired ones.

        SQL is the record of truth, so it is committed first: if the store then fails,
        the error propagates and the revocation can be replayed from SQL.
        """
        now = self._clock.now()
        statement = (
            update(IssuedAccessToken)
            .where(condition, IssuedAccessToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(IssuedAccessToken.jti, IssuedAccessToken.expires_at)
            .execution_options(synchronize_session=False)
        )
        revoked = db.session.execute(statement).all()
        db.session.commit()
        denied = 0
        for jti, expires_at in revoked:
            remaining = (expires_at - now).total_seconds()
            if remaining > 0:
                self._store.set(DENY_PREFIX + jti, b"1", ttl=remaining)
                denied += 1
        return denied
