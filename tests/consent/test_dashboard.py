"""The user's consent dashboard: list, withdraw (CSRF), and the tokens die everywhere."""

from __future__ import annotations

from typing import Any

from flask import Flask

from authserver.consent.models import AUTHORISED
from authserver.consent.models import REVOKED
from authserver.context import Services
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import csrf_token
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.flow_fixtures import FlaskTransport
from tests.flows.test_code_flow import run_flow

DASHBOARD = "/account/consents"


def _tokens(transport: FlaskTransport, browser: Browser, tpp: Tpp) -> dict[str, Any]:
    flow = run_flow(transport, browser, tpp)
    response = transport.request(
        "POST",
        tpp.url("/token"),
        form={
            "grant_type": "authorization_code",
            "code": flow["callback"]["code"],
            "redirect_uri": tpp.redirect_uri,
            "code_verifier": flow["verifier"],
            **tpp.auth_form(),
        },
    )
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _userinfo(transport: FlaskTransport, tpp: Tpp, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return transport.request("GET", tpp.url("/userinfo"), headers=headers).status


def _consent_ids(app: Flask, services_: Services, user: str) -> list[str]:
    with app.app_context():
        return [consent.id for consent in services_.consents.of_user(user)]


def test_signed_out_user_is_sent_to_login_and_comes_back(
    transport: FlaskTransport, tpp: Tpp, user: str
) -> None:
    first = transport.request("GET", tpp.url(DASHBOARD))
    assert first.status == 303
    assert first.location.endswith("/login")
    page = transport.request("GET", tpp.url("/login"))
    form = {
        "csrf_token": csrf_token(page.text),
        "username": USERNAME,
        "password": PASSWORD,
        "submit": "Sign in",
    }
    signed_in = transport.request("POST", tpp.url("/login"), form=form)
    assert signed_in.status == 303
    assert signed_in.location.endswith(DASHBOARD)
    listing = transport.request("GET", tpp.url(DASHBOARD))
    assert listing.status == 200
    assert "not allowed any application" in listing.text


def test_withdrawing_a_consent_kills_its_tokens_and_keeps_the_others(
    app: Flask,
    transport: FlaskTransport,
    browser: Browser,
    make_tpp: Any,
    user: str,
    services_: Services,
) -> None:
    first_tpp, second_tpp = make_tpp("tpp-one"), make_tpp("tpp-two")
    first = _tokens(transport, browser, first_tpp)
    second = _tokens(transport, browser, second_tpp)
    listing = transport.request("GET", first_tpp.url(DASHBOARD))
    assert listing.status == 200
    assert "tpp-one (test)" in listing.text
    assert "tpp-two (test)" in listing.text
    assert "See your accounts, balances and transactions" in listing.text
    with app.app_context():
        target = next(c.id for c in services_.consents.of_user(user) if c.client_id == "tpp-one")
    withdrawn = transport.request(
        "POST",
        first_tpp.url(f"{DASHBOARD}/{target}/withdraw"),
        form={"csrf_token": csrf_token(listing.text), "withdraw": "Withdraw"},
    )
    assert withdrawn.status == 303
    assert withdrawn.location.endswith(DASHBOARD)
    assert _userinfo(transport, first_tpp, first["access_token"]) == 401
    assert _userinfo(transport, second_tpp, second["access_token"]) == 200
    refresh = transport.request(
        "POST",
        first_tpp.url("/token"),
        form={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            **first_tpp.auth_form(),
        },
    )
    assert refresh.status == 400
    assert refresh.json()["error"] == "invalid_grant"
    with app.app_context():
        statuses = {c.client_id: c.status for c in services_.consents.of_user(user)}
    assert statuses == {"tpp-one": REVOKED, "tpp-two": AUTHORISED}
    page = transport.request("GET", first_tpp.url(DASHBOARD)).text
    assert page.count('name="withdraw"') == 1


def test_withdraw_without_csrf_token_is_refused(
    app: Flask,
    transport: FlaskTransport,
    browser: Browser,
    tpp: Tpp,
    user: str,
    services_: Services,
) -> None:
    tokens = _tokens(transport, browser, tpp)
    (consent_id,) = _consent_ids(app, services_, user)
    refused = transport.request(
        "POST", tpp.url(f"{DASHBOARD}/{consent_id}/withdraw"), form={"withdraw": "Withdraw"}
    )
    assert refused.status == 400
    assert "text/html" in refused.headers["Content-Type"]
    assert _userinfo(transport, tpp, tokens["access_token"]) == 200


def test_another_users_consent_is_not_found(
    app: Flask,
    transport: FlaskTransport,
    browser: Browser,
    tpp: Tpp,
    user: str,
    services_: Services,
) -> None:
    tokens = _tokens(transport, browser, tpp)
    (consent_id,) = _consent_ids(app, services_, user)
    with app.app_context():
        services_.users.create("bob", "another long passphrase", actor="test")
    page = transport.request("GET", tpp.url("/login"))
    transport.request(
        "POST",
        tpp.url("/login"),
        form={
            "csrf_token": csrf_token(page.text),
            "username": "bob",
            "password": "another long passphrase",
            "submit": "Sign in",
        },
    )
    listing = transport.request("GET", tpp.url(DASHBOARD))
    assert consent_id not in listing.text
    # Bob has no consents, so no form: take his session's CSRF token from another page.
    token = csrf_token(transport.request("GET", tpp.url("/login")).text)
    refused = transport.request(
        "POST",
        tpp.url(f"{DASHBOARD}/{consent_id}/withdraw"),
        form={"csrf_token": token, "withdraw": "Withdraw"},
    )
    assert refused.status == 404
    assert _userinfo(transport, tpp, tokens["access_token"]) == 200
