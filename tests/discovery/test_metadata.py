"""Both discovery documents come from one builder and agree on the issuer."""

from __future__ import annotations

from flask.testing import FlaskClient

from authserver.settings import Settings

PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def test_both_documents_carry_the_same_issuer(client: FlaskClient, settings: Settings) -> None:
    issuers = {client.get(path).get_json()["issuer"] for path in PATHS}
    assert issuers == {settings.issuer}


def test_metadata_lists_the_fapi_endpoints_and_capabilities(
    client: FlaskClient, settings: Settings
) -> None:
    body = client.get(PATHS[0]).get_json()
    issuer = settings.issuer
    assert body["pushed_authorization_request_endpoint"] == f"{issuer}/par"
    assert body["require_pushed_authorization_requests"] is True
    assert body["authorization_endpoint"] == f"{issuer}/authorize"
    assert body["token_endpoint"] == f"{issuer}/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert "jwt" in body["response_modes_supported"]
    assert "RS256" not in body["token_endpoint_auth_signing_alg_values_supported"]
    assert "RS256" not in body["request_object_signing_alg_values_supported"]
    assert "password" not in body["grant_types_supported"]
    assert body["dpop_signing_alg_values_supported"] == ["PS256", "ES256", "EdDSA"]
    assert body["revocation_endpoint"] == f"{issuer}/revoke"
    assert body["introspection_endpoint"] == f"{issuer}/introspect"
    for endpoint in ("revocation", "introspection"):
        assert body[f"{endpoint}_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert "RS256" not in body[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
    assert body["introspection_signing_alg_values_supported"] == ["PS256", "ES256"]


def test_every_advertised_endpoint_exists(client: FlaskClient, settings: Settings) -> None:
    body = client.get(PATHS[0]).get_json()
    for name, url in body.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            assert (
                client.open(url.removeprefix(settings.issuer), method="OPTIONS").status_code != 404
            )


def test_jwks_uri_in_metadata_is_served(client: FlaskClient, settings: Settings) -> None:
    jwks_uri = client.get(PATHS[1]).get_json()["jwks_uri"]
    response = client.get(jwks_uri.removeprefix(settings.issuer))
    assert response.status_code == 200
    assert response.get_json()["keys"]


def test_metadata_lists_both_ways_to_name_an_open_banking_consent(
    client: FlaskClient, settings: Settings
) -> None:
    body = client.get(PATHS[1]).get_json()
    assert body["claims_parameter_supported"] is True
    assert "openbanking_intent_id" in body["claims_supported"]
    assert body["authorization_details_types_supported"] == ["account_access", "payment_initiation"]
