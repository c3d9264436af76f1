"""Refresh-token families (TOK-4): opaque, hashed at rest, strictly one-time use.

- ≥ 256 bits, stored only as SHA-256 hashes, bound to the client.
- Every use rotates: the old token is marked rotated, a new one joins the family.
- A spent token presented again means theft (RFC 9700 §4.14.2): the whole family
  (refresh and access tokens) is revoked and the caller gets ``invalid_grant``.
- Opt-in (``grace`` > 0, default 0): within ``grace`` seconds a retry with the
  just-rotated token gets the same new response (for lost responses), but only when
  it comes from the same client with the same sender constraint (DPoP key thumbprint,
  or none) as the rotating request; the response and that thumbprint are kept sealed
  in the store. A retry by anyone else is a replay: ``invalid_grant``, family revoked.
- Concurrent refreshes with one token: one conditional UPDATE wins, so exactly one
  new family head exists; the others are replays (or, within grace, retries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

import structlog
from sqlalchemy import CursorResult
from sqlalchemy import select
from sqlalchemy import update

from authserver.audit.service import AuditTrail
from authserver.clock import Clock
from authserver.crypto.envelope import DecryptionError
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db
from authserver.settings import TokenSettings
from authserver.store.base import Store
from authserver.tokens.errors import InvalidGrantError
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.models import ACTIVE
from authserver.tokens.models import REVOKED
from authserver.tokens.models import ROTATED
from authserver.tokens.models import RefreshToken

log = structlog.get_logger(__name__)

TokenResponse = dict[str, Any]
# Given the spent row and the new refresh token's row, build the token response
# (access token, id token...) to which the service adds "refresh_token".
Mint = Callable[[RefreshToken], TokenResponse]

GRACE_PREFIX = "refresh_grace:"
# How long a retry waits for the winner's sealed response to appear in the store.
CACHE_WAIT_SECONDS = 2.0
CACHE_POLL_SECONDS = 0.05
REUSE_REASON = "refresh_token_reuse"


@dataclass(frozen=True)
class _Rotation:
    """What a grace retry may get back, and from whom: the rotating request's sender."""

    client_id: str
    jkt: str
    """DPoP key thumbprint of the rotating request; "" when it had no proof."""
    response: TokenResponse

    def same_sender(self, client_id: str, jkt: str | None) -> bool:
        """Constant time: the comparison must not tell an attacker how close it came."""
        same_client = hmac.compare_digest(self.client_id.encode(), client_id.encode())
        same_key = hmac.compare_digest(self.jkt.encode(), (jkt or "").encode())
        return same_client and same_key


