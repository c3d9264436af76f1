"""Hostile input is a 4xx with a fixed description, never a 500 (foundations F1, F2).

F1: error descriptions are never built from request data (Authlib refuses descriptions
with quotes or non-ASCII, which used to turn a 400 into a 500).
F2: control characters in an identifier are refused before any query runs (PostgreSQL
refuses NUL in text, which used to surface as a 500).
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from conformance.tpp import Tpp
from conformance.tpp import csrf_token
from tests.flow_fixtures import PASSWORD
from tests.helpers import assert_oauth_error
from tests.par import frozen_auth
from tests.par import page
from tests.web.hostile import ASSERTION_TYPE
from tests.web.hostile import FORM_ENDPOINTS
from tests.web.hostile import admin_post
from tests.web.hostile import operator_token
from tests.web.hostile import tpp_token
from tests.web.hostile import unsigned_assertion

HOSTILE_NAMES = ["x%22", "x%C3%A9", "%00", "x%0A", "a%5C"]


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_repeated_parameter_with_a_hostile_name_is_invalid_request(
    client: FlaskClient, services_: Services, path: str, name: str
) -> None:
    response = client.post(
        path,
        data=f"{name}=1&{name}=2",
        content_type="application/x-www-form-urlencoded",
        base_url=services_.settings.issuer,
    )

    body = assert_oauth_error(response, 400, "invalid_request")
    assert body["error_description"] == "A parameter is repeated."


@pytest.mark.parametrize("key", ['a"b', "é", "\u0000", "a\\b"])
def test_admin_revocation_with_a_hostile_json_key_is_invalid_request(
    app: Flask, client: FlaskClient, services_: Services, key: str
) -> None:
    token = operator_token(app, client, services_)

    response = admin_post(client, services_, token, json.dumps({key: "x"}).encode())

    body = assert_oauth_error(response, 400, "invalid_request")
    assert key not in body.get("error_description", "")


@pytest.mark.parametrize("field", ["client_id", "user_id", "consent_id"])
@pytest.mark.parametrize("value", ["\u0000", "a\u0000b", "\u001f", "\ud800", "a\u007fb"])
def test_admin_revocation_with_a_control_character_in_an_id_is_invalid_request(
    app: Flask, client: FlaskClient, services_: Services, field: str, value: str
) -> None:
    token = operator_token(app, client, services_)

    response = admin_post(client, services_, token, json.dumps({field: value}).encode())

    assert_oauth_error(response, 400, "invalid_request")


def test_admin_revocation_with_a_nul_in_the_reason_is_invalid_request(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    token = operator_token(app, client, services_)
    body = {"user_id": "someone", "reason": "bad\u0000reason"}

    response = admin_post(client, services_, token, json.dumps(body).encode())

    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
@pytest.mark.parametrize("alg", ["none", "ES256"])
@pytest.mark.parametrize("client_id", ["\u0000", "tpp\u0000", "\u0085"])
def test_unsigned_assertion_with_a_control_character_in_iss_is_invalid_client(
    client: FlaskClient, services_: Services, path: str, alg: str, client_id: str
) -> None:
    assertion = unsigned_assertion(services_, alg, iss=client_id, sub=client_id)
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}

    response = client.post(path, data=form, base_url=services_.settings.issuer)

    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
def test_client_id_parameter_with_a_nul_is_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp, path: str
) -> None:
    form = {"client_id": "\u0000", **frozen_auth(tpp, services_)}

    response = client.post(path, data=form, base_url=services_.settings.issuer)

    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("client_id", ["%00", "a%00b", "%1B"])
def test_authorize_with_a_control_character_in_client_id_is_an_error_page(
    client: FlaskClient, services_: Services, client_id: str
) -> None:
    response = client.get(
        f"/authorize?client_id={client_id}&request_uri=x", base_url=services_.settings.issuer
    )

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "invalid_request" in response.get_data(as_text=True)


@pytest.mark.parametrize("consent_id", ["%00", "a%00b", "%7F"])
def test_withdrawing_a_consent_with_a_control_character_in_its_id_is_404(
    client: FlaskClient, services_: Services, tpp: Tpp, consent_id: str
) -> None:
    token = tpp_token(client, services_, tpp)

    response = client.delete(
        f"/consents/{consent_id}",
        headers={"Authorization": f"Bearer {token}"},
        base_url=services_.settings.issuer,
    )

    assert_oauth_error(response, 404, "not_found")


@pytest.mark.parametrize("username", ["\u0000", "alice\u0000", "\u0007"])
def test_login_with_a_control_character_in_the_username_is_refused(
    client: FlaskClient, services_: Services, user: str, username: str
) -> None:
    shown = page(client, services_, "/login").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(shown),
        "username": username,
        "password": PASSWORD,
        "submit": "Sign in",
    }

    response = client.post("/login", data=form, base_url=services_.settings.issuer)

    assert response.status_code == 401
    assert response.mimetype == "text/html"
