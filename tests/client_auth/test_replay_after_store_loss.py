"""F5: a client assertion's single use survives the loss of the store's data.

Used ``jti``s live in the store; after it is flushed or restarted, an assertion whose
``iat`` lies before the replay state restarted (plus the allowed clock skew) is
refused, as the jti cache can no longer tell whether it was used.
"""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient
from joserfc.jwk import Key

from authserver.clock import FrozenClock
from authserver.context import Services
from conformance.tpp import Tpp
from tests.client_auth import assertion
from tests.client_auth import form
from tests.client_auth import register
from tests.client_auth import shared_key
from tests.client_auth.test_private_key_jwt import refused
from tests.helpers import assert_oauth_error
from tests.store.loss import lose_store_data

CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "accounts:read"}


@pytest.fixture
def acme_key() -> Key:
    return shared_key("ES256", "acme-es256")


@pytest.fixture
def acme(svc: Services, acme_key: Key) -> str:
    register(svc, "acme", acme_key)
    return "acme"


def used_then_lost(svc: Services, clock: FrozenClock, token: str) -> None:
    """Use ``token`` once, let a second pass, then lose the store's data."""
    assert svc.client_auth.authenticate(form(token)).client_id == "acme"
    clock.advance(1)
    lose_store_data(svc.store)


def test_assertion_used_before_the_store_lost_its_data_is_refused(
    svc: Services, acme: str, acme_key: Key, clock: FrozenClock
) -> None:
    token = assertion(svc, acme, acme_key)
    used_then_lost(svc, clock, token)

    refused(svc, form(token))


def test_assertion_dated_ahead_by_the_skew_and_used_before_the_loss_is_refused(
    svc: Services, acme: str, acme_key: Key, clock: FrozenClock
) -> None:
    """A client clock running ahead (iat up to the skew in the future) gains nothing."""
    now = int(svc.clock.time())
    skew = svc.policy.clock_skew
    token = assertion(svc, acme, acme_key, iat=now + skew, exp=now + skew + 60)
    used_then_lost(svc, clock, token)

    refused(svc, form(token))


def test_assertion_without_iat_used_before_the_loss_is_refused(
    svc: Services, acme: str, acme_key: Key, clock: FrozenClock
) -> None:
    """Without iat, the earliest issue time is exp minus the longest accepted lifetime."""
    svc.client_auth.authenticate(form(assertion(svc, acme, acme_key)))  # the epoch begins
    clock.advance(svc.policy.assertion_max_lifetime)
    token = assertion(svc, acme, acme_key, drop=("iat",))
    used_then_lost(svc, clock, token)

    refused(svc, form(token))


def test_fresh_assertion_after_the_loss_is_accepted_once_past_the_skew(
    svc: Services, acme: str, acme_key: Key, clock: FrozenClock
) -> None:
    used_then_lost(svc, clock, assertion(svc, acme, acme_key))
    refused(svc, form(assertion(svc, acme, acme_key)))  # within the skew: may be an old one
    clock.advance(svc.policy.clock_skew)

    fresh = assertion(svc, acme, acme_key)

    assert svc.client_auth.authenticate(form(fresh)).client_id == acme


def test_store_loss_is_logged_as_a_warning_without_secrets(
    svc: Services, acme: str, acme_key: Key, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    token = assertion(svc, acme, acme_key)
    used_then_lost(svc, clock, token)

    refused(svc, form(token))

    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.startswith("authserver")]
    [entry] = [line for line in lines if line["event"] == "replay_state_reset"]
    assert entry["level"] == "warning"
    assert entry["reason"] == "store_lost_data"
    assert entry["refuse_issued_before"] == svc.clock.time() + svc.policy.clock_skew
    assert token.split(".")[2] not in caplog.text


def test_token_endpoint_refuses_a_replayed_assertion_after_a_store_loss(
    client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock
) -> None:
    issuer = services_.settings.issuer
    now = int(services_.clock.time())
    data = {**CLIENT_CREDENTIALS, **tpp.auth_form(iat=now, exp=now + 60)}
    assert client.post("/token", data=data, base_url=issuer).status_code == 200
    clock.advance(1)
    lose_store_data(services_.store)

    replay = client.post("/token", data=data, base_url=issuer)

    body = assert_oauth_error(replay, 401, "invalid_client")
    assert body["error_description"] == "Client authentication failed."
    clock.advance(services_.policy.clock_skew)
    now = int(services_.clock.time())
    fresh = {**CLIENT_CREDENTIALS, **tpp.auth_form(iat=now, exp=now + 60)}
    assert client.post("/token", data=fresh, base_url=issuer).status_code == 200
