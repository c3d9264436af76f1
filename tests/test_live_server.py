"""The server as a newcomer and an operator run it: a real process on loopback, real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tppkit.local_server import free_port
from tppkit.local_server import serving

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parent.parent


def fetch(url: str) -> tuple[int, dict[str, str], Any]:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback only
        return response.status, dict(response.headers), json.loads(response.read())


def check_discovery_and_jwks(base: str) -> None:
    _, _, oauth = fetch(f"{base}/.well-known/oauth-authorization-server")
    _, _, oidc = fetch(f"{base}/.well-known/openid-configuration")
    assert oauth["issuer"] == oidc["issuer"] == base
    _, headers, jwks = fetch(f"{base}/jwks")
    assert {key["kty"] for key in jwks["keys"]} == {"RSA", "EC"}
    assert len({key["kid"] for key in jwks["keys"]}) == len(jwks["keys"])
    assert not any({"d", "p", "q"} & key.keys() for key in jwks["keys"])
    assert "max-age" in headers["Cache-Control"]


def test_demo_then_run_serves_discovery_and_jwks(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**cli_env, "AUTHSERVER_ISSUER": base}
    demo = subprocess.run(
        [sys.executable, "-m", "authserver", "demo", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout)["client_id"] == "demo-tpp"
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    log = tmp_path / "server.log"
    with serving(command, env, base, log):
        check_discovery_and_jwks(base)


def test_gunicorn_workers_publish_the_same_jwks(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**cli_env, "AUTHSERVER_ISSUER": base}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with serving(command, env, base, log):
        check_discovery_and_jwks(base)
        kid_sets = {
            frozenset(key["kid"] for key in fetch(f"{base}/jwks")[2]["keys"]) for _ in range(8)
        }
        assert len(kid_sets) == 1
