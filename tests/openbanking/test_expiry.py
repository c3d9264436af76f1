"""Consent expiry in the service: ``expire_due`` moves each due consent once, even when
two processes (two apps on one database) race for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.experience import experience
from tests.helpers import app_with
from tests.openbanking import history


def authorised(app: Flask, services_: Services, user: str, expires_at: Any) -> str:
    with app.app_context():
        view = services_.consents.create(
            client_id="tpp-one",
            kind="account_access",
            scopes=["accounts:read"],
            details={"Permissions": ["ReadAccountsBasic"]},
            expires_at=expires_at,
            request_id="test",
        )
        experience(app).consents.authorise(
            view.consent_id, user_id=user, accounts=["acc-1"], request_id="test"
        )
        return view.consent_id


def test_expire_due_moves_due_consents_and_calls_back_once_each(
    app: Flask, services_: Services, user: str, clock: FrozenClock
) -> None:
    due = authorised(app, services_, user, clock.now() + timedelta(seconds=10))
    later = authorised(app, services_, user, clock.now() + timedelta(days=1))
    open_ended = authorised(app, services_, user, None)
    clock.advance(10)
    seen: list[str] = []

    with app.app_context():
        moved = experience(app).consents.expire_due(then=seen.append)
        again = experience(app).consents.expire_due(then=seen.append)

    assert (moved, again, seen) == ([due], [], [due])
    assert history(app, due)[-1] == ("AUTH", "EXPD", "system", "expired")
    assert [h[1] for h in history(app, later)] == ["AWAU", "AUTH"]
    assert [h[1] for h in history(app, open_ended)] == ["AWAU", "AUTH"]


def test_a_consent_another_process_expired_first_is_skipped(
    app: Flask, services_: Services, make_settings: Any, user: str, clock: FrozenClock
) -> None:
    consent_id = authorised(app, services_, user, clock.now() + timedelta(seconds=10))
    clock.advance(11)
    with app.app_context():
        consents = experience(app).consents
        loaded = consents.get(consent_id)
        assert loaded is not None
        assert loaded.status == "AUTH"  # this process read it before the other moved it
        with app_with(make_settings(), clock) as other, other.app_context():
            assert experience(other).consents.expire_due() == [consent_id]
        # The compare-and-set finds the row moved: nothing is written twice.
        assert not consents._expire(loaded)  # noqa: SLF001 -- the race itself
        assert consents.expire_due() == []
    steps = history(app, consent_id)
    assert [s[1] for s in steps] == ["AWAU", "AUTH", "EXPD"]
