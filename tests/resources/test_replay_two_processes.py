"""RFC 9449 §11.1 across processes: a proof spent on one server process is refused by another.

Two real ``authserver run`` processes share the database, the master key and Redis (the
replay cache). The test exists only when AUTHSERVER_TEST_REDIS_URL is set: the in-process
store is per process by design, so there is nothing to test without Redis.

The DPoP-bound token is signed by an app built on the same database (validation needs no
ledger row), so this test depends on the resource guard only, not on the token endpoint.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from authserver import create_app
from authserver.db import db
from authserver.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.resources import DPOP_ALGS
from tests.resources import USERINFO
from tests.resources import dpop_proof
from tests.resources import jkt_of
from tests.resources import mint_access_token
from tppkit import generate_key
from tppkit.local_server import free_port
from tppkit.local_server import serving

pytestmark = pytest.mark.subprocess


def call(url: str, headers: dict[str, str]) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def mint_bound_token(settings: Settings, jkt: str) -> str:
    """A token bound to ``jkt``, signed with the servers' keys (same database and master key)."""
    app = create_app(settings)
    try:
        return mint_access_token(app, jkt=jkt)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def run_command(port: int) -> list[str]:
    return [sys.executable, "-m", "authserver", "run", "--port", str(port)]


if TEST_REDIS_URL:

    def test_proof_spent_on_one_process_is_refused_by_the_other(
        cli_env: dict[str, str], make_settings: Callable[..., Settings], tmp_path: Path
    ) -> None:
        port_a, port_b = free_port(), free_port()
        # One issuer for both processes (as behind a load balancer): htu names it, not the port.
        issuer = f"http://127.0.0.1:{port_a}"
        env = {**cli_env, "AUTHSERVER_ISSUER": issuer}
        base_b = f"http://127.0.0.1:{port_b}"
        results: dict[str, Any] = {}
        with (
            serving(run_command(port_a), env, issuer, tmp_path / "a.log"),
            serving(run_command(port_b), env, base_b, tmp_path / "b.log"),
        ):
            key = generate_key("ES256")
            token = mint_bound_token(make_settings(issuer=issuer), jkt_of(key))

            def proof() -> str:
                htu = issuer + USERINFO
                return dpop_proof(key, "ES256", iat=time.time(), htu=htu, access_token=token)

            spent = proof()
            headers = {"Authorization": f"DPoP {token}", "DPoP": spent}
            results["first"] = call(issuer + USERINFO, headers)
            results["replayed"] = call(base_b + USERINFO, headers)
            results["fresh"] = call(base_b + USERINFO, {**headers, "DPoP": proof()})

        status, response_headers, body = results["first"]
        assert status == 200, body
        assert response_headers["Date"]  # the conformance suite reads it on resource responses
        status, response_headers, body = results["replayed"]
        assert status == 401, body
        assert b'"invalid_dpop_proof"' in body
        assert response_headers.get_all("WWW-Authenticate") == [
            f'DPoP algs="{DPOP_ALGS}", error="invalid_dpop_proof"'
        ]
        # Process B accepts the token itself: the refusal above was the replay.
        assert results["fresh"][0] == 200, results["fresh"][2]
