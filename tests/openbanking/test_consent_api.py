"""POST, GET and DELETE /open-banking/v4.0/aisp/account-access-consents through real HTTP,
with real client-credentials tokens (Bearer and DPoP-bound) of registered TPPs."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.helpers import assert_oauth_error
from tests.lifecycle import client_credentials_token
from tests.lifecycle import refresh
from tests.lifecycle import userinfo
from tests.openbanking import CONSENTS
from tests.openbanking import call
from tests.openbanking import consent_body
from tests.openbanking import consent_events
from tests.openbanking import create
from tests.openbanking import history
from tests.openbanking import ob_errors
from tests.openbanking import status_of
from tests.revocation import claims_of
from tests.revocation import refused_at_userinfo
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit.keys import generate_key

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISO_WITH_ZONE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")
TPP_WITHDREW = "withdrawn by the third party"


def accounts_token(client: FlaskClient, svc: Services, tpp: Tpp) -> str:
    """``tpp``'s client-credentials token with accounts:read: for the fixture, and again
    after the clock has moved past the first one's life."""
    return client_credentials_token(client, svc, tpp, scope="accounts:read")


@pytest.fixture
def token(client: FlaskClient, services_: Services, tpp: Tpp) -> str:
    """tpp-one's client-credentials token with accounts:read."""
    return accounts_token(client, services_, tpp)


@pytest.fixture
def other_token(client: FlaskClient, services_: Services, make_tpp: Any) -> str:
    return accounts_token(client, services_, make_tpp("tpp-two"))


def authorise(app: Flask, consent_id: str, user: str) -> None:
    with app.app_context():
        experience(app).consents.authorise(
            consent_id, user_id=user, accounts=["acc-1"], request_id="test"
        )


def create_expiring(
    client: FlaskClient, svc: Services, token: str, clock: FrozenClock, seconds: int = 30
) -> str:
    """A new consent of the token's client expiring ``seconds`` after the frozen clock's
    now; its ConsentId."""
    expiry = (clock.now() + timedelta(seconds=seconds)).isoformat()
    created = create(client, svc, token, ExpirationDateTime=expiry)
    consent_id: str = created["Data"]["ConsentId"]
    return consent_id


# -- POST ---------------------------------------------------------------------------------


def test_post_creates_an_awaiting_consent_in_the_standard_shape(
    client: FlaskClient, services_: Services, token: str, clock: FrozenClock
) -> None:
    expiry = (clock.now() + timedelta(days=90)).isoformat()
    sent = consent_body(
        Permissions=["ReadAccountsDetail", "ReadTransactionsBasic", "ReadTransactionsCredits"],
        ExpirationDateTime=expiry,
        TransactionFromDateTime="2026-01-01T00:00:00+00:00",
        TransactionToDateTime="2026-06-30T23:59:59Z",
    )

    response = call(client, services_, "POST", CONSENTS, token, json=sent)

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"Data", "Risk", "Links", "Meta"}
    data = body["Data"]
    consent_id = data["ConsentId"]
    assert 0 < len(consent_id) <= 128
    assert data["Status"] == "AWAU"
    assert data["Permissions"] == sent["Data"]["Permissions"]
    assert ISO_WITH_ZONE.fullmatch(data["CreationDateTime"])
    assert data["StatusUpdateDateTime"] == data["CreationDateTime"]
    assert data["ExpirationDateTime"] == expiry
    assert data["TransactionFromDateTime"] == "2026-01-01T00:00:00+00:00"
    assert data["TransactionToDateTime"] == "2026-06-30T23:59:59Z"
    assert body["Risk"] == {}
    assert body["Meta"] == {}
    assert body["Links"]["Self"] == f"{services_.settings.issuer}{CONSENTS}/{consent_id}"
    assert response.headers["Cache-Control"] == "no-store"
    assert UUID.fullmatch(response.headers["x-fapi-interaction-id"])


