"""The published JWKS (DATA-3): public halves only, and private halves sealed at rest."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.crypto.envelope import DecryptionError
from authserver.crypto.envelope import Envelope
from authserver.crypto.envelope import Sealed
from authserver.db import db

JWKS_PATHS = ("/jwks", "/.well-known/jwks.json")
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def fetch_jwks(client: FlaskClient, path: str = "/jwks") -> list[dict[str, Any]]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    keys: list[dict[str, Any]] = response.get_json()["keys"]
    return keys


@pytest.mark.parametrize("path", JWKS_PATHS)
def test_jwks_publishes_one_rsa_and_ec_signing_key_per_algorithm(
    client: FlaskClient, path: str
) -> None:
    keys = fetch_jwks(client, path)

    assert sorted(key["alg"] for key in keys) == ["ES256", "PS256", "RS256"]
    assert {key["kty"] for key in keys} == {"RSA", "EC"}
    for key in keys:
        assert key["use"] == "sig"
        assert key["kty"] == ("EC" if key["alg"] == "ES256" else "RSA")
        assert isinstance(key["kid"], str)
        assert key["kid"]
    assert len({key["kid"] for key in keys}) == len(keys)


@pytest.mark.parametrize("path", JWKS_PATHS)
def test_jwks_never_contains_private_key_members(client: FlaskClient, path: str) -> None:
    keys = fetch_jwks(client, path)

    assert keys
    for key in keys:
        assert not PRIVATE_MEMBERS & key.keys(), key


def test_both_jwks_paths_serve_the_same_keys_with_a_cache_header(client: FlaskClient) -> None:
    first = client.get(JWKS_PATHS[0])
    second = client.get(JWKS_PATHS[1])

    assert first.get_json() == second.get_json()
    for response in (first, second):
        assert response.headers["Cache-Control"] == "public, max-age=300"


def test_private_keys_are_sealed_at_rest(svc: Services) -> None:
    svc.keys.ensure_keys()
    with db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT kid, sealed_private_jwk FROM signing_keys")).all()

    assert len(rows) == 4  # RS256, PS256, ES256 token keys and the webhook key
    for kid, sealed_text in rows:
        assert '"d"' not in sealed_text
        assert "'d'" not in sealed_text
        # Under the master key (bound to its kid) it opens to the full private JWK ...
        private = json.loads(svc.envelope.open(Sealed.from_text(sealed_text), kid))
        assert private["kid"] == kid
        assert private["d"]
        assert private["d"] not in sealed_text
        # ... and under any other master key or kid it does not open at all.
        with pytest.raises(DecryptionError):
            Envelope(os.urandom(32)).open(Sealed.from_text(sealed_text), kid)
        with pytest.raises(DecryptionError):
            svc.envelope.open(Sealed.from_text(sealed_text), "another-kid")


def test_published_public_key_matches_the_sealed_private_key(svc: Services) -> None:
    svc.keys.ensure_keys()
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT kid, public_jwk, sealed_private_jwk FROM signing_keys")
        ).all()

    for kid, public_jwk, sealed_text in rows:
        public = json.loads(public_jwk) if isinstance(public_jwk, str) else public_jwk
        private = json.loads(svc.envelope.open(Sealed.from_text(sealed_text), kid))
        assert {name: private[name] for name in public} == public
