"""F4 / TOK-4: by default a refresh token is strictly one-time use.

Replaying a rotated-out refresh token, at once or later, with or without a proof, is
400 ``invalid_grant`` and revokes the whole family: the refresh token that replaced it
and every access token the family produced. End to end at POST /token, real keys.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.test import TestResponse

from authserver.context import Services
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from tests.dpop.test_token_endpoint import code_form
from tests.dpop.test_token_endpoint import proof_for
from tests.dpop.test_token_endpoint import refresh_form
from tests.dpop.test_token_endpoint import token
from tests.helpers import assert_oauth_error
from tests.par import SERVER_ALGS
from tests.par import authorize
from tests.par import server_keys


def jti(client: FlaskClient, svc: Services, access_token: str) -> str:
    verified = jwt.decode(access_token, server_keys(client, svc), algorithms=SERVER_ALGS)
    return str(verified.claims["jti"])


def access_token_revoked(app: Flask, client: FlaskClient, svc: Services, access: str) -> bool:
    with app.app_context():
        return svc.ledger.is_revoked(jti(client, svc, access))


def refresh_with_own_key(
    client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str
) -> TestResponse:
    """POST /token refresh_token grant with a proof by the family's own key."""
    return token(client, svc, tpp, refresh_form(refresh_token), proof_for(svc, tpp.key))


def rotate(client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str) -> dict[str, Any]:
    response = refresh_with_own_key(client, svc, tpp, refresh_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_default_refresh_grace_is_zero(services_: Services) -> None:
    assert services_.settings.oauth.refresh_grace == 0


def test_replay_of_a_rotated_token_with_the_same_key_is_invalid_grant(
    client: FlaskClient, services_: Services, tpp: Tpp, issued: dict[str, Any]
) -> None:
    rotate(client, services_, tpp, issued["refresh_token"])

    replay = refresh_with_own_key(client, services_, tpp, issued["refresh_token"])

    assert_oauth_error(replay, 400, "invalid_grant")


def test_replay_of_a_rotated_token_revokes_the_new_refresh_and_access_tokens(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, issued: dict[str, Any]
) -> None:
    second = rotate(client, services_, tpp, issued["refresh_token"])
    assert not access_token_revoked(app, client, services_, second["access_token"])

    token(client, services_, tpp, refresh_form(issued["refresh_token"]), None)

    newest = refresh_with_own_key(client, services_, tpp, second["refresh_token"])
    assert_oauth_error(newest, 400, "invalid_grant")
    assert access_token_revoked(app, client, services_, second["access_token"])
    assert access_token_revoked(app, client, services_, issued["access_token"])


@pytest.mark.parametrize("proof", ["none", "other-key"])
def test_replay_by_another_party_is_invalid_grant(
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    issued: dict[str, Any],
    proof: str,
) -> None:
    second = rotate(client, services_, tpp, issued["refresh_token"])
    header = None if proof == "none" else proof_for(services_, generate_key("ES256"))

    replay = token(client, services_, tpp, refresh_form(issued["refresh_token"]), header)

    assert_oauth_error(replay, 400, "invalid_grant")
    newest = refresh_with_own_key(client, services_, tpp, second["refresh_token"])
    assert_oauth_error(newest, 400, "invalid_grant")


def test_replay_of_a_bearer_family_token_is_invalid_grant(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp)
    first = token(client, services_, tpp, code_form(tpp, flow), None).get_json()
    rotated = token(client, services_, tpp, refresh_form(first["refresh_token"]), None)
    assert rotated.status_code == 200, rotated.get_data(as_text=True)

    replay = token(client, services_, tpp, refresh_form(first["refresh_token"]), None)

    assert_oauth_error(replay, 400, "invalid_grant")
    newest = token(client, services_, tpp, refresh_form(rotated.get_json()["refresh_token"]), None)
    assert_oauth_error(newest, 400, "invalid_grant")
