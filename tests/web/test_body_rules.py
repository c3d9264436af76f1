"""JSON depth and media types (issue 14 item 6): every JSON body nests at most 32 levels,
wherever it is sent, and a JSON API refuses another media type with 415."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.web.body_rules import MAX_JSON_DEPTH
from authserver.web.body_rules import json_depth_exceeds
from tests.helpers import assert_oauth_error
from tests.openbanking import CONSENTS
from tests.openbanking import call
from tests.openbanking import ob_errors
from tests.web.hostile import operator_token
from tests.web.hostile import tpp_token
from tppkit import Tpp


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_is_counted_outside_strings_only() -> None:
    assert not json_depth_exceeds(nested(MAX_JSON_DEPTH))
    assert json_depth_exceeds(nested(MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds(b'{"a": "' + b"[" * 100 + b'"}')
    assert not json_depth_exceeds(b'{"a": "\\"' + b"{" * 100 + b'"}')
    assert json_depth_exceeds(b'{"a": "\\\\"' + b", " + nested(40) + b"}")


def test_a_deeply_nested_body_at_login_is_a_400_page_not_a_500(client: FlaskClient) -> None:
    response = client.post("/login", data=nested(5000), content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "text/html"


def test_a_deeply_nested_ob_body_is_u010_with_the_interaction_id(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token = tpp_token(client, services_, tpp)
    interaction = str(uuid.uuid4())
    body = b'{"Data": {"Permissions": ' + nested(MAX_JSON_DEPTH) + b"}}"
    response = call(client, services_, "POST", CONSENTS, token, json=None,
                     headers={"x-fapi-interaction-id": interaction,
                              "Content-Type": "application/json"},
                     data=body)  # fmt: skip
    assert ob_errors(response, 400) == [("U010", None)]
    assert response.headers["x-fapi-interaction-id"] == interaction


@pytest.mark.parametrize("path", ["/webhooks/subscriptions", "/admin/revocations", "/token"])
def test_a_deeply_nested_body_elsewhere_is_invalid_request(
    client: FlaskClient, services_: Services, path: str
) -> None:
    response = client.post(
        path, data=nested(MAX_JSON_DEPTH + 1), content_type="application/json",
        base_url=services_.settings.issuer,
    )  # fmt: skip
    assert_oauth_error(response, 400, "invalid_request")


def test_admin_revocations_refuses_a_body_that_is_not_json(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    token = operator_token(app, client, services_)
    response = client.post(
        "/admin/revocations", data='{"client_id": "x"}', content_type="text/plain",
        headers={"Authorization": f"Bearer {token}"}, base_url=services_.settings.issuer,
    )  # fmt: skip
    assert_oauth_error(response, 415, "unsupported_media_type")


def test_a_too_large_ob_body_still_echoes_the_interaction_id(
    client: FlaskClient, services_: Services
) -> None:
    interaction = str(uuid.uuid4())
    limit = services_.settings.max_body_bytes
    response = client.post(
        CONSENTS, data=b"{" + b" " * limit + b"}", content_type="application/json",
        headers={"x-fapi-interaction-id": interaction}, base_url=services_.settings.issuer,
    )  # fmt: skip
    assert response.status_code == 413
    assert response.headers["x-fapi-interaction-id"] == interaction
