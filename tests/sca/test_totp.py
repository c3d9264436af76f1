"""TOTP as the server checks it: RFC 6238, ±1 step, each step accepted once per user."""

from __future__ import annotations

import pyotp
import pytest
from flask import Flask

from authserver.context import Services
from authserver.experience import experience
from authserver.sca.models import User
from authserver.sca.totp import TotpVerifier
from tests.sca.helpers import TotpUser
from tests.sca.helpers import create_totp_user


@pytest.fixture
def totp_user(app: Flask) -> TotpUser:
    return create_totp_user(app)


def _check(app: Flask, svc: Services, user: TotpUser, code: str) -> bool:
    with app.app_context():
        found = experience(app).users.get(user.username)
        assert isinstance(found, User)
        return experience(app).totp.verify(found, code)


def test_the_current_code_is_accepted_once(
    app: Flask, services_: Services, totp_user: TotpUser
) -> None:
    code = totp_user.code(services_.clock.time())
    assert _check(app, services_, totp_user, code)
    # Replayed in the same step (seen over a shoulder, or by malware): refused.
    assert not _check(app, services_, totp_user, code)


def test_one_step_of_drift_either_way_is_accepted(
    app: Flask, services_: Services, totp_user: TotpUser
) -> None:
    now = services_.clock.time()
    assert _check(app, services_, totp_user, totp_user.code(now, steps=-1))
    assert _check(app, services_, totp_user, totp_user.code(now, steps=1))


def test_a_code_from_two_steps_ago_is_refused(
    app: Flask, services_: Services, totp_user: TotpUser
) -> None:
    now = services_.clock.time()
    assert not _check(app, services_, totp_user, totp_user.code(now, steps=-2))
    assert not _check(app, services_, totp_user, totp_user.code(now, steps=2))


def test_a_used_step_stays_used_when_it_slides_into_the_drift_window(
    app: Flask, services_: Services, totp_user: TotpUser, clock: object
) -> None:
    now = services_.clock.time()
    code = totp_user.code(now)
    assert _check(app, services_, totp_user, code)
    services_.clock.advance(30)  # type: ignore[attr-defined]
    assert not _check(app, services_, totp_user, code)  # now the "previous" step: still spent


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(
    app: Flask, services_: Services, totp_user: TotpUser, code: str
) -> None:
    assert not _check(app, services_, totp_user, code)


def test_a_user_without_totp_has_no_code(app: Flask, services_: Services, user: str) -> None:
    with app.app_context():
        found = experience(app).users.get("alice")
        assert found is not None
        assert not experience(app).totp.verify(found, "123456")


def test_each_user_has_their_own_steps(app: Flask, services_: Services) -> None:
    """Two users whose codes happen to coincide do not spend each other's step."""
    verifier: TotpVerifier = experience(app).totp
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).at(int(services_.clock.time()))
    with app.app_context():
        assert verifier.verify_secret("user-a", secret, code)
        assert verifier.verify_secret("user-b", secret, code)
        assert not verifier.verify_secret("user-a", secret, code)
