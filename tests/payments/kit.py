"""Payment consents, tokens carrying them, and signed, idempotent DPoP calls to the
payments API (real keys, real signatures, the app's real token issuer). TEST-ONLY keys.

A consent is created through the API (client-credentials token), then authorised for the
user's debtor account through the consent service, as the consent page does; the
authorization-code token is issued by the app's issuer (``tests.accounts.kit``)."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.accounts.sql import SqlAccountProvider
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.tokens.access_token import TokenSubject
from tests.accounts.data import make_account
from tests.accounts.kit import issue_token
from tests.lifecycle import client_credentials_token
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.ob_signing import ob_signature

CONSENTS = "/domestic-payment-consents"
PAYMENTS = "/domestic-payments"
DEBTOR = "acc-1"
DEBTOR_NUMBER = "40123456781234"
PAYEE_IBAN = "GB82WEST12345698765432"

INITIATION: dict[str, Any] = {
    "InstructionIdentification": "ACME412",
    "EndToEndIdentification": "FRESCO.21302.GFX.20",
    "LocalInstrument": "UK.OBIE.FPS",
    "InstructedAmount": {"Amount": "25.50", "Currency": "GBP"},
    "CreditorAccount": {
        "SchemeName": "UK.OBIE.IBAN",
        "Identification": PAYEE_IBAN,
        "Name": "ACME Inc",
    },
    "RemittanceInformation": {"Unstructured": ["Invoice 42"]},
}
RISK: dict[str, Any] = {"PaymentContextCode": "TransferToThirdParty"}


def initiation(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(INITIATION)
    found.update(changes)
    return found


def consent_body(init: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Data": {"Initiation": init or initiation()}, "Risk": dict(RISK)}


def payment_body(consent_id: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Data": {"ConsentId": consent_id, "Initiation": init or initiation()}, "Risk": {}}


def encode(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@dataclass
class PispCaller:
    """One TPP with a DPoP key and an access token, calling the payments API of one app."""

    client: FlaskClient
    svc: Services
    tpp: Tpp
    token: str
    key: PrivateKey

    def _headers(self, method: str, path: str) -> dict[str, str]:
        url = self.svc.settings.issuer + PISP_PREFIX + path
        proof = dpop_proof(
            self.key, method, url, access_token=self.token, iat=int(self.svc.clock.time())
        )
        return {"Authorization": f"DPoP {self.token}", "DPoP": proof}

    def sign(self, body: bytes, key: PrivateKey | None = None, **changes: Any) -> str:
        signer = key or self.tpp.key
        return ob_signature(
            signer,
            body,
            client_id=self.tpp.client_id,
            alg=self.tpp.alg,
            iat=self.svc.clock.time(),
            **changes,
        )

    def post(
        self,
        path: str,
        body: Any,
        *,
        key: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> TestResponse:
        data = encode(body)
        sent = self._headers("POST", path)
        sent["x-idempotency-key"] = key or uuid.uuid4().hex
        sent["x-jws-signature"] = signature if signature is not None else self.sign(data)
        sent.update(headers or {})
        sent = {name: value for name, value in sent.items() if value != ""}
        return self.client.post(
            PISP_PREFIX + path,
            data=data,
            headers=sent,
            content_type=content_type,
            base_url=self.svc.settings.issuer,
        )

    def get(self, path: str) -> TestResponse:
        return self.client.get(
            PISP_PREFIX + path,
            headers=self._headers("GET", path),
            base_url=self.svc.settings.issuer,
        )


def cc_caller(client: FlaskClient, svc: Services, tpp: Tpp) -> PispCaller:
    """``tpp`` with a DPoP-bound client-credentials token carrying ``payments:write``."""
    key = generate_key("ES256")
    token = client_credentials_token(client, svc, tpp, scope="payments:write", dpop_key=key)
    return PispCaller(client, svc, tpp, token, key)


def debtor_account(app: Flask, svc: Services, user_id: str, balance: str = "100.00") -> str:
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        make_account(provider, user_id, DEBTOR, DEBTOR_NUMBER, svc.clock.now(), balance=balance)
        db.session.commit()
    return DEBTOR


def authorise(app: Flask, consent_id: str, user_id: str, account: str = DEBTOR) -> None:
    """What the consent page does on Approve for a payment consent."""
    with app.app_context():
        experience(app).consents.authorise(
            consent_id, user_id=user_id, accounts=[account], request_id="t"
        )
        db.session.commit()


def payer(
    app: Flask, client: FlaskClient, svc: Services, tpp: Tpp, user_id: str, consent_id: str
) -> PispCaller:
    """``tpp`` with an authorization-code style token carrying ``consent_id``."""
    key = generate_key("ES256")
    subject = TokenSubject(
        sub=user_id,
        scopes=("payments:write",),
        user_id=user_id,
        consent_id=consent_id,
        dpop_jkt=str(key.thumbprint()),
    )
    return PispCaller(client, svc, tpp, issue_token(app, svc, tpp.client_id, subject), key)


def create_consent(caller: PispCaller, init: dict[str, Any] | None = None) -> str:
    response = caller.post(CONSENTS, consent_body(init))
    assert response.status_code == 201, response.get_data(as_text=True)
    consent_id: str = response.get_json()["Data"]["ConsentId"]
    return consent_id


def error_codes(response: TestResponse) -> list[tuple[str, str | None]]:
    return [(e["ErrorCode"], e.get("Path")) for e in response.get_json()["Errors"]]
