"""The operator's view of the CLI: expected failures are one line and an exit code, output
is readable text, and `run` serves under the issuer it listens on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.cli.test_cli import public_jwks_file
from tests.cli.test_cli import run_cli
from tests.cli.test_cli import run_json
from tppkit.local_server import free_port
from tppkit.local_server import serving


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but never listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def assert_one_line_failure(
    result: subprocess.CompletedProcess[str], fragment: str, code: int = 1
) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("authserver: ", "Error: ")), lines[0]
    assert fragment in lines[0], lines[0]


def test_version_prints_the_package_version(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"authserver, version {version('authserver')}"


@pytest.mark.parametrize("command", [["clients", "list"], ["db", "upgrade"], ["demo"]])
def test_an_unreachable_database_is_one_line(
    cli_env: dict[str, str], closed_port: int, command: list[str]
) -> None:
    env = cli_env | {
        "AUTHSERVER_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed_port}/x"
    }
    result = run_cli(env, *command)
    assert_one_line_failure(result, "the database cannot be used (AUTHSERVER_DATABASE_URL)")
    assert f"port {closed_port} failed: Connection refused" in result.stderr


def test_an_unreachable_store_is_one_line(
    cli_env: dict[str, str], closed_port: int, tmp_path: Path
) -> None:
    jwks = str(public_jwks_file(tmp_path))
    run_json(cli_env, "clients", "create", "--operator", "--name", "Ops", "--jwks-file", jwks)
    env = cli_env | {"AUTHSERVER_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"}
    client_id = run_json(cli_env, "clients", "list")[0]["client_id"]
    result = run_cli(env, "clients", "disable", client_id)
    assert_one_line_failure(result, "the store cannot be reached (AUTHSERVER_REDIS_URL)")


def test_an_unknown_revision_is_one_line(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "db", "upgrade", "--revision", "9999")
    assert_one_line_failure(result, "migration failed: Can't locate revision identified by '9999'")


def test_an_unwritable_export_path_is_one_line(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "audit", "export", "--output", "/nonexistent/dir/x")
    assert_one_line_failure(result, "No such file or directory: /nonexistent/dir/x")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "No such file or directory"),
        ("{not json", "not JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"keys": 3}', "jwks must be an object with a non-empty 'keys' array"),
    ],
)
def test_a_bad_jwks_file_is_one_line(
    cli_env: dict[str, str], tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "bad.jwks.json"
    if content is not None:
        path.write_text(content)
    result = run_cli(
        cli_env, "clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb",
        "--jwks-file", str(path),
    )  # fmt: skip
    assert_one_line_failure(result, fragment)


def test_alembic_chatter_only_with_verbose(cli_env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["clients", "list"]):
        quiet = run_cli(cli_env | {"AUTHSERVER_LOG_LEVEL": "INFO"}, *command)
        assert quiet.returncode == 0, quiet.stderr
        assert quiet.stderr == ""
    loud = run_cli(cli_env | {"AUTHSERVER_LOG_LEVEL": "INFO"}, "--verbose", "clients", "list")
    assert loud.returncode == 0, loud.stderr
    assert "Context impl" in loud.stderr


def test_operator_client_and_readable_show(cli_env: dict[str, str], tmp_path: Path) -> None:
    jwks = str(public_jwks_file(tmp_path))
    created = run_json(
        cli_env, "clients", "create", "--operator", "--name", "Ops", "--client-id", "ops",
        "--jwks-file", jwks,
    )  # fmt: skip
    assert created["grant_types"] == ["client_credentials"]
    assert created["scope"] == "authserver:revoke"
    assert created["redirect_uris"] == []
    shown = run_cli(cli_env, "clients", "show", "ops")
    assert shown.returncode == 0, shown.stderr
    for python_repr in ("[", "None", "False", "True"):
        assert python_repr not in shown.stdout
    assert "grant_types:" in shown.stdout
    assert "client_credentials" in shown.stdout
    listed = run_cli(cli_env, "clients", "list")
    assert "operator" in listed.stdout.split()
    assert run_json(cli_env, "clients", "show", "ops") == created


def test_operator_takes_no_redirect_uri(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(
        cli_env, "clients", "create", "--operator", "--name", "Ops",
        "--redirect-uri", "https://x.example/cb", "--jwks-file", str(public_jwks_file(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--operator takes neither --resource-server nor --redirect-uri" in result.stderr


def _discovered_issuer(base: str) -> str:
    url = f"{base}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return str(json.load(response)["issuer"])


def test_run_derives_the_issuer_from_the_port(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env.items() if k != "AUTHSERVER_ISSUER"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    with serving(command, env, base, tmp_path / "run.log", timeout=60):
        assert _discovered_issuer(base) == base
    assert "warning" not in (tmp_path / "run.log").read_text()


def test_run_warns_when_the_issuer_names_another_port(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env | {"AUTHSERVER_ISSUER": "http://127.0.0.1:5000"}
    command = [sys.executable, "-m", "authserver", "run", "--port", str(port)]
    with serving(command, env, base, tmp_path / "run.log", timeout=60):
        assert _discovered_issuer(base) == "http://127.0.0.1:5000"
    log = (tmp_path / "run.log").read_text()
    assert (
        "authserver: warning: AUTHSERVER_ISSUER is http://127.0.0.1:5000 but this server "
        f"listens on 127.0.0.1:{port}" in log
    )


def test_production_refuses_a_loopback_http_redirect_uri(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = cli_env | {"AUTHSERVER_ENV": "production", "AUTHSERVER_ISSUER": "https://as.example"}
    result = run_cli(
        env, "clients", "create", "--name", "X", "--redirect-uri", "http://127.0.0.1:5001/callback",
        "--jwks-file", str(public_jwks_file(tmp_path)),
    )  # fmt: skip
    assert_one_line_failure(
        result, "redirect_uri 'http://127.0.0.1:5001/callback' must use https in production"
    )
    assert run_json(cli_env, "clients", "list") == []
