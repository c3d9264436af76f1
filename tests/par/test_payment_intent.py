"""PAR names a domestic-payment consent: UK OB ``claims`` (openbanking_intent_id) or RFC 9396
``authorization_details`` of type ``payment_initiation``; the RAR type must fit the
consent's kind, and only an AWAU, unexpired payment consent of the pushing client passes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from tests.ob_consents import as_param
from tests.ob_consents import create_consent
from tests.ob_consents import create_payment_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import payment_rar
from tests.ob_consents import rar
from tests.par.test_intent_binding import assert_naming_refused
from tests.par.test_intent_binding import assert_refused
from tests.par.test_intent_binding import decide
from tests.par.test_intent_binding import push_plain
from tests.par.test_intent_binding import push_signed
from tests.par.test_intent_binding import stored
from tppkit import Tpp

UK = "claims"
RAR = "authorization_details"
WRONG_TYPE = "The authorization_details type does not match the consent."


def naming(form: str, consent_id: str) -> dict[str, str]:
    """The plain PAR parameter naming the payment consent ``consent_id`` in ``form``."""
    value = intent_claims(consent_id) if form == UK else payment_rar(consent_id)
    return {form: as_param(value)}


# -- accepted ---------------------------------------------------------------------------


def test_uk_form_binds_a_payment_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    response = push_plain(
        client, services_, tpp, scope="openid payments:write", **naming(UK, consent_id)
    )
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.intent_form) == (consent_id, "claims")
    assert request.details_type is None


def test_rar_payment_initiation_binds_a_payment_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    response = push_plain(
        client, services_, tpp, scope="openid payments:write", **naming(RAR, consent_id)
    )
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.intent_form) == (consent_id, "authorization_details")
    assert request.details_type == "payment_initiation"


def test_rar_payment_initiation_inside_a_signed_request_object_binds_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    response = push_signed(client, services_, tpp, authorization_details=payment_rar(consent_id))
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.details_type) == (consent_id, "payment_initiation")


def test_the_scope_is_not_compared_with_the_consent_kind(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    # As for account access: the payment API asks for payments:write on the token itself.
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    response = push_plain(client, services_, tpp, **naming(UK, consent_id))
    assert stored(app, services_, tpp, response).consent_id == consent_id


# -- the RAR type must be the consent's ------------------------------------------------


def test_account_access_type_naming_a_payment_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    response = push_plain(client, services_, tpp, authorization_details=as_param(rar(consent_id)))
    assert_refused(response, "invalid_authorization_details", WRONG_TYPE)


def test_payment_initiation_type_naming_an_account_access_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    response = push_plain(client, services_, tpp, **naming(RAR, consent_id))
    assert_refused(response, "invalid_authorization_details", WRONG_TYPE)


def test_payment_initiation_with_an_extra_field_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    details = [{"type": "payment_initiation", "consent_id": "c-1", "instructedAmount": {}}]
    response = push_plain(client, services_, tpp, authorization_details=as_param(details))
    assert_refused(
        response, "invalid_authorization_details", "Unknown field in authorization_details."
    )


# -- the payment consent must be this client's, awaiting authorisation and unexpired -----


@pytest.mark.parametrize("form", [UK, RAR])
def test_an_unknown_payment_consent_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, form: str
) -> None:
    assert_naming_refused(
        client, services_, tpp, naming(form, "no-such-consent"), "The consent is unknown."
    )


@pytest.mark.parametrize("form", [UK, RAR])
def test_another_clients_payment_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, form: str
) -> None:
    tpp, other = make_tpp("tpp-one"), make_tpp("tpp-two")
    consent_id = create_payment_consent(app, services_, other.client_id)
    assert_naming_refused(
        client, services_, tpp, naming(form, consent_id), "The consent belongs to another client."
    )


@pytest.mark.parametrize("form", [UK, RAR])
def test_an_authorised_payment_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, form: str
) -> None:
    consent_id = create_payment_consent(app, services_, tpp.client_id)
    decide(app, consent_id, user)
    assert_naming_refused(
        client,
        services_,
        tpp,
        naming(form, consent_id),
        "The consent is not awaiting authorisation.",
    )


@pytest.mark.parametrize("form", [UK, RAR])
def test_an_expired_payment_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock, form: str
) -> None:
    expiry = clock.now() + timedelta(seconds=30)
    consent_id = create_payment_consent(app, services_, tpp.client_id, expires_at=expiry)
    clock.advance(30)
    assert_naming_refused(
        client, services_, tpp, naming(form, consent_id), "The consent has expired."
    )


def test_a_foreign_payment_consent_named_with_the_wrong_type_says_foreign(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    # The ownership check comes first: another client's consent reveals nothing of its kind.
    tpp, other = make_tpp("tpp-one"), make_tpp("tpp-two")
    consent_id = create_payment_consent(app, services_, other.client_id)
    response = push_plain(client, services_, tpp, authorization_details=as_param(rar(consent_id)))
    assert_refused(
        response, "invalid_authorization_details", "The consent belongs to another client."
    )
