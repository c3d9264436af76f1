"""The consent step asks for strong authentication: SCA at most 90 days old for account
access, and (when configured) a second factor for everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from conformance.tpp import Tpp
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import authorize_path
from tests.par import page
from tests.par import push
from tests.sca.helpers import TotpUser
from tests.sca.helpers import code_step
from tests.sca.helpers import create_totp_user
from tests.sca.helpers import password_step


@pytest.fixture
def totp_user(app: Flask) -> TotpUser:
    return create_totp_user(app)


def _to_consent(client: FlaskClient, svc: Services, tpp: Tpp) -> str:
    pushed = push(client, svc, tpp)
    started = page(client, svc, authorize_path(tpp.client_id, pushed.request_uri))
    assert started.status_code == 303
    return str(started.headers["Location"])


def test_an_sca_older_than_90_days_means_the_second_factor_again(
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    totp_user: TotpUser,
    clock: FrozenClock,
) -> None:
    assert _to_consent(client, services_, tpp) == "/login"
    password_step(client, services_, totp_user.username, totp_user.password)
    assert code_step(client, services_, totp_user.code(clock.time())).status_code == 303
    assert page(client, services_, "/consent").status_code == 200

    clock.advance(timedelta(days=89))
    assert _to_consent(client, services_, tpp) == "/consent"
    assert page(client, services_, "/consent").status_code == 200
    clock.advance(timedelta(days=2))
    assert _to_consent(client, services_, tpp) == "/consent"
    again = page(client, services_, "/consent")
    assert (again.status_code, again.headers["Location"]) == (303, "/login")
    # Signed out, with the authorization still pending: password and code again.
    assert page(client, services_, "/account/consents").status_code == 303
    first = password_step(client, services_, totp_user.username, totp_user.password)
    assert first.headers["Location"] == "/login/otp"
    done = code_step(client, services_, totp_user.code(clock.time()))
    assert done.headers["Location"] == "/consent"
    assert page(client, services_, "/consent").status_code == 200


def test_a_password_only_user_may_consent_by_default(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    _to_consent(client, services_, tpp)
    assert password_step(client, services_, USERNAME, PASSWORD).headers["Location"] == "/consent"
    assert page(client, services_, "/consent").status_code == 200
