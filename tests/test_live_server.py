"""The server as a newcomer and an operator run it: a real process on loopback, real HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, dict[str, str], Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, dict(response.headers), json.loads(response.read())


@contextmanager
def running(command: list[str], env: dict[str, str], base: str) -> Iterator[None]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise AssertionError(f"server did not start:\n{output}") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def check_discovery_and_jwks(base: str) -> None:
    _, _, oauth = fetch(f"{base}/.well-known/oauth-authorization-server")
    _, _, oidc = fetch(f"{base}/.well-known/openid-configuration")
    assert oauth["issuer"] == oidc["issuer"] == base
    _, headers, jwks = fetch(f"{base}/jwks")
    assert {key["kty"] for key in jwks["keys"]} == {"RSA", "EC"}
    assert len({key["kid"] for key in jwks["keys"]}) == len(jwks["keys"])
    assert not any({"d", "p", "q"} & key.keys() for key in jwks["keys"])
    assert "max-age" in headers["Cache-Control"]


def test_demo_then_run_serves_discovery_and_jwks(cli_env: dict[str, str]) -> None:
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
    with running(command, env, base):
        check_discovery_and_jwks(base)


def test_gunicorn_workers_publish_the_same_jwks(cli_env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**cli_env, "AUTHSERVER_ISSUER": base}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with running(command, env, base):
        check_discovery_and_jwks(base)
        kid_sets = {
            frozenset(key["kid"] for key in fetch(f"{base}/jwks")[2]["keys"]) for _ in range(8)
        }
        assert len(kid_sets) == 1
