"""POST /token and GET /userinfo: one test per rule, exact status and error code.

Checklist A2, A10, A22, D4, D5, J1-J4, K1, K4, resource rules of §5.3.4; conformance
modules #48-50, #52, #71, #72 and the token checks run inside most modules.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.tokens.access_token import left_half_hash
from tests.helpers import assert_oauth_error
from tests.par import SERVER_ALGS
from tests.par import Authorized
from tests.par import authorize
from tests.par import frozen_auth
from tests.par import jwt_header
from tests.par import post_form
from tests.par import redeem
from tests.par import register
from tests.par import server_keys
from tppkit import Browser
from tppkit import Tpp
from tppkit import pkce_pair


def token_request(
    client: FlaskClient, svc: Services, tpp: Tpp, form: dict[str, str]
) -> TestResponse:
    return post_form(client, svc, "/token", {**form, **frozen_auth(tpp, svc)})


def userinfo(client: FlaskClient, svc: Services, access_token: str) -> TestResponse:
    headers = {"Authorization": f"Bearer {access_token}"}
    return client.get("/userinfo", headers=headers, base_url=svc.settings.issuer)


def refresh(client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str) -> TestResponse:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(client, svc, tpp, form)


@pytest.fixture
def flow(client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str) -> Any:
    """A fresh code for ``tpp`` (scope openid accounts:read), not yet redeemed."""
    return authorize(client, browser, services_, tpp)


def decode(client: FlaskClient, svc: Services, token: str) -> jwt.Token:
    return jwt.decode(token, server_keys(client, svc), algorithms=SERVER_ALGS)


# -- grant types -------------------------------------------------------------------------


def test_password_grant_is_unsupported_grant_type(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    form = {"grant_type": "password", "username": "alice", "password": "x" * 12}

    assert_oauth_error(token_request(client, services_, tpp, form), 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "grant_type", ["implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "AUTHORIZATION_CODE"]
)
def test_unknown_grant_type_is_unsupported_grant_type(
    client: FlaskClient, services_: Services, tpp: Tpp, grant_type: str
) -> None:
    response = token_request(client, services_, tpp, {"grant_type": grant_type})

    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    assert_oauth_error(token_request(client, services_, tpp, {}), 400, "invalid_request")


def test_missing_client_authentication_is_401_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized
) -> None:
    form = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": flow.pushed.verifier,
        "client_id": tpp.client_id,
    }

    assert_oauth_error(post_form(client, services_, "/token", form), 401, "invalid_client")


@pytest.mark.parametrize("exp", [float("nan"), 10**400], ids=["nan", "huge-int"])
def test_client_assertion_whose_exp_is_no_finite_number_is_401_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp, exp: Any
) -> None:
    """exp NaN passed every time check (an assertion valid forever, its jti forgotten at
    once); a huge integer crashed the check with a 500."""
    form = {"grant_type": "client_credentials", **frozen_auth(tpp, services_, exp=exp)}

    assert_oauth_error(post_form(client, services_, "/token", form), 401, "invalid_client")


def test_client_without_the_grant_type_is_unauthorized_client(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    code_only = register(
        app,
        services_,
        "tpp-code-only",
        scopes=["accounts:read"],
        grant_types=["authorization_code"],
    )
    form = {"grant_type": "client_credentials", "scope": "accounts:read"}

    assert_oauth_error(
        token_request(client, services_, code_only, form), 400, "unauthorized_client"
    )


# -- authorization_code: PKCE, binding, lifetime, replay -----------------------------------


def test_missing_code_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized
) -> None:
    assert_oauth_error(redeem(client, services_, tpp, flow, code=None), 400, "invalid_request")


def test_unknown_code_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized
) -> None:
    response = redeem(client, services_, tpp, flow, code=flow.code[:-2] + "xx")

    assert_oauth_error(response, 400, "invalid_grant")


def test_missing_code_verifier_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized
) -> None:
    response = redeem(client, services_, tpp, flow, code_verifier=None)

    assert_oauth_error(response, 400, "invalid_grant")


@pytest.mark.parametrize("kind", ["another", "plain-challenge", "too-short"])
def test_wrong_code_verifier_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, kind: str
) -> None:
    verifier = {
        "another": pkce_pair()[0],
        # The challenge itself, as a "plain" PKCE client would send it.
        "plain-challenge": flow.pushed.params["code_challenge"],
        "too-short": flow.pushed.verifier[:42],
    }[kind]

    response = redeem(client, services_, tpp, flow, code_verifier=verifier)

    assert_oauth_error(response, 400, "invalid_grant")


@pytest.mark.parametrize("redirect_uri", ["https://tpp.example.test/other", None])
def test_redirect_uri_not_matching_the_authorization_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, redirect_uri: str | None
) -> None:
    response = redeem(client, services_, tpp, flow, redirect_uri=redirect_uri)

    assert_oauth_error(response, 400, "invalid_grant")


def test_code_redeemed_by_another_client_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any, flow: Authorized
) -> None:
    other = make_tpp("tpp-two")

    response = redeem(client, services_, other, flow)

    assert_oauth_error(response, 400, "invalid_grant")


def test_code_is_still_valid_59_seconds_after_issue(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, clock: FrozenClock
) -> None:
    clock.advance(59)

    assert redeem(client, services_, tpp, flow).status_code == 200


def test_code_expires_60_seconds_after_issue_without_leeway(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, clock: FrozenClock
) -> None:
    clock.advance(60)

    assert_oauth_error(redeem(client, services_, tpp, flow), 400, "invalid_grant")


def test_second_redemption_is_invalid_grant_and_revokes_what_the_first_issued(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, clock: FrozenClock
) -> None:
    first = redeem(client, services_, tpp, flow)
    assert first.status_code == 200, first.get_data(as_text=True)
    tokens = first.get_json()
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200
    clock.advance(1)

    assert_oauth_error(redeem(client, services_, tpp, flow), 400, "invalid_grant")

    assert_oauth_error(userinfo(client, services_, tokens["access_token"]), 401, "invalid_token")
    response = refresh(client, services_, tpp, tokens["refresh_token"])
    assert_oauth_error(response, 400, "invalid_grant")


# -- client_credentials ----------------------------------------------------------------


def test_client_credentials_issues_a_token_for_the_client_itself(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    form = {"grant_type": "client_credentials", "scope": "accounts:read"}

    response = token_request(client, services_, tpp, form)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    claims = decode(client, services_, body["access_token"]).claims
    assert claims["sub"] == claims["client_id"] == tpp.client_id
    assert claims["scope"] == "accounts:read"


@pytest.mark.parametrize("scope", ["openid", "openid accounts:read", "accounts:read no-such:scope"])
def test_client_credentials_refuses_openid_and_unknown_scopes(
    client: FlaskClient, services_: Services, tpp: Tpp, scope: str
) -> None:
    form = {"grant_type": "client_credentials", "scope": scope}

    assert_oauth_error(token_request(client, services_, tpp, form), 400, "invalid_scope")


# -- what the tokens say ------------------------------------------------------------------


def test_access_token_is_an_rfc9068_jwt_with_only_the_consented_scope(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    clock: FrozenClock,
) -> None:
    # The client may ask for payments:write too, but this request only asks for accounts.
    flow = authorize(client, browser, services_, tpp, scope="openid accounts:read")

    body = redeem(client, services_, tpp, flow).get_json()

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "openid accounts:read"
    token = body["access_token"]
    header = jwt_header(token)
    assert header["typ"] == "at+jwt"
    assert header["kid"] in {key.kid for key in server_keys(client, services_)}
    claims = decode(client, services_, token).claims
    assert claims["iss"] == services_.settings.issuer
    assert claims["sub"] == user
    assert claims["aud"] == services_.settings.issuer
    assert claims["client_id"] == tpp.client_id
    assert claims["scope"] == "openid accounts:read"
    assert len(claims["jti"]) >= 22
    assert claims["iat"] == int(clock.time())
    assert claims["exp"] - claims["iat"] == 300


def test_id_token_carries_nonce_at_hash_auth_time_and_amr(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, clock: FrozenClock
) -> None:
    login_time = int(clock.time())
    clock.advance(5)

    body = redeem(client, services_, tpp, flow).get_json()

    token = body["id_token"]
    assert jwt_header(token)["kid"] in {key.kid for key in server_keys(client, services_)}
    claims = decode(client, services_, token).claims
    assert claims["iss"] == services_.settings.issuer
    assert claims["aud"] == tpp.client_id
    assert claims["nonce"] == flow.pushed.params["nonce"]
    assert claims["at_hash"] == left_half_hash(body["access_token"])
    assert claims["auth_time"] == login_time
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == "urn:openbanking:psd2:ca"  # password only: CA, not SCA


def test_no_id_token_without_openid(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp, scope="accounts:read")

    body = redeem(client, services_, tpp, flow).get_json()

    assert "id_token" not in body
    assert body["scope"] == "accounts:read"


# -- no-store on every token response ----------------------------------------------------


@pytest.mark.parametrize(
    "case", ["code", "refresh", "client_credentials", "invalid_grant", "invalid_client"]
)
def test_every_token_response_is_no_store(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, case: str
) -> None:
    if case in ("code", "refresh"):
        response = redeem(client, services_, tpp, flow)
        if case == "refresh":
            response = refresh(client, services_, tpp, response.get_json()["refresh_token"])
        assert response.status_code == 200
    elif case == "client_credentials":
        response = token_request(client, services_, tpp, {"grant_type": "client_credentials"})
        assert response.status_code == 200
    elif case == "invalid_grant":
        response = redeem(client, services_, tpp, flow, code_verifier=None)
        assert response.status_code == 400
    else:
        response = post_form(client, services_, "/token", {"grant_type": "client_credentials"})
        assert response.status_code == 401

    assert response.headers["Cache-Control"] == "no-store"


# -- /userinfo ----------------------------------------------------------------------------


def test_userinfo_refuses_a_token_in_the_query_string(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized
) -> None:
    access_token = redeem(client, services_, tpp, flow).get_json()["access_token"]

    response = client.get(
        f"/userinfo?access_token={access_token}", base_url=services_.settings.issuer
    )

    assert_oauth_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_userinfo_without_authorization_header_is_401_with_a_bearer_challenge(
    client: FlaskClient, services_: Services
) -> None:
    response = client.get("/userinfo", base_url=services_.settings.issuer)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_userinfo_with_a_token_without_openid_is_403_insufficient_scope(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp, scope="accounts:read")
    access_token = redeem(client, services_, tpp, flow).get_json()["access_token"]

    response = userinfo(client, services_, access_token)

    assert_oauth_error(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_userinfo_returns_the_subject(
    client: FlaskClient, services_: Services, tpp: Tpp, flow: Authorized, user: str
) -> None:
    access_token = redeem(client, services_, tpp, flow).get_json()["access_token"]

    response = userinfo(client, services_, access_token)

    assert response.status_code == 200
    assert response.get_json() == {"sub": user}
