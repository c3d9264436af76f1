"""``authserver keys rotate --use webhook`` and ``authserver webhooks redeliver`` as an
operator runs them (real subprocesses against the test database)."""

from __future__ import annotations

import json
import subprocess
import sys

from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.context import Services
from tests.webhooks.kit import webhook_jwks

TIMEOUT = 120


def authserver(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authserver", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_rotate_webhook_keys_leaves_token_keys_alone(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    clock: FrozenClock,
    cli_env: dict[str, str],
) -> None:
    before = {key["kid"] for key in webhook_jwks(client, services_)["keys"]}
    token_before = client.get("/jwks", base_url=services_.settings.issuer).get_json()

    rotated = authserver(cli_env, "keys", "rotate", "--use", "webhook", "--json")
    assert rotated.returncode == 0, rotated.stderr
    [fresh] = json.loads(rotated.stdout)
    assert fresh["alg"] == "RS256"
    assert fresh["kid"].startswith("webhook-key-")

    clock.advance(services_.settings.webhooks.keys.cache_seconds + 1)
    assert {key["kid"] for key in webhook_jwks(client, services_)["keys"]} == before | {
        fresh["kid"]
    }
    assert client.get("/jwks", base_url=services_.settings.issuer).get_json() == token_before

    unknown = authserver(cli_env, "webhooks", "redeliver", "no-such-event")
    assert unknown.returncode == 1
    assert "no delivery" in unknown.stderr
