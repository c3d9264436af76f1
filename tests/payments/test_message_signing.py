"""API-5: x-jws-signature, the client's detached JWS over the exact body, and ours on responses."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter

from authserver.openbanking.errors import OBErrorResponse
from authserver.openbanking.message_signing import CRITICAL
from authserver.openbanking.message_signing import OB_IAT
from authserver.openbanking.message_signing import OB_ISS
from authserver.openbanking.message_signing import OB_TAN
from authserver.openbanking.message_signing import sign_response
from authserver.openbanking.message_signing import verify_request_signature
from tppkit.keys import PrivateKey
from tppkit.keys import generate_key
from tppkit.keys import new_key
from tppkit.keys import public_jwks
from tppkit.keys import shared_tpp_key

CLIENT_ID = "tpp-client-1"
ANCHOR = "openbanking.org.uk"
MAX_AGE = 300.0
BODY = b'{"Data":{"Initiation":{"InstructedAmount":{"Amount":"10.00","Currency":"GBP"}}},"Risk":{}}'
NOW = float(int(time.time()))


def ob_header(key: PrivateKey, alg: str = "ES256", **changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "alg": alg,
        "kid": key.kid,
        "typ": "JOSE",
        "cty": "application/json",
        OB_IAT: int(NOW),
        OB_ISS: CLIENT_ID,
        OB_TAN: ANCHOR,
        "crit": list(CRITICAL),
    }
    header.update(changes)
    return {name: value for name, value in header.items() if value is not None}


def tpp_registry(alg: str) -> JWSRegistry:
    """A TPP's joserfc set-up: its algorithm, and the OB claims declared (values unchecked, so
    negative tests can sign wrong ones)."""
    claims = {name: HeaderParameter(name, lambda value: None) for name in CRITICAL}
    return JWSRegistry(header_registry=claims, algorithms=[alg], strict_check_header=False)


def sign(header: dict[str, Any], key: PrivateKey | None, body: bytes = BODY) -> str:
    """What a TPP sends: joserfc's compact JWS with its payload detached (RFC 7515 App. F)."""
    compact = jws.serialize_compact(header, body, key, registry=tpp_registry(header["alg"]))
    return jws.detach_content(compact)


def tpp_signature(
    key: PrivateKey, changes: dict[str, Any] | None = None, *, alg: str = "ES256"
) -> str:
    return sign(ob_header(key, alg, **(changes or {})), key)


def verify(value: str | None, body: bytes = BODY, keys: KeySet | None = None, **kw: Any) -> None:
    options: dict[str, Any] = {
        "client_jwks": keys or KeySet.import_key_set(public_jwks(es_key())),  # type: ignore[arg-type]
        "client_id": CLIENT_ID,
        "trust_anchor": ANCHOR,
        "now": NOW,
        "max_age": MAX_AGE,
    }
    options.update(kw)
    verify_request_signature(value, body, **options)


def es_key() -> PrivateKey:
    return shared_tpp_key("ES256", "signing")


def codes(value: str | None, body: bytes = BODY, **kw: Any) -> list[tuple[str, str]]:
    with pytest.raises(OBErrorResponse) as caught:
        verify(value, body, **kw)
    assert caught.value.status == 400
    return [(e["ErrorCode"], e["Path"]) for e in caught.value.to_json()["Errors"]]


# -- accepted ---------------------------------------------------------------------------


def test_good_es256_signature_passes() -> None:
    verify(tpp_signature(es_key()))


def test_good_ps256_signature_passes() -> None:
    key = generate_key("PS256")
    keys = KeySet.import_key_set(public_jwks(es_key(), key))  # type: ignore[arg-type]
    verify(tpp_signature(key, alg="PS256"), keys=keys)


def test_iat_within_max_age_or_small_skew_passes() -> None:
    verify(tpp_signature(es_key(), {OB_IAT: int(NOW - MAX_AGE)}))
    verify(tpp_signature(es_key(), {OB_IAT: int(NOW + 20)}))


# -- refused, each with its code ---------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_missing_header_is_u019(value: str | None) -> None:
    assert codes(value) == [("U019", "x-jws-signature")]


@pytest.mark.parametrize(
    "value",
    ["not-a-jws", "a.b", "a..b..c", "!!!..sig", "eyJhbGciOiJFUzI1NiJ9..\u00e9"],
)
def test_malformed_value_is_u018(value: str) -> None:
    assert codes(value) == [("U018", "x-jws-signature")]


def test_attached_payload_is_malformed() -> None:
    header = ob_header(es_key())
    attached = jws.serialize_compact(header, BODY, es_key(), registry=tpp_registry("ES256"))
    assert codes(attached) == [("U018", "x-jws-signature")]


def test_tampered_body_is_u015() -> None:
    signature = tpp_signature(es_key())
    tampered = BODY.replace(b"10.00", b"99.00")
    assert codes(signature, tampered) == [("U015", "x-jws-signature")]


def test_signature_by_a_key_outside_the_clients_jwks_is_refused() -> None:
    stranger = new_key("ES256", kid="not-registered")
    assert codes(tpp_signature(stranger)) == [("U016", "kid")]


def test_other_key_claiming_a_registered_kid_fails_verification() -> None:
    impostor = new_key("ES256", kid=es_key().kid)
    assert codes(tpp_signature(impostor)) == [("U015", "x-jws-signature")]


def test_missing_crit_is_u017() -> None:
    assert codes(tpp_signature(es_key(), {"crit": None})) == [("U017", "crit")]


