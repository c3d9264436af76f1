"""POST /revoke (RFC 7009): one test per rule, exact status and error code."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.lifecycle import refresh
from tests.lifecycle import revoke
from tests.lifecycle import userinfo
from tests.par import frozen_auth
from tests.par import post_form
from tests.revocation import assert_invalid_token
from tests.revocation import audit_events
from tests.revocation import claims_of
from tests.revocation import refused_at_userinfo
from tppkit import Tpp


def test_revoked_access_token_is_refused_by_the_resource_server(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    access = tokens["access_token"]
    assert userinfo(client, services_, access).status_code == 200

    response = revoke(client, services_, tpp, access)

    assert response.status_code == 200
    assert response.get_data() == b""
    refused_at_userinfo(client, services_, access)


def test_the_revoking_process_refuses_the_token_at_once(
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    tokens: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 7009 §2.2: "the token cannot be used again after the revocation". Other
    processes may lag (the channel), the one that answered 200 must not. The listener is
    held back deterministically; its view stays healthy for STALE_SECONDS meanwhile."""
    view = services_.revocation_view
    access = tokens["access_token"]
    assert userinfo(client, services_, access).status_code == 200
    assert view.wait_until_healthy(timeout=60)  # returns once healthy; generous under load
    released = threading.Event()
    apply = view._apply
    monkeypatch.setattr(view, "_apply", lambda message: (released.wait(10), apply(message)))
    try:
        assert revoke(client, services_, tpp, access).status_code == 200
        response = userinfo(client, services_, access)
    finally:
        released.set()

    assert_invalid_token(response)


def test_revoked_refresh_token_is_invalid_grant_and_ends_its_access_tokens(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    rotated = refresh(client, services_, tpp, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    second = rotated.get_json()
    assert userinfo(client, services_, second["access_token"]).status_code == 200

    response = revoke(client, services_, tpp, second["refresh_token"])

    assert response.status_code == 200
    assert_oauth_error(
        refresh(client, services_, tpp, second["refresh_token"]), 400, "invalid_grant"
    )
    # RFC 7009 §2.1: the access tokens based on the same grant end with it.
    refused_at_userinfo(client, services_, tokens["access_token"])
    refused_at_userinfo(client, services_, second["access_token"])


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
    ids=[
        "access-hint",
        "refresh-hint",
        "access-wrong-hint",
        "refresh-wrong-hint",
        "access-unknown-hint",
        "refresh-unknown-hint",
    ],
)
def test_token_type_hint_only_orders_the_lookups(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any], kind: str, hint: str
) -> None:
    response = revoke(client, services_, tpp, tokens[kind], hint=hint)

    assert response.status_code == 200
    refused_at_userinfo(client, services_, tokens["access_token"])
    if kind == "refresh_token":
        assert_oauth_error(
            refresh(client, services_, tpp, tokens["refresh_token"]), 400, "invalid_grant"
        )
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
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
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
    assert refresh(client, services_, tpp, tokens["refresh_token"]).status_code == 200
    assert audit_events(app, "token.revoked") == []


def test_no_client_authentication_is_401_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    form = {"token": tokens["access_token"], "client_id": tpp.client_id}

    assert_oauth_error(post_form(client, services_, "/revoke", form), 401, "invalid_client")
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200


def test_missing_token_is_400_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    form = frozen_auth(tpp, services_)

    assert_oauth_error(post_form(client, services_, "/revoke", form), 400, "invalid_request")


def test_json_body_is_400_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    body = {"token": tokens["access_token"], **frozen_auth(tpp, services_)}

    response = client.post("/revoke", json=body, base_url=services_.settings.issuer)

    assert_oauth_error(response, 400, "invalid_request")
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200


def test_get_is_405(client: FlaskClient, services_: Services) -> None:
    response = client.get("/revoke", base_url=services_.settings.issuer)

    assert_oauth_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize("token", ["access_token", "unknown"])
def test_response_is_not_cached(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any], token: str
) -> None:
    response = revoke(client, services_, tpp, tokens.get(token, token))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_revocation_is_audited(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    revoke(client, services_, tpp, tokens["access_token"])
    revoke(client, services_, tpp, tokens["refresh_token"], hint="refresh_token")

    events = audit_events(app, "token.revoked")

    jti = claims_of(tokens["access_token"])["jti"]
    assert [(e["actor"], e["resource"]) for e in events][0] == (
        "client:tpp-one",
        f"access_token:{jti}",
    )
    assert [e["changes"]["token_type"] for e in events] == ["access_token", "refresh_token"]
    assert events[1]["actor"] == "client:tpp-one"
    assert events[1]["resource"].startswith("refresh_family:")


# -- the store is unreachable ------------------------------------------------------------


def broken_store_settings(make_settings: Any) -> Any:
    return make_settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0")


def test_resource_server_is_503_never_200_when_the_store_is_unreachable(
    make_settings: Any, clock: FrozenClock, services_: Services, tokens: dict[str, Any]
) -> None:
    with app_with(broken_store_settings(make_settings), clock) as broken:
        response = userinfo(broken.test_client(), services_, tokens["access_token"])

    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "5"


def test_revoke_is_503_temporarily_unavailable_when_the_store_is_unreachable(
    make_settings: Any, clock: FrozenClock, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    with app_with(broken_store_settings(make_settings), clock) as broken:
        response = revoke(broken.test_client(), services_, tpp, tokens["access_token"])

    assert_oauth_error(response, 503, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "5"
