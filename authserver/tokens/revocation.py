"""Every way a token dies goes through here: one token (RFC 7009), or all tokens of a
client, a user or a consent (bulk, by watermark).

Order, always: SQL (the record of truth, with its audit row, in one commit), then the
store, then the channel. A store failure after the commit surfaces as 503; the caller
retries (every write is idempotent) and listeners re-read SQL after any outage.

Bulk revocation costs O(1) in access tokens however many were issued: one watermark
("tokens issued at or before T are revoked"), checked against each token's ``iat``.
Refresh tokens are ended with one UPDATE on indexed columns.

It lives in ``tokens/`` because revoking acts on the tokens it issued (ledger, refresh
families); ``revocation/`` below it is only the deny-set and its propagation, so the two
packages import in one direction. Consents and users are reached through the consent
gate and the user directory. Nothing here signs or holds a key: a resource server
process runs it (admin API, the TPP's consent withdrawal) without the master key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentGate
from authserver.checks.user_directory import UserDirectory
from authserver.clients.models import Client
from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.db import db
from authserver.revocation.models import RevocationWatermark
from authserver.revocation.publisher import RevocationPublisher
from authserver.revocation.state import CLIENT
from authserver.revocation.state import CONSENT
from authserver.revocation.state import JTI
from authserver.revocation.state import USER
from authserver.revocation.state import WATERMARK_TTL
from authserver.revocation.state import Revocation
from authserver.tokens.ledger import AccessTokenLedger
from authserver.tokens.models import REVOKED as REFRESH_REVOKED
from authserver.tokens.models import IssuedAccessToken
from authserver.tokens.models import RefreshToken

log = structlog.get_logger(__name__)

ACCESS_TOKEN_HINT = "access_token"  # noqa: S105 - RFC 7009 hint names, not secrets
REFRESH_TOKEN_HINT = "refresh_token"  # noqa: S105


class RevocationTargetNotFoundError(LookupError):
    """The client, user or consent to revoke does not exist."""


@dataclass(frozen=True)
class BulkRevocation:
    kind: str
    target: str
    revoked_before: int
    refresh_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.target,
            "revoked_before": self.revoked_before,
            "refresh_tokens_revoked": self.refresh_tokens,
        }


_REFRESH_COLUMN = {
    CLIENT: RefreshToken.client_id,
    USER: RefreshToken.user_id,
    CONSENT: RefreshToken.consent_id,
}


class RevocationService:
    def __init__(
        self,
        *,
        clock: Clock,
        audit: AuditTrail,
        clients: ClientService,
        consents: ConsentGate,
        users: UserDirectory,
        ledger: AccessTokenLedger,
        publisher: RevocationPublisher,
    ) -> None:
        self._clock = clock
        self._audit = audit
        self._clients = clients
        self._consents = consents
        self._users = users
        self._ledger = ledger
        self._publisher = publisher

    # -- one token (RFC 7009) --------------------------------------------------------

    def revoke_access_token(
        self, claims: dict[str, Any], caller: Client, *, request_id: str
    ) -> bool:
        """Deny-list a verified access token of ``caller`` for its remaining life.

        Another client's token changes nothing (RFC 7009 §2.1) and is answered alike.
        """
        if claims.get("client_id") != caller.client_id:
            log.info("revocation_refused", error_detail="token of another client")
            return False
        jti = str(claims.get("jti", ""))
        facts = self._ledger.mark_jti(jti)
        if not facts and isinstance(claims.get("exp"), int):
            facts = [Revocation(JTI, jti, until=float(claims["exp"]))]
        self._audit.record(
            "token.revoked",
            actor=f"client:{caller.client_id}",
            resource=f"access_token:{jti}",
            changes={"token_type": ACCESS_TOKEN_HINT},
            request_id=request_id,
        )
        self._publisher.publish(facts)
        return True

    def revoke_refresh_token(self, row: RefreshToken, caller: Client, *, request_id: str) -> bool:
        """End the token's family and every access token it produced (RFC 7009 §2.1)."""
        if row.client_id != caller.client_id:
            log.info("revocation_refused", error_detail="token of another client")
            return False
        self._end_refresh_tokens(RefreshToken.family_id == row.family_id)
        facts = self._ledger.mark_family(row.family_id)
        self._audit.record(
            "token.revoked",
            actor=f"client:{caller.client_id}",
            resource=f"refresh_family:{row.family_id}",
            changes={"token_type": REFRESH_TOKEN_HINT, "access_tokens": len(facts)},
            request_id=request_id,
        )
        self._publisher.publish(facts)
        return True

    # -- bulk (watermarks) -----------------------------------------------------------

    def revoke_client(self, client_id: str, *, actor: str, reason: str) -> BulkRevocation:
        """Compromised client: disable it and revoke everything it holds."""
        try:
            self._clients.disable(client_id, actor=actor)
        except ClientRegistrationError:
            raise RevocationTargetNotFoundError(f"no client {client_id!r}") from None
        return self._watermark(CLIENT, client_id, actor=actor, reason=reason)

    def revoke_user(self, user_id: str, *, actor: str, reason: str) -> BulkRevocation:
        if not self._users.exists(user_id):
            raise RevocationTargetNotFoundError(f"no user {user_id!r}")
        return self._watermark(USER, user_id, actor=actor, reason=reason)

    def revoke_consent(self, consent_id: str, *, actor: str, reason: str) -> BulkRevocation:
        """Withdrawn consent (user dashboard, TPP DELETE or operator): one path for all."""
        if not self._consents.mark_revoked(consent_id, actor=actor, reason=reason):
            raise RevocationTargetNotFoundError(f"no consent {consent_id!r}")
        return self._watermark(CONSENT, consent_id, actor=actor, reason=reason)

    def revoke_consent_tokens(self, consent_id: str, *, actor: str, reason: str) -> BulkRevocation:
        """End every token of a consent whose status has already moved (expired, say),
        leaving the status as it is: the same watermark as ``revoke_consent``."""
        if self._consents.view(consent_id) is None:
            raise RevocationTargetNotFoundError(f"no consent {consent_id!r}")
        return self._watermark(CONSENT, consent_id, actor=actor, reason=reason)

    def _watermark(self, kind: str, target: str, *, actor: str, reason: str) -> BulkRevocation:
        # iat is whole seconds (floor): "at or before floor(now)" covers every token issued
        # so far, and at worst one issued later in this same second (fail safe).
        before = int(self._clock.time())
        db.session.add(
            RevocationWatermark(
                kind=kind,
                target=target,
                revoked_before=before,
                created_at=self._clock.now(),
                actor=actor[:120],
                reason=reason[:200],
            )
        )
        ended = self._end_refresh_tokens(_REFRESH_COLUMN[kind] == target)
        result = BulkRevocation(kind, target, before, ended)
        self._audit.record(
            f"{kind}.tokens_revoked",
            actor=actor,
            resource=f"{kind}:{target}",
            changes={"revoked_before": before, "reason": reason, "refresh_tokens": ended},
        )
        self._publisher.publish(
            [Revocation(kind, target, until=before + WATERMARK_TTL, before=before)]
        )
        log.info("bulk_revocation", kind=kind, target=target, refresh_tokens=ended)
        return result

    @staticmethod
    def _end_refresh_tokens(condition: ColumnElement[bool]) -> int:
        result = db.session.execute(
            update(RefreshToken)
            .where(condition, RefreshToken.status != REFRESH_REVOKED)
            .values(status=REFRESH_REVOKED)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- rebuilding the store --------------------------------------------------------

    def rebuild_store(self) -> int:
        """Write SQL's live revocations into the store, then mark it ready; returns how many.

        Run by any process that finds the store without its ready marker (flushed or
        restarted) or that reconnects after an outage. Only the SET writes, no messages:
        every listener reloads its snapshot at the same time.
        """
        now = self._clock.now()
        denied = db.session.execute(
            select(IssuedAccessToken.jti, IssuedAccessToken.expires_at).where(
                IssuedAccessToken.revoked_at.is_not(None), IssuedAccessToken.expires_at > now
            )
        ).all()
        oldest = int((now - timedelta(seconds=WATERMARK_TTL)).timestamp())
        watermarks = db.session.execute(
            select(
                RevocationWatermark.kind,
                RevocationWatermark.target,
                func.max(RevocationWatermark.revoked_before),
            )
            .where(RevocationWatermark.revoked_before > oldest)
            .group_by(RevocationWatermark.kind, RevocationWatermark.target)
        ).all()
        db.session.rollback()
        facts = [Revocation(JTI, jti, until=exp.timestamp()) for jti, exp in denied]
        facts += [
            Revocation(kind, target, until=before + WATERMARK_TTL, before=before)
            for kind, target, before in watermarks
        ]
        written = self._publisher.store(facts)
        self._publisher.mark_ready()
        log.info("revocation_store_rebuilt", entries=written)
        return written
