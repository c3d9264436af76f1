"""The resource-server guard at /userinfo: DPoP (RFC 9449 §7) and Bearer (RFC 6750), one rule
per test, exact status, error code and WWW-Authenticate fields.

The accepted and refused proofs follow the conformance suite's dpop-negative-tests module
(#56 in the requirements digest) and the RS halves of #10, #12, #13 and #14. Requests never
share an app context (each gets its own, as in production); tokens are minted in short
``app.app_context()`` blocks.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from joserfc import jwk
from joserfc.errors import SecurityWarning
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import services
from authserver.settings import Settings
from authserver.store import StoreUnavailableError
from tests.helpers import app_with as built_app
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.resources import DPOP_ALGS
from tests.resources import USERINFO
from tests.resources import ath_of
from tests.resources import dpop_proof
from tests.resources import jkt_of
from tests.resources import mint_access_token
from tests.resources import unsigned_proof
from tppkit import PrivateKey
from tppkit import generate_key

ISSUER = "https://as.example.test"
HTU = ISSUER + USERINFO
DPOP_CHALLENGE = f'DPoP algs="{DPOP_ALGS}"'


def dpop_challenge(error: str) -> str:
    return f'{DPOP_CHALLENGE}, error="{error}"'


def assert_refused(response: TestResponse, status: int, error: str, challenges: list[str]) -> None:
    assert_oauth_error(response, status, error)
    assert response.headers.getlist("WWW-Authenticate") == challenges


def assert_bad_proof(response: TestResponse) -> None:
    assert_refused(response, 401, "invalid_dpop_proof", [dpop_challenge("invalid_dpop_proof")])


def assert_bad_token(response: TestResponse) -> None:
    assert_refused(response, 401, "invalid_token", [dpop_challenge("invalid_token")])


class Caller:
    """A TPP holding one DPoP key and a token bound to it, calling /userinfo on ``app``."""

    def __init__(self, app: Flask, clock: FrozenClock, alg: str = "ES256") -> None:
        self.app = app
        self.clock = clock
        self.alg = alg
        self.key: PrivateKey = generate_key(alg)
        self.token = mint_access_token(app, jkt=jkt_of(self.key))

    def proof(self, **options: Any) -> str:
        options.setdefault("access_token", self.token)
        options.setdefault("htu", HTU)
        options.setdefault("iat", self.clock.time())
        return dpop_proof(self.key, self.alg, **options)

    def get(
        self, proof: str | None = None, *, scheme: str = "DPoP", token: str | None = None
    ) -> TestResponse:
        headers = [("Authorization", f"{scheme} {token or self.token}")]
        if proof is not None:
            headers.append(("DPoP", proof))
        return self.app.test_client().get(USERINFO, headers=headers, base_url=ISSUER)

    def call(self, **options: Any) -> TestResponse:
        """GET /userinfo with a fresh proof built from ``options``."""
        return self.get(self.proof(**options))


@pytest.fixture
def caller(app: Flask, clock: FrozenClock) -> Caller:
    return Caller(app, clock)


@pytest.fixture
def make_app(make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Any]:
    """Apps with their own settings (on the test's database and clock), disposed afterwards."""
    with ExitStack() as stack:
        yield lambda **overrides: stack.enter_context(built_app(make_settings(**overrides), clock))


# -- accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_bound_token_with_a_valid_proof_is_200(app: Flask, clock: FrozenClock, alg: str) -> None:
    caller = Caller(app, clock, alg)

    response = caller.call()

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"sub": "user-1"}
    assert "DPoP-Nonce" not in response.headers


def test_proof_for_post_is_accepted_on_post(caller: Caller) -> None:
    headers = {"Authorization": f"DPoP {caller.token}", "DPoP": caller.proof(htm="POST")}

    response = caller.app.test_client().post(USERINFO, headers=headers, base_url=ISSUER)

    assert response.status_code == 200


@pytest.mark.parametrize("scheme", ["dpop", "DPOP", "dPoP"])
def test_dpop_scheme_is_case_insensitive(caller: Caller, scheme: str) -> None:
    assert caller.get(caller.proof(), scheme=scheme).status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_bearer_scheme_is_case_insensitive_for_unbound_tokens(caller: Caller, scheme: str) -> None:
    unbound = mint_access_token(caller.app)

    assert caller.get(scheme=scheme, token=unbound).status_code == 200


