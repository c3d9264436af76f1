"""Both discovery documents come from one builder and agree on the issuer."""

from __future__ import annotations

from flask.testing import FlaskClient

from authserver.settings import Settings

PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def test_both_documents_carry_the_same_issuer(client: FlaskClient, settings: Settings) -> None:
    issuers = {client.get(path).get_json()["issuer"] for path in PATHS}
    assert issuers == {settings.issuer}


def test_metadata_lists_only_what_works_now(client: FlaskClient, settings: Settings) -> None:
    body = client.get(PATHS[0]).get_json()
    assert body == {"issuer": settings.issuer, "jwks_uri": f"{settings.issuer}/jwks"}


def test_jwks_uri_in_metadata_is_served(client: FlaskClient, settings: Settings) -> None:
    jwks_uri = client.get(PATHS[1]).get_json()["jwks_uri"]
    response = client.get(jwks_uri.removeprefix(settings.issuer))
    assert response.status_code == 200
    assert response.get_json()["keys"]
