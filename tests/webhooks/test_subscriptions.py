"""``/webhooks/subscriptions`` and ``/webhooks/events``: a TPP manages only its own
subscriptions, bad input is a 400 (never a 500), and polling returns the signed events
in order from a cursor."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver.context import Services
from authserver.db import db
from authserver.events.models import CANCELLED
from authserver.events.models import WebhookDelivery
from authserver.experience import experience
from tests.ob_consents import create_consent
from tests.webhooks.kit import EventsCaller
from tests.webhooks.kit import events_caller
from tests.webhooks.kit import verify
from tests.webhooks.kit import webhook_jwks
from tppkit import Tpp

HOOK = "http://127.0.0.1:9/hook"  # never called in these tests


def test_create_list_delete(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, caller: EventsCaller
) -> None:
    created = caller.subscribe(HOOK, ["consent.revoked", "consent.revoked", "consent.expired"])
    assert created.status_code == 201
    body = created.get_json()
    assert body["event_types"] == ["consent.revoked", "consent.expired"]
    assert created.headers["Cache-Control"] == "no-store"
    listed = caller.call("GET", "/webhooks/subscriptions").get_json()["subscriptions"]
    assert [row["subscription_id"] for row in listed] == [body["subscription_id"]]

    other = events_caller(client, services_, make_tpp("tpp-two"))
    path = f"/webhooks/subscriptions/{body['subscription_id']}"
    assert other.call("GET", "/webhooks/subscriptions").get_json() == {"subscriptions": []}
    assert other.call("DELETE", path).status_code == 404
    assert caller.call("DELETE", path).status_code == 204
    assert caller.call("DELETE", path).status_code == 404
    assert caller.call("GET", "/webhooks/subscriptions").get_json() == {"subscriptions": []}


def test_deleting_a_subscription_cancels_its_pending_deliveries(
    app: Flask, services_: Services, tpp: Tpp, user: str, caller: EventsCaller
) -> None:
    subscription = caller.subscribe(HOOK, ["consent.authorised"]).get_json()["subscription_id"]
    consent_id = create_consent(app, services_, tpp.client_id)
    with app.app_context():
        experience(app).consents.authorise(consent_id, user_id=user, accounts=["a"], request_id="t")
    assert caller.call("DELETE", f"/webhooks/subscriptions/{subscription}").status_code == 204
    with app.app_context():
        [row] = db.session.scalars(select(WebhookDelivery))
        assert row.status == CANCELLED


@pytest.mark.parametrize(
    "body",
    [
        {"callback_url": HOOK, "event_types": ["consent.created"]},
        {"callback_url": HOOK, "event_types": []},
        {"callback_url": HOOK},
        {"callback_url": "not a url", "event_types": ["consent.expired"]},
        {"callback_url": "http://10.0.0.1/hook", "event_types": ["consent.expired"]},
        {"callback_url": HOOK, "event_types": ["consent.expired"], "extra": 1},
        {"callback_url": 7, "event_types": ["consent.expired"]},
        ["not", "an", "object"],
    ],
)
def test_bad_subscriptions_are_400(caller: EventsCaller, body: Any) -> None:
    response = caller.call("POST", "/webhooks/subscriptions", body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_not_json_is_415_and_no_token_is_401(client: FlaskClient, caller: EventsCaller) -> None:
    response = caller.client.post(
        "/webhooks/subscriptions",
        data="callback_url=x",
        content_type="application/x-www-form-urlencoded",
        headers=caller._headers("POST", "/webhooks/subscriptions"),
        base_url=caller.svc.settings.issuer,
    )
    assert response.status_code == 415
    anonymous = client.get("/webhooks/subscriptions", base_url=caller.svc.settings.issuer)
    assert anonymous.status_code == 401


def test_polling_returns_signed_events_after_a_cursor(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, caller: EventsCaller
) -> None:
    first = create_consent(app, services_, tpp.client_id)
    second = create_consent(app, services_, tpp.client_id)
    with app.app_context():
        consents = experience(app).consents
        consents.authorise(first, user_id=user, accounts=["a"], request_id="t")
        consents.reject(second, user_id=user, request_id="t")

    polled = caller.call("GET", "/webhooks/events?after=0").get_json()
    events = polled["events"]
    assert [e["event_type"] for e in events] == ["consent.authorised", "consent.rejected"]
    jwks = webhook_jwks(client, services_)
    for event in events:
        claims = verify(jwks, event["jws"], tpp.client_id, services_.settings.issuer)
        assert claims["event_id"] == event["event_id"]
    assert polled["after"] == events[-1]["seq"]
    again = caller.call("GET", f"/webhooks/events?after={polled['after']}").get_json()
    assert again == {"events": [], "after": polled["after"]}
    for bad in ("-1", "x", "1e3", "9" * 40):
        assert caller.call("GET", f"/webhooks/events?after={bad}").status_code == 400