def test_crit_missing_a_member_is_u017() -> None:
    signature = tpp_signature(es_key(), {"crit": [OB_IAT, OB_ISS]})
    assert codes(signature) == [("U017", "crit")]


def test_crit_naming_more_is_u016() -> None:
    signature = tpp_signature(es_key(), {"crit": [*CRITICAL, "typ"]})
    assert codes(signature) == [("U016", "crit")]


@pytest.mark.parametrize("claim", [OB_IAT, OB_ISS, OB_TAN, "kid"])
def test_missing_claim_is_u017(claim: str) -> None:
    crit = [name for name in CRITICAL if name != claim]
    signature = tpp_signature(es_key(), {claim: None, "crit": crit})
    assert ("U017", claim) in codes(signature)


def test_wrong_iss_is_u016() -> None:
    assert codes(tpp_signature(es_key(), {OB_ISS: "other-tpp"})) == [("U016", OB_ISS)]


def test_wrong_tan_is_u016() -> None:
    assert codes(tpp_signature(es_key(), {OB_TAN: "evil.example"})) == [("U016", OB_TAN)]


def test_stale_iat_is_u016() -> None:
    stale = tpp_signature(es_key(), {OB_IAT: int(NOW - MAX_AGE - 1)})
    assert codes(stale) == [("U016", OB_IAT)]


def test_future_iat_beyond_skew_is_u016() -> None:
    future = tpp_signature(es_key(), {OB_IAT: int(NOW + 31)})
    assert codes(future) == [("U016", OB_IAT)]


@pytest.mark.parametrize("iat", ["1700000000", True])
def test_iat_that_is_not_a_number_is_u016(iat: Any) -> None:
    assert codes(tpp_signature(es_key(), {OB_IAT: iat})) == [("U016", OB_IAT)]


def test_rs256_is_refused() -> None:
    key = generate_key("RS256")
    keys = KeySet.import_key_set(public_jwks(key))  # type: ignore[arg-type]
    assert codes(tpp_signature(key, alg="RS256"), keys=keys) == [("U016", "alg")]


def test_alg_none_is_refused() -> None:
    with pytest.warns(SecurityWarning):  # joserfc's own warning, when the TPP side signs
        unsigned = sign(ob_header(es_key(), "none"), None)
    assert codes(unsigned) == [("U016", "alg")]


def test_b64_false_is_refused() -> None:
    header = ob_header(es_key(), b64=False, crit=[*CRITICAL, "b64"])
    assert ("U016", "b64") in codes(sign(header, es_key()))


def test_key_of_the_wrong_type_for_alg_is_u016() -> None:
    signature = tpp_signature(es_key())
    rsa = generate_key("PS256")
    swapped = RSAKey.import_key(rsa.as_dict(private=False), {"kid": str(es_key().kid)})
    keys = KeySet([swapped])
    assert codes(signature, keys=keys) == [("U016", "kid")]


def test_wrong_typ_is_u016() -> None:
    assert codes(tpp_signature(es_key(), {"typ": "JWT"})) == [("U016", "typ")]


def test_several_claim_problems_are_listed_together() -> None:
    signature = tpp_signature(es_key(), {OB_ISS: "other", OB_TAN: "x", OB_IAT: 1, "crit": [OB_IAT]})
    assert sorted(codes(signature)) == sorted(
        [("U017", "crit"), ("U016", OB_IAT), ("U016", OB_ISS), ("U016", OB_TAN)]
    )


# -- our response signatures ------------------------------------------------------------


@dataclass(frozen=True)
class ServerKey:
    kid: str
    alg: str
    private_key: RSAKey | ECKey


class ObPyJWS(jwt.api_jws.PyJWS):
    """PyJWT as a TPP uses it: it must be told it understands the OB critical claims."""

    _supported_crit = {"b64", *CRITICAL}


def attach(detached: str, body: bytes) -> str:
    """RFC 7515 Appendix F, the verifier's side: put BASE64URL(body) back between the dots
    (PyJWT's ``detached_payload`` is only for RFC 7797 ``b64: false``)."""
    header, _, signature = detached.split(".")
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_response_signature_verifies_with_an_independent_library(alg: str) -> None:
    private = generate_key(alg)
    assert isinstance(private, RSAKey | ECKey)
    signer = ServerKey(str(private.kid), alg, private)
    body = b'{"Data":{"ConsentId":"pdc-1","Status":"AWAU"}}'
    signature = sign_response(
        body, signer, issuer="https://as.example.test", trust_anchor=ANCHOR, now=NOW
    )
    assert signature.split(".")[1] == ""
    public = jwt.PyJWK(private.as_dict(private=False))
    decoded = ObPyJWS().decode_complete(attach(signature, body), key=public, algorithms=[alg])
    assert decoded["payload"] == body
    header = decoded["header"]
    assert header["kid"] == signer.kid
    assert header[OB_ISS] == "https://as.example.test"
    assert header[OB_TAN] == ANCHOR
    assert header[OB_IAT] == int(NOW)
    assert header["crit"] == list(CRITICAL)
    with pytest.raises(jwt.InvalidSignatureError):
        ObPyJWS().decode_complete(attach(signature, body + b" "), key=public, algorithms=[alg])


def test_response_signature_refuses_other_algorithms() -> None:
    private = generate_key("RS256")
    assert isinstance(private, RSAKey)
    with pytest.raises(ValueError, match="PS256 or ES256"):
        sign_response(
            b"{}", ServerKey("k", "RS256", private), issuer="i", trust_anchor="t", now=NOW
        )
