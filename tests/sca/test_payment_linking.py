"""Dynamic linking (issue 13 item 4): a payment consent is approved only after a passkey
authentication whose challenge commits to the hash of (consent id, amount, currency,
payee), on a page that shows those values; changed payment details after the challenge
make the approval void."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.consent.models import Consent
from authserver.consent.service import PaymentLinkVoidError
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.sca.linking import payment_digest
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.ob_consents import as_param
from tests.ob_consents import consent_state
from tests.ob_consents import create_payment_consent
from tests.ob_consents import payment_rar
from tests.ob_consents import seed_accounts
from tests.ob_consents import submit_consent
from tests.par import authorize_path
from tests.par import login
from tests.par import page
from tests.par import post_form
from tests.par import push
from tests.sca.authenticator import SoftAuthenticator
from tests.sca.authenticator import page_options
from tests.sca.authenticator import unb64url
from tests.sca.test_passkeys import ORIGIN
from tests.sca.test_passkeys import RP_ID
from tests.sca.test_passkeys import enrol
from tppkit import Tpp
from tppkit import csrf_token
from tppkit import query_params

SCOPE = "openid payments:write"


@pytest.fixture
def key(app: Flask, services_: Services, user: str) -> SoftAuthenticator:
    """``user`` has two accounts and a passkey."""
    seed_accounts(app, user)
    authenticator = SoftAuthenticator(RP_ID, ORIGIN)
    enrolling = app.test_client()
    assert login(enrolling, services_).status_code == 303
    assert enrol(enrolling, services_, authenticator).status_code == 200
    return authenticator


def signed_in_with_passkey(
    client: FlaskClient, svc: Services, tpp: Tpp, consent_id: str, key: SoftAuthenticator
) -> TestResponse:
    """PAR naming the payment consent, /authorize, password and passkey: then /consent."""
    pushed = push(
        client, svc, tpp, scope=SCOPE, authorization_details=as_param(payment_rar(consent_id))
    )
    assert page(client, svc, authorize_path(tpp.client_id, pushed.request_uri)).status_code == 303
    assert login(client, svc).headers["Location"].endswith("/login/passkey")
    html = page(client, svc, "/login/passkey").get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "credential": key.get(page_options(html))}
    done = post_form(client, svc, "/login/passkey", form)
    assert done.headers["Location"].endswith("/consent"), done.get_data(as_text=True)
    return page(client, svc, "/consent")


def confirm(client: FlaskClient, svc: Services, html: str, answer: str) -> TestResponse:
    form = {"csrf_token": csrf_token(html), "credential": answer}
    return post_form(client, svc, "/consent/confirm", form)


def change_amount(app: Flask, consent_id: str, amount: str) -> None:
    """The stored payment details change (as a tampered row or a bug would)."""
    with app.app_context():
        consent = db.session.get(Consent, consent_id)
        assert consent is not None
        details: dict[str, Any] = dict(consent.details or {})
        initiation = dict(details["Initiation"])
        initiation["InstructedAmount"] = {"Amount": amount, "Currency": "GBP"}
        details["Initiation"] = initiation
        consent.details = details
        db.session.commit()


def test_the_payment_hash_covers_each_detail() -> None:
    payee = {"scheme": "UK.OBIE.IBAN", "identification": "GB29NWBK60161331926819", "name": "A"}
    base = payment_digest("c1", "45.00", "GBP", payee)
    assert len(bytes.fromhex(base)) == 32
    assert base == payment_digest("c1", "45.00", "GBP", dict(payee))
    others = [
        payment_digest("c2", "45.00", "GBP", payee),
        payment_digest("c1", "45.01", "GBP", payee),
        payment_digest("c1", "45.00", "EUR", payee),
        payment_digest("c1", "45.00", "GBP", {**payee, "name": "B"}),
        payment_digest("c1", "45.00", "GBP", {**payee, "identification": "GB00"}),
        payment_digest("c1", "45.00", "GBP", {**payee, "scheme": "UK.OBIE.BBAN"}),
    ]
    assert base not in others
    assert len(set(others)) == len(others)


def test_a_payment_is_approved_after_a_passkey_linked_to_what_the_page_shows(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, key: SoftAuthenticator
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    stepped = signed_in_with_passkey(client, services_, tpp, consent_id, key)
    # The login passkey is not linked to this payment: first the confirmation page.
    assert stepped.status_code == 303
    assert stepped.headers["Location"].endswith("/consent/confirm")
    shown = page(client, services_, "/consent/confirm")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert '<dd class="amount">£1,250.00</dd>' in html
    assert '<dd class="currency">GBP</dd>' in html
    assert '<dd class="payee">ACME Ltd</dd>' in html
    assert '<dd class="payee-account">••••5698</dd>' in html
    options = page_options(html)
    assert options["userVerification"] == "required"
    with app.app_context():
        digest = experience(app).consents.payment_link(consent_id)
    # The challenge commits to the payment hash (then a random nonce).
    assert unb64url(options["challenge"])[:32] == bytes.fromhex(digest)
    assert len(unb64url(options["challenge"])) > 32
    confirmed = confirm(client, services_, html, key.get(options))
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)
    assert confirmed.headers["Location"].endswith("/consent")
    consent_page = page(client, services_, "/consent")
    assert consent_page.status_code == 200
    decided = submit_consent(client, services_, consent_page, debtor=first_account(app))
    assert decided.status_code == 303, decided.get_data(as_text=True)
    assert "code" in query_params(decided.headers["Location"])
    assert consent_state(app, consent_id)[0] == "AUTH"


def first_account(app: Flask) -> str:
    """The AccountId of the signed-in user's first account."""
    with app.app_context():
        found = experience(app).users.get(USERNAME)
        assert found is not None
        return experience(app).accounts.accounts_of(found.id)[0].account_id


