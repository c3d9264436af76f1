"""FapiPolicy is the one source of each profile rule: the checks, the grant registry and
discovery all follow a policy that differs from the default."""

from __future__ import annotations

from typing import Any

import pytest

from authserver.checks.authorization_request import check_pkce
from authserver.clients.models import Client
from authserver.context import Services
from authserver.discovery.metadata import build_metadata
from authserver.errors import InvalidRequestError
from authserver.fapi import FapiPolicy
from authserver.jarm.response import sign_response
from authserver.settings import Settings
from authserver.tokens.errors import UnsupportedGrantTypeError
from authserver.tokens.registry import select_grant
from conformance.tpp import pkce_pair
from tests.par import jwt_header


def test_dpop_flags_reach_the_policy_from_settings(make_settings: Any) -> None:
    settings = make_settings(oauth={"dpop_nonce_required": True, "allow_bearer_tokens": False})
    policy = FapiPolicy.from_settings(settings.oauth)
    assert policy.dpop_nonce_required is True
    assert policy.allow_bearer_tokens is False


def test_default_policy_leaves_the_dpop_flags_at_their_defaults(settings: Settings) -> None:
    policy = FapiPolicy.from_settings(settings.oauth)
    assert policy.dpop_nonce_required is False
    assert policy.allow_bearer_tokens is True


def test_pkce_method_outside_the_policy_is_refused() -> None:
    _verifier, challenge = pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256"}
    check_pkce(params, Client(), FapiPolicy())
    with pytest.raises(InvalidRequestError) as refused:
        check_pkce(params, Client(), FapiPolicy(pkce_methods=()))
    assert refused.value.error == "invalid_request"


def test_grant_outside_the_policy_is_unsupported_and_not_advertised(settings: Settings) -> None:
    policy = FapiPolicy(grant_types=("authorization_code", "refresh_token"))
    with pytest.raises(UnsupportedGrantTypeError) as refused:
        select_grant("client_credentials", policy)
    assert (refused.value.error, refused.value.status_code) == ("unsupported_grant_type", 400)
    advertised = build_metadata(settings, policy)["grant_types_supported"]
    assert advertised == ["authorization_code", "refresh_token"]


def test_grant_the_policy_allows_without_a_handler_is_neither_served_nor_advertised(
    settings: Settings,
) -> None:
    policy = FapiPolicy(grant_types=("authorization_code", "password"))
    with pytest.raises(UnsupportedGrantTypeError):
        select_grant("password", policy)
    assert build_metadata(settings, policy)["grant_types_supported"] == ["authorization_code"]


def test_discovery_follows_every_policy_list(settings: Settings) -> None:
    policy = FapiPolicy(
        signing_algs=("ES256",),
        pkce_methods=("S256",),
        response_modes=("query",),
        jarm_algs=("ES256",),
        introspection_algs=("ES256",),
        id_token_signing_alg="ES256",
        require_signed_request_object=True,
    )
    body = build_metadata(settings, policy)
    for key in (
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
        "request_object_signing_alg_values_supported",
        "dpop_signing_alg_values_supported",
        "authorization_signing_alg_values_supported",
        "introspection_signing_alg_values_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert body[key] == ["ES256"], key
    assert body["response_modes_supported"] == ["query"]
    assert body["require_signed_request_object"] is True


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_jarm_response_without_a_registered_alg_uses_the_policy_default(
    svc: Services, alg: str
) -> None:
    client = Client(client_id="tpp-jarm", authorization_signed_response_alg=None)
    token = sign_response(
        {"code": "c"},
        client,
        keys=svc.keys,
        issuer=svc.settings.issuer,
        now=svc.clock.time(),
        policy=FapiPolicy(jarm_default_alg=alg),
    )
    assert jwt_header(token)["alg"] == alg
