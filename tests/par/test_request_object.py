"""Signed request objects (JAR) at PAR under FAPI 2.0 Message Signing: one test per rule.

Checklist B1-B7; conformance modules #24-26, #28-30, #32, #34-38, #74.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from authserver.context import Services
from tests.helpers import assert_oauth_error
from tests.par import SERVER_ALGS
from tests.par import Pushed
from tests.par import finish
from tests.par import jar_times
from tests.par import par
from tests.par import par_signed
from tests.par import redeem
from tests.par import register
from tests.par import server_keys
from tppkit import Browser
from tppkit import Tpp
from tppkit import b64url
from tppkit import b64url_decode
from tppkit import b64url_json

MINUTE = 60


def request_object(tpp: Tpp, svc: Services, **claims: Any) -> tuple[str, str]:
    """A request object valid at the server's clock (``claims`` override) and its verifier."""
    params, verifier = tpp.authorization_params()
    return tpp.request_object(params, **{**jar_times(svc), **claims}), verifier


def assert_refused(response: Any) -> None:
    assert_oauth_error(response, 400, "invalid_request_object")


# -- accepted --------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_signed_request_object_is_accepted(
    client: FlaskClient, services_: Services, make_tpp: Any, alg: str
) -> None:
    signer = make_tpp(f"tpp-{alg.lower()}", alg=alg)
    token, _verifier = request_object(signer, services_)

    response = par_signed(client, services_, signer, token)

    assert response.status_code == 201, response.get_data(as_text=True)


def test_aud_array_containing_the_issuer_is_accepted(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    aud = [services_.settings.issuer, "https://other1.example.test", "invalid"]
    token, _verifier = request_object(tpp, services_, aud=aud)

    assert par_signed(client, services_, tpp, token).status_code == 201


def test_nbf_8_seconds_in_the_future_is_accepted(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    now = int(services_.clock.time())
    token, _verifier = request_object(tpp, services_, nbf=now + 8, exp=now + 300)

    assert par_signed(client, services_, tpp, token).status_code == 201


def test_request_object_without_typ_is_accepted(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params, _verifier = tpp.authorization_params()
    claims = {**params, "iss": tpp.client_id, "aud": tpp.issuer, **jar_times(services_)}
    header = {"alg": tpp.alg, "kid": str(tpp.key.kid)}
    token = jwt.encode(header, claims, tpp.key, algorithms=[tpp.alg])

    assert par_signed(client, services_, tpp, token).status_code == 201


@pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", "oauth-authz-req+jwt+x"])
def test_request_object_with_another_explicit_typ_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, typ: str
) -> None:
    params, _verifier = tpp.authorization_params()
    claims = {**params, "iss": tpp.client_id, "aud": tpp.issuer, **jar_times(services_)}
    header = {"alg": tpp.alg, "kid": str(tpp.key.kid), "typ": typ}
    token = jwt.encode(header, claims, tpp.key, algorithms=[tpp.alg])

    assert_refused(par_signed(client, services_, tpp, token))


# -- time rules (B3, B4) ---------------------------------------------------------------


def test_request_object_without_exp_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token, _verifier = request_object(tpp, services_, exp=None)

    assert_refused(par_signed(client, services_, tpp, token))


def test_request_object_without_nbf_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token, _verifier = request_object(tpp, services_, nbf=None)

    assert_refused(par_signed(client, services_, tpp, token))


def test_expired_request_object_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    now = int(services_.clock.time())
    token, _verifier = request_object(tpp, services_, nbf=now - 5 * MINUTE, exp=now - 1)

    assert_refused(par_signed(client, services_, tpp, token))


def test_exp_more_than_60_minutes_after_nbf_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    now = int(services_.clock.time())
    token, _verifier = request_object(tpp, services_, nbf=now, exp=now + 70 * MINUTE)

    assert_refused(par_signed(client, services_, tpp, token))


def test_nbf_more_than_60_minutes_in_the_past_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    now = int(services_.clock.time())
    token, _verifier = request_object(tpp, services_, nbf=now - 70 * MINUTE, exp=now + 5 * MINUTE)

    assert_refused(par_signed(client, services_, tpp, token))


@pytest.mark.parametrize("claim", ["exp", "nbf"])
@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 10**400, "soon", True],
    ids=["nan", "infinity", "huge-int", "string", "bool"],
)
def test_time_claim_that_is_no_finite_number_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, claim: str, value: Any
) -> None:
    """NaN compares false with everything (it would pass every window check) and an
    integer beyond float range used to crash the check: neither is a NumericDate."""
    token, _verifier = request_object(tpp, services_, **{claim: value})

    assert_refused(par_signed(client, services_, tpp, token))


# -- audience, algorithm, signature, key (B2, B6, B7) -----------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        "https://other.example.test",
        ["https://other.example.test"],
        "https://as.example.test/par",
        "https://as.example.test/",
    ],
)
def test_wrong_aud_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, aud: str | list[str]
) -> None:
    token, _verifier = request_object(tpp, services_, aud=aud)

    assert_refused(par_signed(client, services_, tpp, token))


