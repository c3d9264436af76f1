"""The SSRF guard on callbacks: in production a callback at the metadata address, at a
private address, or at a name that resolves to loopback is refused when it is registered
and again when an event is delivered (on the address resolved then)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from authserver import create_app
from authserver.clock import FrozenClock
from authserver.context import services
from authserver.db import db
from authserver.events.models import PENDING
from authserver.events.models import WebhookDelivery
from authserver.events.models import WebhookSubscription
from authserver.events.ssrf import CallbackGuard
from authserver.events.ssrf import CallbackRefusedError
from authserver.experience import experience
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.ob_consents import create_consent
from tests.webhooks.kit import ALL_TYPES
from tests.webhooks.kit import events_caller
from tests.webhooks.kit import running_receiver
from tests.webhooks.kit import worker
from tppkit import Tpp
from tppkit.keys import shared_tpp_key
from tppkit.registration import REDIRECT_URI
from tppkit.registration import register_tpp

PUBLIC = "93.184.215.14"


def _resolver(answers: dict[str, list[str]]) -> Any:
    """getaddrinfo's shape for a fixed table (no DNS in tests)."""

    def resolve(host: str, port: int, **_: Any) -> Sequence[tuple[Any, ...]]:
        if host not in answers:
            raise socket.gaierror("unknown host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "https://10.0.0.1/hook",  # private
        "https://rebind-me.example/hook",  # a name resolving to 127.0.0.1
        "https://mixed.example/hook",  # one public and one private answer
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
        "https://[::1]/hook",  # loopback
        "https://100.64.0.1/hook",  # shared address space
        "http://bank-tpp.example/hook",  # not https in production
        "https://user:pw@bank-tpp.example/hook",  # credentials in the URL
        "https://unknown.example/hook",  # does not resolve
        "https://bank-tpp.example/hook#frag",
        "https://bank-tpp.example/ho\nok",
    ],
)
def test_production_guard_refuses(url: str) -> None:
    guard = CallbackGuard(
        https_only=True,
        allow_loopback=False,
        resolver=_resolver(
            {
                "bank-tpp.example": [PUBLIC],
                "rebind-me.example": ["127.0.0.1"],
                "mixed.example": [PUBLIC, "10.0.0.1"],
                "169.254.169.254": ["169.254.169.254"],
                "10.0.0.1": ["10.0.0.1"],
                "::ffff:10.0.0.1": ["::ffff:10.0.0.1"],
                "::1": ["::1"],
                "100.64.0.1": ["100.64.0.1"],
            }
        ),
    )
    with pytest.raises(CallbackRefusedError):
        guard.resolve(url)


def test_production_guard_connects_to_the_address_it_checked() -> None:
    guard = CallbackGuard(
        https_only=True,
        allow_loopback=False,
        allowed_networks=["10.1.2.0/24"],
        resolver=_resolver({"bank-tpp.example": [PUBLIC], "internal.example": ["10.1.2.3"]}),
    )
    target = guard.resolve("https://bank-tpp.example:8443/hooks?x=1")
    assert (target.host, target.ip, target.port, target.path) == (
        "bank-tpp.example",
        PUBLIC,
        8443,
        "/hooks?x=1",
    )
    # Explicitly allowed networks pass although private.
    assert guard.resolve("https://internal.example/hook").ip == "10.1.2.3"


def test_development_guard_allows_loopback_over_http() -> None:
    guard = CallbackGuard(https_only=False, allow_loopback=True)
    assert guard.resolve("http://127.0.0.1:8080/hook").ip == "127.0.0.1"
    with pytest.raises(CallbackRefusedError):
        guard.resolve("http://10.0.0.1/hook")
    with pytest.raises(CallbackRefusedError):
        guard.resolve("ftp://127.0.0.1/hook")


@pytest.fixture
def production_app(make_settings: Any, clock: FrozenClock) -> Any:
    application = create_app(make_settings(env="production"), clock=clock)
    yield application
    services(application).revocation_view.close()
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _tpp(app: Flask) -> Tpp:
    return register_tpp(
        app, "tpp-one", "ES256", key=shared_tpp_key("ES256", "tpp-one"), redirect_uri=REDIRECT_URI
    )


def test_production_refuses_internal_callbacks_at_registration(production_app: Flask) -> None:
    svc = services(production_app)
    client = production_app.test_client()
    caller = events_caller(client, svc, _tpp(production_app))
    with running_receiver() as receiver:
        for url in (
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook",
            f"https://localhost:{receiver.port}/hook",
            receiver.url,  # http, and loopback
        ):
            response = caller.subscribe(url)
            assert response.status_code == 400, url
            assert response.get_json()["error"] == "invalid_request"
    assert caller.call("GET", "/webhooks/subscriptions").get_json() == {"subscriptions": []}


def test_production_refuses_internal_callbacks_at_delivery(production_app: Flask) -> None:
    """Subscriptions that got in (registered before the name pointed inside, say) are
    checked again on the address resolved at delivery, and nothing is sent."""
    svc = services(production_app)
    tpp = _tpp(production_app)
    with running_receiver() as receiver:
        urls = [
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook",
            f"https://localhost:{receiver.port}/hook",
        ]
        with production_app.app_context():
            for url in urls:
                db.session.add(
                    WebhookSubscription(
                        client_id=tpp.client_id,
                        callback_url=url,
                        event_types=ALL_TYPES,
                        created_at=svc.clock.now(),
                    )
                )
            db.session.commit()
        consent_id = create_consent(production_app, svc, tpp.client_id)
        with production_app.app_context():
            people = experience(production_app)
            user_id = people.users.create(USERNAME, PASSWORD, actor="test").user.id
            people.consents.reject(consent_id, user_id=user_id, request_id="t")
            assert worker(svc).run_once() == 3
            rows = list(db.session.scalars(select(WebhookDelivery)))
        assert receiver.received == []
    assert sorted(row.callback_url for row in rows) == sorted(urls)
    for row in rows:
        assert row.status == PENDING
        assert row.attempts == 1
        assert row.last_error is not None
        assert row.last_error.startswith("refused:")


def test_production_settings_refuse_loopback_by_default(make_settings: Any) -> None:
    assert make_settings(env="production").webhook_loopback_allowed is False
    assert make_settings().webhook_loopback_allowed is True  # env=test
