"""The server as a newcomer and an operator run it: a real process on loopback, real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from authserver.store.single_process import LOCK_NAME
from tests.conftest import TEST_REDIS_URL
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


@pytest.mark.skipif(
    TEST_REDIS_URL is None,
    reason="needs AUTHSERVER_TEST_REDIS_URL: two workers on the in-process store refuse to start",
)
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


@pytest.mark.parametrize("preload", [False, True], ids=["per-worker-load", "preload"])
def test_two_workers_without_redis_refuse_to_start(
    cli_env: dict[str, str], tmp_path: Path, preload: bool
) -> None:
    """Issue 15 item 5: single-use checks on the in-process store hold per process only,
    so a second gunicorn worker without Redis stops the server with a clear message."""
    port = free_port()
    env = {k: v for k, v in cli_env.items() if k != "AUTHSERVER_REDIS_URL"}
    env["AUTHSERVER_ISSUER"] = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    if preload:
        command.insert(1, "--preload")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert process.returncode not in (None, 0), output[-3000:]
    assert "in-process store is for one process only" in output, output[-3000:]
    assert "AUTHSERVER_REDIS_URL" in output
    assert (Path(env["AUTHSERVER_INSTANCE_PATH"]) / LOCK_NAME).exists()
