"""F5: a DPoP proof's single use survives the loss of the store's data.

Used proof ``jti``s live in the store; after it is flushed or restarted, a proof whose
``iat`` lies before the replay state restarted (plus the allowed clock skew) is
``invalid_dpop_proof``: the jti cache can no longer tell whether it was used.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from tests.dpop import proof
from tests.dpop.test_proof import assert_refused
from tests.dpop.test_proof import validate
from tests.dpop.test_token_endpoint import CLIENT_CREDENTIALS
from tests.dpop.test_token_endpoint import proof_for
from tests.dpop.test_token_endpoint import token
from tests.helpers import assert_oauth_error
from tests.store.loss import lose_store_data


def test_proof_used_before_the_store_lost_its_data_is_refused(
    svc: Services, clock: FrozenClock
) -> None:
    used = proof(clock)
    validate(svc, used)
    clock.advance(1)
    lose_store_data(svc.store)

    assert_refused(svc, used)


def test_proof_dated_ahead_by_the_skew_and_used_before_the_loss_is_refused(
    svc: Services, clock: FrozenClock
) -> None:
    used = proof(clock, iat=int(clock.time()) + svc.policy.clock_skew)
    validate(svc, used)
    clock.advance(1)
    lose_store_data(svc.store)

    assert_refused(svc, used)


def test_fresh_proof_after_the_loss_is_accepted_once_past_the_skew(
    svc: Services, clock: FrozenClock
) -> None:
    validate(svc, proof(clock))
    clock.advance(1)
    lose_store_data(svc.store)
    assert_refused(svc, proof(clock))  # within the skew: may be an old one
    clock.advance(svc.policy.clock_skew)

    assert validate(svc, proof(clock)).jti


def test_token_endpoint_refuses_a_replayed_proof_after_a_store_loss(
    client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock
) -> None:
    key = generate_key("ES256")
    used = proof_for(services_, key)
    assert token(client, services_, tpp, CLIENT_CREDENTIALS, used).status_code == 200
    clock.advance(1)
    lose_store_data(services_.store)

    replay = token(client, services_, tpp, CLIENT_CREDENTIALS, used)

    assert_oauth_error(replay, 400, "invalid_dpop_proof")
    clock.advance(services_.policy.clock_skew)
    fresh = token(client, services_, tpp, CLIENT_CREDENTIALS, proof_for(services_, key))
    assert fresh.status_code == 200, fresh.get_data(as_text=True)
