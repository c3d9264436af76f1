"""DATA-1 for payment consents: the account numbers of a consent's Initiation are sealed in
the consents table (and in the idempotency store's copy of the answer), yet the API still
echoes them in full, the payment's exact Initiation comparison still holds, and a value
moved to another consent does not open."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.crypto.envelope import DecryptionError
from authserver.db import db
from authserver.openbanking.idempotency import store_key
from tests.payments.kit import CONSENTS
from tests.payments.kit import DEBTOR_NUMBER
from tests.payments.kit import PAYEE_IBAN
from tests.payments.kit import PAYMENTS
from tests.payments.kit import PispCaller
from tests.payments.kit import authorise
from tests.payments.kit import cc_caller
from tests.payments.kit import create_consent
from tests.payments.kit import debtor_account
from tests.payments.kit import error_codes
from tests.payments.kit import initiation
from tests.payments.kit import payer
from tests.payments.kit import payment_body
from tppkit import Tpp

SORT_CODE_PAYEE = "20000055667788"
NAMED_DEBTOR = {
    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
    "Identification": DEBTOR_NUMBER,
    "Name": "A Person",
}


@pytest.fixture
def tpp_cc(client: FlaskClient, services_: Services, tpp: Tpp) -> PispCaller:
    return cc_caller(client, services_, tpp)


def raw_details(app: Flask) -> str:
    """The consents' details as the database holds them (text, whatever the backend)."""
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT details FROM consents")).scalars().all()
    return "\n".join(str(row) for row in rows)


def sort_code_initiation() -> dict[str, Any]:
    payee = {
        "SchemeName": "UK.OBIE.SortCodeAccountNumber",
        "Identification": SORT_CODE_PAYEE,
        "Name": "Bob's Plumbing",
        "SecondaryIdentification": "ROLL-0042",
    }
    return initiation(CreditorAccount=payee, DebtorAccount=dict(NAMED_DEBTOR))


def test_account_numbers_are_sealed_in_the_consents_table_and_echoed_in_full(
    app: Flask, tpp_cc: PispCaller
) -> None:
    iban_consent = create_consent(tpp_cc)
    sorted_init = sort_code_initiation()
    sort_code_consent = create_consent(tpp_cc, sorted_init)

    stored = raw_details(app)
    assert stored.count("Sealed") == 3  # two payees, one named debtor
    for secret in (PAYEE_IBAN, SORT_CODE_PAYEE, DEBTOR_NUMBER, "ROLL-0042"):
        assert secret not in stored
    assert "••••5432" in stored or "\\u2022\\u2022\\u2022\\u20225432" in stored

    for consent_id, sent in ((iban_consent, initiation()), (sort_code_consent, sorted_init)):
        response = tpp_cc.get(f"{CONSENTS}/{consent_id}")
        assert response.status_code == 200
        assert response.get_json()["Data"]["Initiation"] == sent


def test_the_exact_initiation_pays_and_another_payee_is_u008(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    debtor_account(app, services_, user)
    sent = sort_code_initiation()
    consent_id = create_consent(tpp_cc, sent)
    authorise(app, consent_id, user)
    paying = payer(app, client, services_, tpp, user, consent_id)

    other = sort_code_initiation()
    other["CreditorAccount"]["Identification"] = "20000055667789"
    refused = paying.post(PAYMENTS, payment_body(consent_id, other))
    assert refused.status_code == 400
    assert error_codes(refused) == [("U008", "Data.Initiation")]

    paid = paying.post(PAYMENTS, payment_body(consent_id, sent))
    assert paid.status_code == 201, paid.get_data(as_text=True)
    assert paid.get_json()["Data"]["Initiation"] == sent

    funds = paying.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    assert funds.status_code == 400  # used (COND): the consent pays no second time
    for secret in (SORT_CODE_PAYEE, DEBTOR_NUMBER):
        assert secret not in raw_details(app)


def test_funds_confirmation_reads_the_opened_amount(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    debtor_account(app, services_, user, balance="25.50")
    consent_id = create_consent(tpp_cc)
    authorise(app, consent_id, user)
    paying = payer(app, client, services_, tpp, user, consent_id)
    response = paying.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    assert response.status_code == 200
    assert response.get_json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is True


def test_a_sealed_account_number_opens_only_for_its_own_consent(
    app: Flask, services_: Services, tpp_cc: PispCaller
) -> None:
    first = create_consent(tpp_cc)
    second = create_consent(tpp_cc)
    with app.app_context():
        view = services_.consents.view(first)
        assert view is not None
        stored = view.details["Initiation"]
        assert services_.initiations.open(first, stored) == initiation()
        with pytest.raises(DecryptionError):
            services_.initiations.open(second, stored)  # copied to another row
        swapped = {**stored, "DebtorAccount": stored["CreditorAccount"]}
        with pytest.raises(DecryptionError):
            services_.initiations.open(first, swapped)  # moved to the other member


def test_the_stored_answer_for_an_idempotency_key_is_sealed_and_replays_the_same_bytes(
    app: Flask, services_: Services, tpp: Tpp, tpp_cc: PispCaller
) -> None:
    first = tpp_cc.post(CONSENTS, {"Data": {"Initiation": initiation()}, "Risk": {}}, key="k-1")
    assert first.status_code == 201
    assert PAYEE_IBAN in first.get_data(as_text=True)
    with app.app_context():
        raw = services_.store.get(store_key(tpp.client_id, "k-1"))
    assert raw is not None
    record = json.loads(raw)
    assert "body" not in record
    parts = [base64.urlsafe_b64decode(part) for part in record["sealed_body"].split(".")]
    assert all(PAYEE_IBAN.encode() not in part for part in [raw, *parts])

    again = tpp_cc.post(CONSENTS, {"Data": {"Initiation": initiation()}, "Risk": {}}, key="k-1")
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
