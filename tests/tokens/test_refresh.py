"""Refresh-token rotation, reuse detection, the opt-in grace window and one winner under races."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text

from authserver import create_app
from authserver.audit.models import AuditEvent
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.settings import Settings
from authserver.tokens.errors import InvalidGrantError
from authserver.tokens.models import ACTIVE
from authserver.tokens.models import REVOKED
from authserver.tokens.models import ROTATED
from authserver.tokens.models import RefreshToken
from authserver.tokens.refresh import TokenResponse
from tests.tokens import CLIENT_ID
from tests.tokens import OTHER_CLIENT_ID
from tests.tokens import built_services
from tests.tokens import family_rows
from tests.tokens import issue
from tests.tokens import make_mint

THREADS = 8
GRACE = 60


@pytest.fixture
def grace_svc(make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Services]:
    """Services with the opt-in grace window (the default is strictly one-time use)."""
    with built_services(make_settings(oauth={"refresh_grace": GRACE}), clock) as built:
        yield built


def statuses(family_id: str) -> list[str]:
    return [row.status for row in family_rows(family_id)]


def test_token_is_long_urlsafe_and_only_its_sha256_is_stored(svc: Services) -> None:
    token, family_id = issue(svc)

    assert len(token) >= 43
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    (row,) = family_rows(family_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for stored in db.session.execute(text("SELECT * FROM refresh_tokens")).all():
        assert all(token not in str(value) for value in stored)


def test_rotation_returns_a_new_token_and_marks_the_old_one_rotated(
    svc: Services, clock: FrozenClock
) -> None:
    token, family_id = issue(svc)

    response = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))

    assert response["token_type"] == "Bearer"
    assert response["refresh_token"] != token
    old, new = family_rows(family_id)
    assert (old.status, old.rotated_at) == (ROTATED, clock.now())
    assert new.status == ACTIVE
    assert new.token_hash == hashlib.sha256(response["refresh_token"].encode()).hexdigest()


def test_retry_within_the_grace_window_returns_the_same_response(
    grace_svc: Services, clock: FrozenClock
) -> None:
    svc = grace_svc
    token, family_id = issue(svc)
    first = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc), jkt="key-a")
    clock.advance(30)

    again = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc), jkt="key-a")

    assert again == first
    assert statuses(family_id) == [ROTATED, ACTIVE]


@pytest.mark.parametrize("retry_jkt", [None, "key-b"])
def test_retry_within_the_grace_window_with_another_sender_revokes_the_family(
    grace_svc: Services, retry_jkt: str | None
) -> None:
    svc = grace_svc
    token, family_id = issue(svc)
    first = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc), jkt="key-a")

    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(token, CLIENT_ID, make_mint(svc), jkt=retry_jkt)

    assert statuses(family_id) == [REVOKED, REVOKED]
    assert svc.ledger.is_revoked(first["access_token"]) is True


def test_grace_response_is_kept_sealed_in_the_store(grace_svc: Services) -> None:
    svc = grace_svc
    token, _ = issue(svc)
    response = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc), jkt="key-a")

    old_hash = hashlib.sha256(token.encode()).hexdigest()
    cached = svc.store.get("refresh_grace:" + old_hash)
    assert cached is not None
    assert response["refresh_token"].encode() not in cached
    assert response["access_token"].encode() not in cached
    assert b"key-a" not in cached


def test_by_default_nothing_is_cached_and_a_retry_revokes_the_family(svc: Services) -> None:
    token, family_id = issue(svc)
    svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))

    assert svc.store.get("refresh_grace:" + hashlib.sha256(token.encode()).hexdigest()) is None
    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))
    assert statuses(family_id) == [REVOKED, REVOKED]


def test_reuse_after_the_grace_window_revokes_the_whole_family(
    grace_svc: Services, clock: FrozenClock
) -> None:
    svc = grace_svc
    token, family_id = issue(svc)
    first = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))
    second = svc.refresh.rotate(first["refresh_token"], CLIENT_ID, make_mint(svc))
    clock.advance(GRACE + 1)

    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))

    assert statuses(family_id) == [REVOKED, REVOKED, REVOKED]
    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(second["refresh_token"], CLIENT_ID, make_mint(svc))
    assert svc.ledger.is_revoked(first["access_token"]) is True
    assert svc.ledger.is_revoked(second["access_token"]) is True
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.event_type == "refresh_token.reuse_detected")
    )
    assert (event.actor, event.resource, event.outcome) == (
        f"client:{CLIENT_ID}",
        f"refresh_family:{family_id}",
        "failure",
    )


def test_another_clients_token_is_invalid_and_changes_nothing(svc: Services) -> None:
    token, family_id = issue(svc)

    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(token, OTHER_CLIENT_ID, make_mint(svc))

    assert statuses(family_id) == [ACTIVE]
    assert db.session.scalars(select(AuditEvent)).all() == []
    assert svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))["refresh_token"]


def test_unknown_token_is_invalid(svc: Services) -> None:
    issue(svc)

    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(secrets.token_urlsafe(32), CLIENT_ID, make_mint(svc))


def test_token_unused_past_the_idle_lifetime_is_invalid(
    svc: Services, settings: Settings, clock: FrozenClock
) -> None:
    token, family_id = issue(svc)
    clock.advance(settings.tokens.refresh_idle_ttl + 1)

    with pytest.raises(InvalidGrantError):
        svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))

    assert statuses(family_id) == [ACTIVE]


def test_family_past_its_absolute_lifetime_is_invalid_even_when_used_within_idle(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(tokens={"refresh_absolute_ttl": 120, "refresh_idle_ttl": 60})
    with built_services(settings, clock) as svc:
        token, family_id = issue(svc)
        for _ in range(2):  # t=45 and t=90: each within the 60 s idle lifetime
            clock.advance(45)
            token = svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))["refresh_token"]
        clock.advance(35)  # t=125: 35 s after the last use, past the 120 s family life

        with pytest.raises(InvalidGrantError):
            svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))

        assert statuses(family_id)[-1] == ACTIVE


def test_failing_mint_rolls_back_and_leaves_the_token_usable(svc: Services) -> None:
    token, family_id = issue(svc)

    def broken_mint(head: RefreshToken) -> TokenResponse:
        raise RuntimeError("signing failed")

    with pytest.raises(RuntimeError, match="signing failed"):
        svc.refresh.rotate(token, CLIENT_ID, broken_mint)

    assert statuses(family_id) == [ACTIVE]
    assert svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))["refresh_token"]


def test_concurrent_rotations_of_one_token_leave_exactly_one_new_head(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    """Within the opt-in grace window the losers get the winner's response."""
    app = create_app(make_settings(oauth={"refresh_grace": GRACE}), clock=clock)
    try:
        with app.app_context():
            _race(app, services(app))
    finally:
        services(app).revocation_view.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _race(app: Flask, svc: Services) -> None:
    token, family_id = issue(svc)
    db.session.close()
    barrier = threading.Barrier(THREADS)

    def attempt() -> TokenResponse | None:
        with app.app_context():
            try:
                barrier.wait()
                return svc.refresh.rotate(token, CLIENT_ID, make_mint(svc))
            except InvalidGrantError:
                return None
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = [future.result() for future in [pool.submit(attempt) for _ in range(THREADS)]]

    responses = [outcome for outcome in outcomes if outcome is not None]
    assert responses, "no thread got a response"
    assert all(response == responses[0] for response in responses)
    heads = [row for row in family_rows(family_id) if row.status == ACTIVE]
    assert len(heads) == 1
    winner = responses[0]["refresh_token"]
    assert heads[0].token_hash == hashlib.sha256(winner.encode()).hexdigest()
    assert len(family_rows(family_id)) == 2
