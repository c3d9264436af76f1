"""RFC 7638 JWK thumbprints: required members only, the RFC's example, joserfc agrees."""

from __future__ import annotations

from typing import Any

import pytest

from authserver.dpop.thumbprint import jwk_thumbprint
from tests.dpop import shared_key

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_KEY: dict[str, Any] = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
        "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_of_rfc7638_example_key() -> None:
    assert jwk_thumbprint(RFC7638_KEY) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_optional_members() -> None:
    required = {name: RFC7638_KEY[name] for name in ("kty", "n", "e")}
    decorated = {**required, "alg": "PS256", "kid": "other", "use": "sig", "ext": True}

    assert jwk_thumbprint(required) == RFC7638_THUMBPRINT
    assert jwk_thumbprint(decorated) == RFC7638_THUMBPRINT


def test_thumbprint_ignores_member_order() -> None:
    reordered = dict(reversed(list(RFC7638_KEY.items())))

    assert jwk_thumbprint(reordered) == RFC7638_THUMBPRINT


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_thumbprint_equals_joserfc_thumbprint(alg: str) -> None:
    key = shared_key(alg)

    assert jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_thumbprint_of_ec_and_okp_keys_uses_required_members_only(alg: str) -> None:
    public = shared_key(alg).as_dict(private=False)
    required: dict[str, Any] = {
        name: public[name] for name in ("crv", "kty", "x", "y") if name in public
    }

    assert jwk_thumbprint({**public, "kid": "k1", "alg": alg, "use": "sig"}) == jwk_thumbprint(
        required
    )


def test_thumbprint_of_different_keys_differs() -> None:
    first = shared_key("ES256", "a").as_dict(private=False)
    second = shared_key("ES256", "b").as_dict(private=False)

    assert jwk_thumbprint(first) != jwk_thumbprint(second)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "e": "AQAB"},
        {"kty": "RSA", "n": "abc"},
        {"kty": "EC", "crv": "P-256", "x": "abc"},
        {"kty": "OKP", "x": "abc"},
        {"crv": "Ed25519", "x": "abc"},
        {"kty": "oct", "k": "abc"},
        {"kty": "RSA", "n": 5, "e": "AQAB"},
        {},
    ],
    ids=["rsa-no-n", "rsa-no-e", "ec-no-y", "okp-no-crv", "no-kty", "oct", "rsa-n-int", "empty"],
)
def test_thumbprint_of_incomplete_or_unknown_key_raises_value_error(jwk: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unsupported or incomplete JWK"):
        jwk_thumbprint(jwk)
