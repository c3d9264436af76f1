"""The transactional outbox: an event row (and one delivery row per matching subscription)
added to the caller's unit of work, so the event exists exactly when the state change does.

Nothing here commits: the consent or payment service's audit record commits the state
change, its audit event and its webhook event together (or none of them).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol

from sqlalchemy import select
from sqlalchemy import text

from authserver.clock import Clock
from authserver.db import db
from authserver.events.models import EVENT_TYPES
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookEvent
from authserver.events.models import WebhookSubscription

# UK OB v4.0 consent status codes -> the webhook event types (API-6). AWAU (created) and
# COND (consumed by its payment, which sends payment.status_changed) have none.
CONSENT_EVENTS = {
    "AUTH": "consent.authorised",
    "RJCT": "consent.rejected",
    "CANC": "consent.revoked",
    "EXPD": "consent.expired",
}
PAYMENT_STATUS_CHANGED = "payment.status_changed"


class EventSigner(Protocol):
    """Signs an event's claims as a JWS; None when no webhook key is at hand (a resource
    server process), and the worker signs it before the first delivery."""

    def sign_event(self, event: WebhookEvent) -> str | None: ...


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claims(event: WebhookEvent, issuer: str) -> dict[str, Any]:
    """What the JWS carries (issue 14): the event plus ``iss``, ``aud`` (the client), ``iat``."""
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "data": dict(event.data),
        "created_at": timestamp(event.created_at),
        "iss": issuer,
        "aud": event.client_id,
        "iat": int(event.created_at.timestamp()),
    }


def _serialise_client_events(client_id: str) -> None:
    """Make one client's events commit in ``seq`` order (PostgreSQL).

    A poller continues from the last ``seq`` it saw (``GET /webhooks/events?after=``). On
    PostgreSQL a sequence value is handed out at INSERT, not at COMMIT: two transactions
    could take 5 and 6 and commit 6 first, and a poll between the two commits would move
    the cursor past 5 for good. A transaction-scoped advisory lock per client, taken before
    the INSERT and held until COMMIT, rules that out; other clients' events never wait.
    SQLite has one writer at a time, so its commits are in ``seq`` order already.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": "authserver.webhook_events:" + client_id},
        )


class EventOutbox:
    def __init__(self, clock: Clock, signer: EventSigner | None = None) -> None:
        self._clock = clock
        self._signer = signer

    def emit(self, client_id: str, event_type: str, data: Mapping[str, Any]) -> WebhookEvent:
        """Stage the event and its deliveries in ``db.session``; the caller commits."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type}")
        now = self._clock.now()
        event = WebhookEvent(
            event_id=str(uuid.uuid4()),
            client_id=client_id,
            event_type=event_type,
            data=dict(data),
            created_at=now,
        )
        _serialise_client_events(client_id)
        db.session.add(event)
        db.session.flush()  # assigns seq for the deliveries
        if self._signer is not None:
            event.jws = self._signer.sign_event(event)
        subscriptions = db.session.scalars(
            select(WebhookSubscription).where(WebhookSubscription.client_id == client_id)
        )
        for subscription in subscriptions:
            if event_type in subscription.event_types:
                db.session.add(
                    WebhookDelivery(
                        event_seq=event.seq,
                        subscription_id=subscription.id,
                        callback_url=subscription.callback_url,
                        status=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
        return event

    def consent_changed(
        self, *, consent_id: str, client_id: str, kind: str, status: str, previous: str | None
    ) -> WebhookEvent | None:
        event_type = CONSENT_EVENTS.get(status)
        if event_type is None or previous == status:
            return None
        data = {
            "consent_id": consent_id,
            "consent_kind": kind,
            "status": status,
            "previous_status": previous,
        }
        return self.emit(client_id, event_type, data)

    def payment_changed(
        self,
        *,
        payment_id: str,
        consent_id: str,
        client_id: str,
        status: str,
        status_reason: str | None,
    ) -> WebhookEvent:
        data = {
            "payment_id": payment_id,
            "consent_id": consent_id,
            "status": status,
            "status_reason": status_reason,
        }
        return self.emit(client_id, PAYMENT_STATUS_CHANGED, data)
