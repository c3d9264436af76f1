"""Recording consent decisions exactly as shown to the user (TOK-5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentView
from authserver.clock import Clock
from authserver.consent import lifecycle
from authserver.consent.models import AUTH
from authserver.consent.models import AWAU
from authserver.consent.models import CANC
from authserver.consent.models import EXPD
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

    def authorise(
        self, consent_id: str, *, user_id: str, accounts: list[str], request_id: str
    ) -> Consent:
        """The user approved a TPP-created consent (AWAU → AUTH) for ``accounts``.
        Committed by the caller's unit of work; IllegalTransition if it is not AWAU."""
        consent = self._require(consent_id)
        actor = f"user:{user_id}"
        consent.user_id = user_id
        consent.selected_accounts = list(accounts)
        lifecycle.transition(
            consent, AUTH, at=self._clock.now(), actor=actor, reason="approved by the user"
        )
        self._audit.record(
            "consent.authorised",
            actor=actor,
            resource=f"consent:{consent.id}",
            changes={"client_id": consent.client_id, "accounts": list(accounts), "status": AUTH},
            request_id=request_id,
        )
        return consent

    def reject(self, consent_id: str, *, user_id: str, request_id: str) -> Consent:
        """The user denied a TPP-created consent (AWAU → RJCT)."""
        consent = self._require(consent_id)
        actor = f"user:{user_id}"
        consent.user_id = user_id
        lifecycle.transition(
            consent, RJCT, at=self._clock.now(), actor=actor, reason="rejected by the user"
        )
        self._audit.record(
            "consent.rejected",
            actor=actor,
            resource=f"consent:{consent.id}",
            changes={"client_id": consent.client_id, "status": RJCT},
            request_id=request_id,
        )
        return consent

    def _require(self, consent_id: str) -> Consent:
        consent = self.get(consent_id)
        if consent is None:
            raise LookupError("no such consent")
        return consent

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
        return is_live(self._current(consent_id), client_id)

    def view(self, consent_id: str) -> ConsentView | None:
        consent = self._current(consent_id)
        return None if consent is None else to_view(consent)

    def create(
        self,
        *,
        client_id: str,
        kind: str,
        scopes: list[str],
        details: Mapping[str, Any],
        expires_at: datetime | None,
        request_id: str,
    ) -> ConsentView:
        now = self._clock.now()
        actor = f"client:{client_id}"
        consent = lifecycle.create(
            client_id=client_id,
            scopes=scopes,
            at=now,
            actor=actor,
            reason="requested by the third party",
            kind=kind,
            details=dict(details),
        )
        consent.expires_at = expires_at
        self._audit.record(
            "consent.created",
            actor=actor,
            resource=f"consent:{consent.id}",
            changes={"kind": kind, "status": AWAU},
            request_id=request_id,
        )
        db.session.commit()
        return to_view(consent)

    def _current(self, consent_id: str) -> Consent | None:
        """The consent, moved to EXPD first when it is authorised and past its expiry
        (v4.0: a consent is expired from the moment it is used after ExpirationDateTime)."""
        consent = self.get(consent_id)
        if (
            consent is not None
            and consent.status == AUTH
            and consent.expires_at is not None
            and consent.expires_at <= self._clock.now()
        ):
            lifecycle.transition(
                consent, EXPD, at=self._clock.now(), actor="system", reason="expired"
            )
            self._audit.record(
                "consent.expired",
                actor="system",
                resource=f"consent:{consent.id}",
                changes={"status": EXPD},
                request_id="-",
            )
            db.session.commit()
        return consent

    def mark_revoked(self, consent_id: str, *, actor: str, reason: str) -> bool:
        consent = self.get(consent_id)
        if consent is None:
            return False
        # Withdrawing twice (a repeated DELETE) or a consent that never became AUTH
        # changes nothing here; the caller's watermark still ends any token it had.
        if consent.status == AUTH:
            lifecycle.transition(consent, CANC, at=self._clock.now(), actor=actor, reason=reason)
        return True


def to_view(consent: Consent) -> ConsentView:
    return ConsentView(
        consent_id=consent.id,
        client_id=consent.client_id,
        user_id=consent.user_id,
        scopes=tuple(consent.scopes),
        live=is_live(consent),
        kind=consent.kind,
        status=consent.status,
        details=dict(consent.details or {}),
        selected_accounts=tuple(consent.selected_accounts or ()),
        created_at=consent.created_at,
        status_updated_at=consent.status_updated_at,
        expires_at=consent.expires_at,
    )
