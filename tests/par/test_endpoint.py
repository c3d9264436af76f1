"""POST /par with plain parameters: one test per rule, exact status and error code.

Checklist A14, A17-A19, A24, A26 (+ note 4), C1-C6, D2, D3; conformance modules
#21-23, #39, #42, #43, #45, #68-70, #73.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.datastructures import MultiDict

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.par.store import URN_PREFIX
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.par import SERVER_ALGS
from tests.par import authorize
from tests.par import authorize_path
from tests.par import frozen_auth
from tests.par import par
from tests.par import post_form
from tests.par import redeem
from tests.par import register
from tests.par import server_keys
from tppkit import Browser
from tppkit import Tpp

# The end-to-end fixtures of tests/flows (one definition, shared).


def params_for(tpp: Tpp, **overrides: str | None) -> dict[str, str]:
    params, _verifier = tpp.authorization_params(**overrides)
    return params


# -- transport: method, media type, parameters, client authentication ------------------


def test_get_is_method_not_allowed(client: FlaskClient, services_: Services) -> None:
    response = client.get("/par", base_url=services_.settings.issuer)

    assert_oauth_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_json_body_is_invalid_request(client: FlaskClient, services_: Services, tpp: Tpp) -> None:
    body = {**params_for(tpp), **frozen_auth(tpp, services_)}

    response = client.post("/par", json=body, base_url=services_.settings.issuer)

    assert_oauth_error(response, 400, "invalid_request")


def test_repeated_parameter_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    form = MultiDict({**params_for(tpp), **frozen_auth(tpp, services_)})
    form.add("scope", "payments:write")

    response = post_form(client, services_, "/par", form)

    assert_oauth_error(response, 400, "invalid_request")


def test_missing_client_authentication_is_401_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = post_form(client, services_, "/par", params_for(tpp))

    assert_oauth_error(response, 401, "invalid_client")


def test_request_uri_in_the_body_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params = params_for(tpp, request_uri=URN_PREFIX + "smuggled")

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


def test_client_id_parameter_of_another_client_is_refused_as_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any
) -> None:
    """The body's client_id is also a client-authentication parameter (RFC 7521 §4.2):
    naming another client than the assertion's fails authentication before validation."""
    make_tpp("tpp-two")

    response = par(client, services_, tpp, params_for(tpp, client_id="tpp-two"))

    assert_oauth_error(response, 401, "invalid_client")


# -- the pushed request is validated like an authorization request (C4) -----------------


def test_missing_response_type_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params = params_for(tpp, response_type=None)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


@pytest.mark.parametrize("response_type", ["code id_token", "token"])
def test_response_type_other_than_code_is_unsupported_response_type(
    client: FlaskClient, services_: Services, tpp: Tpp, response_type: str
) -> None:
    params = params_for(tpp, response_type=response_type)

    assert_oauth_error(par(client, services_, tpp, params), 400, "unsupported_response_type")


def test_missing_redirect_uri_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params = params_for(tpp, redirect_uri=None)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example.test/cb",
        "https://tpp.example.test/cb/",
        "https://tpp.example.test/cb?x=1",
        "http://tpp.example.test/cb",
    ],
)
def test_unregistered_redirect_uri_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, redirect_uri: str
) -> None:
    params = params_for(tpp, redirect_uri=redirect_uri)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


@pytest.mark.parametrize("scope", ["openid payments:write", "openid no-such:scope"])
def test_scope_outside_the_clients_is_invalid_scope(
    app: Flask, client: FlaskClient, services_: Services, scope: str
) -> None:
    narrow = register(app, services_, "tpp-narrow", scopes=["openid", "accounts:read"])
    params = params_for(narrow, scope=scope)

    assert_oauth_error(par(client, services_, narrow, params), 400, "invalid_scope")


def test_missing_code_challenge_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params = params_for(tpp, code_challenge=None)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


@pytest.mark.parametrize("method", ["plain", None, "S512", "s256"])
def test_code_challenge_method_other_than_s256_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, method: str | None
) -> None:
    params = params_for(tpp, code_challenge_method=method)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


@pytest.mark.parametrize("mode", ["fragment", "form_post", "jwt.query", "", "query.JWT"])
def test_unsupported_response_mode_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, mode: str
) -> None:
    params = params_for(tpp, response_mode=mode)

    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")


# -- success -----------------------------------------------------------------------------


def test_success_is_201_no_store_with_an_entropic_request_uri_for_60_seconds(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = par(client, services_, tpp, params_for(tpp))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"request_uri", "expires_in"}
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith(URN_PREFIX)
    reference = body["request_uri"].removeprefix(URN_PREFIX)
    # RFC 9126 §2.2 / FAPI: at least 128 bits from the CSPRNG (base64url, unpadded).
    assert len(base64.urlsafe_b64decode(reference + "=" * (-len(reference) % 4))) >= 16
    again = par(client, services_, tpp, params_for(tpp)).get_json()["request_uri"]
    assert again != body["request_uri"]


def test_expires_in_follows_the_par_ttl_setting(make_settings: Any, clock: FrozenClock) -> None:
    with app_with(make_settings(oauth={"par_ttl": 30}), clock) as application:
        svc = services(application)
        short = register(application, svc, "tpp-short", scopes=["openid", "accounts:read"])
        client = application.test_client()

        body = par(client, svc, short, params_for(short)).get_json()
        assert body["expires_in"] == 30
        clock.advance(30)
        page = client.get(
            authorize_path(short.client_id, body["request_uri"]), base_url=svc.settings.issuer
        )

    assert page.status_code == 400
    assert "invalid_request_uri" in page.get_data(as_text=True)


@pytest.mark.parametrize("nonce_length", [64, 384])
def test_long_nonce_and_2000_character_state_arrive_intact(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    nonce_length: int,
) -> None:
    """A26: a 64-character nonce must round-trip; a 384-character one may be refused but
    is never truncated (this server accepts it). Note 4: state beyond 1,000 characters."""
    nonce = ("n0-_" * 100)[:nonce_length]
    state = ("s1.~" * 500)[:2000]

    flow = authorize(client, browser, services_, tpp, nonce=nonce, state=state)

    assert flow.params["state"] == state
    tokens = redeem(client, services_, tpp, flow)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    id_token = jwt.decode(
        tokens.get_json()["id_token"], server_keys(client, services_), algorithms=SERVER_ALGS
    )
    assert id_token.claims["nonce"] == nonce
