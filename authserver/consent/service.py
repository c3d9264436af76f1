"""Recording consent decisions exactly as shown to the user (TOK-5)."""

from __future__ import annotations

from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentView
from authserver.clock import Clock
from authserver.consent import lifecycle
from authserver.consent.models import AUTH
from authserver.consent.models import CANC
from authserver.consent.models import RJCT
from authserver.consent.models import Consent
from authserver.consent.models import is_live
from authserver.db import db


class ConsentService:
    """Consent decisions for the pages, and the protocol floor's ``ConsentGate``."""

    def __init__(self, clock: Clock, audit: AuditTrail) -> None:
        self._clock = clock
        self._audit = audit

    def decide(
        self, *, user_id: str, client_id: str, scopes: list[str], approved: bool, request_id: str
    ) -> Consent:
        """Create the consent in AWAU and move it to AUTH or RJCT in the same unit of
        work, so its history shows both steps."""
        now = self._clock.now()
        actor = f"user:{user_id}"
        consent = lifecycle.create(
            user_id=user_id,
            client_id=client_id,
            scopes=scopes,
            at=now,
            actor=f"client:{client_id}",
            reason="authorization requested",
        )
        lifecycle.transition(
            consent,
            AUTH if approved else RJCT,
            at=now,
            actor=actor,
            reason="approved by the user" if approved else "rejected by the user",
        )
        self._audit.record(
            "consent.approved" if approved else "consent.denied",
            actor=actor,
            resource=f"consent:{consent.id}",
            changes={"client_id": client_id, "scopes": scopes, "status": consent.status},
            request_id=request_id,
        )
        return consent

    def get(self, consent_id: str) -> Consent | None:
        return db.session.get(Consent, consent_id)

    def of_user(self, user_id: str) -> list[Consent]:
        """Newest first, every status: the dashboard shows the history too."""
        return list(
            db.session.scalars(
                select(Consent)
                .where(Consent.user_id == user_id)
                .order_by(Consent.created_at.desc(), Consent.id)
            )
        )

    # -- the ConsentGate (checks/consent_gate.py) --------------------------------------

    def is_live(self, consent_id: str, client_id: str) -> bool:
        return is_live(self.get(consent_id), client_id)

    def view(self, consent_id: str) -> ConsentView | None:
        consent = self.get(consent_id)
        if consent is None:
            return None
        return ConsentView(
            consent_id=consent.id,
            client_id=consent.client_id,
            user_id=consent.user_id,
            scopes=tuple(consent.scopes),
            live=is_live(consent),
        )

    def mark_revoked(self, consent_id: str, *, actor: str, reason: str) -> bool:
        consent = self.get(consent_id)
        if consent is None:
            return False
        # Withdrawing twice (a repeated DELETE) or a consent that never became AUTH
        # changes nothing here; the caller's watermark still ends any token it had.
        if consent.status == AUTH:
            lifecycle.transition(consent, CANC, at=self._clock.now(), actor=actor, reason=reason)
        return True