def test_optional_dates_are_absent_when_not_sent(
    client: FlaskClient, services_: Services, token: str
) -> None:
    data = create(client, services_, token)["Data"]
    assert set(data) == {
        "ConsentId",
        "CreationDateTime",
        "Status",
        "StatusUpdateDateTime",
        "Permissions",
    }


def test_interaction_id_is_echoed(client: FlaskClient, services_: Services, token: str) -> None:
    sent = str(uuid.uuid4())
    response = call(
        client,
        services_,
        "POST",
        CONSENTS,
        token,
        json=consent_body(),
        headers={"x-fapi-interaction-id": sent},
    )
    assert response.status_code == 201
    assert response.headers["x-fapi-interaction-id"] == sent


def test_bad_interaction_id_is_400_u006(
    client: FlaskClient, services_: Services, token: str
) -> None:
    response = call(
        client,
        services_,
        "POST",
        CONSENTS,
        token,
        json=consent_body(),
        headers={"x-fapi-interaction-id": "not-a-uuid"},
    )
    assert ob_errors(response, 400) == [("U006", "x-fapi-interaction-id")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([1], [("U010", None)]),
        ({"Risk": {}}, [("U004", "Data")]),
        ({"Data": {"Permissions": ["ReadBalances"]}}, [("U004", "Risk")]),
        ({**consent_body(), "Extra": 1}, [("U005", "Extra")]),
        (consent_body(Colour="red"), [("U005", "Data.Colour")]),
        ({"Data": {"Permissions": ["ReadBalances"]}, "Risk": {"X": 1}}, [("U005", "Risk.X")]),
        ({"Data": {}, "Risk": {}}, [("U004", "Data.Permissions")]),
        (consent_body(Permissions=[]), [("U002", "Data.Permissions")]),
        (consent_body(Permissions=["ReadBalances", "Nope"]), [("U002", "Data.Permissions[1]")]),
        (
            consent_body(Permissions=["ReadBalances", "ReadBalances"]),
            [("U002", "Data.Permissions[1]")],
        ),
        (consent_body(Permissions=["ReadTransactionsDebits"]), [("U001", "Data.Permissions")]),
        (
            consent_body(ExpirationDateTime="2099-01-01T00:00:00"),
            [("U002", "Data.ExpirationDateTime")],
        ),
        (
            consent_body(TransactionFromDateTime="soon"),
            [("U002", "Data.TransactionFromDateTime")],
        ),
        (
            consent_body(ExpirationDateTime="2020-01-01T00:00:00Z"),
            [("U003", "Data.ExpirationDateTime")],
        ),
        (
            consent_body(
                TransactionFromDateTime="2026-02-01T00:00:00Z",
                TransactionToDateTime="2026-01-01T00:00:00Z",
            ),
            [("U003", "Data.TransactionToDateTime")],
        ),
    ],
    ids=[
        "not-an-object",
        "no-data",
        "no-risk",
        "unknown-top",
        "unknown-data",
        "unknown-risk",
        "no-permissions",
        "empty-permissions",
        "unknown-permission",
        "duplicate-permission",
        "combination",
        "naive-date",
        "unparseable-date",
        "past-expiry",
        "from-after-to",
    ],
)
def test_each_validation_rule_is_400_with_its_code_and_path(
    client: FlaskClient,
    services_: Services,
    token: str,
    body: Any,
    expected: list[tuple[str, str | None]],
) -> None:
    response = call(client, services_, "POST", CONSENTS, token, json=body)
    assert ob_errors(response, 400) == expected


def test_every_failing_field_is_listed_at_once(
    client: FlaskClient, services_: Services, token: str
) -> None:
    body = {
        "Data": {"Permissions": ["Nope"], "ExpirationDateTime": "2020-01-01T00:00:00Z"},
        "Risk": {"X": 1},
    }
    response = call(client, services_, "POST", CONSENTS, token, json=body)
    assert sorted(ob_errors(response, 400), key=str) == sorted(
        [
            ("U005", "Risk.X"),
            ("U002", "Data.Permissions[0]"),
            ("U003", "Data.ExpirationDateTime"),
        ],
        key=str,
    )


