"""GET /authorize: PAR-only, and every failure an error page (never a redirect).

Only the pushed request counts (RFC 9101 §5): parameters the OIDF suite repeats next
to client_id and request_uri must match it, anything else there is ignored.

Checklist A16, B6, C6-C9, note 3; conformance modules #26, #41, #62-64, #67, #75.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.par.store import URN_PREFIX
from tests.par import Authorized
from tests.par import Pushed
from tests.par import authorize_path
from tests.par import decide
from tests.par import finish
from tests.par import login
from tests.par import push
from tests.par import redeem
from tppkit import Browser
from tppkit import HttpResponse
from tppkit import Tpp
from tppkit import query_params


def get(client: FlaskClient, svc: Services, path: str) -> TestResponse:
    return client.get(path, base_url=svc.settings.issuer)


def assert_error_page(response: TestResponse, error: str) -> None:
    """400, an HTML page naming the error, and no redirect anywhere."""
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert f"<code>{error}</code>" in response.get_data(as_text=True)


def test_front_channel_request_without_par_is_an_error_page(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    params, _verifier = tpp.authorization_params()
    query = "&".join(f"{name}={value}" for name, value in params.items())

    assert_error_page(get(client, services_, f"/authorize?{query}"), "invalid_request")


def test_no_parameters_at_all_is_an_error_page(client: FlaskClient, services_: Services) -> None:
    assert_error_page(get(client, services_, "/authorize"), "invalid_request")


def repeated(pushed: Pushed) -> dict[str, str]:
    """What the OIDF suite repeats next to client_id and request_uri (OIDC Core §6.1)."""
    return {name: pushed.params[name] for name in ("response_type", "scope", "redirect_uri")}


def test_parameters_repeated_from_the_pushed_request_are_accepted(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    path = authorize_path(tpp.client_id, pushed.request_uri, **repeated(pushed))

    assert get(client, services_, path).headers["Location"] == "/login"
    login(client, services_)
    response = decide(client, services_)

    callback = query_params(response.headers["Location"])
    assert callback["state"] == pushed.params["state"]
    flow = Authorized(pushed, HttpResponse(303, {}, b""), callback)
    assert redeem(client, services_, tpp, flow).status_code == 200


def test_other_parameters_outside_the_pushed_request_are_ignored(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp, state=None)
    outside = {"state": "outside-only-state", "nonce": "outside", "code_challenge": "x" * 43}
    path = authorize_path(tpp.client_id, pushed.request_uri, **outside)

    assert get(client, services_, path).headers["Location"] == "/login"
    login(client, services_)
    response = decide(client, services_)

    assert set(query_params(response.headers["Location"])) == {"code", "iss"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("redirect_uri", "https://attacker.example.test/cb"),
        ("scope", "openid accounts:read payments:write"),
        ("response_type", "code id_token"),
    ],
)
def test_repeated_parameter_contradicting_the_pushed_request_is_an_error_page(
    client: FlaskClient, services_: Services, tpp: Tpp, name: str, value: str
) -> None:
    pushed = push(client, services_, tpp)
    path = authorize_path(tpp.client_id, pushed.request_uri, **{**repeated(pushed), name: value})

    assert_error_page(get(client, services_, path), "invalid_request")


def test_repeated_client_id_is_an_error_page(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    pushed = push(client, services_, tpp)
    path = authorize_path(tpp.client_id, pushed.request_uri) + f"&client_id={tpp.client_id}"

    assert_error_page(get(client, services_, path), "invalid_request")


def test_unknown_client_is_an_error_page(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    pushed = push(client, services_, tpp)

    path = authorize_path("tpp-unknown", pushed.request_uri)

    assert_error_page(get(client, services_, path), "invalid_request")


def test_client_disabled_after_pushing_is_an_error_page(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    pushed = push(client, services_, tpp)
    with app.app_context():
        services_.clients.disable(tpp.client_id, actor="test")

    path = authorize_path(tpp.client_id, pushed.request_uri)

    assert_error_page(get(client, services_, path), "invalid_request")


@pytest.mark.parametrize("request_uri", [URN_PREFIX + "never-pushed", "never-pushed", ""])
def test_unknown_request_uri_is_an_invalid_request_uri_page(
    client: FlaskClient, services_: Services, tpp: Tpp, request_uri: str
) -> None:
    path = authorize_path(tpp.client_id, request_uri)

    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_expired_request_uri_is_an_invalid_request_uri_page(
    client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock
) -> None:
    pushed = push(client, services_, tpp)
    clock.advance(60)  # expires_in, never visited: no leeway

    path = authorize_path(tpp.client_id, pushed.request_uri)
    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_accepted_request_expires_after_the_login_window(
    client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock
) -> None:
    pushed = push(client, services_, tpp)
    path = authorize_path(tpp.client_id, pushed.request_uri)
    assert get(client, services_, path).status_code == 303
    clock.advance(services_.policy.login_window)

    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_request_uri_of_another_client_is_an_invalid_request_uri_page(
    client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any
) -> None:
    other = make_tpp("tpp-two")
    pushed = push(client, services_, tpp)

    path = authorize_path(other.client_id, pushed.request_uri)

    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_request_uri_visited_twice_before_completion_still_works(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    path = authorize_path(tpp.client_id, pushed.request_uri)
    first = get(client, services_, path)
    reload = get(client, services_, path)

    flow = finish(browser, tpp, pushed)

    assert (first.status_code, first.headers["Location"]) == (303, "/login")
    assert (reload.status_code, reload.headers["Location"]) == (303, "/login")
    assert redeem(client, services_, tpp, flow).status_code == 200


def test_request_uri_is_refused_after_authorization_completed(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    finish(browser, tpp, pushed)

    path = authorize_path(tpp.client_id, pushed.request_uri)

    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_request_uri_is_refused_after_the_user_denied(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    finish(browser, tpp, pushed, approve=False)

    path = authorize_path(tpp.client_id, pushed.request_uri)

    assert_error_page(get(client, services_, path), "invalid_request_uri")


def test_login_slower_than_expires_in_still_completes(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str, clock: FrozenClock
) -> None:
    pushed = push(client, services_, tpp)
    assert (
        get(client, services_, authorize_path(tpp.client_id, pushed.request_uri)).status_code == 303
    )
    clock.advance(90)  # the user reads the login page, finds the password...
    login(client, services_)

    response = decide(client, services_)

    assert response.status_code == 303
    assert "code" in query_params(response.headers["Location"])
