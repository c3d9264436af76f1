"""The DPoP proof validator (RFC 9449 §4.3, FAPI 2.0 §5.3.2.1, CT dpop-negative-tests).

Every test calls ``svc.dpop.validate`` directly with proofs signed by real keys at the
test clock; the app's validator checks ``htu`` against the issuer ``https://as.example.test``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import OctKey
from joserfc.jwk import OKPKey

from authserver import create_app
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.dpop.errors import InvalidDPoPProofError
from authserver.dpop.errors import UseDPoPNonceError
from authserver.dpop.proof import DPoPProof
from authserver.dpop.proof import access_token_hash
from authserver.dpop.thumbprint import jwk_thumbprint
from authserver.store import StoreUnavailableError
from tests.dpop import TOKEN_PATH
from tests.dpop import b64
from tests.dpop import claims_at
from tests.dpop import proof
from tests.dpop import proof_header
from tests.dpop import raw_proof
from tests.dpop import shared_key

ACCESS_TOKEN = "an-opaque-access-token"


def validate(
    svc: Services, token: str, method: str = "POST", path: str = TOKEN_PATH, **options: Any
) -> DPoPProof:
    return svc.dpop.validate([token], method, path, **options)


def assert_refused(svc: Services, token: str, method: str = "POST", **options: Any) -> None:
    with pytest.raises(InvalidDPoPProofError) as caught:
        validate(svc, token, method, **options)
    assert caught.value.error == "invalid_dpop_proof"
    assert caught.value.status_code == 400


def begin_replay_state(svc: Services, clock: FrozenClock, *, before: int) -> None:
    """Proofs issued before the store's replay state began are refused (F5): begin it
    ``before`` seconds ago, as on a server that has been running for a while."""
    validate(svc, proof(clock))
    clock.advance(before)


# --- accepted proofs ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_fapi_alg_proof_is_accepted_and_jkt_is_the_key_thumbprint(
    svc: Services, clock: FrozenClock, alg: str
) -> None:
    key = shared_key(alg)
    token = proof(clock, key, alg=alg, jti="one-proof")

    result = validate(svc, token)

    assert result.jkt == jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()
    assert result.jti == "one-proof"
    assert result.claims["htu"] == "https://as.example.test/token"


def test_htu_with_query_and_fragment_is_accepted(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock, htu="https://as.example.test/token?x=1&y=2#frag")

    assert validate(svc, token).jti


@pytest.mark.parametrize(
    "htu",
    [
        "https://AS.example.test:443/token",
        "HTTPS://AS.EXAMPLE.TEST/token",
        "https://as.example.test:443/token",
    ],
)
def test_htu_case_variant_scheme_and_host_and_default_port_are_accepted(
    svc: Services, clock: FrozenClock, htu: str
) -> None:
    assert validate(svc, proof(clock, htu=htu)).jti


def test_extra_claims_and_header_parameters_are_ignored(svc: Services, clock: FrozenClock) -> None:
    token = proof(
        clock,
        header={"kid": "client-key-1", "x-extra": {"nested": True}, "cty": "whatever"},
        extra="claim",
        another=["list", 1],
        ath="not-checked-without-an-access-token",
    )

    assert validate(svc, token).claims["extra"] == "claim"


def test_jwk_with_optional_members_is_accepted(svc: Services, clock: FrozenClock) -> None:
    public = shared_key("ES256").as_dict(private=False)
    decorated = {**public, "kid": "k1", "alg": "ES256", "use": "sig"}

    result = validate(svc, proof(clock, header={"jwk": decorated}))

    assert result.jkt == jwk_thumbprint(public)


@pytest.mark.parametrize("offset", [-10, 10])
def test_iat_ten_seconds_before_or_after_is_accepted(
    svc: Services, clock: FrozenClock, offset: int
) -> None:
    begin_replay_state(svc, clock, before=10)
    token = proof(clock, iat=int(clock.time()) + offset)

    assert validate(svc, token).jti


def test_proof_with_nbf_and_exp_is_accepted(svc: Services, clock: FrozenClock) -> None:
    now = int(clock.time())

    assert validate(svc, proof(clock, nbf=now, exp=now + 300)).jti


def test_ath_matching_the_access_token_is_accepted(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock, ath=access_token_hash(ACCESS_TOKEN))

    assert validate(svc, token, access_token=ACCESS_TOKEN).jti


# --- header values and shape --------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 2])
def test_zero_or_two_dpop_header_values_are_refused(
    svc: Services, clock: FrozenClock, count: int
) -> None:
    values = [proof(clock) for _ in range(count)]

    with pytest.raises(InvalidDPoPProofError):
        svc.dpop.validate(values, "POST", TOKEN_PATH)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "eyJhbGciOiJFUzI1NiJ9.e30",
        "e30.%%%.c2ln",
        "e30.e30.c2ln.c2ln.c2ln",
        "W10.e30.c2ln",
        "\u00e9.e30.c2ln",
    ],
    ids=[
        "empty",
        "not-a-jwt",
        "two-parts",
        "bad-base64",
        "five-parts",
        "header-not-object",
        "non-ascii",
    ],
)
def test_malformed_proof_is_refused(svc: Services, token: str) -> None:
    assert_refused(svc, token)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"not json"])
def test_signed_proof_whose_payload_is_not_a_json_object_is_refused(
    svc: Services, payload: bytes
) -> None:
    key = shared_key("ES256")

    assert_refused(svc, raw_proof(proof_header(key), payload, key))


# --- typ, alg, jwk, signature -------------------------------------------------------------


@pytest.mark.parametrize("typ", ["jwt", "at+jwt", "dpop"])
def test_wrong_typ_is_refused(svc: Services, clock: FrozenClock, typ: str) -> None:
    assert_refused(svc, proof(clock, header={"typ": typ}))


def test_missing_typ_is_refused(svc: Services, clock: FrozenClock) -> None:
    assert_refused(svc, proof(clock, header={"typ": None}))


def test_missing_alg_is_refused(svc: Services, clock: FrozenClock) -> None:
    key = shared_key("ES256")
    header = {"typ": "dpop+jwt", "jwk": key.as_dict(private=False)}

    assert_refused(svc, raw_proof(header, json.dumps(claims_at(clock)).encode(), key))


def test_alg_none_unsigned_proof_is_refused(svc: Services, clock: FrozenClock) -> None:
    header = {**proof_header(shared_key("ES256")), "alg": "none"}
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_at(clock)).encode())}."

    assert_refused(svc, unsigned)


def test_hs256_mac_proof_is_refused(svc: Services, clock: FrozenClock) -> None:
    secret = OctKey.import_key(b"a-shared-secret-of-32-bytes-long")
    header = proof_header(shared_key("ES256"), "HS256")

    assert_refused(svc, jwt.encode(header, claims_at(clock), secret, algorithms=["HS256"]))


def test_rs256_proof_is_refused(svc: Services, clock: FrozenClock) -> None:
    assert_refused(svc, proof(clock, shared_key("PS256"), alg="RS256"))


def test_eddsa_with_an_ed448_key_is_refused(svc: Services, clock: FrozenClock) -> None:
    key = OKPKey.generate_key("Ed448", private=True)
    header = proof_header(key, "EdDSA")
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_at(clock)).encode())}"
    )
    signature = EdDSAAlgorithm().sign(signing_input.encode(), key)

    assert_refused(svc, f"{signing_input}.{b64(signature)}")


def test_missing_jwk_is_refused(svc: Services, clock: FrozenClock) -> None:
    assert_refused(svc, proof(clock, header={"jwk": None}))


@pytest.mark.parametrize("jwk", ["a-string", ["list"], {"kty": "EC"}, {"kty": "oct"}])
def test_jwk_that_is_not_a_public_key_is_refused(
    svc: Services, clock: FrozenClock, jwk: Any
) -> None:
    key = shared_key("ES256")
    header = {**proof_header(key), "jwk": jwk}

    assert_refused(svc, raw_proof(header, json.dumps(claims_at(clock)).encode(), key))


@pytest.mark.parametrize(
    ("alg", "crv"),
    [("ES256", "P-999"), ("ES256", "Ed25519"), ("ES256", ""), ("EdDSA", "P-256"), ("EdDSA", "X")],
)
def test_jwk_with_an_unknown_curve_is_refused(
    svc: Services, clock: FrozenClock, alg: str, crv: str
) -> None:
    key = shared_key(alg)
    header = {**proof_header(key, alg), "jwk": {**key.as_dict(private=False), "crv": crv}}

    assert_refused(svc, raw_proof(header, json.dumps(claims_at(clock)).encode(), key, alg))


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_jwk_with_private_member_is_refused(svc: Services, clock: FrozenClock, alg: str) -> None:
    key = shared_key(alg)
    private = key.as_dict(private=True)
    assert "d" in private

    assert_refused(svc, proof(clock, key, alg=alg, header={"jwk": private}))


def test_signature_by_a_different_key_than_jwk_is_refused(
    svc: Services, clock: FrozenClock
) -> None:
    other = shared_key("ES256", "other").as_dict(private=False)

    assert_refused(svc, proof(clock, shared_key("ES256"), header={"jwk": other}))


def test_jwk_of_another_key_type_than_alg_is_refused(svc: Services, clock: FrozenClock) -> None:
    rsa = shared_key("PS256").as_dict(private=False)

    assert_refused(svc, proof(clock, shared_key("ES256"), header={"jwk": rsa}))


# --- claims -------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_missing_required_claim_is_refused(svc: Services, clock: FrozenClock, claim: str) -> None:
    dropped: dict[str, Any] = {claim: None}

    assert_refused(svc, proof(clock, **dropped))


@pytest.mark.parametrize("jti", [42, ["a"], {"a": 1}, ""])
def test_jti_that_is_not_a_string_is_refused(svc: Services, clock: FrozenClock, jti: Any) -> None:
    assert_refused(svc, proof(clock, jti=jti))


def test_htm_other_than_the_request_method_is_refused(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock, htm="PUT")

    assert_refused(svc, token, "POST")


@pytest.mark.parametrize(
    "htu",
    [
        "https://as.example.test/par",
        "https://as.example.test/token/",
        "https://other.example.test/token",
        "http://as.example.test/token",
        "https://as.example.test:8443/token",
        "https://as.example.test:99999/token",
        "as.example.test/token",
        "/token",
    ],
    ids=[
        "other-path",
        "trailing-slash",
        "other-host",
        "http",
        "other-port",
        "bad-port",
        "no-scheme",
        "relative",
    ],
)
def test_htu_of_another_url_is_refused(svc: Services, clock: FrozenClock, htu: str) -> None:
    assert_refused(svc, proof(clock, htu=htu))


@pytest.mark.parametrize("htu", [42, ["https://as.example.test/token"]])
def test_htu_that_is_not_a_string_is_refused(svc: Services, clock: FrozenClock, htu: Any) -> None:
    assert_refused(svc, proof(clock, htu=htu))


def test_htu_with_userinfo_is_refused(svc: Services, clock: FrozenClock) -> None:
    # RFC 9110 §4.2.4: userinfo in an http(s) URI is an error; RFC 3986 keeps it when normalising.
    assert_refused(svc, proof(clock, htu="https://attacker@as.example.test/token"))


@pytest.mark.parametrize("offset", [-61, 11, -3600, 3600])
def test_iat_outside_the_window_is_refused(svc: Services, clock: FrozenClock, offset: int) -> None:
    assert_refused(svc, proof(clock, iat=int(clock.time()) + offset))


@pytest.mark.parametrize("iat", ["1700000000", True, False, [1], {"t": 1}])
def test_iat_that_is_not_a_number_is_refused(svc: Services, clock: FrozenClock, iat: Any) -> None:
    assert_refused(svc, proof(clock, iat=iat))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_iat_that_is_not_a_finite_number_is_refused(
    svc: Services, clock: FrozenClock, literal: str
) -> None:
    # Python's json accepts these; NaN compares false with everything and slips past windows.
    key = shared_key("ES256")
    body = json.dumps(claims_at(clock, iat=None))[:-1] + f', "iat": {literal}}}'

    assert_refused(svc, raw_proof(proof_header(key), body.encode(), key))


def test_missing_ath_with_an_access_token_is_refused(svc: Services, clock: FrozenClock) -> None:
    assert_refused(svc, proof(clock), access_token=ACCESS_TOKEN)


@pytest.mark.parametrize(
    "ath",
    [access_token_hash("another-token"), access_token_hash(ACCESS_TOKEN).upper(), "", 42],
    ids=["other-token", "wrong-case", "empty", "int"],
)
def test_wrong_ath_is_refused(svc: Services, clock: FrozenClock, ath: Any) -> None:
    assert_refused(svc, proof(clock, ath=ath), access_token=ACCESS_TOKEN)


@pytest.mark.parametrize(
    ("ath", "access_token"),
    [("\u00e9" * 43, ACCESS_TOKEN), ("\ud800", ACCESS_TOKEN), ("x", "t\u00f6ken")],
    ids=["non-ascii-ath", "lone-surrogate-ath", "non-ascii-access-token"],
)
def test_non_ascii_ath_or_access_token_is_refused_not_a_crash(
    svc: Services, clock: FrozenClock, ath: str, access_token: str
) -> None:
    key = shared_key("ES256")
    body = json.dumps(claims_at(clock, ath=ath)).encode()

    assert_refused(svc, raw_proof(proof_header(key), body, key), access_token=access_token)


# --- replay -------------------------------------------------------------------------------


def test_replayed_proof_is_refused(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock)
    validate(svc, token)

    assert_refused(svc, token)


def test_refused_proof_does_not_burn_its_jti(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock, ath=access_token_hash(ACCESS_TOKEN))
    assert_refused(svc, token, "PUT")
    assert_refused(svc, token, access_token="another-token")

    assert validate(svc, token, access_token=ACCESS_TOKEN).jti


def test_replay_cache_is_per_key(svc: Services, clock: FrozenClock) -> None:
    validate(svc, proof(clock, shared_key("ES256", "a"), jti="shared-jti"))

    assert validate(svc, proof(clock, shared_key("ES256", "b"), jti="shared-jti")).jti
    assert_refused(svc, proof(clock, shared_key("ES256", "a"), jti="shared-jti"))


def test_replay_is_refused_until_the_end_of_the_accept_window(
    svc: Services, clock: FrozenClock
) -> None:
    oauth = svc.settings.oauth
    token = proof(clock, iat=int(clock.time()) + oauth.clock_skew)
    validate(svc, token)
    # iat is now exactly dpop_past_window old: still inside the (closed) window.
    clock.advance(oauth.clock_skew + oauth.dpop_past_window)

    assert_refused(svc, token)


def test_jti_that_no_store_can_encode_is_refused(svc: Services, clock: FrozenClock) -> None:
    key = shared_key("ES256")
    body = json.dumps(claims_at(clock, jti="\ud800-lone-surrogate")).encode()

    assert_refused(svc, raw_proof(proof_header(key), body, key))


# --- server nonces ------------------------------------------------------------------------


def test_required_nonce_missing_raises_use_dpop_nonce_with_a_valid_nonce(
    svc: Services, clock: FrozenClock
) -> None:
    with pytest.raises(UseDPoPNonceError) as caught:
        validate(svc, proof(clock), require_nonce=True)

    assert caught.value.error == "use_dpop_nonce"
    assert svc.dpop.nonces.is_valid(caught.value.nonce)
    assert caught.value.extra_headers() == {"DPoP-Nonce": caught.value.nonce}


def test_required_nonce_refusal_does_not_burn_the_jti(svc: Services, clock: FrozenClock) -> None:
    with pytest.raises(UseDPoPNonceError):
        validate(svc, proof(clock, jti="retried"), require_nonce=True)

    assert validate(svc, proof(clock, jti="retried", nonce=svc.dpop.nonces.current())).jti


def test_current_nonce_is_accepted_when_required(svc: Services, clock: FrozenClock) -> None:
    token = proof(clock, nonce=svc.dpop.nonces.current())

    assert validate(svc, token, require_nonce=True).claims["nonce"]


def test_nonce_from_two_steps_ago_is_refused(svc: Services, clock: FrozenClock) -> None:
    nonce = svc.dpop.nonces.current()
    clock.advance(2 * svc.settings.oauth.dpop_nonce_step)

    with pytest.raises(UseDPoPNonceError) as caught:
        validate(svc, proof(clock, nonce=nonce), require_nonce=True)
    assert caught.value.nonce != nonce


def test_valid_nonce_accepts_an_hour_old_iat(svc: Services, clock: FrozenClock) -> None:
    begin_replay_state(svc, clock, before=3600)
    token = proof(clock, iat=int(clock.time()) - 3600, nonce=svc.dpop.nonces.current())

    assert validate(svc, token, require_nonce=True).jti


def test_valid_nonce_does_not_accept_an_iat_beyond_the_skew(
    svc: Services, clock: FrozenClock
) -> None:
    # FAPI 2.0 SP 5.3.2.1-13 applies to every JWT: a nonce widens the past, not the future.
    skew = svc.settings.oauth.clock_skew
    token = proof(clock, iat=int(clock.time()) + skew + 1, nonce=svc.dpop.nonces.current())

    assert_refused(svc, token, require_nonce=True)


def test_valid_nonce_does_not_accept_a_nan_iat(svc: Services, clock: FrozenClock) -> None:
    key = shared_key("ES256")
    body = json.dumps(claims_at(clock, iat=None, nonce=svc.dpop.nonces.current()))
    body = body[:-1] + ', "iat": NaN}'

    assert_refused(svc, raw_proof(proof_header(key), body.encode(), key), require_nonce=True)


@pytest.mark.parametrize("stale", ["stale", "\ud800"], ids=["stale", "lone-surrogate"])
def test_unrequested_but_invalid_nonce_raises_use_dpop_nonce(
    svc: Services, clock: FrozenClock, stale: str
) -> None:
    key = shared_key("ES256")
    body = json.dumps(claims_at(clock, nonce=stale)).encode()

    with pytest.raises(UseDPoPNonceError):
        validate(svc, raw_proof(proof_header(key), body, key))


def test_unrequested_nonce_from_two_steps_ago_raises_use_dpop_nonce(
    svc: Services, clock: FrozenClock
) -> None:
    nonce = svc.dpop.nonces.current()
    clock.advance(2 * svc.settings.oauth.dpop_nonce_step)

    with pytest.raises(UseDPoPNonceError):
        validate(svc, proof(clock, nonce=nonce))


# --- store outage -------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def unreachable_store_app(
    make_settings: Any, clock: FrozenClock, closed_port: int
) -> Iterator[Flask]:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{closed_port}/0")
    application = create_app(settings, clock=clock)
    yield application
    with application.app_context():
        from authserver.db import db

        db.session.remove()
        db.engine.dispose()


def test_store_outage_fails_closed_with_503(
    unreachable_store_app: Flask, clock: FrozenClock
) -> None:
    with unreachable_store_app.app_context():
        dpop = services(unreachable_store_app).dpop
        token = proof(clock)
        for _ in range(2):  # no fallback to memory on a second try either
            with pytest.raises(StoreUnavailableError) as caught:
                dpop.validate([token], "POST", TOKEN_PATH)
            assert caught.value.status_code == 503