def hash_token(token: str) -> str:
    """The only form in which a refresh token is stored or looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


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
        intent_claims: Sequence[str] = (),
        authorization_details: Sequence[dict[str, Any]] = (),
        amr: Sequence[str] = (),
        acr: str | None = None,
    ) -> tuple[str, RefreshToken]:
        """Start a new family; returns the opaque token (shown once) and its row. The
        intent (``intent_claims``, ``authorization_details``) travels with the family."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        row = RefreshToken(
            token_hash=hash_token(token),
            family_id=str(uuid.uuid4()),
            client_id=client_id,
            user_id=user_id,
            consent_id=consent_id,
            scope=scope,
            status=ACTIVE,
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.refresh_idle_ttl),
            family_expires_at=now + timedelta(seconds=self._settings.refresh_absolute_ttl),
            rotated_at=None,
            auth_time=auth_time,
            dpop_jkt=dpop_jkt,
            intent_claims=list(intent_claims) or None,
            authorization_details=list(authorization_details) or None,
            amr=list(amr) or None,
            acr=acr,
        )
        db.session.add(row)
        db.session.flush()
        return token, row

    def rotate(
        self, token: str, client_id: str, mint: Mint, *, jkt: str | None = None
    ) -> TokenResponse:
        """Spend ``token`` and return the new response; InvalidGrantError on any failure.

        ``jkt`` is the thumbprint of this request's DPoP proof (None without one): a grace
        retry must present the same. Commits on success and on reuse detection, rolls
        back when ``mint`` raises or when a concurrent rotation won: callers keep no
        pending work across this call.
        """
        old_hash = hash_token(token)
        row = self.find(token)
        # Another client's token is answered exactly like an unknown one, and changes nothing.
        if row is None or row.client_id != client_id:
            raise InvalidGrantError()
        now = self._clock.now()
        if row.status == REVOKED or now >= row.family_expires_at:
            raise InvalidGrantError()
        if row.status == ROTATED:
            return self._spent(row, now, jkt)
        if now >= row.expires_at:
            raise InvalidGrantError()
        if not self._claim(row, now):
            # Lost the race: end the transaction (it holds locks on SQLite) and read
            # the winner's committed state.
            db.session.rollback()
            return self._spent(row, now, jkt)
        return self._continue_family(row, old_hash, mint, now, jkt)

    def revoke_family(self, family_id: str, *, reason: str) -> None:
        """Revoke every refresh token of the family and the access tokens it produced."""
        self.mark_family_revoked(family_id)
        revoked_access = self._ledger.revoke_family(family_id)
        log.info(
            "refresh_family_revoked",
            family_id=family_id,
            reason=reason,
            revoked_access_tokens=revoked_access,
        )

    def _claim(self, row: RefreshToken, now: datetime) -> bool:
        """One conditional UPDATE: True for exactly one of any concurrent spenders."""
        statement = (
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.status == ACTIVE)
            .values(status=ROTATED, rotated_at=now)
            .execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], db.session.execute(statement))
        return result.rowcount == 1

    def _continue_family(
        self, spent: RefreshToken, old_hash: str, mint: Mint, now: datetime, jkt: str | None
    ) -> TokenResponse:
        """Add the family's new head, mint the response and commit; roll back on any failure."""
        try:
            token, head = self._new_head(spent, now)
            response = mint(head)
            response["refresh_token"] = token
            # Cached before the commit: whoever sees the old token as rotated (only
            # possible after the commit) finds the response, and a store outage here
            # leaves the old token unspent instead of burning it.
            self._cache_response(old_hash, _Rotation(spent.client_id, jkt or "", response))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return response

    def _new_head(self, spent: RefreshToken, now: datetime) -> tuple[str, RefreshToken]:
        token = secrets.token_urlsafe(32)
        idle_expiry = now + timedelta(seconds=self._settings.refresh_idle_ttl)
        head = RefreshToken(
            token_hash=hash_token(token),
            family_id=spent.family_id,
            client_id=spent.client_id,
            user_id=spent.user_id,
            consent_id=spent.consent_id,
            scope=spent.scope,
            status=ACTIVE,
            created_at=now,
            expires_at=min(idle_expiry, spent.family_expires_at),
            family_expires_at=spent.family_expires_at,
            rotated_at=None,
            auth_time=spent.auth_time,
            dpop_jkt=spent.dpop_jkt,
            intent_claims=spent.intent_claims,
            authorization_details=spent.authorization_details,
            amr=spent.amr,
            acr=spent.acr,
        )
        db.session.add(head)
        db.session.flush()
        return token, head

    def _spent(self, row: RefreshToken, now: datetime, jkt: str | None) -> TokenResponse:
        """A rotated token: reuse (theft), unless it is the original sender's retry in grace."""
        if row.status != ROTATED:
            # Revoked meanwhile, or a concurrent rotation rolled back: nothing was spent.
            raise InvalidGrantError()
        if self._within_grace(row, now):
            rotation = self._wait_for_rotation(row.token_hash)
            if rotation is None:
                raise InvalidGrantError()
            if rotation.same_sender(row.client_id, jkt):
                return rotation.response
            # The spent token from another sender constraint (no proof, another key):
            # whoever holds it is not the party that rotated it, so it was stolen.
        self._reuse_detected(row)
        raise InvalidGrantError()

    def _within_grace(self, row: RefreshToken, now: datetime) -> bool:
        rotated_at = row.rotated_at
        grace = timedelta(seconds=self._grace)
        return self._grace > 0 and rotated_at is not None and now - rotated_at <= grace

    def _reuse_detected(self, row: RefreshToken) -> None:
        """Revoke the family; the audit row commits together with the refresh-token revocation."""
        family_id, client_id = row.family_id, row.client_id
        self.mark_family_revoked(family_id)
        self._audit.record(
            "refresh_token.reuse_detected",
            actor=f"client:{client_id}",
            resource=f"refresh_family:{family_id}",
            outcome="failure",
            changes={"reason": REUSE_REASON},
        )
        revoked_access = self._ledger.revoke_family(family_id)
        log.warning(
            "refresh_token_reuse_detected",
            family_id=family_id,
            client_id=client_id,
            revoked_access_tokens=revoked_access,
        )

    def find(self, token: str) -> RefreshToken | None:
        """The row of an opaque refresh token, looked up by its hash only."""
        return db.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
        )

    def mark_family_revoked(self, family_id: str) -> None:
        """In the pending unit of work; the caller commits."""
        db.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.status != REVOKED)
            .values(status=REVOKED)
            .execution_options(synchronize_session=False)
        )

    def _cache_response(self, old_hash: str, rotation: _Rotation) -> None:
        if self._grace <= 0:
            return
        key = GRACE_PREFIX + old_hash
        sealed = self._envelope.seal(json.dumps(asdict(rotation)).encode(), key)
        self._store.set(key, sealed.to_text().encode(), ttl=self._grace)

    def _wait_for_rotation(self, old_hash: str) -> _Rotation | None:
        """The sealed record of the rotation, polling briefly in case it is still on its way."""
        key = GRACE_PREFIX + old_hash
        deadline = time.monotonic() + CACHE_WAIT_SECONDS
        while True:
            value = self._store.get(key)
            if value is not None:
                return self._open_rotation(key, value)
            if time.monotonic() >= deadline:
                return None
            time.sleep(CACHE_POLL_SECONDS)

    def _open_rotation(self, key: str, value: bytes) -> _Rotation | None:
        try:
            plaintext = self._envelope.open(Sealed.from_text(value.decode()), key)
            record = json.loads(plaintext)
            return _Rotation(str(record["client_id"]), str(record["jkt"]), dict(record["response"]))
        except (DecryptionError, ValueError, KeyError, TypeError):
            # Unreadable (or written by an older version without the sender): no retry.
            log.warning("refresh_grace_response_unreadable")
            return None
