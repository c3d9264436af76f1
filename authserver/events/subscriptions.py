"""Webhook subscriptions of a client and the events it may poll (issue 14 item 1 and 3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import update

from authserver.clock import Clock
from authserver.db import db
from authserver.events.models import CANCELLED
from authserver.events.models import EVENT_TYPES
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookEvent
from authserver.events.models import WebhookSubscription
from authserver.events.ssrf import CallbackGuard
from authserver.events.ssrf import CallbackRefusedError

MAX_SUBSCRIPTIONS = 10
"""Per client: each one multiplies the deliveries of every event."""
MAX_POLL = 100


class SubscriptionRejectedError(Exception):
    """The request cannot become a subscription; the message is safe to show."""


@dataclass(frozen=True)
class PolledEvent:
    seq: int
    event_id: str
    event_type: str
    jws: str


class WebhookSubscriptions:
    def __init__(self, clock: Clock, guard: CallbackGuard) -> None:
        self._clock = clock
        self._guard = guard

    def create(
        self, client_id: str, callback_url: str, event_types: Sequence[str]
    ) -> WebhookSubscription:
        """A committed subscription; SubscriptionRejectedError for unknown types, too many
        subscriptions, or a callback the SSRF guard refuses (checked on its addresses now)."""
        types = list(dict.fromkeys(event_types))
        if not types or any(t not in EVENT_TYPES for t in types):
            raise SubscriptionRejectedError(
                f"event_types must be a non-empty subset of {EVENT_TYPES}"
            )
        try:
            self._guard.resolve(callback_url)
        except CallbackRefusedError as exc:
            raise SubscriptionRejectedError(str(exc)) from None
        if len(self.of_client(client_id)) >= MAX_SUBSCRIPTIONS:
            raise SubscriptionRejectedError(f"at most {MAX_SUBSCRIPTIONS} subscriptions per client")
        row = WebhookSubscription(
            client_id=client_id,
            callback_url=callback_url,
            event_types=types,
            created_at=self._clock.now(),
        )
        db.session.add(row)
        db.session.commit()
        return row

    def of_client(self, client_id: str) -> list[WebhookSubscription]:
        return list(
            db.session.scalars(
                select(WebhookSubscription)
                .where(WebhookSubscription.client_id == client_id)
                .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
            )
        )

    def delete(self, client_id: str, subscription_id: str) -> bool:
        """Delete the client's subscription and cancel its pending deliveries; False when
        the client has no such subscription."""
        row = db.session.get(WebhookSubscription, subscription_id)
        if row is None or row.client_id != client_id:
            return False
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.status == PENDING,
            )
            .values(status=CANCELLED, claim_token=None, claimed_until=None)
        )
        db.session.delete(row)
        db.session.commit()
        return True

    def events_after(self, client_id: str, after: int, limit: int = MAX_POLL) -> list[PolledEvent]:
        """The client's signed events after ``after``, oldest first. Stops before the first
        event not signed yet (a worker signs it shortly), so a poller that continues from
        the last ``seq`` it saw never skips one."""
        rows = db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.client_id == client_id, WebhookEvent.seq > after)
            .order_by(WebhookEvent.seq)
            .limit(min(max(limit, 1), MAX_POLL))
        )
        found: list[PolledEvent] = []
        for row in rows:
            if row.jws is None:
                break
            found.append(PolledEvent(row.seq, row.event_id, row.event_type, row.jws))
        return found
