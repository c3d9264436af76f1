"""The webhook tables: subscriptions, the event outbox and one delivery per subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base
from authserver.db import UUIDPrimaryKey

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
"""Dead-lettered: every attempt failed; ``authserver webhooks redeliver`` starts it again."""
CANCELLED = "cancelled"
"""Its subscription was deleted before it was delivered."""

EVENT_TYPES = (
    "consent.authorised",
    "consent.rejected",
    "consent.revoked",
    "consent.expired",
    "payment.status_changed",
)


class WebhookSubscription(UUIDPrimaryKey, Base):
    __tablename__ = "webhook_subscriptions"

    client_id: Mapped[str] = mapped_column(String(255), index=True)
    callback_url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class WebhookEvent(Base):
    """One event for one client, in the outbox. ``seq`` orders them for polling
    (``GET /webhooks/events?after=seq``); ``event_id`` is what a receiver de-duplicates on."""

    __tablename__ = "webhook_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    client_id: Mapped[str] = mapped_column(String(255), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    jws: Mapped[str | None] = mapped_column(Text)
    """Signed once (by the writer when it holds the webhook key, else by the first worker
    that sees it) and sent unchanged on every retry."""


class WebhookDelivery(UUIDPrimaryKey, Base):
    """Pushing one event to one subscription: claimed by a worker for a lease, retried with
    backoff, dead-lettered after ``webhooks.max_attempts``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    event_seq: Mapped[int] = mapped_column(ForeignKey("webhook_events.seq"), index=True)
    subscription_id: Mapped[str] = mapped_column(String(36))
    callback_url: Mapped[str] = mapped_column(String(2048))
    """The subscription's URL when the event was written (a later DELETE cancels it)."""
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None]
