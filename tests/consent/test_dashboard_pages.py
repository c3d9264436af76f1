"""The dashboard's words and rules: permissions, accounts and dates of an open-banking
consent, its history, a payment consent that cannot be withdrawn, and who gets in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.accounts.provider import Account
from authserver.consent.models import AUTH
from authserver.context import Services
from authserver.sca.session import ACR_SCA
from tests.ob_consents import approved_payment_tokens
from tests.ob_consents import approved_tokens
from tests.ob_consents import as_param
from tests.ob_consents import consent_state
from tests.ob_consents import create_consent
from tests.ob_consents import create_payment_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import payment_rar
from tests.ob_consents import seed_accounts
from tests.ob_consents import text_of
from tests.par import page
from tests.par import post_form
from tppkit import Tpp
from tppkit import csrf_token

DASHBOARD = "/account/consents"


@pytest.fixture
def accounts(app: Flask, user: str) -> list[Account]:
    return seed_accounts(app, user)


def text(response: Any) -> str:
    return text_of(response.get_data(as_text=True))


def test_an_open_banking_consent_is_listed_in_words_with_its_history(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    claims = intent_claims(consent_id, "id_token")
    approved_tokens(client, services_, tpp, accounts[0], claims=as_param(claims))
    listing = page(client, services_, DASHBOARD)
    assert listing.status_code == 200
    words = text(listing)
    assert "tpp-one (test)" in words
    assert "Account access" in words
    assert "Active" in words
    assert "Your balances" in words
    # The chosen account, masked to its last four characters; not the other one.
    assert f"{accounts[0].nickname} {accounts[0].masked_number}" in words
    assert accounts[1].nickname not in words
    assert accounts[0].identifiers[0].identification not in listing.get_data(as_text=True)
    assert "AUTH" not in words  # status in words, never the wire code
    detail = page(client, services_, f"{DASHBOARD}/{consent_id}")
    assert detail.status_code == 200
    shown = text(detail)
    assert "The company asked for it" in shown
    assert "You approved it" in shown
    rows = re.findall(r"<tr>\s*<td", detail.get_data(as_text=True))
    assert len(rows) == 2


def test_withdrawal_shows_in_the_history_and_takes_away_the_button(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    approved_tokens(
        client, services_, tpp, accounts[0], claims=as_param(intent_claims(consent_id, "id_token"))
    )
    confirm = page(client, services_, f"{DASHBOARD}/{consent_id}/withdraw")
    form = {"csrf_token": csrf_token(confirm.get_data(as_text=True)), "withdraw": "Yes"}
    done = post_form(client, services_, f"{DASHBOARD}/{consent_id}/withdraw", form)
    assert done.status_code == 303
    assert consent_state(app, consent_id)[0] == "CANC"
    detail = page(client, services_, f"{DASHBOARD}/{consent_id}")
    assert "You withdrew it" in text(detail)
    assert "Withdrawn" in text(detail)
    assert f"{consent_id}/withdraw" not in detail.get_data(as_text=True)
    # Asking again (a second tab) changes nothing and shows where it stands.
    again = page(client, services_, f"{DASHBOARD}/{consent_id}/withdraw")
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"{DASHBOARD}/{consent_id}")


def test_an_approved_payment_cannot_be_withdrawn_and_the_page_says_so(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    approved_payment_tokens(
        client,
        services_,
        tpp,
        accounts[0],
        scope="openid payments:write",
        authorization_details=as_param(payment_rar(consent_id)),
    )
    listing = text(page(client, services_, DASHBOARD))
    assert "One payment" in listing
    assert "£1,250.00" in listing
    assert "ACME Ltd" in listing
    assert "Approved, not yet paid" in listing
    detail = page(client, services_, f"{DASHBOARD}/{consent_id}")
    assert "cannot be withdrawn" in text(detail)
    assert f"{consent_id}/withdraw" not in detail.get_data(as_text=True)
    # A forged withdrawal is a clear 400 and leaves the consent as it was.
    token = csrf_token(page(client, services_, "/login").get_data(as_text=True))
    refused = post_form(
        client, services_, f"{DASHBOARD}/{consent_id}/withdraw", {"csrf_token": token}
    )
    assert refused.status_code == 400
    assert "cannot be withdrawn" in refused.get_data(as_text=True)
    assert consent_state(app, consent_id)[0] == AUTH


@pytest.mark.parametrize("consent_id", ["no-such-consent", "%00", "x" * 300])
def test_an_unknown_or_malformed_consent_is_not_found(
    client: FlaskClient, services_: Services, user: str, consent_id: str
) -> None:
    with client.session_transaction(base_url=services_.settings.issuer) as session:
        session["uid"] = user
    assert page(client, services_, f"{DASHBOARD}/{consent_id}").status_code == 404


def test_a_strongly_authenticated_session_is_let_in(
    client: FlaskClient, services_: Services, user: str
) -> None:
    with client.session_transaction(base_url=services_.settings.issuer) as session:
        session["uid"] = user
        session["acr"] = ACR_SCA
    assert page(client, services_, DASHBOARD).status_code == 200


def test_a_session_of_a_user_who_no_longer_exists_is_sent_to_sign_in(
    client: FlaskClient, services_: Services
) -> None:
    with client.session_transaction(base_url=services_.settings.issuer) as session:
        session["uid"] = "00000000-0000-0000-0000-000000000000"
    answer = page(client, services_, DASHBOARD)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/login")
