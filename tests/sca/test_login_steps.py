"""The login as a browser goes through it: password, then the one-time code; lockout."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from authserver import create_app
from authserver.audit.models import AuditEvent
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.sca.views import INVALID_CODE
from authserver.sca.views import INVALID_LOGIN
from tests.helpers import app_with
from tests.helpers import closed_port
from tests.par import page
from tests.sca.helpers import TotpUser
from tests.sca.helpers import code_step
from tests.sca.helpers import create_totp_user
from tests.sca.helpers import password_step


@pytest.fixture
def totp_user(app: Flask) -> TotpUser:
    return create_totp_user(app)


def _events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == kind)))


def test_password_then_code_signs_in_strongly(
    client: FlaskClient, services_: Services, totp_user: TotpUser
) -> None:
    first = password_step(client, services_, totp_user.username, totp_user.password)
    assert (first.status_code, first.headers["Location"]) == (303, "/login/otp")
    # Half signed in is not signed in: the dashboard sends the user to log in.
    assert page(client, services_, "/account/consents").status_code == 303
    shown = page(client, services_, "/login/otp").get_data(as_text=True)
    assert "One-time code" in shown
    assert "Verify" in shown
    done = code_step(client, services_, totp_user.code(services_.clock.time()))
    # Back to the page that asked for the login.
    assert (done.status_code, done.headers["Location"]) == (303, "/account/consents")
    assert page(client, services_, "/account/consents").status_code == 200


def test_a_wrong_code_gets_a_neutral_answer(
    client: FlaskClient, services_: Services, totp_user: TotpUser
) -> None:
    password_step(client, services_, totp_user.username, totp_user.password)
    now = services_.clock.time()
    wrong = code_step(client, services_, totp_user.code(now, steps=-2))
    assert wrong.status_code == 401
    assert INVALID_CODE in wrong.get_data(as_text=True)


def test_a_replayed_code_is_refused_at_the_login(
    app: Flask, services_: Services, totp_user: TotpUser
) -> None:
    code = totp_user.code(services_.clock.time())
    first, second = app.test_client(), app.test_client()
    password_step(first, services_, totp_user.username, totp_user.password)
    assert code_step(first, services_, code).status_code == 303
    password_step(second, services_, totp_user.username, totp_user.password)
    assert code_step(second, services_, code).status_code == 401


def test_wrong_and_unknown_users_get_the_same_answer(
    client: FlaskClient, services_: Services, totp_user: TotpUser
) -> None:
    wrong = password_step(client, services_, totp_user.username, "not the password")
    unknown = password_step(client, services_, "nobody-here", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert INVALID_LOGIN in response.get_data(as_text=True)


def test_the_code_page_needs_a_fresh_password_step(
    client: FlaskClient, services_: Services, totp_user: TotpUser, clock: FrozenClock
) -> None:
    nothing = page(client, services_, "/login/otp")
    assert (nothing.status_code, nothing.headers["Location"]) == (303, "/login")
    password_step(client, services_, totp_user.username, totp_user.password)
    clock.advance(services_.settings.sca.partial_ttl + 1)
    stale = page(client, services_, "/login/otp")
    assert (stale.status_code, stale.headers["Location"]) == (303, "/login")


def test_a_locked_account_refuses_the_right_password_until_the_lock_ends(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    totp_user: TotpUser,
    clock: FrozenClock,
) -> None:
    for _ in range(5):
        wrong = password_step(client, services_, totp_user.username, "not the password")
        assert wrong.status_code == 401
    sixth = password_step(client, services_, totp_user.username, totp_user.password)
    assert sixth.status_code == 401
    assert INVALID_LOGIN in sixth.get_data(as_text=True)  # the same words: nothing given away
    assert len(_events(app, "login.locked")) == 1
    assert len(_events(app, "login.factor_failed")) == 5
    assert len(_events(app, "login.refused_locked")) == 1

    clock.advance(services_.settings.sca.lockout_base_seconds + 1)
    lifted = password_step(client, services_, totp_user.username, totp_user.password)
    assert (lifted.status_code, lifted.headers["Location"]) == (303, "/login/otp")


def test_wrong_codes_count_towards_the_lock_and_each_lock_is_longer(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    totp_user: TotpUser,
    clock: FrozenClock,
) -> None:
    base = services_.settings.sca.lockout_base_seconds
    password_step(client, services_, totp_user.username, totp_user.password)
    for _ in range(5):
        bad = code_step(client, services_, totp_user.code(clock.time(), steps=5))
        assert bad.status_code == 401
    # Locked: even the right code is refused now.
    assert code_step(client, services_, totp_user.code(clock.time())).status_code == 401
    clock.advance(base + 1)
    for _ in range(5):
        password_step(client, services_, totp_user.username, "not the password")
    clock.advance(base + 1)  # the second lock lasts twice as long: still locked
    still = password_step(client, services_, totp_user.username, totp_user.password)
    assert still.status_code == 401
    clock.advance(base)
    lifted = password_step(client, services_, totp_user.username, totp_user.password)
    assert lifted.status_code == 303
    locks = _events(app, "login.locked")
    assert [event.changes["seconds"] for event in locks] == [base, 2 * base]


def test_the_lock_survives_a_restart(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    totp_user: TotpUser,
    settings: Any,
    clock: FrozenClock,
) -> None:
    for _ in range(5):
        password_step(client, services_, totp_user.username, "not the password")
    # A new process: a new app on the same database (and a fresh in-process store).
    again = create_app(settings, clock=clock)
    try:
        other = services(again)
        refused = password_step(again.test_client(), other, totp_user.username, totp_user.password)
        assert refused.status_code == 401
    finally:
        other.revocation_view.close()
        with again.app_context():
            db.session.remove()
            db.engine.dispose()


def test_too_many_attempts_from_one_address_get_429(make_settings: Any, clock: FrozenClock) -> None:
    app = create_app(make_settings(sca={"ip_attempts": 3}), clock=clock)
    svc = services(app)
    try:
        client = app.test_client()
        answers = [
            password_step(client, svc, f"nobody-{n}", "not the password").status_code
            for n in range(4)
        ]
        assert answers == [401, 401, 401, 429]
    finally:
        svc.revocation_view.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_payment_step_up_with_totp_records_the_link(
    client: FlaskClient, services_: Services, totp_user: TotpUser
) -> None:
    """The TOTP page completes a pending dynamic-linking request with its hash."""
    password_step(client, services_, totp_user.username, totp_user.password)
    with client.session_transaction(base_url=services_.settings.issuer) as session:
        session["link_request"] = "payment-hash"
    code_step(client, services_, totp_user.code(services_.clock.time()))
    with client.session_transaction(base_url=services_.settings.issuer) as session:
        assert session["linked"] == "payment-hash"
        assert session["amr"] == ["pwd", "otp"]
        assert session["acr"] == "urn:openbanking:psd2:sca"


def test_a_login_with_the_store_unreachable_fails_closed_with_503(
    make_settings: Any, clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    with app_with(settings, clock) as app:
        svc = services(app)
        with app.app_context():
            experience(app).users.create("sam", "sam's test password 42", actor="test")
        response = password_step(app.test_client(), svc, "sam", "sam's test password 42")
        assert response.status_code == 503
        assert "Traceback" not in response.get_data(as_text=True)


def test_a_first_failure_counted_by_two_processes_at_once_is_counted_twice_not_a_500(
    app: Flask, totp_user: TotpUser
) -> None:
    """Another process inserts the user's lock row between this one's look-up and its
    insert (simulated by a second connection, just before the flush): the primary key
    breaks, and the attempt is counted on the other row instead."""
    from sqlalchemy import event
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from authserver.sca.models import LoginLock

    with app.app_context():
        lockout = experience().lockout
        other = db.engine.connect()
        fired: list[bool] = []

        def other_process_first(session: Session, *_args: Any) -> None:
            if fired or not any(isinstance(row, LoginLock) for row in session.new):
                return
            fired.append(True)
            now = services(app).clock.now()
            with other.begin():
                other.execute(
                    insert(LoginLock).values(
                        user_id=totp_user.user_id, failures=1, locks=0, updated_at=now
                    )
                )

        event.listen(db.session, "before_flush", other_process_first)
        try:
            lockout.failed(totp_user.user_id, factor="pwd", request_id="-")
        finally:
            event.remove(db.session, "before_flush", other_process_first)
            other.close()
        assert fired
        db.session.expire_all()
        row = db.session.get(LoginLock, totp_user.user_id)
        assert row is not None
        assert row.failures == 2
