"""The validator keeps imported proof keys (by their whole public JWK): a kept key still
checks every proof's own signature, and a different key never hits another's entry."""

from __future__ import annotations

import pytest

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.dpop.errors import InvalidDPoPProofError
from tests.dpop import TOKEN_PATH
from tests.dpop import proof
from tests.dpop import shared_key


def test_a_kept_key_still_refuses_a_proof_signed_by_another_key(
    svc: Services, clock: FrozenClock
) -> None:
    key = shared_key("ES256")
    svc.dpop.validate([proof(clock, key, jti="first")], "POST", TOKEN_PATH)  # now kept
    public = key.as_dict(private=False)

    forged = proof(clock, shared_key("ES256", "other"), header={"jwk": public}, jti="forged")

    with pytest.raises(InvalidDPoPProofError):
        svc.dpop.validate([forged], "POST", TOKEN_PATH)


def test_a_kept_key_still_refuses_a_proof_whose_claims_were_altered(
    svc: Services, clock: FrozenClock
) -> None:
    key = shared_key("ES256")
    svc.dpop.validate([proof(clock, key, jti="first")], "POST", TOKEN_PATH)  # now kept
    header, _payload, signature = proof(clock, key, jti="second").split(".")
    altered = proof(clock, key, jti="third").split(".")[1]

    with pytest.raises(InvalidDPoPProofError):
        svc.dpop.validate([f"{header}.{altered}.{signature}"], "POST", TOKEN_PATH)


def test_two_keys_get_their_own_thumbprints(svc: Services, clock: FrozenClock) -> None:
    first, second = shared_key("ES256"), shared_key("ES256", "other")

    one = svc.dpop.validate([proof(clock, first, jti="a")], "POST", TOKEN_PATH)
    two = svc.dpop.validate([proof(clock, second, jti="b")], "POST", TOKEN_PATH)
    again = svc.dpop.validate([proof(clock, first, jti="c")], "POST", TOKEN_PATH)

    assert one.jkt == again.jkt == first.thumbprint() != two.jkt == second.thumbprint()
