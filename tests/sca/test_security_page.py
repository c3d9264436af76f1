"""/account/security: the user's factors with "Remove", and TOTP enrolment by QR code."""

from __future__ import annotations

import re

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.experience import experience
from conformance.tpp import csrf_token
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import page
from tests.par import post_form
from tests.sca.helpers import TotpUser
from tests.sca.helpers import create_totp_user
from tests.sca.helpers import password_step
from tests.sca.helpers import sign_in_with_totp

PAGE = "/account/security"


def _has_totp(app: Flask, username: str) -> bool:
    with app.app_context():
        found = experience(app).users.get(username)
        assert found is not None
        return bool(found.sealed_totp_secret)


def test_signed_out_users_are_sent_to_log_in(client: FlaskClient, services_: Services) -> None:
    response = page(client, services_, PAGE)
    assert (response.status_code, response.headers["Location"]) == (303, "/login")


def test_enrolment_shows_an_inline_qr_code_and_needs_a_right_code(
    app: Flask, client: FlaskClient, services_: Services, user: str
) -> None:
    password_step(client, services_, USERNAME, PASSWORD)
    shown = page(client, services_, PAGE)
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "You have no second factor" in html
    assert "<svg" in html  # inline: no image request, nothing external
    assert "<img" not in html
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html)
    assert secret is not None
    token = csrf_token(html)
    now = services_.clock.time()

    wrong = pyotp.TOTP(secret.group(1)).at(int(now) - 90)
    refused = post_form(client, services_, PAGE + "/totp", {"csrf_token": token, "code": wrong})
    assert refused.status_code == 400
    assert not _has_totp(app, USERNAME)

    right = pyotp.TOTP(secret.group(1)).at(int(now))
    done = post_form(client, services_, PAGE + "/totp", {"csrf_token": token, "code": right})
    assert done.status_code == 200
    assert "Your authenticator app is set up." in done.get_data(as_text=True)
    assert _has_totp(app, USERNAME)
    # The next login asks for the code.
    other = app.test_client()
    assert password_step(other, services_, USERNAME, PASSWORD).headers["Location"] == "/login/otp"


def test_enrolment_without_the_csrf_token_is_refused(
    client: FlaskClient, services_: Services, user: str
) -> None:
    password_step(client, services_, USERNAME, PASSWORD)
    page(client, services_, PAGE)
    response = post_form(client, services_, PAGE + "/totp", {"code": "123456"})
    assert response.status_code == 400


@pytest.fixture
def totp_user(app: Flask) -> TotpUser:
    return create_totp_user(app)


def test_a_strongly_signed_in_user_sees_and_removes_the_factor(
    app: Flask, client: FlaskClient, services_: Services, totp_user: TotpUser
) -> None:
    sign_in_with_totp(client, services_, totp_user)
    shown = page(client, services_, PAGE).get_data(as_text=True)
    assert "Authenticator app (one-time codes)" in shown
    assert "Remove" in shown
    forged = post_form(client, services_, PAGE + "/totp/remove", {})
    assert forged.status_code == 400
    assert _has_totp(app, totp_user.username)
    removed = post_form(client, services_, PAGE + "/totp/remove", {"csrf_token": csrf_token(shown)})
    assert (removed.status_code, removed.headers["Location"]) == (303, PAGE)
    assert not _has_totp(app, totp_user.username)
    unknown = post_form(
        client, services_, PAGE + "/passkey/remove", {"csrf_token": csrf_token(shown)}
    )
    assert unknown.status_code == 400
