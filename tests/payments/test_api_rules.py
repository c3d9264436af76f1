"""Each refusal of the payments API with its code, idempotent replays, the racing pair,
and funds confirmation, through real HTTP with real tokens and signatures."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.accounts.models import AccountBalanceRow
from authserver.context import Services
from authserver.db import db
from authserver.payments.models import DomesticPaymentRow
from tests.openbanking import status_of
from tests.payments.kit import CONSENTS
from tests.payments.kit import DEBTOR
from tests.payments.kit import PAYMENTS
from tests.payments.kit import PispCaller
from tests.payments.kit import authorise
from tests.payments.kit import cc_caller
from tests.payments.kit import consent_body
from tests.payments.kit import create_consent
from tests.payments.kit import debtor_account
from tests.payments.kit import encode
from tests.payments.kit import error_codes
from tests.payments.kit import initiation
from tests.payments.kit import payer
from tests.payments.kit import payment_body
from tppkit import Tpp
from tppkit import generate_key


@pytest.fixture
def tpp_cc(client: FlaskClient, services_: Services, tpp: Tpp) -> PispCaller:
    return cc_caller(client, services_, tpp)


def authorised_payer(
    app: Flask,
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    user: str,
    tpp_cc: PispCaller,
    *,
    balance: str = "100.00",
    init: dict[str, Any] | None = None,
) -> tuple[str, PispCaller]:
    debtor_account(app, svc, user, balance=balance)
    consent_id = create_consent(tpp_cc, init)
    authorise(app, consent_id, user)
    return consent_id, payer(app, client, svc, tpp, user, consent_id)


def payments_of(app: Flask, consent_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(DomesticPaymentRow.status).where(
                    DomesticPaymentRow.consent_id == consent_id
                )
            )
        )


def balance_of(app: Flask) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(AccountBalanceRow.amount_minor).where(
                    AccountBalanceRow.account_id == DEBTOR
                )
            )
            or 0
        )


# -- validation (API-2), a few representative rules; the parser's tests cover all -------


def test_every_failing_field_is_listed(tpp_cc: PispCaller) -> None:
    init = initiation(
        InstructedAmount={"Amount": "10.001", "Currency": "GBP"},
        CreditorAccount={
            "SchemeName": "UK.OBIE.IBAN",
            "Identification": "GB82WEST12345698765433",  # check digits wrong
            "Name": "ACME Inc",
        },
    )
    response = tpp_cc.post(CONSENTS, consent_body(init))
    assert response.status_code == 400
    paths = {path for _, path in error_codes(response)}
    assert paths == {
        "Data.Initiation.InstructedAmount.Amount",
        "Data.Initiation.CreditorAccount.Identification",
    }


def test_an_unknown_currency_is_refused(tpp_cc: PispCaller) -> None:
    init = initiation(InstructedAmount={"Amount": "10.00", "Currency": "XYZ"})
    response = tpp_cc.post(CONSENTS, consent_body(init))
    assert response.status_code == 400
    assert [p for _, p in error_codes(response)] == ["Data.Initiation.InstructedAmount.Currency"]


def test_an_unknown_field_is_refused(tpp_cc: PispCaller) -> None:
    body = consent_body()
    body["Data"]["Surprise"] = 1
    response = tpp_cc.post(CONSENTS, body)
    assert error_codes(response) == [("U005", "Data.Surprise")]


def test_a_body_that_is_not_json_is_415(tpp_cc: PispCaller) -> None:
    response = tpp_cc.post(CONSENTS, consent_body(), content_type="text/plain")
    assert response.status_code == 415
    assert error_codes(response) == [("U010", "Content-Type")]


def test_an_authorization_code_token_cannot_create_a_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    _, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    response = caller.post(CONSENTS, consent_body())
    assert response.status_code == 403
    assert error_codes(response) == [("U006", "Authorization")]


# -- idempotency (API-3) ---------------------------------------------------------------


def test_a_replay_is_byte_identical_and_another_body_is_422(tpp_cc: PispCaller) -> None:
    body = encode(consent_body())
    first = tpp_cc.post(CONSENTS, body, key="k-1")
    again = tpp_cc.post(CONSENTS, body, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["x-jws-signature"] == first.headers["x-jws-signature"]

    other = tpp_cc.post(CONSENTS, consent_body(initiation(EndToEndIdentification="E2")), key="k-1")
    assert other.status_code == 422
    assert error_codes(other) == [("U006", "x-idempotency-key")]


def test_a_missing_idempotency_key_is_refused(tpp_cc: PispCaller) -> None:
    response = tpp_cc.post(CONSENTS, consent_body(), headers={"x-idempotency-key": ""})
    assert error_codes(response) == [("U007", "x-idempotency-key")]


def test_two_identical_concurrent_payments_execute_once(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    statuses = race(app, caller, [payment_body(consent_id)] * 2, keys=["same", "same"])
    assert sorted(statuses)[0] == 201
    assert set(statuses) <= {201, 409}
    assert payments_of(app, consent_id) == ["ACSC"]
    assert balance_of(app) == 10000 - 2550


# -- message signing (API-5) -------------------------------------------------------------


def bad_signature(caller: PispCaller, body: bytes, case: str) -> str:
    if case == "tampered":
        return caller.sign(body + b" ")
    if case == "foreign key":
        return caller.sign(body, key=generate_key(caller.tpp.alg))
    if case == "no crit":
        return caller.sign(body, crit=None)
    if case == "stale iat":
        stale = int(caller.svc.clock.time()) - 3600
        return caller.sign(body, None, **{"http://openbanking.org.uk/iat": stale})
    return ""


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered", [("U015", "x-jws-signature")]),
        ("foreign key", [("U016", "kid")]),
        ("no crit", [("U017", "crit")]),
        ("stale iat", [("U016", "http://openbanking.org.uk/iat")]),
        ("missing", [("U019", "x-jws-signature")]),
    ],
)
def test_a_bad_request_signature_is_refused_with_its_code(
    tpp_cc: PispCaller, case: str, expected: list[tuple[str, str]]
) -> None:
    body = encode(consent_body())
    signature = bad_signature(tpp_cc, body, case)
    response = tpp_cc.post(CONSENTS, body, signature=signature)
    assert response.status_code == 400
    assert error_codes(response) == expected


# -- the payment's rules ---------------------------------------------------------------


def test_a_payment_whose_initiation_differs_is_400_u008(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    more = initiation(InstructedAmount={"Amount": "25.51", "Currency": "GBP"})
    response = caller.post(PAYMENTS, payment_body(consent_id, more))
    assert error_codes(response) == [("U008", "Data.Initiation")]
    assert status_of(app, consent_id) == "AUTH"
    assert payments_of(app, consent_id) == []


def test_a_payment_for_another_consent_than_the_tokens_is_400_u008(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    other = create_consent(tpp_cc)
    response = caller.post(PAYMENTS, payment_body(other))
    assert error_codes(response) == [("U008", "Data.ConsentId")]


def test_an_unfunded_payment_is_recorded_rejected_and_uses_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(
        app, client, services_, tpp, user, tpp_cc, balance="20.00"
    )
    funds = caller.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    assert funds.status_code == 200
    assert funds.get_json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is False

    response = caller.post(PAYMENTS, payment_body(consent_id))
    assert response.status_code == 201
    data = response.get_json()["Data"]
    assert data["Status"] == "RJCT"
    assert data["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert status_of(app, consent_id) == "COND"
    assert balance_of(app) == 2000


def test_funds_confirmation_needs_the_consents_own_token(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    funds = caller.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    result = funds.get_json()["Data"]["FundsAvailableResult"]
    assert result["FundsAvailable"] is True
    refused = tpp_cc.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    assert error_codes(refused) == [("U006", "Authorization")]


def test_another_clients_consent_and_payment_are_404(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    tpp_cc: PispCaller,
    make_tpp: Any,
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    payment_id = caller.post(PAYMENTS, payment_body(consent_id)).get_json()["Data"][
        "DomesticPaymentId"
    ]
    stranger = cc_caller(client, services_, make_tpp("tpp-two"))
    for path in (
        f"{CONSENTS}/{consent_id}",
        f"{PAYMENTS}/{payment_id}",
        f"{PAYMENTS}/{payment_id}/payment-details",
        f"{PAYMENTS}/no-such-payment",
    ):
        response = stranger.get(path)
        assert response.status_code == 404, path
        assert error_codes(response) == [("U011", None)]


# -- concurrency (part 7) -------------------------------------------------------------------


def race(app: Flask, caller: PispCaller, bodies: list[Any], *, keys: list[str]) -> list[int]:
    """POST each body at once from its own thread and test client; their statuses."""
    prepared = []
    for body, key in zip(bodies, keys, strict=True):
        data = encode(body)
        headers = caller._headers("POST", PAYMENTS)  # noqa: SLF001 -- a fresh proof each
        prepared.append((data, key, headers, caller.sign(data)))
    barrier = threading.Barrier(len(prepared))
    statuses: list[int] = []

    def send(data: bytes, key: str, headers: dict[str, str], signature: str) -> None:
        own = app.test_client()
        barrier.wait()
        response: TestResponse = own.post(
            "/open-banking/v4.0/pisp" + PAYMENTS,
            data=data,
            headers={**headers, "x-idempotency-key": key, "x-jws-signature": signature},
            content_type="application/json",
            base_url=caller.svc.settings.issuer,
        )
        statuses.append(response.status_code)
        if response.status_code == 400:
            assert json.loads(response.get_data())["Errors"][0]["ErrorCode"] == "U009"

    threads = [threading.Thread(target=send, args=item) for item in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == len(prepared)
    return statuses


def test_two_racing_payments_on_one_consent_pay_once(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    statuses = race(app, caller, [payment_body(consent_id)] * 2, keys=["first", "second"])
    assert sorted(statuses) == [201, 400]
    assert payments_of(app, consent_id) == ["ACSC"]
    assert balance_of(app) == 10000 - 2550


def test_a_consent_not_yet_authorised_pays_nothing(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    debtor_account(app, services_, user)
    consent_id = create_consent(tpp_cc)
    caller = payer(app, client, services_, tpp, user, consent_id)
    response = caller.post(PAYMENTS, payment_body(consent_id))
    assert error_codes(response) == [("U009", "Data.ConsentId")]
    assert status_of(app, consent_id) == "AWAU"
    assert tpp_cc.get(f"{CONSENTS}/{consent_id}").get_json()["Data"]["Status"] == "AWAU"


def test_a_used_consent_reads_cond(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    consent_id, caller = authorised_payer(app, client, services_, tpp, user, tpp_cc)
    assert caller.post(PAYMENTS, payment_body(consent_id)).status_code == 201
    assert tpp_cc.get(f"{CONSENTS}/{consent_id}").get_json()["Data"]["Status"] == "COND"
    funds = caller.get(f"{CONSENTS}/{consent_id}/funds-confirmation")
    assert error_codes(funds) == [("U009", None)]
