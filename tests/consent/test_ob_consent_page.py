"""The consent page for an open-banking consent named in PAR: who asks, the permissions in
words, the expiry, the user's accounts to choose from; Approve records exactly the chosen
accounts (AWAU → AUTH), Deny rejects (AWAU → RJCT) and the TPP gets access_denied."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.accounts.provider import Account
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.ob_consents import consent_state
from tests.ob_consents import create_consent
from tests.ob_consents import forged_account
from tests.ob_consents import open_named_consent_page
from tests.ob_consents import redirect_params
from tests.ob_consents import seed_accounts
from tests.ob_consents import submit_consent
from tests.ob_consents import text_of
from tests.par import page
from tppkit import Tpp
from tppkit import query_params


@pytest.fixture
def accounts(app: Flask, user: str) -> list[Account]:
    return seed_accounts(app, user)


def test_page_shows_the_tpp_the_permissions_in_words_the_expiry_and_the_accounts(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    clock: FrozenClock,
) -> None:
    expiry = clock.now() + timedelta(days=40)
    consent_id = create_consent(app, services_, tpp.client_id, expires_at=expiry)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    html = shown.get_data(as_text=True)
    words = text_of(html)
    with app.app_context():
        registered = services_.clients.get(tpp.client_id)
        assert registered is not None
        name = registered.client_name
    assert name in words
    for heading in (
        "Your account details",
        "Your balances",
        "Your transactions from 1 January 2026 to 30 June 2026",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "Money in only (credits)" in words
    assert f"This access ends on {expiry.day} {expiry:%B %Y}." in words
    # An accessible checklist: a fieldset with a legend, one labelled checkbox per account.
    assert "<legend>Choose the accounts to share</legend>" in html
    for account in accounts:
        box = re.search(
            rf'<input id="([^"]+)" name="accounts" type="checkbox" value="{account.account_id}"',
            html,
        )
        assert box is not None, html
        label = f'<label for="{box.group(1)}">{account.nickname} {account.masked_number}</label>'
        assert label in html
    # The strict CSP stays: no inline script or style on the page.
    assert "<script" not in html
    assert "style=" not in html
    assert "'unsafe-inline'" not in shown.headers["Content-Security-Policy"]


def test_an_open_ended_consent_says_it_has_no_end_date(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id, expires_at=None)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id, rar_form=True)
    assert "This access has no end date." in text_of(shown.get_data(as_text=True))


def test_approve_records_exactly_the_chosen_account(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    assert len(accounts) >= 2
    consent_id = create_consent(app, services_, tpp.client_id)
    pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    chosen = accounts[1].account_id
    decided = submit_consent(client, services_, shown, accounts=[chosen])
    assert decided.status_code == 303, decided.get_data(as_text=True)
    assert "code" in query_params(decided.headers["Location"])
    assert consent_state(app, consent_id) == ("AUTH", [chosen], ["AWAU", "AUTH"])


def test_approve_without_an_account_shows_the_page_again_and_records_nothing(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    again = submit_consent(client, services_, shown, accounts=[])
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "Choose at least one account to share, or press Deny." in html
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])
    # The request is still open: the user can now choose an account.
    decided = submit_consent(client, services_, again, accounts=[accounts[0].account_id])
    assert decided.status_code == 303, decided.get_data(as_text=True)
    assert consent_state(app, consent_id)[:2] == ("AUTH", [accounts[0].account_id])


@pytest.mark.parametrize("forged", ["not-an-account", "other-user"])
def test_an_account_the_user_does_not_hold_is_refused(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    forged: str,
) -> None:
    forged = forged_account(app, forged)
    consent_id = create_consent(app, services_, tpp.client_id)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    refused = submit_consent(client, services_, shown, accounts=[accounts[0].account_id, forged])
    assert refused.status_code == 400
    assert "Only your own accounts can be shared." in refused.get_data(as_text=True)
    assert "Location" not in refused.headers
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])


@pytest.mark.parametrize("response_mode", ["query", "jwt"])
def test_deny_rejects_the_consent_and_the_tpp_gets_access_denied(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    response_mode: str,
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    pushed, shown = open_named_consent_page(
        client, services_, tpp, consent_id, rar_form=True, response_mode=response_mode
    )
    denied = submit_consent(client, services_, shown, approve=False)
    assert denied.status_code == 303
    location = denied.headers["Location"]
    assert location.startswith(tpp.redirect_uri)
    params = redirect_params(client, services_, location, response_mode)
    assert params["error"] == "access_denied"
    assert params["state"] == pushed.params["state"]
    assert "code" not in params
    assert consent_state(app, consent_id) == ("RJCT", [], ["AWAU", "RJCT"])


def test_a_consent_decided_meanwhile_is_not_shown(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    user: str,
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    assert shown.status_code == 200
    with app.app_context():
        experience(app).consents.reject(consent_id, user_id=user, request_id="t")
        db.session.commit()
    again = page(client, services_, "/consent")
    assert again.status_code == 400
    assert "The consent is not awaiting authorisation." in again.get_data(as_text=True)


def test_a_consent_that_expired_while_the_user_signed_in_is_not_shown(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    clock: FrozenClock,
) -> None:
    expiry = clock.now() + timedelta(seconds=30)
    consent_id = create_consent(app, services_, tpp.client_id, expires_at=expiry)
    _pushed, shown = open_named_consent_page(client, services_, tpp, consent_id)
    assert shown.status_code == 200
    clock.advance(30)
    refused = submit_consent(client, services_, shown, accounts=[accounts[0].account_id])
    assert refused.status_code == 400
    assert "The consent has expired." in refused.get_data(as_text=True)
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])