def test_a_body_that_is_no_json_is_400_u010(
    client: FlaskClient, services_: Services, token: str
) -> None:
    response = call(
        client,
        services_,
        "POST",
        CONSENTS,
        token,
        data="{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert ob_errors(response, 400) == [("U010", None)]


def test_a_non_json_post_is_415_u010(client: FlaskClient, services_: Services, token: str) -> None:
    response = call(
        client,
        services_,
        "POST",
        CONSENTS,
        token,
        data="Data=x",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {token}",
        },
    )
    assert ob_errors(response, 415) == [("U010", "Content-Type")]


# -- who may call -------------------------------------------------------------------------


def test_no_token_is_401(client: FlaskClient, services_: Services) -> None:
    response = call(client, services_, "POST", CONSENTS, None, json=consent_body())
    assert_oauth_error(response, 401, "invalid_request")


def test_a_token_without_accounts_read_is_403_insufficient_scope(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    token = client_credentials_token(client, services_, tpp, scope="payments:write")
    response = call(client, services_, "POST", CONSENTS, token, json=consent_body())
    assert_oauth_error(response, 403, "insufficient_scope")


def test_an_authorization_code_token_is_403(
    client: FlaskClient, services_: Services, tokens: dict[str, Any]
) -> None:
    assert "consent_id" in claims_of(tokens["access_token"])
    code_token = tokens["access_token"]
    response = call(client, services_, "POST", CONSENTS, code_token, json=consent_body())
    assert ob_errors(response, 403) == [("U006", "Authorization")]


def test_a_dpop_bound_client_credentials_token_works_with_its_proof(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    key = generate_key("ES256")
    token = client_credentials_token(client, services_, tpp, "accounts:read", dpop_key=key)
    url = services_.settings.issuer + CONSENTS

    def proof() -> str:
        return dpop_proof(key, "POST", url, access_token=token, iat=int(services_.clock.time()))

    dpop = {"Authorization": f"DPoP {token}"}
    created = call(
        client,
        services_,
        "POST",
        CONSENTS,
        None,
        json=consent_body(),
        headers={**dpop, "DPoP": proof()},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    without_proof = call(
        client, services_, "POST", CONSENTS, None, json=consent_body(), headers=dpop
    )
    assert_oauth_error(without_proof, 401, "invalid_dpop_proof")
    as_bearer = call(client, services_, "POST", CONSENTS, token, json=consent_body())
    assert_oauth_error(as_bearer, 401, "invalid_token")


# -- GET ----------------------------------------------------------------------------------


def test_get_own_consent_is_200_with_the_same_representation(
    client: FlaskClient, services_: Services, token: str
) -> None:
    created = create(client, services_, token, TransactionFromDateTime="2026-01-01T00:00:00Z")
    consent_id = created["Data"]["ConsentId"]

    response = call(client, services_, "GET", f"{CONSENTS}/{consent_id}", token)

    assert response.status_code == 200
    body = response.get_json()
    assert body["Data"] == created["Data"]
    assert body["Links"]["Self"] == created["Links"]["Self"]
    assert (body["Risk"], body["Meta"]) == ({}, {})
    assert response.headers["Cache-Control"] == "no-store"


def test_get_another_clients_consent_is_404(
    client: FlaskClient, services_: Services, token: str, other_token: str
) -> None:
    consent_id = create(client, services_, token)["Data"]["ConsentId"]
    response = call(client, services_, "GET", f"{CONSENTS}/{consent_id}", other_token)
    assert ob_errors(response, 404) == [("U011", None)]


@pytest.mark.parametrize(
    "consent_id", ["no-such-consent", "x" * 129, "%00abc"], ids=["unknown", "too-long", "nul"]
)
def test_get_unknown_or_malformed_id_is_404(
    client: FlaskClient, services_: Services, token: str, consent_id: str
) -> None:
    response = call(client, services_, "GET", f"{CONSENTS}/{consent_id}", token)
    assert ob_errors(response, 404) == [("U011", None)]


def test_a_consent_of_another_kind_is_404_here(
    app: Flask, client: FlaskClient, services_: Services, token: str
) -> None:
    with app.app_context():
        payment = services_.consents.create(
            client_id="tpp-one",
            kind="domestic_payment",
            scopes=["payments:write"],
            details={"Initiation": {}},
            expires_at=None,
            request_id="test",
        )
    for method in ("GET", "DELETE"):
        response = call(client, services_, method, f"{CONSENTS}/{payment.consent_id}", token)
        assert ob_errors(response, 404) == [("U011", None)]
    assert status_of(app, payment.consent_id) == "AWAU"


# -- DELETE and the lifecycle -------------------------------------------------------------


def test_delete_an_authorised_consent_cancels_it_and_kills_its_tokens(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, tokens: dict[str, Any]
) -> None:
    consent_id = str(claims_of(tokens["access_token"])["consent_id"])
    assert userinfo(client, services_, tokens["access_token"]).status_code == 200
    token = accounts_token(client, services_, tpp)

    response = call(client, services_, "DELETE", f"{CONSENTS}/{consent_id}", token)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert status_of(app, consent_id) == "CANC"
    assert history(app, consent_id)[-1] == ("AUTH", "CANC", "client:tpp-one", TPP_WITHDREW)
    refused_at_userinfo(client, services_, tokens["access_token"])
    assert_oauth_error(
        refresh(client, services_, tpp, tokens["refresh_token"]), 400, "invalid_grant"
    )
    shown = call(client, services_, "GET", f"{CONSENTS}/{consent_id}", token).get_json()
    assert shown["Data"]["Status"] == "CANC"


def test_delete_an_awaiting_consent_rejects_it(
    app: Flask, client: FlaskClient, services_: Services, token: str
) -> None:
    consent_id = create(client, services_, token)["Data"]["ConsentId"]

    response = call(client, services_, "DELETE", f"{CONSENTS}/{consent_id}", token)

    assert response.status_code == 204
    assert status_of(app, consent_id) == "RJCT"
    assert history(app, consent_id) == [
        (None, "AWAU", "client:tpp-one", "requested by the third party"),
        ("AWAU", "RJCT", "client:tpp-one", "withdrawn by the third party before authorisation"),
    ]


def test_delete_another_clients_consent_is_404_and_changes_nothing(
    app: Flask, client: FlaskClient, services_: Services, token: str, other_token: str
) -> None:
    consent_id = create(client, services_, token)["Data"]["ConsentId"]
    response = call(client, services_, "DELETE", f"{CONSENTS}/{consent_id}", other_token)
    assert ob_errors(response, 404) == [("U011", None)]
    assert status_of(app, consent_id) == "AWAU"


@pytest.mark.parametrize("final", ["RJCT", "CANC", "EXPD"])
def test_delete_of_a_final_consent_is_204_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    clock: FrozenClock,
    final: str,
) -> None:
    token = accounts_token(client, services_, tpp)
    consent_id = create_expiring(client, services_, token, clock)
    path = f"{CONSENTS}/{consent_id}"
    if final != "RJCT":
        authorise(app, consent_id, user)
    if final == "EXPD":
        clock.advance(60)
        token = accounts_token(client, services_, tpp)
        assert call(client, services_, "GET", path, token).get_json()["Data"]["Status"] == "EXPD"
    else:
        assert call(client, services_, "DELETE", path, token).status_code == 204
    assert status_of(app, consent_id) == final
    steps = history(app, consent_id)

    again = call(client, services_, "DELETE", path, token)

    assert again.status_code == 204
    assert status_of(app, consent_id) == final
    assert history(app, consent_id) == steps


def test_every_legal_step_is_in_the_history_with_who_and_why(
    app: Flask, client: FlaskClient, services_: Services, token: str, user: str
) -> None:
    consent_id = create(client, services_, token)["Data"]["ConsentId"]
    authorise(app, consent_id, user)
    assert call(client, services_, "DELETE", f"{CONSENTS}/{consent_id}", token).status_code == 204
    assert history(app, consent_id) == [
        (None, "AWAU", "client:tpp-one", "requested by the third party"),
        ("AWAU", "AUTH", f"user:{user}", "approved by the user"),
        ("AUTH", "CANC", "client:tpp-one", TPP_WITHDREW),
    ]


# -- expiry (the moment it is used) -------------------------------------------------------


def test_an_authorised_consent_past_expiry_is_expd_when_read(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    clock: FrozenClock,
) -> None:
    token = accounts_token(client, services_, tpp)
    consent_id = create_expiring(client, services_, token, clock)
    authorise(app, consent_id, user)
    path = f"{CONSENTS}/{consent_id}"
    assert call(client, services_, "GET", path, token).get_json()["Data"]["Status"] == "AUTH"

    clock.advance(31)
    token = accounts_token(client, services_, tpp)
    data = call(client, services_, "GET", path, token).get_json()["Data"]

    assert data["Status"] == "EXPD"
    assert data["StatusUpdateDateTime"] == clock.now().isoformat()
    assert history(app, consent_id)[-1] == ("AUTH", "EXPD", "system", "expired")


def test_refresh_on_an_expired_consent_is_invalid_grant(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    tokens: dict[str, Any],
    clock: FrozenClock,
) -> None:
    consent_id = str(claims_of(tokens["access_token"])["consent_id"])
    with app.app_context():
        consent = experience(app).consents.get(consent_id)
        assert consent is not None
        consent.expires_at = clock.now() + timedelta(seconds=30)
        db.session.commit()
    clock.advance(31)

    response = refresh(client, services_, tpp, tokens["refresh_token"])

    assert_oauth_error(response, 400, "invalid_grant")
    assert status_of(app, consent_id) == "EXPD"


# -- audit ----------------------------------------------------------------------------------


def test_post_and_delete_are_audited_with_the_interaction_id(
    app: Flask, client: FlaskClient, services_: Services, token: str, user: str
) -> None:
    created_as, deleted_as = str(uuid.uuid4()), str(uuid.uuid4())
    response = call(
        client,
        services_,
        "POST",
        CONSENTS,
        token,
        json=consent_body(),
        headers={"x-fapi-interaction-id": created_as},
    )
    consent_id = response.get_json()["Data"]["ConsentId"]
    authorise(app, consent_id, user)
    call(
        client,
        services_,
        "DELETE",
        f"{CONSENTS}/{consent_id}",
        token,
        headers={"x-fapi-interaction-id": deleted_as},
    )

    # consent.tokens_revoked (the revocation path's own event) follows the transitions.
    events = [e for e in consent_events(app, consent_id) if e["type"] != "consent.tokens_revoked"]

    assert [e["type"] for e in events] == [
        "consent.created",
        "consent.authorised",
        "consent.cancelled",
    ]
    created, authorised, cancelled = events
    assert created["changes"]["fapi_interaction_id"] == created_as
    assert cancelled["changes"]["fapi_interaction_id"] == deleted_as
    assert "fapi_interaction_id" not in authorised["changes"]  # not an open-banking request
    assert (created["changes"]["from"], created["changes"]["status"]) == (None, "AWAU")
    assert (cancelled["changes"]["from"], cancelled["changes"]["status"]) == ("AUTH", "CANC")
    assert cancelled["actor"] == "client:tpp-one"
    for event in (created, cancelled):
        assert event["request_id"] not in ("", "-")
