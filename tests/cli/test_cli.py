"""The real ``authserver`` command, run as a subprocess against the test backends."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from joserfc import jwk
from sqlalchemy.pool import NullPool

from tppkit.local_server import HANG_GUARD

pytestmark = pytest.mark.subprocess


def run_cli(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m authserver ARGS`` from the test's own folder, never the repository."""
    result = subprocess.run(
        [sys.executable, "-m", "authserver", *args],
        env=env,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,  # a hang guard only: start-up may take seconds on a busy machine
        cwd=Path(env["AUTHSERVER_INSTANCE_PATH"]).parent,
        check=False,
    )
    # Whatever the command, the master key (with or without its base64 padding) never shows.
    master_key = env.get("AUTHSERVER_MASTER_KEY", "")
    for secret in {master_key, master_key.rstrip("=")} - {""}:
        assert secret not in result.stdout, args
        assert secret not in result.stderr, args
    return result


def run_json(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    result = run_cli(env, *args, "--json", input=input)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def public_jwks_file(tmp_path: Path, *, private: bool = False) -> Path:
    key = jwk.ECKey.generate_key("P-256", private=True)
    data = key.as_dict(private=private)
    data["kid"] = key.thumbprint()
    path = tmp_path / ("private-jwks.json" if private else "jwks.json")
    path.write_text(json.dumps({"keys": [data]}))
    return path


def count_rows(env: dict[str, str], table: str) -> int:
    engine = sa.create_engine(env["AUTHSERVER_DATABASE_URL"], poolclass=NullPool)
    try:
        with engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(sa.table(table))
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def create_acme(cli_env: dict[str, str], tmp_path: Path) -> Any:
    return run_json(
        cli_env,
        "clients",
        "create",
        "--name",
        "Acme",
        "--client-id",
        "acme",
        "--redirect-uri",
        "https://acme.example/cb",
        "--scope",
        "accounts:read payments:write",
        "--jwks-file",
        str(public_jwks_file(tmp_path)),
    )


# -- clients -----------------------------------------------------------------------


def test_clients_create_list_show_disable(cli_env: dict[str, str], tmp_path: Path) -> None:
    created = create_acme(cli_env, tmp_path)
    assert created["client_id"] == "acme"
    assert created["client_name"] == "Acme"
    assert created["redirect_uris"] == ["https://acme.example/cb"]
    assert created["scope"] == "accounts:read payments:write"
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    assert created["jwks"]["keys"][0]["kty"] == "EC"
    assert created["disabled"] is False

    listed = run_json(cli_env, "clients", "list")
    assert [c["client_id"] for c in listed] == ["acme"]

    shown = run_json(cli_env, "clients", "show", "acme")
    assert shown == created

    disabled = run_json(cli_env, "clients", "disable", "acme")
    assert disabled["client_id"] == "acme"
    assert disabled["disabled"] is True


@pytest.mark.parametrize(
    ("overrides", "private_jwks", "message"),
    [
        ({"--auth-method": "none"}, False, "token_endpoint_auth_method must be one of"),
        ({"--redirect-uri": "http://acme.example/cb"}, False, "must use https"),
        ({"--redirect-uri": "https://acme.example/cb#x"}, False, "must not contain a fragment"),
        ({}, True, "jwks must contain public keys only"),
        ({"--scope": "accounts:read admin:all"}, False, "unknown scope: admin:all"),
    ],
    ids=["auth-method-none", "http-redirect-uri", "fragment-redirect-uri", "private-jwk", "scope"],
)
def test_clients_create_refuses_a_registration_rule_violation(
    cli_env: dict[str, str],
    tmp_path: Path,
    overrides: dict[str, str],
    private_jwks: bool,
    message: str,
) -> None:
    options = {
        "--name": "Acme",
        "--client-id": "acme",
        "--redirect-uri": "https://acme.example/cb",
        "--scope": "accounts:read",
        "--jwks-file": str(public_jwks_file(tmp_path, private=private_jwks)),
        **overrides,
    }

    result = run_cli(cli_env, "clients", "create", *(x for kv in options.items() for x in kv))

    assert_refused(result, message)
    assert count_rows(cli_env, "clients") == 0
    assert count_rows(cli_env, "audit_events") == 0


def test_clients_create_refuses_a_duplicate_client_id(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    create_acme(cli_env, tmp_path)

    again = run_cli(
        cli_env,
        "clients",
        "create",
        "--name",
        "Acme again",
        "--client-id",
        "acme",
        "--redirect-uri",
        "https://acme.example/cb",
        "--jwks-file",
        str(public_jwks_file(tmp_path)),
    )

    assert_refused(again, "client_id 'acme' already exists")
    assert count_rows(cli_env, "clients") == 1


def test_clients_show_of_an_unknown_client_fails(cli_env: dict[str, str]) -> None:
    assert_refused(run_cli(cli_env, "clients", "show", "nobody", "--json"), "no client 'nobody'")


# -- users -------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin_and_enrols_totp(
    cli_env: dict[str, str],
) -> None:
    created = run_json(cli_env, "users", "create", "bob", "--totp", input="correct horse battery\n")

    assert created["username"] == "bob"
    assert created["id"]
    assert created["totp_uri"].startswith("otpauth://totp/")
    assert "correct horse battery" not in json.dumps(created)


def test_users_create_refuses_a_short_password(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "users", "create", "bob", "--json", input="short\n")

    assert_refused(result, "password must be at least 8 characters")
    assert count_rows(cli_env, "users") == 0


# -- keys --------------------------------------------------------------------------


def test_keys_list_then_rotate_retires_the_old_keys(cli_env: dict[str, str]) -> None:
    before = run_json(cli_env, "keys", "list")
    assert sorted(k["alg"] for k in before) == ["ES256", "PS256", "RS256"]
    assert {k["state"] for k in before} == {"active"}
    assert all(k["published"] for k in before)

    rotated = run_json(cli_env, "keys", "rotate")
    assert sorted(k["alg"] for k in rotated) == ["ES256", "PS256", "RS256"]

    after = run_json(cli_env, "keys", "list")
    states = {k["kid"]: k["state"] for k in after}
    assert len(after) == 6
    assert sorted(states.values()) == ["active"] * 3 + ["retired"] * 3
    assert {k["kid"] for k in before} == {kid for kid, s in states.items() if s == "retired"}
    assert {k["kid"] for k in rotated} == {kid for kid, s in states.items() if s == "active"}


# -- audit -------------------------------------------------------------------------


def test_audit_verify_and_export_cover_the_cli_actions(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    create_acme(cli_env, tmp_path)
    run_json(cli_env, "users", "create", "bob", input="correct horse battery\n")
    run_json(cli_env, "keys", "rotate")

    # Stored but not chained yet (no server runs a chainer here): the window shows. The
    # bound is lifted so a slow machine cannot turn the waiting events into a failure.
    relaxed = {**cli_env, "AUTHSERVER_AUDIT__MAX_UNCHAINED_SECONDS": "86400"}
    pending = run_json(relaxed, "audit", "verify")
    assert pending["ok"] is True
    assert (pending["checked"], pending["unchained"]) == (0, 3)
    assert pending["oldest_unchained_seconds"] >= 0

    assert run_json(cli_env, "audit", "chain") == {"linked": 3}
    report = run_json(cli_env, "audit", "verify")
    assert report == {
        "ok": True,
        "checked": 3,
        "broken_id": None,
        "reason": None,
        "unchained": 0,
        "oldest_unchained_seconds": None,
    }

    output = tmp_path / "audit.jsonl"
    export = run_cli(
        cli_env, "audit", "export", "--since", "2000-01-01T00:00:00Z", "--output", str(output)
    )
    assert export.returncode == 0, export.stderr
    events = [json.loads(line) for line in output.read_text().splitlines()]
    assert [e["event_type"] for e in events] == ["client.created", "user.created", "keys.rotated"]
    assert [e["id"] for e in events] == [1, 2, 3]
    assert [e["chain_seq"] for e in events] == [1, 2, 3]
    assert events[0]["resource"] == "client:acme"
    assert events[0]["actor"].startswith("operator:")
    assert events[1]["changes"]["username"] != "bob"  # PII is masked in the trail
    for earlier, later in zip(events, events[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]


def test_audit_verify_exits_1_on_a_tampered_chain(cli_env: dict[str, str], tmp_path: Path) -> None:
    create_acme(cli_env, tmp_path)
    run_json(cli_env, "clients", "disable", "acme")
    run_json(cli_env, "audit", "chain")
    engine = sa.create_engine(cli_env["AUTHSERVER_DATABASE_URL"], poolclass=NullPool)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(sa.text("DROP TRIGGER audit_events_no_update"))
        connection.execute(sa.text("UPDATE audit_events SET actor = 'nobody' WHERE id = 1"))
    engine.dispose()

    result = run_cli(cli_env, "audit", "verify", "--chain", "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["broken_id"] == 1


def test_audit_export_refuses_a_bad_since(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "audit", "export", "--since", "not-a-date")

    assert_refused(result, "ISO 8601")


# -- demo --------------------------------------------------------------------------


def test_demo_sets_up_a_fresh_database_idempotently(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    instance = tmp_path / "demo-instance"
    demo_env = {
        **cli_env,
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "AUTHSERVER_INSTANCE_PATH": str(instance),
    }

    first = run_json(demo_env, "demo")

    assert first["client_id"] == "demo-tpp"
    assert first["username"] == "alice"
    assert len(first["password"]) >= 8
    assert first["totp_uri"].startswith("otpauth://")
    key_path = instance.resolve() / "demo-client-private.jwk.json"
    assert Path(first["client_private_jwk"]) == key_path
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "demo-user.json").stat().st_mode) == 0o600
    private = json.loads(key_path.read_text())
    assert private["kty"] == "EC"
    assert private["d"]

    second = run_json(demo_env, "demo")

    assert second == first
    assert json.loads(key_path.read_text()) == private
    assert count_rows(demo_env, "clients") == 1
    assert count_rows(demo_env, "users") == 1
    assert count_rows(demo_env, "signing_keys") == 4  # three token keys, one webhook key
    # The demo user's current and savings accounts, seeded once (idempotent).
    assert count_rows(demo_env, "accounts") == 2
    assert count_rows(demo_env, "account_transactions") > 300


def test_demo_says_so_when_the_demo_user_credentials_file_is_gone(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    instance = tmp_path / "demo-instance"
    demo_env = {
        **cli_env,
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "AUTHSERVER_INSTANCE_PATH": str(instance),
    }
    run_json(demo_env, "demo")
    (instance / "demo-user.json").unlink()

    result = run_cli(demo_env, "demo", "--json")

    assert_refused(result, "user 'alice' already exists", "demo-user.json is missing")


# -- settings and start-up -----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTHSERVER_ISSUER", "not-a-url"),
        ("AUTHSERVER_ISSUER", "http://example.com"),
        ("AUTHSERVER_LISTEN_PORT", "99999"),
        ("AUTHSERVER_KEYS__ROTATION_DAYS", "0"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line_naming_it(
    cli_env: dict[str, str], variable: str, value: str
) -> None:
    result = run_cli({**cli_env, variable: value}, "clients", "list", "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    if not value.isdigit():
        assert value not in lines[0]  # the value itself is never echoed


def test_production_without_a_master_key_exits_2_naming_it(cli_env: dict[str, str]) -> None:
    production = {k: v for k, v in cli_env.items() if k != "AUTHSERVER_MASTER_KEY"}
    production["AUTHSERVER_ENV"] = "production"

    result = run_cli(production, "clients", "list", "--json")

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "AUTHSERVER_MASTER_KEY" in lines[0]


def test_an_invalid_master_key_is_named_but_not_printed(cli_env: dict[str, str]) -> None:
    bad_key = "c2hvcnQtYnV0LXNlY3JldC1rZXktdmFsdWU"  # base64url, but not 32 bytes

    result = run_cli({**cli_env, "AUTHSERVER_MASTER_KEY": bad_key}, "keys", "list", "--json")

    assert result.returncode == 2
    assert "AUTHSERVER_MASTER_KEY" in result.stderr
    assert bad_key not in result.stderr
    assert bad_key not in result.stdout


def test_a_command_on_an_unmigrated_database_asks_for_db_upgrade(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    fresh = {**cli_env, "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}

    result = run_cli(fresh, "clients", "list", "--json")

    assert_refused(result, "authserver db upgrade")


def test_human_output_is_plain_text(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "audit", "verify")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "audit chain intact: 0 events\n"
