"""``authserver users reset-factors``: a lost phone; the factors go and any lock is lifted."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authserver.context import Services
from authserver.experience import experience
from tests.cli.test_cli import assert_refused
from tests.cli.test_cli import run_cli
from tests.cli.test_cli import run_json
from tests.sca.helpers import create_totp_user
from tests.sca.helpers import password_step

pytestmark = pytest.mark.subprocess


def test_reset_factors_removes_totp_and_lifts_the_lock(
    app: Flask, client: FlaskClient, services_: Services, cli_env: dict[str, str]
) -> None:
    user = create_totp_user(app)
    for _ in range(5):
        password_step(client, services_, user.username, "not the password")
    assert password_step(client, services_, user.username, user.password).status_code == 401

    reset = run_json(cli_env, "users", "reset-factors", user.username)
    assert (reset["username"], reset["factors"]) == (user.username, [])

    with app.app_context():
        found = experience(app).users.get(user.username)
        assert found is not None
        assert found.sealed_totp_secret is None
    # Password alone now (CA), and not locked any more.
    signed_in = password_step(client, services_, user.username, user.password)
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, "/login/done")
    assert_refused(run_cli(cli_env, "users", "reset-factors", "nobody"), "does not exist")
