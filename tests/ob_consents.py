"""Open-banking consents for the authorization tests: created the way the consent API will
(``ConsentGate.create``: AWAU, committed), and the two ways a TPP names one in PAR."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from authserver.accounts.provider import Account
from authserver.accounts.sql import SqlAccountProvider
from authserver.consent.models import Consent
from authserver.consent.models import ConsentStatusHistory
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.payment_initiation import parse_domestic_payment_consent
from authserver.pisp import service as pisp
from tests.accounts.data import make_account
from tests.flow_fixtures import PASSWORD
from tests.par import Pushed
from tests.par import authorize_path
from tests.par import frozen_auth
from tests.par import login
from tests.par import page
from tests.par import post_form
from tests.par import push
from tests.par import verify_jarm
from tppkit import Tpp
from tppkit import csrf_token
from tppkit import query_params

PERMISSIONS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsBasic",
    "ReadTransactionsCredits",
]
WINDOW = {
    "TransactionFromDateTime": "2026-01-01T00:00:00+00:00",
    "TransactionToDateTime": "2026-06-30T23:59:59+00:00",
}


def create_consent(
    app: Flask,
    svc: Services,
    client_id: str,
    *,
    permissions: list[str] | None = None,
    expires_at: datetime | None | str = "default",
) -> str:
    """A new account-access consent in AWAU held by ``client_id``; its ConsentId.

    ``expires_at`` defaults to one hour after the server's clock; None is open-ended."""
    expiry = svc.clock.now() + timedelta(hours=1) if expires_at == "default" else expires_at
    assert expiry is None or isinstance(expiry, datetime)
    details: dict[str, Any] = {"Permissions": permissions or PERMISSIONS, **WINDOW}
    if expiry is not None:
        details["ExpirationDateTime"] = expiry.isoformat()
    with app.app_context():
        view = svc.consents.create(
            client_id=client_id,
            kind="account_access",
            scopes=["accounts:read"],
            details=details,
            expires_at=expiry,
            request_id="t",
        )
    return view.consent_id


PAYEE_SORT_CODE_NUMBER = "08080021325698"
PAYEE_IBAN = "GB29NWBK60161331926819"


def initiation(
    amount: str = "1250.00",
    currency: str = "GBP",
    *,
    debtor: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A v4.0 domestic ``Initiation`` paying "ACME Ltd" ``amount`` with a reference."""
    value: dict[str, Any] = {
        "InstructionIdentification": "ACME412",
        "EndToEndIdentification": "FRESCO.21302.GFX.20",
        "LocalInstrument": "UK.OBIE.FPS",
        "InstructedAmount": {"Amount": amount, "Currency": currency},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": PAYEE_SORT_CODE_NUMBER,
            "Name": "ACME Ltd",
        },
        "RemittanceInformation": {
            "Structured": [{"CreditorReferenceInformation": {"Reference": "INV-2041"}}],
        },
        **extra,
    }
    if debtor is not None:
        value["DebtorAccount"] = debtor
    return value


def create_payment_consent(
    app: Flask,
    svc: Services,
    client_id: str,
    *,
    payment: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> str:
    """A new domestic-payment consent in AWAU held by ``client_id``, its ``details`` the
    standard's ``Initiation`` (checked by the consent API's parser, account numbers sealed
    as the API stores them) and ``Risk``; its ConsentId."""
    body = {"Data": {"Initiation": payment or initiation()}, "Risk": {}}
    checked = parse_domestic_payment_consent(json.dumps(body)).initiation.canonical()
    with app.app_context():
        view = pisp.create_consent(
            svc.consents,
            svc.initiations,
            client_id=client_id,
            scopes=["payments:write"],
            initiation=checked,
            details={"Risk": {}},
            request_id="t",
            expires_at=expires_at,
        )
    return view.consent_id


def intent_claims(consent_id: str, *targets: str, essential: bool = True) -> dict[str, Any]:
    """OIDC Core §5.5 claims asking for UK OB's openbanking_intent_id (default: id_token)."""
    request = {"value": consent_id, "essential": essential}
    return {target: {"openbanking_intent_id": request} for target in targets or ("id_token",)}


def rar(consent_id: str, kind: str = "account_access") -> list[dict[str, str]]:
    """RFC 9396 authorization_details naming the consent (``kind``: the RAR type)."""
    return [{"type": kind, "consent_id": consent_id}]


def payment_rar(consent_id: str) -> list[dict[str, str]]:
    """RFC 9396 authorization_details naming a payment consent."""
    return rar(consent_id, "payment_initiation")


def as_param(value: Any) -> str:
    """A JSON-valued parameter in its form-encoded spelling."""
    return json.dumps(value)


def open_consent_page(
    client: FlaskClient, svc: Services, tpp: Tpp, **overrides: str | None
) -> tuple[Pushed, TestResponse]:
    """PAR with ``overrides``, /authorize, sign in: the pushed request and the consent page."""
    pushed = push(client, svc, tpp, **overrides)
    started = page(client, svc, authorize_path(tpp.client_id, pushed.request_uri))
    assert started.status_code == 303, started.get_data(as_text=True)
    if started.headers["Location"].endswith("/login"):
        signed_in = login(client, svc)
        assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    return pushed, page(client, svc, "/consent")


