"""The payments API through real HTTP: consents, funds confirmation, a payment made once,
reads of it, with real client-credentials and authorization-code tokens (DPoP), real
``x-jws-signature``s and the response signature checked by PyJWT against ``/jwks``."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.audit.models import AuditEvent
from authserver.context import Services
from authserver.db import db
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.payments.models import DomesticPaymentRow
from tests.openapi.contract import Contract
from tests.openbanking import history
from tests.openbanking import status_of
from tests.payments.kit import CONSENTS
from tests.payments.kit import PAYEE_IBAN
from tests.payments.kit import PAYMENTS
from tests.payments.kit import PispCaller
from tests.payments.kit import authorise
from tests.payments.kit import cc_caller
from tests.payments.kit import consent_body
from tests.payments.kit import create_consent
from tests.payments.kit import debtor_account
from tests.payments.kit import error_codes
from tests.payments.kit import initiation
from tests.payments.kit import payer
from tests.payments.kit import payment_body
from tests.payments.test_message_signing import ObPyJWS
from tests.payments.test_message_signing import attach
from tppkit import Tpp

ANCHOR = "openbanking.org.uk"


@pytest.fixture
def tpp_cc(client: FlaskClient, services_: Services, tpp: Tpp) -> PispCaller:
    return cc_caller(client, services_, tpp)


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client.get("/openapi.json").get_json())


@pytest.fixture
def authorised(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> tuple[str, PispCaller]:
    """An AUTH payment consent for ``user``'s debtor account (balance 100.00) and a payer."""
    debtor_account(app, services_, user)
    consent_id = create_consent(tpp_cc)
    authorise(app, consent_id, user)
    return consent_id, payer(app, client, services_, tpp, user, consent_id)


def verify_response_signature(client: FlaskClient, response: TestResponse) -> dict[str, Any]:
    """PyJWT, independently of our code: the detached JWS over the exact body, by a key
    of /jwks; returns its protected header."""
    detached = response.headers["x-jws-signature"]
    attached = attach(detached, response.get_data())
    header = ObPyJWS().get_unverified_header(attached)
    keys = {key["kid"]: key for key in client.get("/jwks").get_json()["keys"]}
    public = jwt.PyJWK(keys[header["kid"]])
    ObPyJWS().decode_complete(attached, key=public, algorithms=["PS256", "ES256"])
    return header


# -- consents ---------------------------------------------------------------------------


def test_post_consent_creates_an_awaiting_consent_signed_and_documented(
    client: FlaskClient, tpp_cc: PispCaller, contract: Contract, app: Flask
) -> None:
    response = tpp_cc.post(CONSENTS, consent_body())

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    data = body["Data"]
    assert data["Status"] == "AWAU"
    assert data["Initiation"] == initiation()
    assert body["Risk"] == {"PaymentContextCode": "TransferToThirdParty"}
    assert body["Links"]["Self"].endswith(f"{PISP_PREFIX}{CONSENTS}/{data['ConsentId']}")
    contract.check(PISP_PREFIX + CONSENTS, "post", 201, body)
    header = verify_response_signature(client, response)
    assert header["http://openbanking.org.uk/tan"] == ANCHOR
    got = tpp_cc.get(f"{CONSENTS}/{data['ConsentId']}")
    assert got.status_code == 200
    assert got.get_json()["Data"] == data
    contract.check(PISP_PREFIX + CONSENTS + "/{ConsentId}", "get", 200, got.get_json())
    verify_response_signature(client, got)


def test_a_payment_is_made_once_and_consumes_its_consent(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    authorised: tuple[str, PispCaller],
    tpp_cc: PispCaller,
    contract: Contract,
) -> None:
    consent_id, caller = authorised

    response = caller.post(PAYMENTS, payment_body(consent_id))

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    contract.check(PISP_PREFIX + PAYMENTS, "post", 201, body)
    verify_response_signature(client, response)
    data = body["Data"]
    assert (data["ConsentId"], data["Status"]) == (consent_id, "ACSC")
    assert data["Initiation"] == initiation()
    payment_id = data["DomesticPaymentId"]
    assert status_of(app, consent_id) == "COND"
    assert history(app, consent_id)[-1][1:] == (
        "COND",
        f"client:{caller.tpp.client_id}",
        f"used by payment {payment_id}",
    )
    with app.app_context():
        row = db.session.get(DomesticPaymentRow, payment_id)
        assert row is not None
        assert row.amount_minor == 2550
        assert PAYEE_IBAN not in row.creditor_sealed
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.resource == f"payment:{payment_id}")
        ).all()
        assert [e.event_type for e in events] == ["payment.created"]
        assert events[0].changes["amount"] == "25.50"
        assert PAYEE_IBAN not in json.dumps(events[0].changes)
        consumed = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.resource == f"consent:{consent_id}",
                AuditEvent.event_type == "consent.consumed",
            )
        ).all()
        assert [(e.changes["from"], e.changes["status"]) for e in consumed] == [("AUTH", "COND")]

    second = caller.post(PAYMENTS, payment_body(consent_id))
    assert second.status_code == 400
    assert error_codes(second) == [("U009", "Data.ConsentId")]

    read = tpp_cc.get(f"{PAYMENTS}/{payment_id}")
    assert read.status_code == 200
    assert read.get_json()["Data"] == data
    contract.check(PISP_PREFIX + PAYMENTS + "/{DomesticPaymentId}", "get", 200, read.get_json())
    details = tpp_cc.get(f"{PAYMENTS}/{payment_id}/payment-details")
    assert [s["Status"] for s in details.get_json()["Data"]["PaymentStatus"]] == ["ACSP", "ACSC"]
    contract.check(
        PISP_PREFIX + PAYMENTS + "/{DomesticPaymentId}/payment-details",
        "get",
        200,
        details.get_json(),
    )


def test_a_payment_replayed_with_its_key_is_the_same_answer_and_no_second_payment(
    app: Flask, client: FlaskClient, authorised: tuple[str, PispCaller]
) -> None:
    consent_id, caller = authorised
    body = json.dumps(payment_body(consent_id)).encode()
    first = caller.post(PAYMENTS, body, key="pay-1")
    again = caller.post(PAYMENTS, body, key="pay-1")
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["x-jws-signature"] == first.headers["x-jws-signature"]
    with app.app_context():
        made = db.session.scalars(
            sa.select(DomesticPaymentRow.payment_id).where(
                DomesticPaymentRow.consent_id == consent_id
            )
        ).all()
    assert made == [first.get_json()["Data"]["DomesticPaymentId"]]