@pytest.mark.parametrize("name", ["DPOP", "dpop"])
def test_dpop_header_name_is_case_insensitive(caller: Caller, name: str) -> None:
    headers = {"AUTHORIZATION": f"DPoP {caller.token}", name: caller.proof()}

    response = caller.app.test_client().get(USERINFO, headers=headers, base_url=ISSUER)

    assert response.status_code == 200


@pytest.mark.parametrize(
    "htu",
    [
        HTU + "?query=1#fragment",
        HTU + "?query=1",
        HTU + "#fragment",
        "HTTPS://AS.EXAMPLE.TEST" + USERINFO,
        "https://as.example.test:443" + USERINFO,
    ],
    ids=["query-and-fragment", "query", "fragment", "upper-case-scheme-host", "default-port"],
)
def test_htu_is_compared_after_normalisation(caller: Caller, htu: str) -> None:
    assert caller.call(htu=htu).status_code == 200


def test_extra_claims_and_header_parameters_are_ignored(caller: Caller) -> None:
    response = caller.call(header={"kid": "extra", "x-extra": [1, 2]}, extra="claim", n=1)

    assert response.status_code == 200


@pytest.mark.parametrize("offset", [-10, 10])
def test_iat_ten_seconds_off_is_accepted(caller: Caller, offset: int) -> None:
    # Proofs issued before the server started are refused (F5): let it run 10 s first.
    caller.clock.advance(10)
    assert caller.call(iat=caller.clock.time() + offset).status_code == 200


def test_proof_with_nbf_and_exp_is_accepted(caller: Caller) -> None:
    now = int(caller.clock.time())

    assert caller.call(nbf=now, exp=now + 300).status_code == 200


def test_unbound_bearer_token_is_accepted_by_default(caller: Caller) -> None:
    response = caller.get(scheme="Bearer", token=mint_access_token(caller.app))

    assert response.status_code == 200
    assert response.get_json() == {"sub": "user-1"}


# -- refused proofs (conformance dpop-negative-tests) ------------------------------------


def test_two_dpop_headers_are_refused(caller: Caller) -> None:
    headers = [
        ("Authorization", f"DPoP {caller.token}"),
        ("DPoP", caller.proof()),
        ("DPoP", caller.proof()),
    ]

    response = caller.app.test_client().get(USERINFO, headers=headers, base_url=ISSUER)

    assert_bad_proof(response)


@pytest.mark.parametrize("proof", ["not-a-jwt", "a.b.c", "e30.e30.", ""])
def test_malformed_proof_is_refused(caller: Caller, proof: str) -> None:
    assert_bad_proof(caller.get(proof))


@pytest.mark.parametrize("member", ["typ", "alg", "jwk", "jti", "htm", "htu", "iat", "ath"])
def test_proof_missing_a_required_member_is_refused(caller: Caller, member: str) -> None:
    assert_bad_proof(caller.call(drop=[member]))


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "DPOP+JWT"])
def test_proof_with_another_typ_is_refused(caller: Caller, typ: str) -> None:
    assert_bad_proof(caller.call(header={"typ": typ}))


def test_rs256_signed_proof_is_refused(app: Flask, clock: FrozenClock) -> None:
    caller = Caller(app, clock, "RS256")

    assert_bad_proof(caller.call())


def test_unsigned_proof_alg_none_is_refused(caller: Caller) -> None:
    proof = unsigned_proof(caller.key, iat=caller.clock.time(), htu=HTU, access_token=caller.token)

    assert_bad_proof(caller.get(proof))


def test_proof_with_a_bad_signature_is_refused(caller: Caller) -> None:
    assert_bad_proof(caller.call(signer=generate_key("ES256")))


def test_proof_whose_jwk_holds_the_private_key_is_refused(caller: Caller) -> None:
    assert_bad_proof(caller.call(header={"jwk": caller.key.as_dict(private=True)}))


def test_proof_whose_jwk_names_an_unknown_curve_is_refused(caller: Caller) -> None:
    # joserfc raises KeyError for it: once a 500, now refused by the validator.
    public = {**caller.key.as_dict(private=False), "crv": "P-999"}

    assert_bad_proof(caller.call(header={"jwk": public}))


