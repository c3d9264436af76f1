"""Real answers of the account-information endpoints fit ``/openapi.json``.

A TPP creates, reads and withdraws consents (client-credentials token), and reads
accounts, balances and transactions with a consent-bound DPoP token; every answer —
successes and refusals alike — is validated against the document the running app serves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.accounts.sql import SqlAccountProvider
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import AISP_PREFIX
from tests.accounts.data import make_account
from tests.accounts.data import make_transactions
from tests.accounts.data import store
from tests.accounts.kit import authorised_consent
from tests.accounts.kit import caller_for
from tests.lifecycle import client_credentials_token
from tests.openapi.contract import Contract
from tests.openbanking import CONSENTS
from tests.openbanking import call
from tests.openbanking import consent_body
from tppkit import Tpp

ONE = f"{CONSENTS}/{{ConsentId}}"


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    document: dict[str, Any] = client.get("/openapi.json").get_json()
    return Contract(document)


def test_consent_answers_fit_the_document(
    client: FlaskClient, services_: Services, tpp: Tpp, contract: Contract
) -> None:
    token = client_credentials_token(client, services_, tpp, scope="accounts:read")
    body = consent_body(
        Permissions=["ReadAccountsDetail", "ReadTransactionsBasic", "ReadTransactionsCredits"],
        TransactionFromDateTime="2026-01-01T00:00:00+00:00",
    )
    created = call(client, services_, "POST", CONSENTS, token, json=body)
    contract.check(CONSENTS, "post", created.status_code, created.get_json())
    consent_id = created.get_json()["Data"]["ConsentId"]

    read = call(client, services_, "GET", f"{CONSENTS}/{consent_id}", token)
    contract.check(ONE, "get", read.status_code, read.get_json())

    invalid = call(client, services_, "POST", CONSENTS, token, json={"Data": {}, "Risk": {}})
    contract.check(CONSENTS, "post", invalid.status_code, invalid.get_json())
    unknown = call(client, services_, "GET", f"{CONSENTS}/no-such-consent", token)
    contract.check(ONE, "get", unknown.status_code, unknown.get_json())

    withdrawn = call(client, services_, "DELETE", f"{CONSENTS}/{consent_id}", token)
    contract.check(ONE, "delete", withdrawn.status_code, withdrawn.get_data())


def test_account_data_answers_fit_the_document(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    clock: FrozenClock,
    contract: Contract,
) -> None:
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        make_account(provider, user, "acc-1", "40123456781234", clock.now())
        make_account(provider, user, "acc-2", "40123456785678", clock.now())
        store(provider, make_transactions("acc-1", clock.now() - timedelta(days=30), 5))
        db.session.commit()
    consent_id = authorised_consent(app, tpp.client_id, user, selected=["acc-1"])
    caller = caller_for(app, client, services_, tpp.client_id, user, consent_id)

    for path, template in (
        ("/accounts", "/accounts"),
        ("/accounts/acc-1", "/accounts/{AccountId}"),
        ("/accounts/acc-1/balances", "/accounts/{AccountId}/balances"),
        ("/accounts/acc-1/transactions", "/accounts/{AccountId}/transactions"),
        ("/balances", "/balances"),
        ("/transactions", "/transactions"),
        ("/accounts/acc-2", "/accounts/{AccountId}"),  # not selected: 403
    ):
        answer = caller.get(path)
        assert answer.status_code in (200, 403), answer.get_data(as_text=True)
        contract.check(AISP_PREFIX + template, "get", answer.status_code, answer.get_json())

    bad_window = caller.get("/transactions", fromBookingDateTime="yesterday")
    contract.check(AISP_PREFIX + "/transactions", "get", 400, bad_window.get_json())
