"""``/metrics`` (issue 14 item 5, OPS-5): not public, and after a real flow it shows the
request, token, consent, revocation and backend-error counters.

The counters are process-wide (one registry per process, as in production), so each test
reads a sample before and after its flow and asserts on the difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from authserver.clock import FrozenClock
from authserver.context import Services
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.lifecycle import client_credentials_token
from tests.lifecycle import revoke
from tests.ob_consents import approved_tokens
from tests.ob_consents import as_param
from tests.ob_consents import create_consent
from tests.ob_consents import rar
from tests.ob_consents import seed_accounts
from tppkit import Tpp
from tppkit.registration import register_tpp

OPERATOR_TOKEN = "test-operator-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(make_settings: Any) -> Any:
    return make_settings(metrics={"token": OPERATOR_TOKEN})


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_is_404_when_no_operator_token_is_configured(
    make_settings: Any, clock: FrozenClock
) -> None:
    with app_with(make_settings(), clock) as app:
        response = app.test_client().get("/metrics")
        assert response.status_code == 404
        assert b"authserver_" not in response.get_data()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {OPERATOR_TOKEN}", f"Bearer {OPERATOR_TOKEN}x", "Bearer"],
)
def test_metrics_without_the_operator_token_is_401(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"authserver_" not in response.get_data()


def test_requests_are_counted_by_endpoint_and_status_with_latency(client: FlaskClient) -> None:
    before = scrape(client)
    assert client.get("/jwks").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    after = scrape(client)
    assert grew(before, after, "authserver_http_requests_total", endpoint="keys.jwks",
                method="GET", status="200") == 1  # fmt: skip
    # Unmatched paths share one label value: a caller cannot mint label values.
    assert grew(before, after, "authserver_http_requests_total", endpoint="unmatched",
                method="GET", status="404") == 1  # fmt: skip
    assert grew(before, after, "authserver_http_request_duration_seconds_count",
                endpoint="keys.jwks", method="GET", status="200") == 1  # fmt: skip
    assert not any("no-such-page" in str(key) for key in after)


def test_a_flow_shows_tokens_consent_transitions_and_revocations(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    accounts = seed_accounts(app, user)
    before = scrape(client)
    consent_id = create_consent(app, services_, tpp.client_id)
    body = approved_tokens(
        client, services_, tpp, accounts[0], authorization_details=as_param(rar(consent_id))
    )
    access = client_credentials_token(client, services_, tpp, "accounts:read")
    assert revoke(client, services_, tpp, access).status_code == 200
    after = scrape(client)

    assert body["access_token"]
    assert (
        grew(before, after, "authserver_tokens_issued_total", grant_type="client_credentials") == 1
    )
    assert (
        grew(before, after, "authserver_tokens_issued_total", grant_type="authorization_code") == 1
    )
    assert grew(before, after, "authserver_consent_transitions_total",
                kind="account_access", status="AUTH") == 1  # fmt: skip
    assert grew(before, after, "authserver_revocations_total", kind="jti") == 1
    assert grew(before, after, "authserver_http_requests_total", endpoint="tokens.token",
                method="POST", status="200") == 2  # fmt: skip


@pytest.fixture
def outage_app(make_settings: Any, clock: FrozenClock) -> Iterator[Flask]:
    settings = make_settings(
        redis_url=f"redis://127.0.0.1:{closed_port()}/0", metrics={"token": OPERATOR_TOKEN}
    )
    with app_with(settings, clock) as app:
        yield app


def test_an_unreachable_store_is_counted(outage_app: Flask) -> None:
    tpp = register_tpp(outage_app, "outage-tpp", redirect_uri="https://tpp.example.test/cb")
    client = outage_app.test_client()
    before = scrape(client)
    response = client.post("/token", data={"grant_type": "client_credentials", **tpp.auth_form()})
    assert_oauth_error(response, 503, "temporarily_unavailable")
    after = scrape(client)
    assert grew(before, after, "authserver_backend_errors_total", backend="store") >= 1
