"""Key rotation with overlap (DATA-3): retired keys stay published for 14 days, then go."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from joserfc import jws
from joserfc.errors import UnsupportedAlgorithmError

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.keys.service import KeyService
from authserver.keys.service import UnknownKeyError


def published_kids(client: FlaskClient) -> set[str]:
    response = client.get("/jwks")
    assert response.status_code == 200
    return {key["kid"] for key in response.get_json()["keys"]}


def kid_of(token: str) -> str:
    header: dict[str, Any] = jws.extract_compact(token.encode()).headers()
    return str(header["kid"])


TOKEN_KEYS = sa.text("SELECT kid, alg, state FROM signing_keys WHERE use = 'token'")


def key_rows() -> list[tuple[str, str, str]]:
    with db.engine.connect() as connection:
        return [(row.kid, row.alg, row.state) for row in connection.execute(TOKEN_KEYS)]


def test_keys_are_generated_once_at_start_up(svc: Services) -> None:
    # The app factory made them; asking again (CLI, another worker starting) makes none.
    at_start_up = sorted(alg for _kid, alg, _state in key_rows())
    again = svc.keys.ensure_keys()

    assert at_start_up == ["ES256", "PS256", "RS256"]
    assert again == []
    assert len(key_rows()) == 3


def test_rotation_keeps_old_keys_published_beside_the_new_ones(
    client: FlaskClient, svc: Services
) -> None:
    before = published_kids(client)

    fresh = svc.keys.rotate()
    after = published_kids(client)

    assert len(before) == 3
    assert len(after) == 6
    assert before < after
    assert after - before == {row.kid for row in fresh}
    states = sorted(state for _kid, _alg, state in key_rows())
    assert states == ["active"] * 3 + ["retired"] * 3


def test_token_signed_before_rotation_verifies_during_the_overlap(
    client: FlaskClient, svc: Services, clock: FrozenClock
) -> None:
    token = svc.keys.sign({"sub": "tpp-1"}, "PS256")
    old_kid = kid_of(token)

    svc.keys.rotate()
    clock.advance(timedelta(days=13))

    assert old_kid in published_kids(client)
    assert svc.keys.verify(token, ["PS256"]).claims["sub"] == "tpp-1"


def test_retired_key_leaves_the_jwks_after_the_overlap(
    client: FlaskClient, svc: Services, clock: FrozenClock
) -> None:
    token = svc.keys.sign({"sub": "tpp-1"}, "PS256")
    old_kid = kid_of(token)
    svc.keys.rotate()

    clock.advance(timedelta(days=15))

    remaining = published_kids(client)
    assert old_kid not in remaining
    assert len(remaining) == 3
    with pytest.raises(UnknownKeyError):
        svc.keys.verify(token, ["PS256"])


def test_retired_key_is_listed_as_expired_after_the_overlap(
    svc: Services, clock: FrozenClock
) -> None:
    old = {row.kid for row in svc.keys.published_keys()}
    svc.keys.rotate()
    clock.advance(timedelta(days=15))

    infos = {info.kid: info for info in svc.keys.list_keys()}

    assert len(infos) == 6
    for kid in old:
        assert infos[kid].state == "expired"
        assert infos[kid].published is False


def test_new_tokens_are_signed_with_the_new_key(svc: Services) -> None:
    old_kid = kid_of(svc.keys.sign({"sub": "a"}, "PS256"))

    fresh = {row.alg: row.kid for row in svc.keys.rotate()}
    new_token = svc.keys.sign({"sub": "b"}, "PS256")

    assert kid_of(new_token) == fresh["PS256"]
    assert kid_of(new_token) != old_kid
    assert svc.keys.verify(new_token, ["PS256"]).claims["sub"] == "b"


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_every_managed_algorithm_signs_and_verifies(svc: Services, alg: str) -> None:
    token = svc.keys.sign({"sub": "x"}, alg)

    assert svc.keys.verify(token, [alg]).claims == {"sub": "x"}


def test_verify_refuses_a_token_whose_algorithm_is_not_allowed(svc: Services) -> None:
    token = svc.keys.sign({"sub": "x"}, "RS256")

    with pytest.raises(UnsupportedAlgorithmError):
        svc.keys.verify(token, ["PS256"])


def test_rotate_due_leaves_fresh_keys_alone(svc: Services, clock: FrozenClock) -> None:
    svc.keys.ensure_keys()

    assert svc.keys.rotate_due() == []
    clock.advance(timedelta(days=89))
    assert svc.keys.rotate_due() == []
    assert len(key_rows()) == 3


def test_rotate_due_rotates_every_key_past_the_rotation_age(
    client: FlaskClient, svc: Services, clock: FrozenClock
) -> None:
    old = {row.kid for row in svc.keys.published_keys()}

    clock.advance(timedelta(days=91))
    fresh = svc.keys.rotate_due()

    assert sorted(row.alg for row in fresh) == ["ES256", "PS256", "RS256"]
    assert published_kids(client) == old | {row.kid for row in fresh}
    assert svc.keys.rotate_due() == []


def test_published_key_list_is_cached_for_cache_seconds(svc: Services, clock: FrozenClock) -> None:
    first = {key.kid for key in svc.keys.published_keys()}
    # Another process (its own KeyService over the same SQL) rotates the keys.
    other_process = KeyService(svc.settings.keys, svc.envelope, clock)
    fresh = {row.kid for row in other_process.rotate()}

    clock.advance(timedelta(seconds=4))
    assert {key.kid for key in svc.keys.published_keys()} == first
    clock.advance(timedelta(seconds=2))
    assert {key.kid for key in svc.keys.published_keys()} == first | fresh
