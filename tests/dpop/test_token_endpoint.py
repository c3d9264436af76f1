"""DPoP at POST /token (RFC 9449 §5, §8): one test per rule, exact status and error code.

Checklist E5-E8; conformance modules #47 (holder of key required) and #57 (refresh
without PoP). Proofs come from ``conformance.tpp.dpop_proof`` with ``iat`` taken from
the server's frozen clock, like the client assertions of ``tests.par.frozen_auth``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from tests.cli.test_cli import public_jwks_file
from tests.cli.test_cli import run_json
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.par import SERVER_ALGS
from tests.par import Authorized
from tests.par import authorize
from tests.par import frozen_auth
from tests.par import register
from tests.par import server_keys
from tppkit import Browser
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

SCOPES = ["openid", "accounts:read", "payments:write"]


def proof_for(svc: Services, key: PrivateKey, path: str = "/token", **claims: Any) -> str:
    """A proof for ``POST path`` made at the server's (frozen) clock."""
    claims.setdefault("iat", int(svc.clock.time()))
    return dpop_proof(key, "POST", svc.settings.issuer + path, **claims)


def post(
    client: FlaskClient, svc: Services, path: str, form: dict[str, str], proof: str | None
) -> TestResponse:
    headers = {"DPoP": proof} if proof is not None else {}
    return client.post(path, data=form, headers=headers, base_url=svc.settings.issuer)


def token(
    client: FlaskClient, svc: Services, tpp: Tpp, form: dict[str, str], proof: str | None
) -> TestResponse:
    return post(client, svc, "/token", {**form, **frozen_auth(tpp, svc)}, proof)


def code_form(tpp: Tpp, flow: Authorized) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": flow.pushed.verifier,
    }


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "accounts:read"}


def access_claims(client: FlaskClient, svc: Services, response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    access_token = response.get_json()["access_token"]
    verified = jwt.decode(access_token, server_keys(client, svc), algorithms=SERVER_ALGS)
    return dict(verified.claims)


def bound_tpp(app: Flask, svc: Services, client_id: str = "tpp-dpop") -> Tpp:
    return register(app, svc, client_id, scopes=SCOPES, dpop_bound_access_tokens=True)


# -- a valid proof binds the access token ------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_valid_proof_gives_a_dpop_token_bound_to_the_proof_key(
    client: FlaskClient, services_: Services, tpp: Tpp, alg: str
) -> None:
    key = generate_key(alg)

    response = token(client, services_, tpp, CLIENT_CREDENTIALS, proof_for(services_, key))

    assert response.get_json()["token_type"] == "DPoP"
    # RFC 7638 thumbprint, computed by joserfc (not by the server's own function).
    assert access_claims(client, services_, response)["cnf"] == {"jkt": key.thumbprint()}


