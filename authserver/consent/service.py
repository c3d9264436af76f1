"""Recording consent decisions exactly as shown to the user (TOK-5), and every other
consent transition (a TPP's request and withdrawal, expiry), with the webhook event of
each (API-6) in the same transaction.

Each transition is one audit event, written by one helper (``_step``): its type names the
new status (``consent.created``, ``consent.authorised``, ``consent.rejected``,
``consent.cancelled``, ``consent.expired``, ``consent.consumed``) and its ``changes``
carry the status move, the reason and, on an open-banking request, the
``x-fapi-interaction-id``; its ``request_id`` is the request's.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from typing import TypeVar

from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.checks.consent_gate import ConsentNotAuthorisedError
from authserver.checks.consent_gate import ConsentView
from authserver.clock import Clock
from authserver.consent import lifecycle
from authserver.consent.lifecycle import ConcurrentTransition
from authserver.consent.lifecycle import IllegalTransition
from authserver.consent.models import ACCOUNT_ACCESS
from authserver.consent.models import AUTH
from authserver.consent.models import AWAU
from authserver.consent.models import CANC
from authserver.consent.models import COND
from authserver.consent.models import EXPD
from authserver.consent.models import RJCT
from authserver.consent.models import Consent
from authserver.consent.models import ConsentStatusHistory
from authserver.consent.models import is_live
from authserver.consent.payment import PAYMENT_KIND
from authserver.consent.payment import payment_link
from authserver.consent.trace import Trace
from authserver.consent.trace import request_trace
from authserver.db import db
from authserver.events.outbox import EventOutbox
from authserver.payments.sealed_initiation import InitiationSeal
from authserver.sca.linking import same_digest

T = TypeVar("T")

EVENTS = {
    AWAU: "consent.created",
    AUTH: "consent.authorised",
    RJCT: "consent.rejected",
    CANC: "consent.cancelled",
    EXPD: "consent.expired",
    COND: "consent.consumed",
}


class PaymentLinkVoidError(Exception):
    """The payment's details are not those the user's authentication was linked to
    (dynamic linking): the approval is void and nothing is recorded."""


class ConsentService:
    """Consent decisions for the pages, and the protocol floor's ``ConsentGate``."""

    def __init__(
        self,
        clock: Clock,
        audit: AuditTrail,
        trace: Callable[[], Trace] = request_trace,
        *,
        outbox: EventOutbox | None = None,
        initiations: InitiationSeal | None = None,
    ) -> None:
        """``initiations`` opens a payment consent's sealed Initiation, to re-compute its
        dynamic-linking hash at approval (the resource-server process has none)."""
        self._clock = clock
        self._audit = audit
        self._trace = trace
        self._outbox = outbox
        self._initiations = initiations

    # -- the one place a transition is audited -----------------------------------------

    def _audit_step(
        self,
        consent: Consent,
        from_status: str | None,
        *,
        actor: str,
        reason: str,
        request_id: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        trace = self._trace()
        recorded: dict[str, Any] = {
            "client_id": consent.client_id,
            "kind": consent.kind,
            "from": from_status,
            "status": consent.status,
            "reason": reason,
            **(changes or {}),
        }
        if trace.interaction_id is not None:
            recorded["fapi_interaction_id"] = trace.interaction_id
        if self._outbox is not None:
            # The webhook event joins this unit of work; the audit record commits both.
            self._outbox.consent_changed(
                consent_id=consent.id,
                client_id=consent.client_id,
                kind=consent.kind,
                status=consent.status,
                previous=from_status,
            )
        self._audit.record(
            EVENTS[consent.status],
            actor=actor,
            resource=f"consent:{consent.id}",
            changes=recorded,
            request_id=request_id if request_id not in (None, "-") else trace.request_id,
        )

    def _step(
        self,
        consent: Consent,
        to_status: str,
        *,
        actor: str,
        reason: str,
        request_id: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Move ``consent`` through the state machine and record the audit event; the
        audit trail commits the pending unit of work with it."""
        from_status = consent.status
        lifecycle.transition(consent, to_status, at=self._clock.now(), actor=actor, reason=reason)
        self._audit_step(
            consent, from_status, actor=actor, reason=reason, request_id=request_id, changes=changes
        )

    def _new(
        self,
        *,
        client_id: str,
        scopes: list[str],
        request_id: str | None,
        kind: str | None = None,
        details: Mapping[str, Any] | None = None,
        expires_at: datetime | None = None,
        user_id: str | None = None,
        consent_id: str | None = None,
    ) -> Consent:
        actor = f"client:{client_id}"
        reason = "requested by the third party"
        consent = lifecycle.create(
            client_id=client_id,
            scopes=scopes,
            at=self._clock.now(),
            actor=actor,
            reason=reason,
            kind=kind or ACCOUNT_ACCESS,
            user_id=user_id,
            details=dict(details) if details is not None else None,
            consent_id=consent_id,
        )
        consent.expires_at = expires_at
        self._audit_step(consent, None, actor=actor, reason=reason, request_id=request_id)
        return consent

    # -- the pages ---------------------------------------------------------------------

    def decide(
        self, *, user_id: str, client_id: str, scopes: list[str], approved: bool, request_id: str
    ) -> Consent:
        """Create the consent in AWAU and move it to AUTH or RJCT, so its history (and
        the audit trail) shows both steps."""
        consent = self._new(
            client_id=client_id, scopes=scopes, request_id=request_id, user_id=user_id
        )
        self._step(
            consent,
            AUTH if approved else RJCT,
            actor=f"user:{user_id}",
            reason="approved by the user" if approved else "rejected by the user",
            request_id=request_id,
            changes={"scopes": scopes},
        )
        return consent

    def get(self, consent_id: str) -> Consent | None:
        return db.session.get(Consent, consent_id)

    def payment_link(self, consent_id: str) -> str:
        """The dynamic-linking hash of the payment consent's details as stored now."""
        consent = self._require(consent_id)
        if consent.kind != PAYMENT_KIND or self._initiations is None:
            raise LookupError("not a payment consent this service can open")
        stored = (consent.details or {}).get("Initiation", {})
        return payment_link(consent.id, self._initiations.open(consent.id, stored))

    def authorise(
        self,
        consent_id: str,
        *,
        user_id: str,
        accounts: list[str],
        request_id: str,
        require_link: bool = False,
        linked: str | None = None,
    ) -> Consent:
        """The user approved a TPP-created consent (AWAU → AUTH) for ``accounts``.
        Committed with its audit event; IllegalTransition if it is not AWAU.

        ``require_link``: the approval counts only if ``linked`` (the hash the user's fresh
        authentication was bound to) is the hash of the payment's details as stored at
        this moment; else PaymentLinkVoidError and nothing changes (PSD2 RTS art. 5(2)).
        """
        consent = self._require(consent_id)
        if require_link and not same_digest(linked, self.payment_link(consent_id)):
            self._audit.record(
                "consent.link_void",
                actor=f"user:{user_id}",
                resource=f"consent:{consent_id}",
                outcome="failure",
                changes={"reason": "payment details differ from the authenticated ones"},
                request_id=request_id,
            )
            raise PaymentLinkVoidError(consent_id)
        consent.user_id = user_id
        consent.selected_accounts = list(accounts)
        self._step(
            consent,
            AUTH,
            actor=f"user:{user_id}",
            reason="approved by the user",
            request_id=request_id,
            changes={"accounts": list(accounts)},
        )
        return consent

    def reject(self, consent_id: str, *, user_id: str, request_id: str) -> Consent:
        """The user denied a TPP-created consent (AWAU → RJCT)."""
        consent = self._require(consent_id)
        consent.user_id = user_id
        self._step(
            consent,
            RJCT,
            actor=f"user:{user_id}",
            reason="rejected by the user",
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

    def history(self, consent_id: str) -> list[ConsentStatusHistory]:
        """Every status change of the consent, oldest first (the dashboard's detail page)."""
        return list(
            db.session.scalars(
                select(ConsentStatusHistory)
                .where(ConsentStatusHistory.consent_id == consent_id)
                .order_by(
                    ConsentStatusHistory.at,
                    # The creation row (no from_status) first when two share a moment.
                    ConsentStatusHistory.from_status.is_not(None),
                    ConsentStatusHistory.id,
                )
            )
        )

    # -- expiry ------------------------------------------------------------------------

    def _try_step(self, consent: Consent, to_status: str, *, actor: str, reason: str) -> bool:
        """``_step`` for a move another process may have made first (expiry racing a
        withdrawal, two cron runners): False, and nothing changed, when it did."""
        try:
            self._step(consent, to_status, actor=actor, reason=reason)
        except ConcurrentTransition:
            db.session.rollback()
            return False
        return True

    def _expire(self, consent: Consent) -> bool:
        """AUTH → EXPD (committed); False when another process moved it first."""
        return self._try_step(consent, EXPD, actor="system", reason="expired")

    def expire_due(self, then: Callable[[str], object] | None = None) -> list[str]:
        """Move every authorised consent past its ExpirationDateTime to EXPD; the ids this
        call moved. ``then(consent_id)`` runs right after each move (the CLI revokes the
        consent's tokens there). Safe on several nodes at once: each move is a
        compare-and-set (``lifecycle.transition``), so a consent another runner took is
        skipped, and only the runner that moved it calls ``then``."""
        now = self._clock.now()
        due = list(
            db.session.scalars(
                select(Consent.id)
                .where(Consent.status == AUTH, Consent.expires_at.is_not(None))
                .where(Consent.expires_at <= now)
                .order_by(Consent.expires_at, Consent.id)
            )
        )
        db.session.rollback()
        moved: list[str] = []
        for consent_id in due:
            consent = self.get(consent_id)
            if consent is not None and consent.status == AUTH and self._expire(consent):
                moved.append(consent_id)
                if then is not None:
                    then(consent_id)
        return moved

    def _current(self, consent_id: str) -> Consent | None:
        """The consent, moved to EXPD first when it is authorised and past its expiry
        (v4.0: a consent is expired from the moment it is used after ExpirationDateTime)."""
        consent = self.get(consent_id)
        if (
            consent is not None
            and consent.status == AUTH
            and consent.expires_at is not None
            and consent.expires_at <= self._clock.now()
            and not self._expire(consent)
        ):
            consent = self.get(consent_id)  # another process expired it: read its row
        return consent

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
        consent_id: str | None = None,
    ) -> ConsentView:
        consent = self._new(
            client_id=client_id,
            scopes=scopes,
            request_id=request_id,
            kind=kind,
            details=details,
            expires_at=expires_at,
            consent_id=consent_id,
        )
        return to_view(consent)

    def mark_revoked(self, consent_id: str, *, actor: str, reason: str) -> bool:
        consent = self.get(consent_id)
        if consent is None:
            return False
        # Withdrawing twice (a repeated DELETE) or a consent that never became AUTH
        # changes nothing here; the caller's watermark still ends any token it had.
        # A payment consent has no CANC (v4.0): its tokens still die by the watermark.
        if consent.status == AUTH and lifecycle.can_transition(AUTH, CANC, consent.kind):
            self._try_step(consent, CANC, actor=actor, reason=reason)
        return True

    def reject_unauthorised(self, consent_id: str, *, actor: str, reason: str) -> bool:
        consent = self.get(consent_id)
        if consent is None:
            return False
        if consent.status == AWAU:
            self._try_step(consent, RJCT, actor=actor, reason=reason)
        return True

    def consume(
        self,
        consent_id: str,
        *,
        actor: str,
        reason: str,
        request_id: str,
        then: Callable[[], T],
    ) -> T:
        """AUTH → COND and ``then()`` in one unit of work (see ``ConsentGate.consume``).

        The compare-and-set UPDATE comes first: on PostgreSQL a racing use waits on the
        consent's row and then finds it COND; on SQLite the write lock serialises them."""
        consent = self.get(consent_id)
        if consent is None:
            raise ConsentNotAuthorisedError(consent_id)
        from_status = consent.status
        try:
            lifecycle.transition(consent, COND, at=self._clock.now(), actor=actor, reason=reason)
        except IllegalTransition:  # ConcurrentTransition included
            db.session.rollback()
            raise ConsentNotAuthorisedError(consent_id) from None
        try:
            result = then()
        except BaseException:
            db.session.rollback()
            raise
        self._audit_step(consent, from_status, actor=actor, reason=reason, request_id=request_id)
        return result


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
