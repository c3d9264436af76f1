"""The delivery worker (issue 14 item 3): at least once, several workers at a time.

A round signs events not signed yet, claims due deliveries (``FOR UPDATE SKIP LOCKED``
on PostgreSQL to pick candidates; on both backends the claim itself is a compare-and-set
UPDATE that sets a fresh ``claim_token`` and a lease), then POSTs each event to the
address the SSRF guard checked. 2xx is delivered; anything else is retried with
exponential backoff and jitter until ``webhooks.max_attempts``, then dead-lettered.
A worker killed mid-delivery leaves its claim behind; after the lease another worker
takes it and sends the same JWS (same ``event_id``) again.
"""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from authserver.clock import Clock
from authserver.db import db
from authserver.events.models import DEAD
from authserver.events.models import DELIVERED
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookEvent
from authserver.events.outbox import EventSigner
from authserver.events.ssrf import CallbackGuard
from authserver.events.ssrf import CallbackRefusedError
from authserver.events.ssrf import Target
from authserver.metrics import WEBHOOK_DELIVERIES
from authserver.settings import WebhookSettings

log = structlog.get_logger(__name__)
USER_AGENT = "authserver-webhooks/1"
CONTENT_TYPE = "application/jwt"


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, with SNI and certificate checks for the URL's host."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._target = target
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._target.ip, self._target.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._target.host)


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> int:
    """POST ``body`` to ``target.ip`` (never a fresh lookup of the host); the status code.
    No redirect is followed: a 3xx is a failed attempt, never a hop past the guard."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        tls = context or ssl.create_default_context()
        connection = _PinnedHTTPSConnection(target, timeout, tls)
    else:
        connection = http.client.HTTPConnection(target.ip, target.port, timeout=timeout)
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    sent = {"Host": host if target.port == default_port else f"{host}:{target.port}", **headers}
    try:
        connection.request("POST", target.path, body=body, headers=sent)
        response = connection.getresponse()
        response.read(65536)
        return response.status
    finally:
        connection.close()


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    token: str


Poster = Callable[[Target, bytes, dict[str, str], float], int]


class DeliveryWorker:
    def __init__(
        self,
        settings: WebhookSettings,
        clock: Clock,
        guard: CallbackGuard,
        signer: EventSigner,
        *,
        jitter: Callable[[], float] = random.random,
        poster: Poster = post,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._guard = guard
        self._signer = signer
        self._jitter = jitter
        self._post = poster

    # -- one round -------------------------------------------------------------------
    def run_once(self) -> int:
        """Sign, claim and deliver what is due now; the number of deliveries attempted."""
        self.sign_pending()
        claims = self.claim()
        for claim in claims:
            self.deliver(claim)
        return len(claims)

    def sign_pending(self) -> int:
        """Sign events written where no webhook key was (a resource-server process). A
        compare-and-set on ``jws IS NULL``: of two workers, the first signature stays."""
        rows = db.session.execute(
            select(WebhookEvent).where(WebhookEvent.jws.is_(None)).order_by(WebhookEvent.seq)
        ).scalars()
        signed = 0
        for event in list(rows):
            jws = self._signer.sign_event(event)
            if jws is None:
                break
            result = db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.seq == event.seq, WebhookEvent.jws.is_(None))
                .values(jws=jws)
                .execution_options(synchronize_session=False)
            )
            signed += int(getattr(result, "rowcount", 0) or 0)
        db.session.commit()
        return signed

    def claim(self) -> list[Claim]:
        now = self._clock.now()
        free = or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)
        due = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
            .where(free)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
            .limit(self._settings.batch_size)
        )
        if db.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        until = now + timedelta(seconds=self._settings.lease_seconds)
        claims: list[Claim] = []
        try:
            for delivery_id in list(db.session.scalars(due)):
                token = str(uuid.uuid4())
                result = db.session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id, WebhookDelivery.status == PENDING, free
                    )
                    .values(claim_token=token, claimed_until=until)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claims.append(Claim(delivery_id, token))
            db.session.commit()
        except OperationalError as exc:
            # SQLite: another worker holds the write lock past the busy timeout. Nothing
            # was claimed (the transaction rolls back); the next round tries again.
            db.session.rollback()
            log.warning("webhook_claim_busy", error_detail=type(exc).__name__)
            return []
        return claims

    def deliver(self, claim: Claim) -> bool:
        row = db.session.get(WebhookDelivery, claim.delivery_id)
        if row is None or row.claim_token != claim.token:
            db.session.rollback()
            return False
        event = db.session.get(WebhookEvent, row.event_seq)
        jws = event.jws if event is not None else None
        url = row.callback_url
        event_id = event.event_id if event is not None else ""
        db.session.rollback()  # hold no transaction (or SQLite lock) across the network call
        error: str | None = None
        if jws is None:
            error = "event not signed yet"
        else:
            headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}
            try:
                status = self._post(
                    self._guard.resolve(url), jws.encode(), headers, self._settings.timeout
                )
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except CallbackRefusedError as exc:
                error = f"refused: {exc}"
            except (OSError, http.client.HTTPException) as exc:
                # Network failures of any kind (refused, reset, timeout, TLS, bad answer).
                error = type(exc).__name__
        self._record(claim, error)
        log.info(
            "webhook_delivery",
            delivery_id=claim.delivery_id,
            event_id=event_id,
            outcome="delivered" if error is None else "failed",
            error_detail=error,
        )
        return error is None

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with "equal jitter": half fixed, half random."""
        growth: float = 2.0 ** (attempts - 1)
        delay = min(self._settings.backoff_max, self._settings.backoff_base * growth)
        return delay / 2 + self._jitter() * delay / 2

    def _record(self, claim: Claim, error: str | None) -> None:
        now = self._clock.now()
        row = db.session.get(WebhookDelivery, claim.delivery_id)
        if row is None or row.claim_token != claim.token:
            # Our lease ran out and another worker took the delivery: its outcome counts.
            db.session.rollback()
            return
        attempts = row.attempts + 1
        outcome = "retry"
        values: dict[str, object] = {
            "attempts": attempts,
            "claim_token": None,
            "claimed_until": None,
            "last_error": error,
        }
        if error is None:
            outcome = "delivered"
            values.update(status=DELIVERED, delivered_at=now)
        elif attempts >= self._settings.max_attempts:
            outcome = "dead_letter"
            values.update(status=DEAD)
        else:
            values.update(next_attempt_at=now + timedelta(seconds=self.backoff(attempts)))
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        WEBHOOK_DELIVERIES.labels(outcome).inc()

    # -- operators ------------------------------------------------------------------
    def redeliver(self, event_id: str) -> int:
        """Queue every delivery of the event again (dead-lettered or delivered); how many."""
        event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        if event is None:
            return 0
        result = db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.event_seq == event.seq,
                WebhookDelivery.status.in_((DEAD, DELIVERED)),
            )
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=self._clock.now(),
                claim_token=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def dead_letters(self) -> list[tuple[WebhookDelivery, WebhookEvent]]:
        rows = db.session.execute(
            select(WebhookDelivery, WebhookEvent)
            .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
            .where(WebhookDelivery.status == DEAD)
            .order_by(WebhookEvent.seq)
        ).all()
        return [(delivery, event) for delivery, event in rows]
