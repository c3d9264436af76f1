"""POST /revoke (RFC 7009): one test per rule, exact status and error code."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from conformance.tpp import Browser
from conformance.tpp import Tpp
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.par import post_form
from tests.revocation import assert_invalid_token
from tests.revocation import audit_events
from tests.revocation import claims_of
from tests.revocation import code_flow_tokens
from tests.revocation import refresh
from tests.revocation import revoke
from tests.revocation import userinfo


@pytest.fixture
def tokens(client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str) -> Any:
    """A token response (access, refresh, id token) of ``tpp`` for alice."""
    return code_flow_tokens(client, browser, services_, tpp)


def test_revoked_access_token_is_refused_by_the_resource_server(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    access = tokens["access_token"]
    assert userinfo(client, services_, access).status_code == 200

    response = revoke(client, services_, tpp, access)

    assert response.status_code == 200
    assert response.get_data() == b""
    assert_invalid_token(userinfo(client, services_, access))


def test_revoked_refresh_token_is_invalid_grant_and_ends_its_access_tokens(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    rotated = refresh(client, services_, tpp, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    second = rotated.get_json()
    assert userinfo(client, services_, second["access_token"]).status_code == 200

    response = revoke(client, services_, tpp, second["refresh_token"])

    assert response.status_code == 200
    assert_oauth_error(refresh(client, services_, tpp, second["refresh_token"]), 400, "invalid_grant")
    # RFC 7009 §2.1: the access tokens based on the same grant end with it.
    assert_invalid_token(userinfo(client, services_, tokens["access_token"]))
    assert_invalid_token(userinfo(client, services_, second["access_token"]))


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("access_token", "access_token"),
        ("refresh_token", "refresh_token"),
        ("access_token", "refresh_token"),
        ("refresh_token", "access_token"),
        ("access_token", "foo"),
        ("refresh_token", "foo"),
    ],
    ids=["access-hint", "refresh-hint", "access-wrong-hint", "refresh-wrong-hint", "access-unknown-hint", "refresh-unknown-hint"],
)
def test_token_type_hint_only_orders_the_lookups(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any], kind: str, hint: str
) -> None:
    response = revoke(client, services_, tpp, tokens[kind], hint=hint)

    assert response.status_code == 200
    assert_invalid_token(userinfo(client, services_, tokens["access_token"]))
    if kind == "refresh_token":
        assert_oauth_error(refresh(client, services_, tpp, tokens["refresh_token"]), 400, "invalid_grant")
    else:
        assert refresh(client, services_, tpp, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 500])
def test_unknown_token_is_200_with_an_empty_body(
    client: FlaskClient, services_: Services, tpp: Tpp, token: str
) -> None:
    response = revoke(client, services_, tpp, token)

    assert response.status_code == 200
    assert response.get_data() == b""


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_already_revoked_token_is_200_again(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any], kind: str
) -> None:
    assert revoke(client, services_, tpp, tokens[kind]).status_code == 200

    response = revoke(client, services_, tpp, tokens[kind])

    assert response.status_code == 200
    assert response.get_data() == b""


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_another_clients_token_is_200_and_stays_valid(
    client: FlaskClient,
    services_: Services,
    make_tpp: Any,
    tokens: dict[str, Any],
    kind: str,
) -> None:
    other = make_tpp("tpp-two")

    response = revoke(client, services_, other, tokens[kind])

    # RFC 7009 §2.1: the server refuses, and answers exactly like an unknown token.
    assert response.status_code == 200
    assert response.get_data() == b""
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200
    owner = Tpp(claims_of(tokens["access_token"])["client_id"], *_identity(make_tpp, other))
    assert owner.client_id == "tpp-one"


def _identity(make_tpp: Any, other: Tpp) -> tuple[Any, ...]:
    raise NotImplementedError
