"""Recording consent decisions exactly as shown to the user (TOK-5)."""

from __future__ import annotations

from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentView
from authserver.clock import Clock
from authserver.consent.models import AUTHORISED
from authserver.consent.models import REJECTED
from authserver.consent.models import REVOKED
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
        now = self._clock.now()
        consent = Consent(
            user_id=user_id,
            client_id=client_id,
            scopes=scopes,
            status=AUTHORISED if approved else REJECTED,
            created_at=now,
            updated_at=now,
            expires_at=None,
        )
        db.session.add(consent)
        db.session.flush()
        self._audit.record(
            "consent.approved" if approved else "consent.denied",
            actor=f"user:{user_id}",
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

    def mark_revoked(self, consent_id: str) -> bool:
        consent = self.get(consent_id)
        if consent is None:
            return False
        consent.status = REVOKED
        consent.updated_at = self._clock.now()
        return True
