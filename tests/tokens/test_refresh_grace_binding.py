"""F4 / TOK-4: the opt-in refresh grace window answers only the original requester.

With ``refresh_grace`` set, a retry of the just-rotated token gets the same new pair
only from the same client with the same sender constraint (DPoP key thumbprint) as
the request that rotated it. Without a proof, or with a proof by another key, the
retry is a replay by the wrong party: 400 ``invalid_grant`` and the family dies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.settings import Settings
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from tests.dpop.test_token_endpoint import code_form
from tests.dpop.test_token_endpoint import proof_for
from tests.dpop.test_token_endpoint import refresh_form
from tests.dpop.test_token_endpoint import token
from tests.helpers import assert_oauth_error
from tests.par import authorize
from tests.tokens.test_refresh_replay import access_token_revoked
from tests.tokens.test_refresh_replay import refresh_with_own_key
from tests.tokens.test_refresh_replay import rotate

GRACE = 60


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(oauth={"refresh_grace": GRACE})


def test_retry_with_the_same_key_within_the_window_gets_the_same_pair(
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    issued: dict[str, Any],
    clock: FrozenClock,
) -> None:
    second = rotate(client, services_, tpp, issued["refresh_token"])
    clock.advance(GRACE - 1)

    again = rotate(client, services_, tpp, issued["refresh_token"])

    assert (again["access_token"], again["refresh_token"]) == (
        second["access_token"],
        second["refresh_token"],
    )


@pytest.mark.parametrize("proof", ["none", "other-key"])
def test_retry_by_another_party_within_the_window_is_invalid_grant_and_revokes_the_family(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    issued: dict[str, Any],
    proof: str,
) -> None:
    second = rotate(client, services_, tpp, issued["refresh_token"])
    header = None if proof == "none" else proof_for(services_, generate_key("ES256"))

    retry = token(client, services_, tpp, refresh_form(issued["refresh_token"]), header)

    body = assert_oauth_error(retry, 400, "invalid_grant")
    assert "refresh_token" not in body
    newest = refresh_with_own_key(client, services_, tpp, second["refresh_token"])
    assert_oauth_error(newest, 400, "invalid_grant")
    assert access_token_revoked(app, client, services_, second["access_token"])


def test_retry_of_a_bearer_family_without_proof_within_the_window_gets_the_same_pair(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp)
    first = token(client, services_, tpp, code_form(tpp, flow), None).get_json()
    rotated = token(client, services_, tpp, refresh_form(first["refresh_token"]), None)
    assert rotated.status_code == 200, rotated.get_data(as_text=True)

    retry = token(client, services_, tpp, refresh_form(first["refresh_token"]), None)

    assert retry.status_code == 200, retry.get_data(as_text=True)
    assert retry.get_json()["refresh_token"] == rotated.get_json()["refresh_token"]


def test_retry_of_a_bearer_family_with_a_proof_within_the_window_is_invalid_grant(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    """A proof where the rotating request had none is another sender constraint."""
    flow = authorize(client, browser, services_, tpp)
    first = token(client, services_, tpp, code_form(tpp, flow), None).get_json()
    rotated = token(client, services_, tpp, refresh_form(first["refresh_token"]), None)
    assert rotated.status_code == 200, rotated.get_data(as_text=True)

    retry = token(
        client,
        services_,
        tpp,
        refresh_form(first["refresh_token"]),
        proof_for(services_, generate_key("ES256")),
    )

    assert_oauth_error(retry, 400, "invalid_grant")
