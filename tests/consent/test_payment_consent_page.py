"""The consent page for a domestic-payment consent named in PAR: who asks, the amount for
people, the payee, their masked account, the reference and the account to pay from; Approve
authorises the consent for exactly that account (AWAU → AUTH), Deny rejects it (AWAU →
RJCT) and the TPP gets access_denied."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from authserver.accounts.provider import Account
from authserver.accounts.sql import SqlAccountProvider
from authserver.consent.payment import format_amount
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.accounts.data import make_account
from tests.lifecycle import introspection
from tests.ob_consents import PAYEE_IBAN
from tests.ob_consents import approved_payment_tokens
from tests.ob_consents import as_param
from tests.ob_consents import consent_state
from tests.ob_consents import create_payment_consent
from tests.ob_consents import forged_account
from tests.ob_consents import initiation
from tests.ob_consents import intent_claims
from tests.ob_consents import open_named_consent_page
from tests.ob_consents import payment_rar
from tests.ob_consents import redirect_params
from tests.ob_consents import seed_accounts
from tests.ob_consents import submit_consent
from tests.ob_consents import text_of
from tests.par import SERVER_ALGS
from tests.par import server_keys
from tppkit import Tpp
from tppkit import query_params

NOT_YOURS = "This payment is to be made from an account that is not yours"
SCOPE = "openid payments:write"


@pytest.fixture
def accounts(app: Flask, user: str) -> list[Account]:
    return seed_accounts(app, user)


def open_payment_page(
    app: Flask,
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    *,
    rar_form: bool = True,
    **consent: Any,
) -> tuple[str, Any, Any]:
    """A payment consent named in PAR (RFC 9396 or UK form), the user signed in: (ConsentId,
    the pushed request, the page)."""
    consent_id = create_payment_consent(app, svc, tpp.client_id, **consent)
    pushed, shown = open_named_consent_page(
        client, svc, tpp, consent_id, rar_form=rar_form, payment=True, scope=SCOPE
    )
    return consent_id, pushed, shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1250.00", "GBP", "£1,250.00"),
        ("20.5", "EUR", "€20.50"),
        ("1000", "JPY", "JP¥1,000"),
        ("5", "USD", "US$5.00"),
        ("1.250", "BHD", "BHD1.250"),
    ],
)
def test_amounts_are_formatted_for_people_with_the_currencys_minor_units(
    amount: str, currency: str, shown: str
) -> None:
    assert format_amount(amount, currency) == shown


def test_page_shows_the_tpp_amount_payee_masked_account_reference_and_accounts(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    _consent_id, _pushed, shown = open_payment_page(app, client, services_, tpp)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    html = shown.get_data(as_text=True)
    words = text_of(html)
    with app.app_context():
        registered = services_.clients.get(tpp.client_id)
        assert registered is not None
    assert f"Allow {registered.client_name} to make this payment?" in words
    assert '<dd class="amount">£1,250.00</dd>' in html
    assert '<dd class="payee">ACME Ltd</dd>' in html
    assert '<dd class="payee-account">••••5698</dd>' in html
    assert "08080021325698" not in html
    assert '<dd class="reference">INV-2041</dd>' in html
    # An accessible choice: a fieldset with a legend, one labelled radio button per account.
    assert "<legend>Choose the account to pay from</legend>" in html
    for account in accounts:
        radio = re.search(
            rf'<input id="([^"]+)" name="debtor_account" type="radio" '
            rf'value="{account.account_id}"',
            html,
        )
        assert radio is not None, html
        label = f'<label for="{radio.group(1)}">{account.nickname} {account.masked_number}</label>'
        assert label in html
    assert "<script" not in html
    assert "style=" not in html
    assert "'unsafe-inline'" not in shown.headers["Content-Security-Policy"]


def test_an_iban_payee_in_euros_with_unstructured_lines(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    payment = initiation("20.5", "EUR", RemittanceInformation={"Unstructured": ["Rent May"]})
    payment["CreditorAccount"] = {
        "SchemeName": "UK.OBIE.IBAN",
        "Identification": PAYEE_IBAN,
        "Name": "Landlord & Co",
    }
    _consent_id, _pushed, shown = open_payment_page(app, client, services_, tpp, payment=payment)
    html = shown.get_data(as_text=True)
    assert '<dd class="amount">€20.50</dd>' in html
    assert '<dd class="payee">Landlord &amp; Co</dd>' in html
    assert '<dd class="payee-account">••••6819</dd>' in html
    assert '<dd class="reference">Rent May</dd>' in html


def test_picking_one_of_two_accounts_authorises_the_consent_with_that_debtor(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id, _pushed, shown = open_payment_page(app, client, services_, tpp)
    chosen = accounts[1].account_id
    decided = submit_consent(client, services_, shown, debtor=chosen)
    assert decided.status_code == 303, decided.get_data(as_text=True)
    assert "code" in query_params(decided.headers["Location"])
    assert consent_state(app, consent_id) == ("AUTH", [chosen], ["AWAU", "AUTH"])


def test_approve_without_an_account_shows_the_page_again_and_records_nothing(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id, _pushed, shown = open_payment_page(app, client, services_, tpp)
    again = submit_consent(client, services_, shown)
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "Choose the account to pay from, or press Deny." in html
    assert 'aria-describedby="consent-error"' in html
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])
    decided = submit_consent(client, services_, again, debtor=accounts[0].account_id)
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
    consent_id, _pushed, shown = open_payment_page(app, client, services_, tpp)
    refused = submit_consent(client, services_, shown, debtor=forged)
    assert refused.status_code == 400
    assert "Only one of your own accounts can pay." in refused.get_data(as_text=True)
    assert "Location" not in refused.headers
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])


def test_a_named_debtor_account_of_the_user_is_shown_and_used(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        now = services_.clock.now()
        make_account(provider, user, "acc-other", "40111122223333", now)
        held = make_account(provider, user, "acc-named", "40111199998888", now, nickname="Bills")
        db.session.commit()
    debtor = {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "40111199998888"}
    consent_id, _pushed, shown = open_payment_page(
        app, client, services_, tpp, payment=initiation(debtor=debtor)
    )
    html = shown.get_data(as_text=True)
    assert "Paid from Bills ••••8888" in text_of(html)
    assert 'type="radio"' not in html
    decided = submit_consent(client, services_, shown)
    assert decided.status_code == 303, decided.get_data(as_text=True)
    assert consent_state(app, consent_id)[:2] == ("AUTH", [held.account_id])


def test_a_named_debtor_account_that_is_not_the_users_cannot_be_approved(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    debtor = {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "11223344556677"}
    consent_id, _pushed, shown = open_payment_page(
        app, client, services_, tpp, payment=initiation(debtor=debtor)
    )
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert re.search(rf'<p class="error" role="alert"[^>]*>{NOT_YOURS}', html), html
    assert 'value="Approve"' not in html
    assert 'value="Deny"' in html
    # A forged Approve is refused all the same; nothing is recorded.
    refused = submit_consent(client, services_, shown, debtor=accounts[0].account_id)
    assert refused.status_code == 400
    assert NOT_YOURS in refused.get_data(as_text=True)
    assert consent_state(app, consent_id) == ("AWAU", [], ["AWAU"])
    # Deny still works: the TPP learns the user refused.
    denied = submit_consent(client, services_, shown, approve=False)
    assert denied.status_code == 303, denied.get_data(as_text=True)
    assert query_params(denied.headers["Location"])["error"] == "access_denied"
    assert consent_state(app, consent_id) == ("RJCT", [], ["AWAU", "RJCT"])


@pytest.mark.parametrize("response_mode", ["query", "jwt"])
def test_deny_rejects_the_payment_consent_and_the_tpp_gets_access_denied(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    accounts: list[Account],
    response_mode: str,
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    pushed, shown = open_named_consent_page(
        client, services_, tpp, consent_id, rar_form=True, payment=True, response_mode=response_mode
    )
    denied = submit_consent(client, services_, shown, approve=False)
    assert denied.status_code == 303
    params = redirect_params(client, services_, denied.headers["Location"], response_mode)
    assert params["error"] == "access_denied"
    assert params["state"] == pushed.params["state"]
    assert consent_state(app, consent_id) == ("RJCT", [], ["AWAU", "RJCT"])


def claims_of(client: FlaskClient, svc: Services, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, server_keys(client, svc), algorithms=SERVER_ALGS).claims)


def test_rar_form_tokens_carry_the_consent_and_the_debtor_account(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    rs: Tpp,
    accounts: list[Account],
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    chosen = accounts[1]
    body = approved_payment_tokens(
        client,
        services_,
        tpp,
        chosen,
        scope=SCOPE,
        authorization_details=as_param(payment_rar(consent_id)),
    )
    granted = [
        {
            "type": "payment_initiation",
            "consent_id": consent_id,
            "debtor_account": chosen.account_id,
        }
    ]
    assert body["authorization_details"] == granted
    access = claims_of(client, services_, body["access_token"])
    assert access["consent_id"] == consent_id
    assert access["authorization_details"] == granted
    assert access["scope"].split() == ["openid", "payments:write"]
    for caller in (tpp, rs):
        answer = introspection(client, services_, caller, body["access_token"])
        assert answer["active"] is True
        assert (answer["consent_id"], answer["authorization_details"]) == (consent_id, granted)


def test_uk_form_tokens_carry_the_consent_and_the_intent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    body = approved_payment_tokens(
        client,
        services_,
        tpp,
        accounts[0],
        scope=SCOPE,
        claims=as_param(intent_claims(consent_id)),
    )
    assert claims_of(client, services_, body["access_token"])["consent_id"] == consent_id
    assert claims_of(client, services_, body["id_token"])["openbanking_intent_id"] == consent_id
    assert "authorization_details" not in body
    assert consent_state(app, consent_id)[:2] == ("AUTH", [accounts[0].account_id])