@pytest.mark.parametrize("htm", ["PUT", "POST", "get"])
def test_proof_for_another_method_is_refused(caller: Caller, htm: str) -> None:
    assert_bad_proof(caller.call(htm=htm))


@pytest.mark.parametrize(
    "htu",
    [ISSUER + "/token", "https://other.example.test" + USERINFO, "http://as.example.test/userinfo"],
    ids=["other-path", "other-host", "other-scheme"],
)
def test_proof_for_another_url_is_refused(caller: Caller, htu: str) -> None:
    assert_bad_proof(caller.call(htu=htu))


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_proof_an_hour_off_is_refused(caller: Caller, offset: int) -> None:
    assert_bad_proof(caller.call(iat=caller.clock.time() + offset))


def test_replayed_proof_is_refused(caller: Caller) -> None:
    proof = caller.proof()
    assert caller.get(proof).status_code == 200

    assert_bad_proof(caller.get(proof))


def test_new_proof_reusing_a_jti_is_refused(caller: Caller) -> None:
    assert caller.call(jti="same-jti").status_code == 200

    assert_bad_proof(caller.call(jti="same-jti"))


def test_proof_with_the_ath_of_another_token_is_refused(caller: Caller) -> None:
    other = mint_access_token(caller.app, jkt=jkt_of(caller.key))

    assert_bad_proof(caller.call(ath=ath_of(other)))


def test_dpop_scheme_without_a_proof_is_refused(caller: Caller) -> None:
    assert_bad_proof(caller.get())


def test_proof_by_another_key_than_the_token_is_bound_to_is_refused(
    app: Flask, clock: FrozenClock
) -> None:
    caller, stranger = Caller(app, clock), Caller(app, clock)

    assert_bad_token(caller.get(stranger.proof(access_token=caller.token)))


# -- refused tokens and schemes ----------------------------------------------------------


def test_bound_token_presented_as_bearer_is_refused(caller: Caller) -> None:
    response = caller.get(caller.proof(), scheme="Bearer")

    assert_refused(
        response,
        401,
        "invalid_token",
        ['Bearer error="invalid_token"', dpop_challenge("invalid_token")],
    )


def test_unbound_token_with_the_dpop_scheme_is_refused(caller: Caller) -> None:
    unbound = mint_access_token(caller.app)

    assert_bad_token(caller.get(caller.proof(access_token=unbound), token=unbound))


