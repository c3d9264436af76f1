"""POST /introspect (RFC 7662) as JSON: who may see what, and when a token is dead.

Checklist I2 (and the token-ownership rules of I1): an access token is described to its
own client or to a registered resource server of its audience, a refresh token only to
its own client; anything else is exactly ``{"active": false}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientRequest
from authserver.clock import FrozenClock
from authserver.context import Services
from tests.helpers import assert_oauth_error
from tests.introspection import INACTIVE
from tests.lifecycle import client_credentials_token
from tests.lifecycle import introspect
from tests.lifecycle import introspection
from tests.lifecycle import refresh
from tests.lifecycle import revoke
from tests.par import SERVER_ALGS
from tests.par import post_form
from tests.par import server_keys
from tppkit import Tpp
from tppkit import generate_key
from tppkit import public_jwks

ACCESS_TOKEN_FIELDS = {
    "active",
    "scope",
    "client_id",
    "sub",
    "aud",
    "iss",
    "exp",
    "iat",
    "nbf",
    "jti",
    "token_type",
}


def claims_of(client: FlaskClient, svc: Services, token: str) -> dict[str, Any]:
    verified = jwt.decode(token, server_keys(client, svc), algorithms=SERVER_ALGS)
    return dict(verified.claims)


# -- active access tokens ----------------------------------------------------------------


def test_resource_server_sees_a_live_user_access_token_with_its_claims(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp, user: str, tokens: Any
) -> None:
    body = introspection(client, services_, rs, tokens["access_token"])

    now = int(services_.clock.time())
    issuer = services_.settings.issuer
    assert body.keys() >= ACCESS_TOKEN_FIELDS, body
    assert body["active"] is True
    assert body["scope"] == "openid accounts:read"
    assert body["client_id"] == tpp.client_id
    assert body["sub"] == user
    assert body["aud"] == issuer
    assert body["iss"] == issuer
    assert body["iat"] == now
    assert body["nbf"] == now
    assert body["exp"] == now + services_.settings.tokens.access_ttl
    assert body["jti"] == claims_of(client, services_, tokens["access_token"])["jti"]
    assert body["token_type"] == "Bearer"
    assert "cnf" not in body


def test_dpop_bound_token_is_type_dpop_with_the_proof_key_thumbprint(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp
) -> None:
    key = generate_key("ES256")
    token = client_credentials_token(client, services_, tpp, "accounts:read", dpop_key=key)

    body = introspection(client, services_, rs, token)

    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    # RFC 7638 thumbprint computed by joserfc, not by the server.
    assert body["cnf"] == {"jkt": key.thumbprint()}


def test_client_credentials_token_is_active_with_the_client_as_subject(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp
) -> None:
    token = client_credentials_token(client, services_, tpp, "accounts:read")

    body = introspection(client, services_, rs, token)

    assert body.keys() >= ACCESS_TOKEN_FIELDS, body
    assert body["active"] is True
    assert body["scope"] == "accounts:read"
    assert body["client_id"] == tpp.client_id
    assert body["sub"] == tpp.client_id
    assert body["token_type"] == "Bearer"


def test_issuing_client_sees_its_own_access_token(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: Any
) -> None:
    body = introspection(client, services_, tpp, tokens["access_token"])

    assert body["active"] is True
    assert body["client_id"] == tpp.client_id


def test_another_client_gets_exactly_inactive_for_an_access_token(
    client: FlaskClient, services_: Services, make_tpp: Any, tokens: Any
) -> None:
    other = make_tpp("tpp-other")

    assert introspection(client, services_, other, tokens["access_token"]) == INACTIVE


# -- refresh tokens ----------------------------------------------------------------------


def test_resource_server_gets_exactly_inactive_for_a_refresh_token(
    client: FlaskClient, services_: Services, rs: Tpp, tokens: Any
) -> None:
    assert introspection(client, services_, rs, tokens["refresh_token"]) == INACTIVE


def test_another_client_gets_exactly_inactive_for_a_refresh_token(
    client: FlaskClient, services_: Services, make_tpp: Any, tokens: Any
) -> None:
    other = make_tpp("tpp-other")

    assert introspection(client, services_, other, tokens["refresh_token"]) == INACTIVE


def test_owning_client_sees_its_refresh_token(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str, tokens: Any
) -> None:
    body = introspection(client, services_, tpp, tokens["refresh_token"])

    now = int(services_.clock.time())
    assert body["active"] is True
    assert body["scope"] == "openid accounts:read"
    assert body["client_id"] == tpp.client_id
    assert body["sub"] == user
    assert body["iat"] == now
    assert body["exp"] > now
    # RFC 7662's token_type names an access-token type: a refresh token has none.
    assert "token_type" not in body


# -- dead tokens -------------------------------------------------------------------------


def test_expired_access_token_is_inactive(
    client: FlaskClient, services_: Services, clock: FrozenClock, rs: Tpp, tokens: Any
) -> None:
    clock.advance(services_.settings.tokens.access_ttl + 1)

    assert introspection(client, services_, rs, tokens["access_token"]) == INACTIVE


def test_access_token_is_active_until_its_last_second(
    client: FlaskClient, services_: Services, clock: FrozenClock, rs: Tpp, tokens: Any
) -> None:
    clock.advance(services_.settings.tokens.access_ttl - 1)

    assert introspection(client, services_, rs, tokens["access_token"])["active"] is True


def test_refresh_token_past_its_idle_lifetime_is_inactive(
    client: FlaskClient, services_: Services, clock: FrozenClock, tpp: Tpp, tokens: Any
) -> None:
    clock.advance(services_.settings.tokens.refresh_idle_ttl)

    assert introspection(client, services_, tpp, tokens["refresh_token"]) == INACTIVE


def test_revoked_access_token_is_inactive(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp, tokens: Any
) -> None:
    revoked = revoke(client, services_, tpp, tokens["access_token"], "access_token")
    assert revoked.status_code == 200, revoked.get_data(as_text=True)

    assert introspection(client, services_, rs, tokens["access_token"]) == INACTIVE


def test_revoked_refresh_token_is_inactive(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: Any
) -> None:
    revoked = revoke(client, services_, tpp, tokens["refresh_token"], "refresh_token")
    assert revoked.status_code == 200, revoked.get_data(as_text=True)

    assert introspection(client, services_, tpp, tokens["refresh_token"]) == INACTIVE


def test_revoking_the_refresh_token_ends_its_access_token(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp, tokens: Any
) -> None:
    revoked = revoke(client, services_, tpp, tokens["refresh_token"], "refresh_token")
    assert revoked.status_code == 200, revoked.get_data(as_text=True)

    assert introspection(client, services_, rs, tokens["access_token"]) == INACTIVE


def test_rotated_refresh_token_is_inactive_and_its_successor_active(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: Any
) -> None:
    rotated = refresh(client, services_, tpp, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.get_data(as_text=True)

    assert introspection(client, services_, tpp, tokens["refresh_token"]) == INACTIVE
    successor = rotated.get_json()["refresh_token"]
    assert introspection(client, services_, tpp, successor)["active"] is True


def _revoke_consent(svc: Services, claims: dict[str, Any], user: str, tpp: Tpp) -> None:
    svc.revocations.revoke_consent(claims["consent_id"], actor="test", reason="test")


def _revoke_user(svc: Services, claims: dict[str, Any], user: str, tpp: Tpp) -> None:
    svc.revocations.revoke_user(user, actor="test", reason="test")


def _revoke_client(svc: Services, claims: dict[str, Any], user: str, tpp: Tpp) -> None:
    svc.revocations.revoke_client(tpp.client_id, actor="test", reason="test")


BULK = pytest.mark.parametrize(
    "bulk_revoke",
    [_revoke_consent, _revoke_user, _revoke_client],
    ids=["consent", "user", "client"],
)
Bulk = Callable[[Services, dict[str, Any], str, Tpp], None]


@BULK
def test_access_token_of_a_bulk_revoked_target_is_inactive(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    rs: Tpp,
    user: str,
    tokens: Any,
    bulk_revoke: Bulk,
) -> None:
    claims = claims_of(client, services_, tokens["access_token"])
    with app.app_context():
        bulk_revoke(services_, claims, user, tpp)

    assert introspection(client, services_, rs, tokens["access_token"]) == INACTIVE


@pytest.mark.parametrize("bulk_revoke", [_revoke_consent, _revoke_user], ids=["consent", "user"])
def test_refresh_token_of_a_bulk_revoked_target_is_inactive(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    tokens: Any,
    bulk_revoke: Bulk,
) -> None:
    claims = claims_of(client, services_, tokens["access_token"])
    with app.app_context():
        bulk_revoke(services_, claims, user, tpp)

    assert introspection(client, services_, tpp, tokens["refresh_token"]) == INACTIVE


@pytest.mark.parametrize(
    "token",
    ["no-such-token", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 5000],
    ids=["unknown", "garbage-jws", "alg-none", "long"],
)
def test_unknown_or_garbage_token_is_inactive(
    client: FlaskClient, services_: Services, rs: Tpp, token: str
) -> None:
    assert introspection(client, services_, rs, token) == INACTIVE


def test_id_token_is_not_an_access_token(
    client: FlaskClient, services_: Services, tpp: Tpp, rs: Tpp, tokens: Any
) -> None:
    id_token = tokens["id_token"]
    # Signed by us, for tpp: only its typ (not at+jwt) keeps it from passing.
    assert claims_of(client, services_, id_token)["iss"] == services_.settings.issuer

    assert introspection(client, services_, tpp, id_token) == INACTIVE
    assert introspection(client, services_, rs, id_token) == INACTIVE


# -- errors and headers ------------------------------------------------------------------


def test_missing_client_authentication_is_401_invalid_client(
    client: FlaskClient, services_: Services, rs: Tpp, tokens: Any
) -> None:
    form = {"token": tokens["access_token"], "client_id": rs.client_id}

    assert_oauth_error(post_form(client, services_, "/introspect", form), 401, "invalid_client")


def test_client_revoked_as_compromised_can_no_longer_introspect(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, tokens: Any
) -> None:
    with app.app_context():
        services_.revocations.revoke_client(tpp.client_id, actor="test", reason="test")

    response = introspect(client, services_, tpp, tokens["refresh_token"])

    assert_oauth_error(response, 401, "invalid_client")


def test_missing_token_is_400_invalid_request(
    client: FlaskClient, services_: Services, rs: Tpp
) -> None:
    response = introspect(client, services_, rs, "")

    assert_oauth_error(response, 400, "invalid_request")


def test_get_is_405(client: FlaskClient, services_: Services) -> None:
    response = client.get("/introspect", base_url=services_.settings.issuer)

    assert response.status_code == 405


def test_every_answer_is_no_store(
    client: FlaskClient, services_: Services, rs: Tpp, tokens: Any
) -> None:
    answers = {
        "active": introspect(client, services_, rs, tokens["access_token"]),
        "inactive": introspect(client, services_, rs, "no-such-token"),
        "jwt": introspect(
            client,
            services_,
            rs,
            tokens["access_token"],
            headers={"Accept": "application/token-introspection+jwt"},
        ),
        "invalid_request": introspect(client, services_, rs, ""),
        "invalid_client": post_form(
            client, services_, "/introspect", {"token": "x", "client_id": rs.client_id}
        ),
    }

    for name, response in answers.items():
        assert response.headers.get("Cache-Control") == "no-store", name


# -- registration ------------------------------------------------------------------------


def resource_server_request(**overrides: Any) -> ClientRequest:
    values: dict[str, Any] = {
        "client_name": "rs (test)",
        "client_id": "rs-registered",
        "redirect_uris": [],
        "scopes": [],
        "grant_types": [],
        "jwks": public_jwks(generate_key("ES256")),
        "resource_server": True,
    }
    values.update(overrides)
    return ClientRequest(**values)


def test_resource_server_registers_without_grants_or_redirect_uris(svc: Services) -> None:
    created = svc.clients.create(resource_server_request(), actor="test")

    assert created.resource_server is True


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uris": ["https://rs.example.test/cb"]},
        {"grant_types": ["client_credentials"]},
        {"redirect_uris": ["https://rs.example.test/cb"], "grant_types": ["authorization_code"]},
    ],
    ids=["redirect_uris", "grant_types", "both"],
)
def test_resource_server_with_grants_or_redirect_uris_is_refused(
    svc: Services, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ClientRegistrationError, match="resource server"):
        svc.clients.create(resource_server_request(**overrides), actor="test")


@pytest.mark.parametrize("alg", ["RS256", "HS256", "none", "EdDSA"])
def test_introspection_signed_response_alg_outside_fapi_is_refused(svc: Services, alg: str) -> None:
    request = resource_server_request(introspection_signed_response_alg=alg)

    with pytest.raises(ClientRegistrationError, match="introspection_signed_response_alg"):
        svc.clients.create(request, actor="test")


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_introspection_signed_response_alg_ps256_and_es256_are_accepted(
    svc: Services, alg: str
) -> None:
    request = resource_server_request(introspection_signed_response_alg=alg)

    assert svc.clients.create(request, actor="test").introspection_signed_response_alg == alg
