"""Signed events reach a real loopback receiver for every consent and payment state change,
verify against /v1/.well-known/jwks.json, are retried after 500s, dead-lettered after the
last attempt, and still verify after a webhook-key rotation (within the overlap)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.events.models import DEAD
from authserver.events.models import DELIVERED
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookEvent
from authserver.events.signer import WebhookSigner
from authserver.events.ssrf import Target
from authserver.events.ssrf import guard_from_settings
from authserver.events.worker import Claim
from authserver.events.worker import DeliveryWorker
from authserver.events.worker import post
from authserver.experience import experience
from tests.ob_consents import create_consent as create_account_consent
from tests.payments.kit import PAYMENTS
from tests.payments.kit import authorise
from tests.payments.kit import cc_caller
from tests.payments.kit import create_consent as create_payment_consent
from tests.payments.kit import debtor_account
from tests.payments.kit import payer
from tests.payments.kit import payment_body
from tests.webhooks.kit import EventsCaller
from tests.webhooks.kit import run_worker
from tests.webhooks.kit import running_receiver
from tests.webhooks.kit import verify
from tests.webhooks.kit import webhook_jwks
from tests.webhooks.kit import worker
from tppkit import Tpp


def _deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery)))
        db.session.expunge_all()
        return rows


def _events(app: Flask) -> list[WebhookEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.seq)))
        db.session.expunge_all()
        return rows


def test_every_consent_and_payment_change_arrives_signed(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    caller: EventsCaller,
    clock: FrozenClock,
) -> None:
    svc = services_
    with running_receiver() as receiver:
        assert caller.subscribe(receiver.url).status_code == 201
        # Account access: authorised then revoked; another rejected; another expired.
        revoked = create_account_consent(app, svc, tpp.client_id)
        rejected = create_account_consent(app, svc, tpp.client_id)
        expiring = create_account_consent(app, svc, tpp.client_id)
        with app.app_context():
            consents = experience(app).consents
            consents.authorise(revoked, user_id=user, accounts=["a1"], request_id="t")
            consents.reject(rejected, user_id=user, request_id="t")
            consents.authorise(expiring, user_id=user, accounts=["a1"], request_id="t")
            svc.revocations.revoke_consent(revoked, actor="test", reason="withdrawn")
        clock.advance(timedelta(hours=2))
        with app.app_context():
            assert experience(app).consents.expire_due() == [expiring]
        # A payment: its consent authorised, then the payment made (RCVD -> ACSC).
        debtor_account(app, svc, user)
        payment_consent = create_payment_consent(cc_caller(client, svc, tpp))
        authorise(app, payment_consent, user)
        paying = payer(app, client, svc, tpp, user, payment_consent)
        made = paying.post(PAYMENTS, payment_body(payment_consent))
        assert made.status_code == 201, made.get_data(as_text=True)
        payment_id = made.get_json()["Data"]["DomesticPaymentId"]

        assert run_worker(app, svc) == 7
        jwks = webhook_jwks(client, svc)
        received = [
            verify(jwks, token, tpp.client_id, svc.settings.issuer) for token in receiver.tokens()
        ]

    assert all(item.content_type == "application/jwt" for item in receiver.received)
    # Signed by the webhook key ring, which the token JWKS (/jwks) does not publish.
    kids = {jwt.get_unverified_header(token)["kid"] for token in receiver.tokens()}
    assert kids == {f"webhook-key-{clock.now():%Y-%m}"}
    token_jwks = client.get("/jwks", base_url=svc.settings.issuer).get_json()
    token_kids = {key["kid"] for key in token_jwks["keys"]}
    assert not kids & token_kids
    assert {item.path for item in receiver.received} == {"/hooks/events"}
    seen = sorted((c["event_type"], c["data"]["consent_id"]) for c in received)
    assert seen == sorted(
        [
            ("consent.authorised", revoked),
            ("consent.authorised", expiring),
            ("consent.rejected", rejected),
            ("consent.revoked", revoked),
            ("consent.expired", expiring),
            ("consent.authorised", payment_consent),
            ("payment.status_changed", payment_consent),
        ]
    )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for claims in received:
        by_type.setdefault(claims["event_type"], []).append(claims)
    assert by_type["payment.status_changed"][0]["data"]["payment_id"] == payment_id
    assert by_type["payment.status_changed"][0]["data"]["status"] == "ACSC"
    assert {c["event_id"] for c in received} == {e.event_id for e in _events(app)}
    assert all(d.status == DELIVERED for d in _deliveries(app))


def _one_event(app: Flask, svc: Services, tpp: Tpp, user: str) -> str:
    """An authorised account consent: one ``consent.authorised`` event; its consent id."""
    consent_id = create_account_consent(app, svc, tpp.client_id)
    with app.app_context():
        experience(app).consents.authorise(
            consent_id, user_id=user, accounts=["a1"], request_id="t"
        )
    return consent_id


def deliveries_counted(outcome: str) -> float:
    """``authserver_webhook_deliveries_total`` for ``outcome`` in this process (OPS-5)."""
    found = REGISTRY.get_sample_value("authserver_webhook_deliveries_total", {"outcome": outcome})
    return found or 0.0


def test_a_receiver_answering_500_twice_gets_the_same_event_three_times(
    app: Flask, services_: Services, tpp: Tpp, user: str, caller: EventsCaller, clock: FrozenClock
) -> None:
    retries, delivered = deliveries_counted("retry"), deliveries_counted("delivered")
    with running_receiver(statuses=[500, 500]) as receiver:
        assert caller.subscribe(receiver.url, ["consent.authorised"]).status_code == 201
        _one_event(app, services_, tpp, user)
        assert run_worker(app, services_) == 1
        # Not due again before its backoff (base 2 s, no jitter: 1 s, then 2 s).
        assert run_worker(app, services_) == 0
        clock.advance(1)
        assert run_worker(app, services_) == 1
        clock.advance(1)
        assert run_worker(app, services_) == 0
        clock.advance(1)
        assert run_worker(app, services_) == 1
        tokens = receiver.tokens()

    assert len(tokens) == 3
    assert len(set(tokens)) == 1
    [delivery] = _deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DELIVERED, 3, None)
    assert deliveries_counted("retry") - retries == 2
    assert deliveries_counted("delivered") - delivered == 1


def test_dead_letter_after_the_last_attempt_then_redelivery(
    app: Flask, services_: Services, tpp: Tpp, user: str, caller: EventsCaller, clock: FrozenClock
) -> None:
    dead_letters = deliveries_counted("dead_letter")
    with running_receiver(statuses=[503, 503, 200]) as receiver:
        assert caller.subscribe(receiver.url, ["consent.authorised"]).status_code == 201
        _one_event(app, services_, tpp, user)
        with app.app_context():
            two_attempts = worker(services_, max_attempts=2)
            assert two_attempts.run_once() == 1
            clock.advance(60)
            assert two_attempts.run_once() == 1
            clock.advance(3600)
            assert two_attempts.run_once() == 0  # dead-lettered: never tried again
            [(dead, event)] = two_attempts.dead_letters()
            assert (dead.status, dead.attempts, dead.last_error) == (DEAD, 2, "HTTP 503")
            assert deliveries_counted("dead_letter") - dead_letters == 1
            assert two_attempts.redeliver(event.event_id) == 1
            assert two_attempts.run_once() == 1
            assert two_attempts.dead_letters() == []
            assert two_attempts.redeliver("no-such-event") == 0
        assert len(receiver.tokens()) == 3
    [delivery] = _deliveries(app)
    assert delivery.status == DELIVERED


def test_events_signed_before_a_rotation_verify_during_the_overlap(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    caller: EventsCaller,
    clock: FrozenClock,
) -> None:
    svc = services_
    with running_receiver() as receiver:
        assert caller.subscribe(receiver.url, ["consent.authorised"]).status_code == 201
        _one_event(app, svc, tpp, user)
        with app.app_context():
            [old] = svc.webhook_keys.published_keys()
            [fresh] = svc.webhook_keys.rotate()
        _one_event(app, svc, tpp, user)
        assert run_worker(app, svc) == 2
        old_token, new_token = receiver.tokens()

    # Delivered oldest event first (same due time: outbox order).
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert (old_kid, jwt.get_unverified_header(new_token)["kid"]) == (old.kid, fresh.kid)
    # Within the overlap (14 days) both keys are published and both events verify.
    clock.advance(timedelta(days=13))
    jwks = webhook_jwks(client, svc)
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, fresh.kid}
    for token in (old_token, new_token):
        assert verify(jwks, token, tpp.client_id, svc.settings.issuer)["event_type"]
    # After it, the retired key is gone.
    clock.advance(timedelta(days=2))
    assert {key["kid"] for key in webhook_jwks(client, svc)["keys"]} == {fresh.kid}


def test_a_claim_is_exclusive_until_its_lease_ends(
    app: Flask, services_: Services, tpp: Tpp, user: str, caller: EventsCaller, clock: FrozenClock
) -> None:
    """Two workers: the second finds nothing while the first holds the lease. The first's
    POST outlives its lease and the second retakes the delivery meanwhile: the event is
    sent twice (at least once) and the first's late outcome does not overwrite the row."""
    lease = services_.settings.webhooks.lease_seconds
    retaken: list[Claim] = []
    with running_receiver() as receiver:
        assert caller.subscribe(receiver.url, ["consent.authorised"]).status_code == 201
        _one_event(app, services_, tpp, user)
        with app.app_context():
            second = worker(services_)

            def slow_post(target: Target, body: bytes, headers: dict[str, str], t: float) -> int:
                status = post(target, body, headers, t)
                clock.advance(lease + 1)
                retaken.extend(second.claim())
                return status

            first = DeliveryWorker(
                services_.settings.webhooks,
                clock,
                guard_from_settings(services_.settings),
                WebhookSigner(services_.webhook_keys, services_.settings.issuer),
                poster=slow_post,
            )
            [held] = first.claim()
            assert second.claim() == []
            assert first.deliver(held)
            [row] = db.session.scalars(select(WebhookDelivery))
            assert (row.status, row.claim_token) == (PENDING, retaken[0].token)
            assert second.deliver(retaken[0])
        assert len(receiver.tokens()) == 2
    [delivery] = _deliveries(app)
    assert (delivery.status, delivery.attempts) == (DELIVERED, 1)
