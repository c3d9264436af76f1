"""The grant registry's order at /token: grant_type, then the client's grants, then the
DPoP binding, then the grant's own checks, and only then the handler."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from conformance.tpp import Tpp
from tests.helpers import assert_oauth_error
from tests.par import frozen_auth
from tests.par import post_form
from tests.par import register


def token(client: FlaskClient, svc: Services, tpp: Tpp, form: dict[str, str]) -> TestResponse:
    return post_form(client, svc, "/token", {**form, **frozen_auth(tpp, svc)})


def test_missing_refresh_token_is_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = token(client, services_, tpp, {"grant_type": "refresh_token"})

    assert_oauth_error(response, 400, "invalid_request")


def test_unknown_grant_type_is_unsupported_grant_type(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = token(client, services_, tpp, {"grant_type": "urn:example:unknown"})

    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_client_check_comes_before_the_grants_own_checks(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    """A client without refresh_token learns unauthorized_client, not that it lacked one."""
    code_only = register(
        app,
        services_,
        "tpp-code-only",
        scopes=["accounts:read"],
        grant_types=["authorization_code"],
    )
    response = token(client, services_, code_only, {"grant_type": "refresh_token"})

    assert_oauth_error(response, 400, "unauthorized_client")


def test_dpop_bound_client_without_a_proof_is_refused_before_the_grant_checks(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    bound = register(
        app, services_, "tpp-bound", scopes=["accounts:read"], dpop_bound_access_tokens=True
    )
    response = token(client, services_, bound, {"grant_type": "authorization_code"})

    assert_oauth_error(response, 400, "invalid_dpop_proof")