def test_token_bound_by_anything_but_jkt_is_refused(caller: Caller) -> None:
    token = mint_access_token(
        caller.app, cnf={"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
    )

    assert_refused(
        caller.get(scheme="Bearer", token=token),
        401,
        "invalid_token",
        ['Bearer error="invalid_token"', dpop_challenge("invalid_token")],
    )


def test_expired_bound_token_is_refused_even_with_a_valid_proof(caller: Caller) -> None:
    caller.clock.advance(301)

    assert_bad_token(caller.call())


def test_dpop_request_without_the_scope_is_403_with_a_dpop_challenge(
    app: Flask, clock: FrozenClock
) -> None:
    caller = Caller(app, clock)
    caller.token = mint_access_token(app, jkt=jkt_of(caller.key), scope="accounts:read")

    response = caller.call()

    assert_refused(response, 403, "insufficient_scope", [dpop_challenge("insufficient_scope")])


def test_missing_credentials_get_both_challenges_without_error_code(caller: Caller) -> None:
    response = caller.app.test_client().get(USERINFO, base_url=ISSUER)

    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ["Bearer", DPOP_CHALLENGE]


def test_unsupported_scheme_counts_as_missing_credentials(caller: Caller) -> None:
    response = caller.get(scheme="Basic", token="dXNlcjpwYXNz")

    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ["Bearer", DPOP_CHALLENGE]


@pytest.mark.parametrize(
    "authorization",
    ["DPoP", "DPoP a b", "DPoP tok, DPoP tok", "DPoPtoken"],
    ids=["no-token", "two-words", "two-headers", "no-space"],
)
def test_malformed_authorization_header_is_refused(caller: Caller, authorization: str) -> None:
    headers = {"Authorization": authorization, "DPoP": caller.proof()}

    response = caller.app.test_client().get(USERINFO, headers=headers, base_url=ISSUER)

    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate")[-1].startswith(DPOP_CHALLENGE)


def test_two_authorization_headers_are_refused(caller: Caller) -> None:
    headers = [
        ("Authorization", f"DPoP {caller.token}"),
        ("Authorization", f"DPoP {caller.token}"),
        ("DPoP", caller.proof()),
    ]

    response = caller.app.test_client().get(USERINFO, headers=headers, base_url=ISSUER)

    assert_bad_token(response)


def test_token_in_the_form_body_is_refused(caller: Caller) -> None:
    headers = {"Authorization": f"DPoP {caller.token}", "DPoP": caller.proof(htm="POST")}

    response = caller.app.test_client().post(
        USERINFO, headers=headers, data={"access_token": caller.token}, base_url=ISSUER
    )

    assert_bad_token(response)


# -- settings: nonces, bearer switched off -----------------------------------------------


def test_required_nonce_is_asked_for_then_accepted(make_app: Any, clock: FrozenClock) -> None:
    caller = Caller(make_app(oauth={"dpop_nonce_required": True}), clock)

    first = caller.call()

    assert_refused(first, 401, "use_dpop_nonce", [dpop_challenge("use_dpop_nonce")])
    nonce = first.headers["DPoP-Nonce"]
    assert first.headers.getlist("DPoP-Nonce") == [nonce]
    retried = caller.call(nonce=nonce)
    assert retried.status_code == 200
    assert retried.headers.getlist("DPoP-Nonce") == [nonce]


def test_unknown_nonce_is_answered_with_a_fresh_one(make_app: Any, clock: FrozenClock) -> None:
    caller = Caller(make_app(oauth={"dpop_nonce_required": True}), clock)

    response = caller.call(nonce="not-the-server-nonce")

    assert_refused(response, 401, "use_dpop_nonce", [dpop_challenge("use_dpop_nonce")])
    assert response.headers["DPoP-Nonce"] != "not-the-server-nonce"


def test_bearer_switched_off_refuses_unbound_bearer_tokens(
    make_app: Any, clock: FrozenClock
) -> None:
    caller = Caller(make_app(oauth={"allow_bearer_tokens": False}), clock)

    response = caller.get(scheme="Bearer", token=mint_access_token(caller.app))

    assert_bad_token(response)


def test_bearer_switched_off_offers_only_the_dpop_challenge(
    make_app: Any, clock: FrozenClock
) -> None:
    app = make_app(oauth={"allow_bearer_tokens": False})

    response = app.test_client().get(USERINFO, base_url=ISSUER)

    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == [DPOP_CHALLENGE]


def test_bearer_switched_off_still_accepts_dpop(make_app: Any, clock: FrozenClock) -> None:
    caller = Caller(make_app(oauth={"allow_bearer_tokens": False}), clock)

    assert caller.call().status_code == 200


# -- store outage: 503, never 200 --------------------------------------------------------


@pytest.mark.parametrize("scheme", ["DPoP", "Bearer"])
def test_unreachable_store_is_503(make_app: Any, clock: FrozenClock, scheme: str) -> None:
    caller = Caller(make_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0"), clock)
    if scheme == "Bearer":
        caller.token = mint_access_token(caller.app)

    response = caller.get(caller.proof(), scheme=scheme)

    body = assert_oauth_error(response, 503, "temporarily_unavailable")
    assert set(body) == {"error", "request_id"}
    assert response.headers["Retry-After"] == "5"


def test_store_outage_during_the_replay_check_is_503(
    caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The revocation check answers, then the replay cache fails: the proof is never accepted.
    def unavailable(*args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailableError()

    monkeypatch.setattr(services(caller.app).store, "first_use_then_get", unavailable)

    assert_oauth_error(caller.call(), 503, "temporarily_unavailable")


# -- key strength (FAPI 2.0 SP 5.4.1) -----------------------------------------------------


def test_proof_signed_by_a_short_rsa_key_is_refused(app: Flask, clock: FrozenClock) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        key = jwk.RSAKey.import_key(rsa.generate_private_key(65537, 1024))  # noqa: S505
        token = mint_access_token(app, jkt=jkt_of(key))
        proof = dpop_proof(key, "PS256", iat=clock.time(), htu=HTU, access_token=token)
    caller = Caller(app, clock)

    assert_bad_proof(caller.get(proof, token=token))
