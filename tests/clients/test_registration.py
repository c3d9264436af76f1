"""Client registration rules, enforced by the one service the CLI and admin pages share."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwk

from authserver.checks.redirect_uri import is_registered
from authserver.checks.redirect_uri import redirect_uri_problem
from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientRequest
from authserver.context import Services


def public_jwks() -> dict[str, Any]:
    key = jwk.ECKey.generate_key("P-256", private=True)
    return {"keys": [{**key.as_dict(private=False), "kid": "k1"}]}


def request(**overrides: Any) -> ClientRequest:
    values: dict[str, Any] = {
        "client_name": "Acme TPP",
        "redirect_uris": ["https://acme.example/cb"],
        "scopes": ["accounts:read"],
        "jwks": public_jwks(),
    }
    values.update(overrides)
    return ClientRequest(**values)


@pytest.mark.parametrize(
    "uri",
    [
        "https://tpp.example/cb",
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
        "http://[::1]/cb",
    ],
)
def test_https_or_loopback_http_redirect_uris_are_accepted(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://tpp.example/cb", "https"),
        ("https://tpp.example/cb#frag", "fragment"),
        ("/relative/cb", "absolute"),
        ("custom:/cb", "absolute"),
    ],
)
def test_unsafe_redirect_uris_are_refused(uri: str, problem: str) -> None:
    assert problem in (redirect_uri_problem(uri) or "")


def test_redirect_uri_matching_is_exact() -> None:
    registered = ["https://tpp.example/cb"]
    assert is_registered("https://tpp.example/cb", registered)
    assert not is_registered("https://tpp.example/cb/", registered)
    assert not is_registered("https://tpp.example/cb?x=1", registered)
    assert not is_registered("HTTPS://tpp.example/cb", registered)


def test_client_is_created_and_audited(svc: Services) -> None:
    client = svc.clients.create(request(client_id="acme"), actor="operator:test")
    assert svc.clients.get("acme") is client
    events = list(svc.audit.iter_events())
    assert [e.event_type for e in events] == ["client.created"]
    assert events[0].resource == "client:acme"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "token_endpoint_auth_method"),
        ({"redirect_uris": []}, "redirect_uri"),
        ({"scopes": ["accounts:read", "admin:all"]}, "unknown scope"),
        ({"jwks": None}, "jwks"),
        ({"jwks_uri": "https://acme.example/jwks"}, "exactly one"),
        ({"jwks": {"keys": []}}, "non-empty"),
        ({"client_name": "  "}, "client_name"),
    ],
)
def test_invalid_registration_is_refused(
    svc: Services, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientRegistrationError, match=message):
        svc.clients.create(request(**overrides), actor="operator:test")


def test_private_key_in_jwks_is_refused(svc: Services) -> None:
    key = jwk.ECKey.generate_key("P-256", private=True)
    jwks = {"keys": [{**key.as_dict(private=True), "kid": "k1"}]}
    with pytest.raises(ClientRegistrationError, match="public keys only"):
        svc.clients.create(request(jwks=jwks), actor="operator:test")


def test_duplicate_kids_are_refused(svc: Services) -> None:
    jwks = public_jwks()
    jwks["keys"].append(dict(jwks["keys"][0]))
    with pytest.raises(ClientRegistrationError, match="unique"):
        svc.clients.create(request(jwks=jwks), actor="operator:test")


def test_duplicate_client_id_is_refused(svc: Services) -> None:
    svc.clients.create(request(client_id="acme"), actor="operator:test")
    with pytest.raises(ClientRegistrationError, match="already exists"):
        svc.clients.create(request(client_id="acme"), actor="operator:test")


def test_disabled_client_is_marked_and_audited(svc: Services) -> None:
    svc.clients.create(request(client_id="acme"), actor="operator:test")
    assert svc.clients.disable("acme", actor="operator:test").disabled
    assert [e.event_type for e in svc.audit.iter_events()][-1] == "client.disabled"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"authorization_signed_response_alg": "RS256"}, "authorization_signed_response_alg"),
        ({"authorization_signed_response_alg": "none"}, "authorization_signed_response_alg"),
        ({"access_token_ttl": 30}, "access_token_ttl"),
        ({"access_token_ttl": 7200}, "access_token_ttl"),
    ],
)
def test_token_and_jarm_settings_are_bounded(
    svc: Services, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientRegistrationError, match=message):
        svc.clients.create(request(**overrides), actor="operator:test")


def test_per_client_access_token_lifetime_up_to_an_hour(svc: Services) -> None:
    client = svc.clients.create(request(access_token_ttl=3600), actor="operator:test")
    assert client.access_token_ttl == 3600
