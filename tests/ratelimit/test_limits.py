"""Rate limits per client tier and per endpoint group (issue 14 item 4): the three headers,
429 with Retry-After and an OAuth or OB body, tiers, endpoint budgets, fail closed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.test import TestResponse

from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientRequest
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from tests.conftest import RATE_LIMITS
from tests.conftest import TEST_REDIS_URL
from tests.conftest import UNREACHED_LIMIT
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.lifecycle import client_credentials
from tests.lifecycle import client_credentials_token
from tests.openbanking import CONSENTS
from tests.openbanking import call
from tests.openbanking import consent_body
from tests.par import par
from tppkit import Tpp
from tppkit.registration import register_tpp


def limited_app(make_settings: Any, clock: FrozenClock, **budgets: str) -> Any:
    """An app whose budgets are unreachable except ``budgets``. Tests use hourly windows:
    a sliding window weighs the previous window by how much of it is left, so a test that
    crossed a minute boundary could see one request more than it spent."""
    values = dict.fromkeys(RATE_LIMITS, UNREACHED_LIMIT) | budgets
    return app_with(make_settings(ratelimit=values), clock)


@pytest.fixture
def starter_of_two(make_settings: Any, clock: FrozenClock) -> Iterator[Flask]:
    with limited_app(make_settings, clock, starter="2/hour", growth="4/hour") as app:
        yield app


def tpp_of(app: Flask, client_id: str = "tpp-one", tier: str = "starter") -> Tpp:
    return register_tpp(app, client_id, rate_limit_tier=tier)


def token_response(app: Flask, tpp: Tpp) -> TestResponse:
    return client_credentials(app.test_client(), services(app), tpp, "accounts:read")


def assert_headers(response: TestResponse, limit: int, remaining: int) -> None:
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    reset = int(response.headers["X-RateLimit-Reset"])
    assert time.time() - 1 <= reset <= time.time() + 3601


def test_a_limited_success_carries_the_three_headers(starter_of_two: Flask) -> None:
    tpp = tpp_of(starter_of_two)
    first = token_response(starter_of_two, tpp)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert_headers(first, 2, 1)
    assert "Retry-After" not in first.headers


def test_over_the_tier_budget_token_is_429_with_retry_after(starter_of_two: Flask) -> None:
    tpp = tpp_of(starter_of_two)
    labels = {"group": "token", "tier": "starter"}
    refusals = REGISTRY.get_sample_value("authserver_rate_limit_refusals_total", labels) or 0
    assert [token_response(starter_of_two, tpp).status_code for _ in range(2)] == [200, 200]
    refused = token_response(starter_of_two, tpp)
    counted = REGISTRY.get_sample_value("authserver_rate_limit_refusals_total", labels)
    assert counted == refusals + 1
    body = assert_oauth_error(refused, 429, "temporarily_unavailable")
    assert "retry" in body["error_description"].lower()
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert_headers(refused, 2, 0)


def test_a_growth_client_gets_more_than_a_starter_client(starter_of_two: Flask) -> None:
    starter = tpp_of(starter_of_two, "tpp-starter")
    growth = tpp_of(starter_of_two, "tpp-growth", tier="growth")
    assert [token_response(starter_of_two, starter).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    statuses = [token_response(starter_of_two, growth).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_budgets_are_per_client(starter_of_two: Flask) -> None:
    spender, other = tpp_of(starter_of_two, "tpp-spender"), tpp_of(starter_of_two, "tpp-other")
    for _ in range(3):
        token_response(starter_of_two, spender)
    assert token_response(starter_of_two, other).status_code == 200


def test_the_endpoint_budget_applies_while_the_tier_has_room(
    make_settings: Any, clock: FrozenClock
) -> None:
    with limited_app(make_settings, clock, starter="100/hour", token="2/hour") as app:
        tpp = tpp_of(app)
        assert [token_response(app, tpp).status_code for _ in range(3)] == [200, 200, 429]
        # The tier still has room: PAR is open, and its headers show the tier's budget.
        params, _ = tpp.authorization_params()
        pushed = par(app.test_client(), services(app), tpp, params)
        assert pushed.status_code == 201, pushed.get_data(as_text=True)
        assert_headers(pushed, 100, 96)


def test_over_the_par_budget_is_429_with_an_oauth_body(
    make_settings: Any, clock: FrozenClock
) -> None:
    with limited_app(make_settings, clock, par="1/hour") as app:
        tpp = tpp_of(app)
        client, svc = app.test_client(), services(app)
        first = par(client, svc, tpp, tpp.authorization_params()[0])
        assert first.status_code == 201
        refused = par(client, svc, tpp, tpp.authorization_params()[0])
        assert_oauth_error(refused, 429, "temporarily_unavailable")
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["Cache-Control"] == "no-store"


def test_an_unauthenticated_request_spends_no_budget(starter_of_two: Flask) -> None:
    tpp = tpp_of(starter_of_two)
    form = {"grant_type": "client_credentials", "client_id": tpp.client_id}
    for _ in range(3):
        refused = starter_of_two.test_client().post("/token", data=form)
        assert refused.status_code in (400, 401)
        assert "X-RateLimit-Limit" not in refused.headers
    assert token_response(starter_of_two, tpp).status_code == 200


def consent_post(client: FlaskClient, svc: Services, token: str) -> TestResponse:
    return call(client, svc, "POST", CONSENTS, token, json=consent_body())


def test_over_the_consents_budget_is_429_with_an_ob_body(
    make_settings: Any, clock: FrozenClock
) -> None:
    with limited_app(make_settings, clock, consents="1/hour") as app:
        tpp = tpp_of(app)
        client, svc = app.test_client(), services(app)
        token = client_credentials_token(client, svc, tpp, "accounts:read")
        first = consent_post(client, svc, token)
        assert first.status_code == 201, first.get_data(as_text=True)
        assert_headers(first, 1, 0)
        interaction = str(uuid.uuid4())
        refused = call(
            client, svc, "POST", CONSENTS, token, json=consent_body(),
            headers={"x-fapi-interaction-id": interaction},
        )  # fmt: skip
        assert refused.status_code == 429
        assert refused.get_json()["Errors"][0]["ErrorCode"] == "U042"
        assert refused.headers["x-fapi-interaction-id"] == interaction
        assert int(refused.headers["Retry-After"]) >= 1
        assert_headers(refused, 1, 0)


def test_accounts_endpoints_are_not_limited(make_settings: Any, clock: FrozenClock) -> None:
    with limited_app(make_settings, clock, starter="1/hour") as app:
        tpp = tpp_of(app)
        client, svc = app.test_client(), services(app)
        token = client_credentials_token(client, svc, tpp, "accounts:read")
        response = call(client, svc, "GET", "/open-banking/v4.0/aisp/accounts", token)
        assert "X-RateLimit-Limit" not in response.headers


def test_an_unreachable_rate_limit_store_fails_closed_with_503(
    make_settings: Any, clock: FrozenClock
) -> None:
    budgets = dict.fromkeys(RATE_LIMITS, UNREACHED_LIMIT)
    budgets["storage_url"] = f"redis://127.0.0.1:{closed_port()}/0"
    with app_with(make_settings(ratelimit=budgets), clock) as app:
        response = token_response(app, tpp_of(app))
        assert_oauth_error(response, 503, "temporarily_unavailable")


def test_an_unknown_tier_is_refused_at_registration(svc: Services) -> None:
    request = ClientRequest(
        client_name="x", redirect_uris=[], scopes=["accounts:read"],
        grant_types=["client_credentials"], jwks_uri="https://tpp.example.test/jwks",
        rate_limit_tier="platinum",
    )  # fmt: skip
    with pytest.raises(ClientRegistrationError, match="rate_limit_tier"):
        svc.clients.create(request, actor="test")


@pytest.mark.skipif(not TEST_REDIS_URL, reason="the scripts live in Redis")
def test_budgets_survive_redis_forgetting_its_scripts(starter_of_two: Flask) -> None:
    """After a Redis restart or SCRIPT FLUSH the scripts are loaded again, not a 503."""
    tpp = tpp_of(starter_of_two)
    assert token_response(starter_of_two, tpp).status_code == 200
    connection = redis.Redis.from_url(str(TEST_REDIS_URL))
    connection.script_flush()
    connection.close()
    again = token_response(starter_of_two, tpp)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert_headers(again, 2, 0)
