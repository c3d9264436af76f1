"""An open-banking consent through the whole flow: PAR names it, the user approves one of two
accounts, and the tokens carry it (consent_id everywhere; openbanking_intent_id in the ID
token and userinfo for the UK form; authorization_details in the token response, the JWT
and introspection for RFC 9396)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from authserver.accounts.provider import Account
from authserver.context import Services
from authserver.db import db
from tests.lifecycle import introspection
from tests.lifecycle import refresh
from tests.lifecycle import userinfo
from tests.ob_consents import approved_tokens
from tests.ob_consents import as_param
from tests.ob_consents import consent_state
from tests.ob_consents import create_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import open_consent_page
from tests.ob_consents import rar
from tests.ob_consents import seed_accounts
from tests.ob_consents import submit_consent
from tests.par import SERVER_ALGS
from tests.par import frozen_auth
from tests.par import post_form
from tests.par import server_keys
from tppkit import Tpp
from tppkit import query_params


@pytest.fixture
def accounts(app: Flask, user: str) -> list[Account]:
    return seed_accounts(app, user)


def claims_of(client: FlaskClient, svc: Services, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, server_keys(client, svc), algorithms=SERVER_ALGS).claims)


def test_uk_form_puts_the_intent_in_the_id_token_userinfo_and_every_access_token(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    claims = intent_claims(consent_id, "id_token", "userinfo")
    body = approved_tokens(client, services_, tpp, accounts[0], claims=as_param(claims))
    assert consent_state(app, consent_id)[:2] == ("AUTH", [accounts[0].account_id])
    access = claims_of(client, services_, body["access_token"])
    assert access["consent_id"] == consent_id
    assert claims_of(client, services_, body["id_token"])["openbanking_intent_id"] == consent_id
    assert "authorization_details" not in body
    info = userinfo(client, services_, body["access_token"])
    assert info.status_code == 200
    assert info.get_json()["openbanking_intent_id"] == consent_id
    # The refresh-token family keeps the consent: the next access token names it too.
    refreshed = refresh(client, services_, tpp, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    again = claims_of(client, services_, refreshed.get_json()["access_token"])
    assert again["consent_id"] == consent_id
    assert again["openbanking_intent_id"] == consent_id
    assert (
        userinfo(client, services_, refreshed.get_json()["access_token"]).get_json()[
            "openbanking_intent_id"
        ]
        == consent_id
    )


def test_uk_form_for_the_id_token_only_leaves_userinfo_as_it_was(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    body = approved_tokens(
        client, services_, tpp, accounts[1], claims=as_param(intent_claims(consent_id))
    )
    assert claims_of(client, services_, body["id_token"])["openbanking_intent_id"] == consent_id
    assert "openbanking_intent_id" not in claims_of(client, services_, body["access_token"])
    info = userinfo(client, services_, body["access_token"])
    assert "openbanking_intent_id" not in info.get_json()


def test_rar_form_returns_the_granted_details_with_the_chosen_account(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    rs: Tpp,
    accounts: list[Account],
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    chosen = accounts[1]
    body = approved_tokens(
        client, services_, tpp, chosen, authorization_details=as_param(rar(consent_id))
    )
    granted = [
        {"type": "account_access", "consent_id": consent_id, "accounts": [chosen.account_id]}
    ]
    assert body["authorization_details"] == granted
    access = claims_of(client, services_, body["access_token"])
    assert access["consent_id"] == consent_id
    assert access["authorization_details"] == granted
    assert "openbanking_intent_id" not in claims_of(client, services_, body["id_token"])
    for caller in (tpp, rs):
        answer = introspection(client, services_, caller, body["access_token"])
        assert answer["active"] is True
        assert answer["consent_id"] == consent_id
        assert answer["authorization_details"] == granted
    # RFC 9396 §7: a refresh answers with the same granted details, in the token too.
    refreshed = refresh(client, services_, tpp, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert refreshed.get_json()["authorization_details"] == granted
    renewed = claims_of(client, services_, refreshed.get_json()["access_token"])
    assert renewed["authorization_details"] == granted
    assert (
        introspection(client, services_, tpp, refreshed.get_json()["access_token"])[
            "authorization_details"
        ]
        == granted
    )


def test_the_code_of_a_consent_withdrawn_before_redemption_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, accounts: list[Account]
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    pushed, shown = open_consent_page(
        client, services_, tpp, authorization_details=as_param(rar(consent_id))
    )
    decided = submit_consent(client, services_, shown, accounts=[accounts[0].account_id])
    with app.app_context():
        services_.consents.mark_revoked(consent_id, actor="test", reason="withdrawn")
        db.session.commit()
    form = {
        "grant_type": "authorization_code",
        "code": query_params(decided.headers["Location"])["code"],
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": pushed.verifier,
        **frozen_auth(tpp, services_),
    }
    response = post_form(client, services_, "/token", form)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
