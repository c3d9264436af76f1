"""Stateless DPoP server nonces (RFC 9449 §8): HMAC of a time step, valid for two steps."""

from __future__ import annotations

import re

import pytest

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.dpop.nonce import NonceService

SECRET = b"test-only-dpop-nonce-secret-32b!"
STEP = 60
# RFC 9449 §8.1: NQCHAR = %x21 / %x23-5B / %x5D-7E, at least one character.
NQCHAR = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")


@pytest.fixture
def nonces(clock: FrozenClock) -> NonceService:
    return NonceService(SECRET, clock, STEP)


def test_current_nonce_is_accepted(nonces: NonceService) -> None:
    assert nonces.is_valid(nonces.current())


def test_app_nonce_service_accepts_its_current_nonce(svc: Services) -> None:
    assert svc.dpop.nonces.is_valid(svc.dpop.nonces.current())
    assert svc.dpop.nonces.lifetime == 2 * svc.settings.oauth.dpop_nonce_step


def test_nonce_is_valid_for_current_and_previous_step_only(
    nonces: NonceService, clock: FrozenClock
) -> None:
    issued = nonces.current()
    # Move to the last second of the next step: still the previous step for this nonce.
    clock.advance(STEP * 2 - 1 - clock.time() % STEP)
    assert nonces.current() != issued
    assert nonces.is_valid(issued)

    clock.advance(1)

    assert not nonces.is_valid(issued)


def test_nonce_changes_with_the_step(nonces: NonceService, clock: FrozenClock) -> None:
    first = nonces.current()
    clock.advance(STEP)

    assert nonces.current() != first


def test_nodes_with_the_same_secret_agree(clock: FrozenClock) -> None:
    node_a = NonceService(SECRET, clock, STEP)
    node_b = NonceService(SECRET, clock, STEP)

    assert node_a.current() == node_b.current()
    assert node_b.is_valid(node_a.current())


def test_nodes_with_different_secrets_disagree(clock: FrozenClock) -> None:
    node_a = NonceService(SECRET, clock, STEP)
    node_b = NonceService(b"another-secret-of-thirty-two-by!", clock, STEP)

    assert node_a.current() != node_b.current()
    assert not node_b.is_valid(node_a.current())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "A" * 35,
        "A" * 65,
        "\u00e9" * 10,
        "\ud800",
        None,
        42,
        b"bytes",
        ["list"],
    ],
    ids=[
        "empty",
        "garbage",
        "right-length",
        "overlong",
        "non-ascii",
        "lone-surrogate",
        "none",
        "int",
        "bytes",
        "list",
    ],
)
def test_garbage_non_string_or_overlong_nonce_is_refused(
    nonces: NonceService, value: object
) -> None:
    assert nonces.is_valid(value) is False


def test_current_nonce_padded_past_the_length_cap_is_refused(nonces: NonceService) -> None:
    assert nonces.is_valid(nonces.current() + "A" * 64) is False


def test_nonce_characters_are_nqchar(nonces: NonceService, clock: FrozenClock) -> None:
    for _ in range(50):
        assert NQCHAR.fullmatch(nonces.current())
        clock.advance(STEP)
