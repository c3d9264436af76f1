"""``authserver.rs`` as its own process, next to a real authorization server process.

The resource server is started by gunicorn with **no master key** (and in production
mode, with an empty instance folder): it verifies a DPoP-bound access token from the
AS's published JWKS and refuses it within a second of ``/revoke`` at the AS — through
Redis pub/sub, or on the embedded default through the shared SQLite file it polls.

The token is signed by an app on the same database and master key as the AS process
(so it has its ledger row, like the token endpoint's); the RS never sees either.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from authserver import create_app
from authserver.db import db
from authserver.rs import create_resource_app
from authserver.settings import Settings
from authserver.settings import SettingsError
from authserver.settings import load_resource_server_settings
from authserver.tokens.access_token import TokenSubject
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from tests.resources import USERINFO
from tests.resources import dpop_proof
from tests.resources import jkt_of
from tppkit.local_server import free_port
from tppkit.local_server import serving

PROPAGATION_SECONDS = 1.0
FORM = "application/x-www-form-urlencoded"
Answer = tuple[int, dict[str, str], bytes]


def http(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def mint_bound_token(settings: Settings, client_id: str, user_id: str, jkt: str) -> str:
    """A DPoP-bound access token with its ledger row, signed with the AS's keys."""
    app = create_app(settings)
    try:
        with app.app_context():
            svc = app.extensions["authserver"]
            client = svc.clients.get(client_id)
            subject = TokenSubject(sub=user_id, scopes=("openid",), user_id=user_id, dpop_jkt=jkt)
            token = str(svc.tokens.issue(client, subject)["access_token"])
            db.session.commit()
            return token
    finally:
        app.extensions["authserver"].revocation_view.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def rs_env(cli_env: dict[str, str], as_base: str, rs_base: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in cli_env.items() if not k.startswith("AUTHSERVER_MASTER_KEY")}
    env.update(
        {
            # Production: a missing master key would stop an AS; the RS needs none.
            "AUTHSERVER_ENV": "production",
            "AUTHSERVER_INSTANCE_PATH": str(instance),
            "AUTHSERVER_ISSUER_JWKS_URI": f"{as_base}/jwks",
            "AUTHSERVER_RESOURCE_URL": rs_base,
        }
    )
    return env


def gunicorn_rs(port: int) -> list[str]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}", "authserver.rs:app"]


def userinfo_at(rs_base: str, token: str, key: object) -> Answer:
    proof = dpop_proof(
        key,  # type: ignore[arg-type]
        "ES256",
        iat=time.time(),
        htu=rs_base + USERINFO,
        access_token=token,
    )
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    return http(urllib.request.Request(rs_base + USERINFO, headers=headers))  # noqa: S310


def revoke_at(as_base: str, tpp: Tpp, token: str) -> None:
    form = urllib.parse.urlencode({**tpp.auth_form(), "token": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        as_base + "/revoke", data=form, headers={"Content-Type": FORM}, method="POST"
    )
    status, _, body = http(request)
    assert status == 200, body


def refused_within(probe: Callable[[], Answer], seconds: float) -> tuple[Answer, float]:
    """Poll until the answer is a 401 or the deadline passes; the last answer, time taken."""
    started = time.monotonic()
    answer = probe()
    while answer[0] != 401 and time.monotonic() - started < seconds:
        time.sleep(0.02)
        answer = probe()
    return answer, time.monotonic() - started


def test_resource_server_process_without_master_key_verifies_then_refuses_after_revoke(
    tpp: Tpp,
    user: str,
    cli_env: dict[str, str],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    as_port, rs_port = free_port(), free_port()
    as_base, rs_base = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}"
    as_command = [sys.executable, "-m", "authserver", "run", "--port", str(as_port)]
    instance = tmp_path / "rs-instance"
    key = generate_key("ES256")
    with (
        serving(as_command, cli_env, as_base, tmp_path / "as.log"),
        serving(
            gunicorn_rs(rs_port),
            rs_env(cli_env, as_base, rs_base, instance),
            rs_base,
            tmp_path / "rs.log",
        ),
    ):
        token = mint_bound_token(make_settings(), tpp.client_id, user, jkt_of(key))
        status, _, body = userinfo_at(rs_base, token, key)
        assert status == 200, body
        assert json.loads(body) == {"sub": user}

        revoke_at(as_base, tpp, token)
        (status, headers, body), took = refused_within(
            lambda: userinfo_at(rs_base, token, key), PROPAGATION_SECONDS
        )

    assert status == 401, (took, body)
    assert json.loads(body)["error"] == "invalid_token"
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]
    # It never loaded or generated a master key (development would write one here).
    assert not (instance / "master.key").exists()


def test_resource_server_settings_need_the_nonce_secret_when_nonces_are_required(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_resource_server_settings(
            env="production",
            issuer="https://as.example.test",
            instance_path=tmp_path,
            oauth={"dpop_nonce_required": True},
        )
    assert "AUTHSERVER_DPOP_NONCE_SECRET" in str(raised.value)


def test_resource_app_serves_only_the_resource_endpoints(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    base = make_settings().model_dump()
    base.update(env="production", master_key=None, instance_path=tmp_path)
    app: Flask = create_resource_app(load_resource_server_settings(**base))
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        for path in ("/token", "/par", "/jwks", "/authorize", "/introspect", "/revoke"):
            assert client.post(path).status_code in (404, 405), path
        missing = client.get(USERINFO)
        assert missing.status_code == 401
        assert "SECRET_KEY" not in app.config or app.config["SECRET_KEY"] is None
    finally:
        app.extensions["authserver.resources"].revocation_view.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
