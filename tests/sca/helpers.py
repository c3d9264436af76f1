"""Signing in through the Flask test client: the password page, then the one-time code."""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from authserver.experience import experience
from conformance.tpp import csrf_token
from tests.par import page
from tests.par import post_form

TOTP_USERNAME = "tina"
TOTP_PASSWORD = "tina's test password 42"  # test-only


@dataclass(frozen=True)
class TotpUser:
    user_id: str
    username: str
    password: str
    secret: str

    def code(self, at: float, steps: int = 0) -> str:
        """The code of the step ``steps`` away from the one holding ``at``."""
        return pyotp.TOTP(self.secret).at(int(at) + 30 * steps)


def create_totp_user(app: Flask, username: str = TOTP_USERNAME) -> TotpUser:
    with app.app_context():
        created = experience(app).users.create(username, TOTP_PASSWORD, actor="test", totp=True)
        user_id = created.user.id
    assert created.totp_secret
    return TotpUser(user_id, username, TOTP_PASSWORD, created.totp_secret)


def password_step(client: FlaskClient, svc: Services, username: str, password: str) -> TestResponse:
    form = {
        "csrf_token": csrf_token(page(client, svc, "/login").get_data(as_text=True)),
        "username": username,
        "password": password,
        "submit": "Sign in",
    }
    return post_form(client, svc, "/login", form)


def code_step(client: FlaskClient, svc: Services, code: str) -> TestResponse:
    shown = page(client, svc, "/login/otp")
    assert shown.status_code == 200, shown.headers.get("Location")
    form = {"csrf_token": csrf_token(shown.get_data(as_text=True)), "code": code}
    return post_form(client, svc, "/login/otp", {**form, "submit": "Verify"})


def sign_in_with_totp(client: FlaskClient, svc: Services, user: TotpUser) -> TestResponse:
    first = password_step(client, svc, user.username, user.password)
    assert (first.status_code, first.headers["Location"]) == (303, "/login/otp")
    return code_step(client, svc, user.code(svc.clock.time()))
