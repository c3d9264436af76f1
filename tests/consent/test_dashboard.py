"""The user's consent dashboard: list, withdraw (CSRF), and the tokens die everywhere."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver.audit.models import AuditEvent
from authserver.consent.models import AUTH
from authserver.consent.models import CANC
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.flow_fixtures import FlaskTransport
from tests.lifecycle import code_flow_tokens
from tests.lifecycle import refresh
from tests.lifecycle import userinfo
from tppkit import Browser
from tppkit import Tpp
from tppkit import csrf_token

DASHBOARD = "/account/consents"


@pytest.fixture
def consent_id(app: Flask, services_: Services, user: str, tokens: Any) -> str:
    """The one consent behind ``tokens``."""
    with app.app_context():
        (found,) = [consent.id for consent in experience(app).consents.of_user(user)]
    return found


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
    client: FlaskClient,
    transport: FlaskTransport,
    browser: Browser,
    make_tpp: Any,
    user: str,
    services_: Services,
) -> None:
    first_tpp, second_tpp = make_tpp("tpp-one"), make_tpp("tpp-two")
    first = code_flow_tokens(client, browser, services_, first_tpp)
    second = code_flow_tokens(client, browser, services_, second_tpp)
    listing = transport.request("GET", first_tpp.url(DASHBOARD))
    assert listing.status == 200
    assert "tpp-one (test)" in listing.text
    assert "tpp-two (test)" in listing.text
    assert "See your accounts, balances and transactions" in listing.text
    with app.app_context():
        target = next(
            c.id for c in experience(app).consents.of_user(user) if c.client_id == "tpp-one"
        )
    # "Withdraw" on the listing is a link to a confirmation page; nothing changes yet.
    assert f'href="{DASHBOARD}/{target}/withdraw"' in listing.text
    confirm = transport.request("GET", first_tpp.url(f"{DASHBOARD}/{target}/withdraw"))
    assert confirm.status == 200
    assert "Withdraw access for" in confirm.text
    assert userinfo(client, services_, first["access_token"]).status_code == 200
    withdrawn = transport.request(
        "POST",
        first_tpp.url(f"{DASHBOARD}/{target}/withdraw"),
        form={"csrf_token": csrf_token(confirm.text), "withdraw": "Yes, withdraw access"},
    )
    assert withdrawn.status == 303
    assert withdrawn.location.endswith(DASHBOARD)
    assert userinfo(client, services_, first["access_token"]).status_code == 401
    assert userinfo(client, services_, second["access_token"]).status_code == 200
    refreshed = refresh(client, services_, first_tpp, first["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    with app.app_context():
        statuses = {c.client_id: c.status for c in experience(app).consents.of_user(user)}
    assert statuses == {"tpp-one": CANC, "tpp-two": AUTH}
    page = transport.request("GET", first_tpp.url(DASHBOARD)).text
    assert page.count('class="button secondary withdraw"') == 1
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.resource == f"consent:{target}")
        ).all()
    cancelled = [event for event in events if event.event_type == "consent.cancelled"]
    assert [event.actor for event in cancelled] == [f"user:{user}"]
    assert cancelled[0].changes["reason"] == "withdrawn by the user"


def test_withdraw_without_csrf_token_is_refused(
    client: FlaskClient,
    transport: FlaskTransport,
    services_: Services,
    tpp: Tpp,
    tokens: Any,
    consent_id: str,
) -> None:
    refused = transport.request(
        "POST", tpp.url(f"{DASHBOARD}/{consent_id}/withdraw"), form={"withdraw": "Withdraw"}
    )
    assert refused.status == 400
    assert "text/html" in refused.headers["Content-Type"]
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200


def test_another_users_consent_is_not_found(
    app: Flask,
    client: FlaskClient,
    transport: FlaskTransport,
    services_: Services,
    tpp: Tpp,
    tokens: Any,
    consent_id: str,
) -> None:
    with app.app_context():
        experience(app).users.create("bob", "another long passphrase", actor="test")
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
    assert transport.request("GET", tpp.url(f"{DASHBOARD}/{consent_id}")).status == 404
    confirm = transport.request("GET", tpp.url(f"{DASHBOARD}/{consent_id}/withdraw"))
    assert confirm.status == 404
    # Bob has no consents, so no form: take his session's CSRF token from another page.
    token = csrf_token(transport.request("GET", tpp.url("/login")).text)
    refused = transport.request(
        "POST",
        tpp.url(f"{DASHBOARD}/{consent_id}/withdraw"),
        form={"csrf_token": token, "withdraw": "Withdraw"},
    )
    assert refused.status == 404
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200