def test_rs256_request_object_is_refused(
    client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    signer = make_tpp("tpp-rsa", alg="PS256")
    # The same registered RSA key, used with RS256 (which FAPI forbids).
    rsa = RSAKey.import_key(signer.key.as_dict(private=True) | {"alg": "RS256"})
    token, _verifier = request_object(signer, services_, alg="RS256", key=rsa)

    assert_refused(par_signed(client, services_, signer, token))


def test_alg_none_request_object_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params, _verifier = tpp.authorization_params()
    claims = {**params, "iss": tpp.client_id, "aud": tpp.issuer, **jar_times(services_)}
    unsigned = (
        f"{b64url_json({'alg': 'none', 'typ': 'oauth-authz-req+jwt'})}.{b64url_json(claims)}."
    )

    assert_refused(par_signed(client, services_, tpp, unsigned))


def test_request_object_with_a_bad_signature_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token, _verifier = request_object(tpp, services_)
    head, body, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    forged = f"{head}.{body}.{b64url(bytes(raw))}"

    assert_refused(par_signed(client, services_, tpp, forged))


def test_request_object_signed_with_another_clients_key_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any
) -> None:
    other = make_tpp("tpp-two")
    token, _verifier = request_object(tpp, services_, key=other.key)

    assert_refused(par_signed(client, services_, tpp, token))


def test_request_object_signed_with_another_clients_key_under_our_kid_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any
) -> None:
    other = make_tpp("tpp-two")
    params, _verifier = tpp.authorization_params()
    claims = {**params, "iss": tpp.client_id, "aud": tpp.issuer, **jar_times(services_)}
    header = {"alg": "ES256", "kid": str(tpp.key.kid), "typ": "oauth-authz-req+jwt"}
    token = jwt.encode(header, claims, other.key, algorithms=["ES256"])

    assert_refused(par_signed(client, services_, tpp, token))


@pytest.mark.parametrize("claim", ["client_id", "iss"])
def test_client_id_or_iss_naming_another_client_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any, claim: str
) -> None:
    make_tpp("tpp-two")
    token, _verifier = request_object(tpp, services_, **{claim: "tpp-two"})

    assert_refused(par_signed(client, services_, tpp, token))


def test_request_object_without_client_id_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token, _verifier = request_object(tpp, services_, client_id=None)

    assert_refused(par_signed(client, services_, tpp, token))


@pytest.mark.parametrize("nested", ["request_uri", "request"])
def test_request_or_request_uri_inside_the_request_object_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, nested: str
) -> None:
    value = "urn:ietf:params:oauth:request_uri:abc" if nested == "request_uri" else "e30.e30."
    token, _verifier = request_object(tpp, services_, **{nested: value})

    assert_refused(par_signed(client, services_, tpp, token))


# -- signing required (B1) and parameters outside the request object (B6) -----------------


def test_client_requiring_signed_requests_sending_plain_parameters_is_invalid_request(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    signer = register(
        app,
        services_,
        "tpp-signed",
        scopes=["openid", "accounts:read"],
        require_signed_request_object=True,
    )
    params, _verifier = signer.authorization_params()

    assert_oauth_error(par(client, services_, signer, params), 400, "invalid_request")
    token, _verifier = request_object(signer, services_)
    assert par_signed(client, services_, signer, token).status_code == 201


def test_state_and_nonce_only_outside_the_request_object_are_ignored(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    params, verifier = tpp.authorization_params(state=None, nonce=None)
    token = tpp.request_object(params, **jar_times(services_))
    pushed = par_signed(client, services_, tpp, token, state="outside-state", nonce="outside")
    assert pushed.status_code == 201, pushed.get_data(as_text=True)

    flow = finish(browser, tpp, Pushed(params, verifier, pushed.get_json()["request_uri"]))

    assert "state" not in flow.params
    assert "code" in flow.params
    tokens = redeem(client, services_, tpp, flow)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    id_token = jwt.decode(
        tokens.get_json()["id_token"], server_keys(client, services_), algorithms=SERVER_ALGS
    )
    assert "nonce" not in id_token.claims
    assert "s_hash" not in id_token.claims


def test_parameters_inside_the_request_object_win_over_those_outside(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    params, verifier = tpp.authorization_params(state="inside")
    token = tpp.request_object(params, **jar_times(services_))
    pushed = par_signed(
        client,
        services_,
        tpp,
        token,
        state="outside",
        scope="openid payments:write",
        redirect_uri="https://attacker.example.test/cb",
    )
    assert pushed.status_code == 201, pushed.get_data(as_text=True)

    flow = finish(browser, tpp, Pushed(params, verifier, pushed.get_json()["request_uri"]))

    assert flow.params["state"] == "inside"
    assert redeem(client, services_, tpp, flow).get_json()["scope"] == "openid accounts:read"
