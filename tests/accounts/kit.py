"""Account-access consents, tokens carrying them, and DPoP calls to the accounts API.

The consent is made through the real consent service (create, then the user's
authorise); the token is a real signed RFC 9068 token from the app's issuer, bound to a
per-test DPoP key; every call carries a fresh real proof made at the frozen clock.
TEST-ONLY keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import AISP_PREFIX
from authserver.tokens.access_token import TokenSubject
from tppkit import PrivateKey
from tppkit import dpop_proof
from tppkit import generate_key

DETAIL = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
]


def authorised_consent(
    app: Flask,
    client_id: str,
    user_id: str,
    *,
    permissions: Sequence[str] = DETAIL,
    selected: Sequence[str],
    transactions_from: datetime | None = None,
    transactions_to: datetime | None = None,
    expires_at: datetime | None = None,
) -> str:
    """An AUTH account-access consent of ``client_id`` for ``user_id`` (committed)."""
    details: dict[str, Any] = {"Permissions": list(permissions)}
    if transactions_from is not None:
        details["TransactionFromDateTime"] = transactions_from.isoformat()
    if transactions_to is not None:
        details["TransactionToDateTime"] = transactions_to.isoformat()
    if expires_at is not None:
        details["ExpirationDateTime"] = expires_at.isoformat()
    with app.app_context():
        consents = experience(app).consents
        view = consents.create(
            client_id=client_id,
            kind="account_access",
            scopes=["accounts:read"],
            details=details,
            expires_at=expires_at,
            request_id="t",
        )
        consents.authorise(
            view.consent_id, user_id=user_id, accounts=list(selected), request_id="t"
        )
        db.session.commit()
    return view.consent_id


def issue_token(app: Flask, svc: Services, client_id: str, subject: TokenSubject) -> str:
    with app.app_context():
        client = svc.clients.get(client_id)
        assert client is not None
        token = str(svc.tokens.issue(client, subject)["access_token"])
        db.session.commit()
    return token


@dataclass
class AccountsCaller:
    """A TPP's DPoP key and access token, calling the accounts API of one app."""

    client: FlaskClient
    svc: Services
    token: str
    key: PrivateKey

    def get(self, path: str, **params: str) -> TestResponse:
        url = self.svc.settings.issuer + AISP_PREFIX + path
        proof = dpop_proof(
            self.key, "GET", url, access_token=self.token, iat=int(self.svc.clock.time())
        )
        return self.client.get(
            AISP_PREFIX + path,
            query_string=params,
            headers={"Authorization": f"DPoP {self.token}", "DPoP": proof},
            base_url=self.svc.settings.issuer,
        )


def caller_for(
    app: Flask,
    client: FlaskClient,
    svc: Services,
    client_id: str,
    user_id: str,
    consent_id: str | None,
) -> AccountsCaller:
    """A fresh DPoP key and an authorization-code style token carrying ``consent_id``."""
    key = generate_key("ES256")
    subject = TokenSubject(
        sub=user_id,
        scopes=("accounts:read",),
        user_id=user_id,
        consent_id=consent_id,
        dpop_jkt=str(key.thumbprint()),
    )
    return AccountsCaller(client, svc, issue_token(app, svc, client_id, subject), key)


def error_codes(response: TestResponse) -> list[tuple[str, str | None]]:
    body = response.get_json()
    return [(error["ErrorCode"], error.get("Path")) for error in body["Errors"]]
