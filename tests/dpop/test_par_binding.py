"""Authorization-code binding to a DPoP key at PAR (RFC 9449 §10, §10.1).

Checklist E9; conformance modules #15 (dpop_jkt ≠ PAR proof key), #16 (PAR proof key ≠
token proof key), #17 (dpop_jkt ≠ token proof key), #18 (PAR proof, same key at the
token endpoint), #19 (matching dpop_jkt).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from tests.dpop.test_token_endpoint import SCOPES
from tests.dpop.test_token_endpoint import access_claims
from tests.dpop.test_token_endpoint import code_form
from tests.dpop.test_token_endpoint import post
from tests.dpop.test_token_endpoint import proof_for
from tests.dpop.test_token_endpoint import token
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.par import Authorized
from tests.par import Pushed
from tests.par import finish
from tests.par import frozen_auth
from tests.par import jar_times
from tests.par import register
from tppkit import Browser
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import generate_key


def push(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    *,
    proof: str | None = None,
    signed: bool = False,
    **overrides: str | None,
) -> tuple[TestResponse, dict[str, str], str]:
    """POST /par, plain or as a request object, with an optional DPoP header."""
    params, verifier = tpp.authorization_params(**overrides)
    if signed:
        form = {"client_id": tpp.client_id, "request": tpp.request_object(params, **jar_times(svc))}
    else:
        form = params
    response = post(client, svc, "/par", {**form, **frozen_auth(tpp, svc)}, proof)
    return response, params, verifier


def authorized(
    client: FlaskClient,
    browser: Browser,
    svc: Services,
    tpp: Tpp,
    *,
    proof: str | None = None,
    signed: bool = False,
    **overrides: str | None,
) -> Authorized:
    """A successful PAR (maybe carrying a proof), then login and consent: a fresh code."""
    response, params, verifier = push(client, svc, tpp, proof=proof, signed=signed, **overrides)
    assert response.status_code == 201, response.get_data(as_text=True)
    return finish(browser, tpp, Pushed(params, verifier, response.get_json()["request_uri"]))


def redeem(
    client: FlaskClient, svc: Services, tpp: Tpp, flow: Authorized, key: PrivateKey | None
) -> TestResponse:
    proof = proof_for(svc, key) if key is not None else None
    return token(client, svc, tpp, code_form(tpp, flow), proof)


@pytest.fixture
def key() -> PrivateKey:
    return generate_key("ES256")


@pytest.fixture
def other_key() -> PrivateKey:
    return generate_key("ES256")


# -- dpop_jkt (#17, #19) -----------------------------------------------------------------


def test_dpop_jkt_and_a_proof_by_that_key_redeems_the_code(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, dpop_jkt=key.thumbprint())

    response = redeem(client, services_, tpp, flow, key)

    assert access_claims(client, services_, response)["cnf"] == {"jkt": key.thumbprint()}


def test_dpop_jkt_and_a_proof_by_another_key_is_invalid_grant(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
    other_key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, dpop_jkt=key.thumbprint())

    response = redeem(client, services_, tpp, flow, other_key)

    assert_oauth_error(response, 400, "invalid_grant")


def test_dpop_jkt_and_no_proof_is_invalid_dpop_proof(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, dpop_jkt=key.thumbprint())

    response = redeem(client, services_, tpp, flow, None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


@pytest.mark.parametrize(
    "dpop_jkt",
    [
        "",
        "a" * 42,
        "a" * 44,
        "a" * 42 + "=",
        "a" * 41 + "+/",
        "a" * 42 + "\u00e9",
    ],
    ids=["empty", "42-chars", "44-chars", "padding", "base64-not-url", "non-ascii"],
)
def test_malformed_dpop_jkt_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, dpop_jkt: str
) -> None:
    response, _params, _verifier = push(client, services_, tpp, dpop_jkt=dpop_jkt)

    assert_oauth_error(response, 400, "invalid_request")


# -- dpop_jkt inside a request object ----------------------------------------------------


def test_dpop_jkt_in_a_request_object_and_a_proof_by_that_key_redeems_the_code(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, signed=True, dpop_jkt=key.thumbprint())

    response = redeem(client, services_, tpp, flow, key)

    assert access_claims(client, services_, response)["cnf"] == {"jkt": key.thumbprint()}


def test_dpop_jkt_in_a_request_object_and_a_proof_by_another_key_is_invalid_grant(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
    other_key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, signed=True, dpop_jkt=key.thumbprint())

    response = redeem(client, services_, tpp, flow, other_key)

    assert_oauth_error(response, 400, "invalid_grant")


def test_malformed_dpop_jkt_in_a_request_object_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response, _params, _verifier = push(client, services_, tpp, signed=True, dpop_jkt="x")

    assert_oauth_error(response, 400, "invalid_request")


def test_non_string_dpop_jkt_in_a_request_object_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, key: PrivateKey
) -> None:
    """Non-string parameters of a request object are dropped; dropping this one would
    silently issue an unbound code."""
    params, _verifier = tpp.authorization_params()
    request_object = tpp.request_object(params, dpop_jkt=[key.thumbprint()], **jar_times(services_))
    form = {"client_id": tpp.client_id, "request": request_object, **frozen_auth(tpp, services_)}

    response = post(client, services_, "/par", form, None)

    assert_oauth_error(response, 400, "invalid_request")


# -- a DPoP header at PAR (#15, #16, #18) ------------------------------------------------


def test_proof_at_par_and_the_same_key_at_the_token_endpoint_redeems_the_code(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, proof=proof_for(services_, key, "/par"))

    response = redeem(client, services_, tpp, flow, key)

    assert access_claims(client, services_, response)["cnf"] == {"jkt": key.thumbprint()}


def test_proof_at_par_and_another_key_at_the_token_endpoint_is_invalid_grant(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
    other_key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, proof=proof_for(services_, key, "/par"))

    response = redeem(client, services_, tpp, flow, other_key)

    assert_oauth_error(response, 400, "invalid_grant")


def test_proof_at_par_and_no_proof_at_the_token_endpoint_is_invalid_dpop_proof(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    key: PrivateKey,
) -> None:
    flow = authorized(client, browser, services_, tpp, proof=proof_for(services_, key, "/par"))

    response = redeem(client, services_, tpp, flow, None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_dpop_jkt_differing_from_the_par_proof_key_is_invalid_dpop_proof(
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    key: PrivateKey,
    other_key: PrivateKey,
) -> None:
    proof = proof_for(services_, key, "/par")

    response, _params, _verifier = push(
        client, services_, tpp, proof=proof, dpop_jkt=other_key.thumbprint()
    )

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_dpop_jkt_equal_to_the_par_proof_key_is_accepted(
    client: FlaskClient, services_: Services, tpp: Tpp, key: PrivateKey
) -> None:
    proof = proof_for(services_, key, "/par")

    response, _params, _verifier = push(
        client, services_, tpp, proof=proof, dpop_jkt=key.thumbprint()
    )

    assert response.status_code == 201, response.get_data(as_text=True)


def test_proof_at_par_made_for_another_url_is_invalid_dpop_proof(
    client: FlaskClient, services_: Services, tpp: Tpp, key: PrivateKey
) -> None:
    response, _params, _verifier = push(client, services_, tpp, proof=proof_for(services_, key))

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_answer_to_a_par_with_a_proof_carries_a_dpop_nonce(
    client: FlaskClient, services_: Services, tpp: Tpp, key: PrivateKey
) -> None:
    proof = proof_for(services_, key, "/par")

    response, _params, _verifier = push(client, services_, tpp, proof=proof)

    assert response.status_code == 201
    assert len(response.headers.getlist("DPoP-Nonce")) == 1


def test_required_nonce_missing_at_par_is_use_dpop_nonce_then_the_retry_succeeds(
    make_settings: Any, clock: FrozenClock, key: PrivateKey
) -> None:
    with app_with(make_settings(oauth={"dpop_nonce_required": True}), clock) as application:
        svc = services(application)
        nonce_tpp = register(application, svc, "tpp-nonce", scopes=SCOPES)
        client = application.test_client()

        refused, _params, _verifier = push(
            client, svc, nonce_tpp, proof=proof_for(svc, key, "/par")
        )
        assert_oauth_error(refused, 400, "use_dpop_nonce")
        nonce = refused.headers["DPoP-Nonce"]
        retried, _params, _verifier = push(
            client, svc, nonce_tpp, proof=proof_for(svc, key, "/par", nonce=nonce)
        )

    assert retried.status_code == 201, retried.get_data(as_text=True)