def test_changed_details_after_the_challenge_void_the_confirmation(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, key: SoftAuthenticator
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    signed_in_with_passkey(client, services_, tpp, consent_id, key)
    html = page(client, services_, "/consent/confirm").get_data(as_text=True)
    options = page_options(html)
    change_amount(app, consent_id, "9999.00")
    refused = confirm(client, services_, html, key.get(options))
    assert refused.status_code == 401
    assert "The payment was not confirmed." in refused.get_data(as_text=True)
    # Still not linked: the consent page sends the user back to confirm the new amount.
    again = page(client, services_, "/consent")
    assert again.headers["Location"].endswith("/consent/confirm")
    assert "£9,999.00" in page(client, services_, "/consent/confirm").get_data(as_text=True)
    assert consent_state(app, consent_id)[0] == "AWAU"


def test_changed_details_after_the_confirmation_void_the_approval(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, key: SoftAuthenticator
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    signed_in_with_passkey(client, services_, tpp, consent_id, key)
    html = page(client, services_, "/consent/confirm").get_data(as_text=True)
    assert confirm(client, services_, html, key.get(page_options(html))).status_code == 303
    consent_page = page(client, services_, "/consent")
    assert consent_page.status_code == 200
    change_amount(app, consent_id, "1.00")
    decided = submit_consent(client, services_, consent_page, debtor=first_account(app))
    # No code: the user is sent to confirm the payment as it now is.
    assert decided.status_code == 303
    assert decided.headers["Location"].endswith("/consent/confirm")
    assert consent_state(app, consent_id)[0] == "AWAU"


def test_the_consent_service_refuses_an_approval_linked_to_other_details(
    app: Flask, services_: Services, tpp: Tpp, user: str
) -> None:
    """The last guard, below the pages: authorise re-computes the hash from the stored
    details at the moment of approval."""
    seed_accounts(app, user)
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    with app.app_context():
        consents = experience(app).consents
        linked = consents.payment_link(consent_id)
        account = experience(app).accounts.accounts_of(user)[0].account_id
    change_amount(app, consent_id, "1.00")
    with app.app_context():
        with pytest.raises(PaymentLinkVoidError):
            experience(app).consents.authorise(
                consent_id,
                user_id=user,
                accounts=[account],
                request_id="t",
                require_link=True,
                linked=linked,
            )
        with pytest.raises(PaymentLinkVoidError):
            experience(app).consents.authorise(
                consent_id, user_id=user, accounts=[account], request_id="t", require_link=True
            )
    assert consent_state(app, consent_id)[0] == "AWAU"
    with app.app_context():
        current = experience(app).consents.payment_link(consent_id)
        assert current != linked
        experience(app).consents.authorise(
            consent_id,
            user_id=user,
            accounts=[account],
            request_id="t",
            require_link=True,
            linked=current,
        )
    assert consent_state(app, consent_id)[0] == "AUTH"


def test_a_user_without_a_second_factor_approves_a_payment_as_before(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    """With no factor to link (allowed while ``AUTHSERVER_SCA__SECOND_FACTOR=optional``)
    there is nothing to confirm with: the consent page as before (acr ``ca``)."""
    seed_accounts(app, user)
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    pushed = push(
        client,
        services_,
        tpp,
        scope=SCOPE,
        authorization_details=as_param(payment_rar(consent_id)),
    )
    page(client, services_, authorize_path(tpp.client_id, pushed.request_uri))
    assert login(client, services_).headers["Location"].endswith("/consent")
    assert page(client, services_, "/consent").status_code == 200
    assert page(client, services_, "/consent/confirm").headers["Location"].endswith("/consent")


@pytest.fixture
def totp_user(app: Flask, services_: Services) -> tuple[str, pyotp.TOTP]:
    """A user with TOTP only (no passkey) and two accounts."""
    with app.app_context():
        created = experience(app).users.create(USERNAME, PASSWORD, actor="test", totp=True)
        user_id = created.user.id
        assert created.totp_secret is not None
    seed_accounts(app, user_id)
    return user_id, pyotp.TOTP(created.totp_secret)


def signed_in_with_code(
    client: FlaskClient, svc: Services, tpp: Tpp, consent_id: str, codes: pyotp.TOTP
) -> TestResponse:
    """PAR naming the payment, /authorize, password and one-time code: then /consent."""
    pushed = push(
        client, svc, tpp, scope=SCOPE, authorization_details=as_param(payment_rar(consent_id))
    )
    page(client, svc, authorize_path(tpp.client_id, pushed.request_uri))
    assert login(client, svc).headers["Location"].endswith("/login/otp")
    html = page(client, svc, "/login/otp").get_data(as_text=True)
    form = {"csrf_token": csrf_token(html), "code": codes.at(svc.clock.time())}
    done = post_form(client, svc, "/login/otp", form)
    assert done.headers["Location"].endswith("/consent"), done.get_data(as_text=True)
    return page(client, svc, "/consent")


def confirm_with_code(client: FlaskClient, svc: Services, html: str, code: str) -> TestResponse:
    form = {"csrf_token": csrf_token(html), "code": code}
    return post_form(client, svc, "/consent/confirm/otp", form)


def test_a_totp_user_confirms_the_payment_with_a_code_beside_amount_and_payee(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    totp_user: tuple[str, pyotp.TOTP],
    clock: FrozenClock,
) -> None:
    _user_id, codes = totp_user
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    stepped = signed_in_with_code(client, services_, tpp, consent_id, codes)
    assert stepped.headers["Location"].endswith("/consent/confirm")
    html = page(client, services_, "/consent/confirm").get_data(as_text=True)
    assert '<dd class="amount">£1,250.00</dd>' in html
    assert '<dd class="payee">ACME Ltd</dd>' in html
    assert "One-time code" in html
    assert "data-ceremony" not in html  # no passkey: no ceremony
    # The login's code cannot be used again: a replay is refused.
    replayed = confirm_with_code(client, services_, html, codes.at(clock.time()))
    assert replayed.status_code == 401
    clock.advance(timedelta(seconds=30))
    confirmed = confirm_with_code(client, services_, html, codes.at(clock.time()))
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)
    consent_page = page(client, services_, "/consent")
    assert consent_page.status_code == 200
    decided = submit_consent(client, services_, consent_page, debtor=first_account(app))
    assert "code" in query_params(decided.headers["Location"])
    assert consent_state(app, consent_id)[0] == "AUTH"


def test_changed_details_after_the_code_page_void_the_code_confirmation(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    totp_user: tuple[str, pyotp.TOTP],
    clock: FrozenClock,
) -> None:
    _user_id, codes = totp_user
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    signed_in_with_code(client, services_, tpp, consent_id, codes)
    html = page(client, services_, "/consent/confirm").get_data(as_text=True)
    change_amount(app, consent_id, "9999.00")
    clock.advance(timedelta(seconds=30))
    refused = confirm_with_code(client, services_, html, codes.at(clock.time()))
    assert refused.status_code == 401
    assert page(client, services_, "/consent").headers["Location"].endswith("/consent/confirm")
    assert consent_state(app, consent_id)[0] == "AWAU"