def open_named_consent_page(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    consent_id: str,
    *,
    rar_form: bool = False,
    payment: bool = False,
    **overrides: str | None,
) -> tuple[Pushed, TestResponse]:
    """The consent page for ``consent_id`` named in PAR the UK way (``claims``) or, with
    ``rar_form``, by RFC 9396 ``authorization_details`` (of type payment_initiation for a
    ``payment``); ``overrides`` go to PAR as they are."""
    if rar_form:
        details = payment_rar(consent_id) if payment else rar(consent_id)
        naming = {"authorization_details": as_param(details)}
    else:
        naming = {"claims": as_param(intent_claims(consent_id))}
    return open_consent_page(client, svc, tpp, **naming, **overrides)


def text_of(html: str) -> str:
    """The page's words, tags and repeated spaces removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def forged_account(app: Flask, forged: str) -> str:
    """The account id a forged consent form names: ``forged`` as it is, or for
    "other-user" the first account of another user (bob, seeded here)."""
    if forged != "other-user":
        return forged
    with app.app_context():
        other = experience(app).users.create("bob", PASSWORD, actor="test").user.id
    return seed_accounts(app, other)[0].account_id


def redirect_params(
    client: FlaskClient, svc: Services, location: str, response_mode: str
) -> dict[str, Any]:
    """The authorization response's parameters in the redirect ``location``: the query, or
    for ``response_mode`` "jwt" the claims of its verified JARM response."""
    params: dict[str, Any] = query_params(location)
    if response_mode == "jwt":
        params = verify_jarm(client, svc, params["response"])
    return params


def submit_consent(
    client: FlaskClient,
    svc: Services,
    shown: TestResponse,
    *,
    approve: bool = True,
    accounts: Sequence[str] = (),
    debtor: str | None = None,
) -> TestResponse:
    """Press Approve or Deny on the page ``shown``, with ``accounts`` ticked (account
    access) or ``debtor`` picked as the account to pay from (payment)."""
    form: dict[str, Any] = {
        "csrf_token": csrf_token(shown.get_data(as_text=True)),
        **({"approve": "Approve"} if approve else {"deny": "Deny"}),
    }
    if accounts:
        form["accounts"] = list(accounts)
    if debtor is not None:
        form["debtor_account"] = debtor
    return post_form(client, svc, "/consent", form)


def consent_state(app: Flask, consent_id: str) -> tuple[str, list[str], list[str]]:
    """(status, selected accounts, the statuses of its history rows in order)."""
    with app.app_context():
        consent = db.session.get(Consent, consent_id)
        assert consent is not None
        history = db.session.scalars(
            select(ConsentStatusHistory.to_status)
            .where(ConsentStatusHistory.consent_id == consent_id)
            .order_by(ConsentStatusHistory.at, ConsentStatusHistory.from_status.is_not(None))
        )
        return consent.status, list(consent.selected_accounts or []), list(history)


def seed_accounts(app: Flask, user_id: str) -> list[Account]:
    """Two accounts for ``user_id`` (a current account and a saver), through the real
    provider, unless it has some; the user's accounts as the consent page lists them."""
    with app.app_context():
        provider = experience(app).accounts
        assert isinstance(provider, SqlAccountProvider)
        if provider.has_accounts(user_id):
            return provider.accounts_of(user_id)
        now = services(app).clock.now()
        digits = "".join(char for char in user_id if char.isdigit()).ljust(12, "7")
        make_account(provider, user_id, f"acc-{user_id[:8]}-1", "40" + digits[:6], now)
        make_account(
            provider,
            user_id,
            f"acc-{user_id[:8]}-2",
            "41" + digits[6:12],
            now,
            nickname="Rainy Day Saver",
        )
        db.session.commit()
        return provider.accounts_of(user_id)


def approved_tokens(
    client: FlaskClient, svc: Services, tpp: Tpp, chosen: Account, **naming: str
) -> dict[str, Any]:
    """PAR naming the consent, approve with ``chosen`` ticked, redeem the code."""
    return _approved(client, svc, tpp, {"accounts": [chosen.account_id]}, naming)


def approved_payment_tokens(
    client: FlaskClient, svc: Services, tpp: Tpp, debtor: Account, **naming: str
) -> dict[str, Any]:
    """PAR naming a payment consent, approve paying from ``debtor``, redeem the code."""
    return _approved(client, svc, tpp, {"debtor": debtor.account_id}, naming)


def _approved(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    picked: dict[str, Any],
    naming: dict[str, str],
) -> dict[str, Any]:
    pushed, shown = open_consent_page(client, svc, tpp, **naming)
    decided = submit_consent(client, svc, shown, **picked)
    assert decided.status_code == 303, decided.get_data(as_text=True)
    code = query_params(decided.headers["Location"])["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": pushed.verifier,
        **frozen_auth(tpp, svc),
    }
    response = post_form(client, svc, "/token", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body
