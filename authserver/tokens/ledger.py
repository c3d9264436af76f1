"""Ledger of issued access tokens, so a family or a replayed code can be revoked everywhere.

Revocation writes SQL first (revoked_at), then hands the jti to the revocation
publisher (store deny-set for the token's remaining life, plus a message to every
resource server); ``is_revoked`` reads the deny-set and fails closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy import Insert
from sqlalchemy import select
from sqlalchemy import update

from authserver.clock import Clock
from authserver.db import db
from authserver.revocation.publisher import RevocationPublisher
from authserver.revocation.state import DENY_PREFIX
from authserver.revocation.state import JTI
from authserver.revocation.state import Revocation
from authserver.store.base import Store
from authserver.tokens.models import IssuedAccessToken

# A Core INSERT, built once: the ORM would add an identity-map entry, a unit-of-work
# flush and an object nobody reads again to every token (issue 15).
_RECORD: Insert = IssuedAccessToken.__table__.insert()  # type: ignore[attr-defined]


class AccessTokenLedger:
    def __init__(self, store: Store, clock: Clock, publisher: RevocationPublisher) -> None:
        self._store = store
        self._clock = clock
        self._publisher = publisher

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
        """Insert one issued access token; it commits with the caller's unit of work."""
        db.session.execute(
            _RECORD,
            {
                "jti": jti,
                "client_id": client_id,
                "user_id": user_id,
                "family_id": family_id,
                "code_id": code_id,
                "consent_id": consent_id,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "revoked_at": None,
            },
        )

    def revoke_family(self, family_id: str) -> int:
        """Revoke every unexpired access token of a refresh family; returns how many."""
        return self._revoke(IssuedAccessToken.family_id == family_id)

    def revoke_code(self, code_id: str) -> int:
        """Revoke every access token issued from one authorization code (code replay)."""
        return self._revoke(IssuedAccessToken.code_id == code_id)

    def find(self, jti: str) -> IssuedAccessToken | None:
        return db.session.get(IssuedAccessToken, jti)

    def is_revoked(self, jti: str) -> bool:
        """True when the jti is in the deny-set; StoreUnavailableError when that can't be known."""
        return self._store.get(DENY_PREFIX + jti) is not None

    def mark_jti(self, jti: str) -> list[Revocation]:
        """Mark one access token revoked in the pending unit of work (the caller commits,
        then publishes the returned facts)."""
        return self._mark(IssuedAccessToken.jti == jti)

    def mark_family(self, family_id: str) -> list[Revocation]:
        return self._mark(IssuedAccessToken.family_id == family_id)

    def _revoke(self, condition: ColumnElement[bool]) -> int:
        """Mark, commit, then publish. SQL is the record of truth, so it is committed
        first: if the store then fails, the error propagates (503) and the revocation
        is replayed from SQL."""
        facts = self._mark(condition)
        db.session.commit()
        return self._publisher.publish(facts)

    def _mark(self, condition: ColumnElement[bool]) -> list[Revocation]:
        """Set revoked_at on matching rows; the facts cover every unexpired match, revoked
        before or not, so a retry after a store outage still reaches every resource server."""
        now = self._clock.now()
        live = db.session.execute(
            select(IssuedAccessToken.jti, IssuedAccessToken.expires_at).where(
                condition, IssuedAccessToken.expires_at > now
            )
        ).all()
        db.session.execute(
            update(IssuedAccessToken)
            .where(condition, IssuedAccessToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return [Revocation(JTI, jti, until=expires_at.timestamp()) for jti, expires_at in live]
