"""The conformance runner against a REAL server: `authserver run` on loopback, clients and a
user registered through the real CLI, then `python -m conformance` as a subprocess.

Every client is registered DPoP-bound (``--dpop-bound-access-tokens``, RFC 9449 §5.2) and
the runner sends proofs everywhere (``sender_constrain: dpop``). A resource-server client
(``--resource-server``, no redirect URI) introspects for #82/#83. Short lifetimes (PAR 5 s,
code 2 s) keep the waiting modules quick; the keys are generated per run and are TEST-ONLY.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from typing import TextIO

import pytest

from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving
from tppkit.registration import cli_register

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "conformance password, test-only"
CLIENTS = (("conformance-tpp-1", "ES256"), ("conformance-tpp-2", "PS256"))
SIGNED = ("conformance-signed-tpp", "EdDSA")
RESOURCE_SERVER = ("conformance-rs", "ES256")
STALL_SECONDS = 300
"""Longest silence between two module lines before the run counts as hung (modules wait at
most a few seconds for expiries; this is a hang guard, not a speed expectation)."""

pytestmark = pytest.mark.subprocess


def run_with_progress(command: list[str], errors: Path) -> tuple[int, str, str]:
    """Run the runner, bounded by progress rather than total time: it prints one line per
    module as each finishes, and only a module silent for ``STALL_SECONDS`` counts as hung
    (a loaded machine makes the whole run slower, never one module that slow)."""
    lines: queue.Queue[str | None] = queue.Queue()
    out: list[str] = []
    with (
        errors.open("w") as sink,
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink, text=True
        ) as process,  # the with block closes the pipe (filterwarnings=error sees leaks)
    ):
        assert process.stdout is not None
        reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            while (line := lines.get(timeout=STALL_SECONDS)) is not None:
                out.append(line)
        except queue.Empty:
            process.kill()
            out.append(f"no progress for {STALL_SECONDS} s; killed\n")
        reader.join()
        returncode = process.wait()
    return returncode, "".join(out), errors.read_text()


def _pump(stream: TextIO, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def live_server(env: dict[str, str], port: int, log: Path) -> Any:
    """`authserver run` on loopback, its log in a file (an unread pipe would stall it)."""
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    return serving(command, env, env["AUTHSERVER_ISSUER"], log)


def register(
    env: dict[str, str], tmp: Path, client_id: str, alg: str, redirect_uri: str, *flags: str
) -> dict[str, str]:
    """A DPoP-bound TPP through the real CLI; its entry in the runner's config."""
    flags = ("--dpop-bound-access-tokens", *flags)
    _key, private = cli_register(
        env, tmp, client_id, alg, *flags, redirect_uri=redirect_uri, scope="openid accounts:read"
    )
    return {
        "client_id": client_id,
        "private_jwk_file": private.name,
        "alg": alg,
        "redirect_uri": redirect_uri,
    }


def register_resource_server(env: dict[str, str], tmp: Path) -> dict[str, str]:
    client_id, alg = RESOURCE_SERVER
    _key, private = cli_register(env, tmp, client_id, alg, "--resource-server")
    return {"client_id": client_id, "private_jwk_file": private.name, "alg": alg}


def write_config(env: dict[str, str], tmp: Path) -> Path:
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    clients = [register(env, tmp, cid, alg, redirect_uri) for cid, alg in CLIENTS]
    signed = register(env, tmp, *SIGNED, redirect_uri, "--require-signed-requests")
    cli(env, "users", "create", "conformance-user", stdin=PASSWORD + "\n")
    config = {
        "clients": clients,
        "signed_client": signed,
        "resource_server": register_resource_server(env, tmp),
        "user": {"username": "conformance-user", "password": PASSWORD},
        "code_expiry_wait": 3,
        "sender_constrain": "dpop",
    }
    path = tmp / "conformance.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def test_conformance_runner_passes_against_a_live_server(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **cli_env,
        "AUTHSERVER_ISSUER": issuer,
        "AUTHSERVER_OAUTH__PAR_TTL": "5",
        "AUTHSERVER_TOKENS__CODE_TTL": "2",
    }
    config = write_config(env, tmp_path)
    command = [sys.executable, "-m", "conformance", "--issuer", issuer, "--config", str(config)]
    with live_server(env, port, tmp_path / "server.log"):
        returncode, stdout, stderr = run_with_progress(command, tmp_path / "runner.err")
    print(stdout)  # the module table, shown with `pytest -s` or on failure
    report = stdout + stderr
    lines = stdout.strip().splitlines()
    assert lines, report
    assert re.fullmatch(r"\d+ passed, 0 failed, \d+ skipped", lines[-1]), report
    # The resource server is configured, so the lifecycle modules run rather than skip.
    # (Module lines only: the summary "80 passed, ..." starts with a number in that range.)
    lifecycle = [line for line in lines if re.match(r"8[0-3] (?!passed,)", line)]
    assert len(lifecycle) == 4, report
    assert all(re.search(r" PASS ", line) for line in lifecycle), report
    assert returncode == 0, report