def test_authorization_code_with_a_proof_gives_a_dpop_token(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    key = generate_key("ES256")
    flow = authorize(client, browser, services_, tpp)

    response = token(client, services_, tpp, code_form(tpp, flow), proof_for(services_, key))

    assert response.get_json()["token_type"] == "DPoP"
    assert access_claims(client, services_, response)["cnf"] == {"jkt": key.thumbprint()}


def test_without_a_proof_the_token_stays_bearer_without_cnf(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = token(client, services_, tpp, CLIENT_CREDENTIALS, None)

    assert response.get_json()["token_type"] == "Bearer"
    assert "cnf" not in access_claims(client, services_, response)


def test_invalid_proof_is_invalid_dpop_proof(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    proof = proof_for(services_, generate_key("ES256"), path="/par")

    response = token(client, services_, tpp, CLIENT_CREDENTIALS, proof)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_a_replayed_proof_is_invalid_dpop_proof(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    proof = proof_for(services_, generate_key("ES256"))
    assert token(client, services_, tpp, CLIENT_CREDENTIALS, proof).status_code == 200

    response = token(client, services_, tpp, CLIENT_CREDENTIALS, proof)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


# -- dpop_bound_access_tokens: no proof, no token (E8) -----------------------------------


def test_bound_client_without_proof_at_client_credentials_is_invalid_dpop_proof(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    bound = bound_tpp(app, services_)

    response = token(client, services_, bound, CLIENT_CREDENTIALS, None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_bound_client_without_proof_at_authorization_code_is_invalid_dpop_proof(
    app: Flask, client: FlaskClient, browser: Browser, services_: Services, user: str
) -> None:
    bound = bound_tpp(app, services_)
    flow = authorize(client, browser, services_, bound)

    response = token(client, services_, bound, code_form(bound, flow), None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_bound_client_refused_without_proof_keeps_its_code(
    app: Flask, client: FlaskClient, browser: Browser, services_: Services, user: str
) -> None:
    """The proof is checked before the grant runs: a refusal spends no code."""
    bound = bound_tpp(app, services_)
    flow = authorize(client, browser, services_, bound)
    token(client, services_, bound, code_form(bound, flow), None)

    response = token(
        client, services_, bound, code_form(bound, flow), proof_for(services_, bound.key)
    )

    assert response.status_code == 200, response.get_data(as_text=True)


def test_bound_client_without_proof_at_refresh_is_invalid_dpop_proof(
    app: Flask, client: FlaskClient, browser: Browser, services_: Services, user: str
) -> None:
    bound = bound_tpp(app, services_)
    flow = authorize(client, browser, services_, bound)
    issued = token(
        client, services_, bound, code_form(bound, flow), proof_for(services_, bound.key)
    )
    refresh_token = issued.get_json()["refresh_token"]

    response = token(client, services_, bound, refresh_form(refresh_token), None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


# -- refresh: bound to the client, the new access token to the presented key (E7) ---------


@pytest.fixture
def dpop_tokens(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> dict[str, Any]:
    """Tokens of ``tpp`` (not dpop-bound) redeemed with a proof by ``tpp.key``."""
    flow = authorize(client, browser, services_, tpp)
    issued = token(client, services_, tpp, code_form(tpp, flow), proof_for(services_, tpp.key))
    assert issued.status_code == 200, issued.get_data(as_text=True)
    body: dict[str, Any] = issued.get_json()
    return body


def test_refresh_with_a_proof_gives_a_new_dpop_bound_token(
    client: FlaskClient, services_: Services, tpp: Tpp, dpop_tokens: dict[str, Any]
) -> None:
    form = refresh_form(dpop_tokens["refresh_token"])

    response = token(client, services_, tpp, form, proof_for(services_, tpp.key))

    assert response.get_json()["token_type"] == "DPoP"
    assert response.get_json()["access_token"] != dpop_tokens["access_token"]
    assert access_claims(client, services_, response)["cnf"] == {"jkt": tpp.key.thumbprint()}


def test_refresh_of_a_confidential_client_binds_the_new_token_to_the_presented_key(
    client: FlaskClient, services_: Services, tpp: Tpp, dpop_tokens: dict[str, Any]
) -> None:
    """RFC 9449 §5: a confidential client's refresh token is bound to the client, not a key."""
    other = generate_key("EdDSA")
    form = refresh_form(dpop_tokens["refresh_token"])

    response = token(client, services_, tpp, form, proof_for(services_, other))

    assert access_claims(client, services_, response)["cnf"] == {"jkt": other.thumbprint()}


def test_refresh_of_a_dpop_family_without_proof_is_invalid_dpop_proof(
    client: FlaskClient, services_: Services, tpp: Tpp, dpop_tokens: dict[str, Any]
) -> None:
    """No downgrade to Bearer at refresh (FAPI CT refresh-token: refresh without PoP fails)."""
    form = refresh_form(dpop_tokens["refresh_token"])

    response = token(client, services_, tpp, form, None)

    assert_oauth_error(response, 400, "invalid_dpop_proof")


def test_refresh_refused_for_a_missing_proof_leaves_the_refresh_token_usable(
    client: FlaskClient, services_: Services, tpp: Tpp, dpop_tokens: dict[str, Any]
) -> None:
    form = refresh_form(dpop_tokens["refresh_token"])
    token(client, services_, tpp, form, None)

    response = token(client, services_, tpp, form, proof_for(services_, tpp.key))

    assert response.status_code == 200, response.get_data(as_text=True)


def test_refresh_of_a_bearer_family_without_proof_stays_bearer(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp)
    issued = token(client, services_, tpp, code_form(tpp, flow), None)

    response = token(client, services_, tpp, refresh_form(issued.get_json()["refresh_token"]), None)

    assert response.get_json()["token_type"] == "Bearer"


# -- server nonces (E6) ------------------------------------------------------------------


def test_every_answer_to_a_request_with_a_proof_carries_one_dpop_nonce(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    proof = proof_for(services_, generate_key("ES256"))

    response = token(client, services_, tpp, CLIENT_CREDENTIALS, proof)

    assert response.status_code == 200
    assert len(response.headers.getlist("DPoP-Nonce")) == 1


def test_an_error_answer_to_a_request_with_a_proof_carries_a_dpop_nonce(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    proof = proof_for(services_, generate_key("ES256"), htm="GET")

    response = token(client, services_, tpp, CLIENT_CREDENTIALS, proof)

    assert_oauth_error(response, 400, "invalid_dpop_proof")
    assert len(response.headers.getlist("DPoP-Nonce")) == 1


def test_no_dpop_nonce_without_a_proof(client: FlaskClient, services_: Services, tpp: Tpp) -> None:
    response = token(client, services_, tpp, CLIENT_CREDENTIALS, None)

    assert "DPoP-Nonce" not in response.headers


def test_required_nonce_missing_is_use_dpop_nonce_then_the_retry_succeeds(
    make_settings: Any, clock: FrozenClock
) -> None:
    with app_with(make_settings(oauth={"dpop_nonce_required": True}), clock) as application:
        svc = services(application)
        nonce_tpp = register(application, svc, "tpp-nonce", scopes=SCOPES)
        client = application.test_client()
        key = generate_key("ES256")

        refused = token(client, svc, nonce_tpp, CLIENT_CREDENTIALS, proof_for(svc, key))
        assert_oauth_error(refused, 400, "use_dpop_nonce")
        nonces = refused.headers.getlist("DPoP-Nonce")
        assert len(nonces) == 1
        retried = token(
            client, svc, nonce_tpp, CLIENT_CREDENTIALS, proof_for(svc, key, nonce=nonces[0])
        )

    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.get_json()["token_type"] == "DPoP"


def test_dpop_nonce_and_www_authenticate_are_exposed_to_browser_clients(
    client: FlaskClient, services_: Services
) -> None:
    response = client.get("/.well-known/oauth-authorization-server")

    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"DPoP-Nonce", "WWW-Authenticate"}


# -- client metadata ---------------------------------------------------------------------


def test_cli_dpop_bound_access_tokens_round_trip(cli_env: dict[str, str], tmp_path: Path) -> None:
    created = run_json(
        cli_env,
        "clients",
        "create",
        "--name",
        "Bound",
        "--client-id",
        "bound",
        "--redirect-uri",
        "https://bound.example/cb",
        "--scope",
        "accounts:read",
        "--jwks-file",
        str(public_jwks_file(tmp_path)),
        "--dpop-bound-access-tokens",
    )

    shown = run_json(cli_env, "clients", "show", "bound")

    assert created["dpop_bound_access_tokens"] is True
    assert shown["dpop_bound_access_tokens"] is True


def test_clients_are_not_dpop_bound_by_default(cli_env: dict[str, str], tmp_path: Path) -> None:
    created = run_json(
        cli_env,
        "clients",
        "create",
        "--name",
        "Plain",
        "--client-id",
        "plain",
        "--redirect-uri",
        "https://plain.example/cb",
        "--jwks-file",
        str(public_jwks_file(tmp_path)),
    )

    assert created["dpop_bound_access_tokens"] is False


def test_nonce_round_trip_does_not_spend_the_client_assertion(
    make_settings: Any, clock: FrozenClock
) -> None:
    # The OIDF suite retries use_dpop_nonce with a new proof and the SAME client assertion.
    with app_with(make_settings(oauth={"dpop_nonce_required": True}), clock) as application:
        svc = services(application)
        nonce_tpp = register(application, svc, "tpp-nonce", scopes=SCOPES)
        client = application.test_client()
        key = generate_key("ES256")
        form = {**CLIENT_CREDENTIALS, **frozen_auth(nonce_tpp, svc)}

        refused = post(client, svc, "/token", form, proof_for(svc, key))
        assert_oauth_error(refused, 400, "use_dpop_nonce")
        nonce = refused.headers["DPoP-Nonce"]
        retried = post(client, svc, "/token", form, proof_for(svc, key, nonce=nonce))

    assert retried.status_code == 200, retried.get_data(as_text=True)
