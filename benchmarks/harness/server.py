"""Throw-away backends (a fresh PostgreSQL database, a Redis prefix), BENCH-ONLY clients
registered through the CLI, and gunicorn started and awaited until ready; all removed
again when their ``with`` block ends, also on failure."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from benchmarks.harness.options import LOOPBACK
from benchmarks.harness.options import Options
from benchmarks.harness.results import load_average
from tppkit import PrivateKey
from tppkit.local_server import ServerDidNotStartError
from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving
from tppkit.registration import cli_register

BUDGETS = ("STARTER", "GROWTH", "ENTERPRISE", "PAR", "TOKEN", "CONSENTS", "PAYMENTS")


@contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    admin = sa.create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        print(f"dropped database {name}")


@contextmanager
def redis_prefix(url: str, prefix: str) -> Iterator[str]:
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    client.ping()
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()
        print(f"deleted {len(keys)} Redis keys under {prefix}")


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = cli(env, *args, stdin=stdin)
    return result


@contextmanager
def backends(options: Options, run_id: str, issuer: str, workdir: Path) -> Iterator[dict[str, str]]:
    """A migrated throw-away database, a Redis prefix and signing keys; yields the server env.

    Everything is removed again when the block ends, also on failure.
    """
    with (
        fresh_database(options.admin_database_url, f"authserver_bench_{run_id}") as db_url,
        redis_prefix(options.redis_url, f"bench:{run_id}:") as prefix,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSERVER_")}
        env.update(
            {
                "AUTHSERVER_ENV": "test",
                "AUTHSERVER_ISSUER": issuer,
                "AUTHSERVER_INSTANCE_PATH": str(workdir / "instance"),
                "AUTHSERVER_DATABASE_URL": db_url,
                "AUTHSERVER_REDIS_URL": options.redis_url,
                "AUTHSERVER_REDIS_PREFIX": prefix,
                # BENCH-ONLY master key, thrown away with the database.
                "AUTHSERVER_MASTER_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "AUTHSERVER_LOG_LEVEL": "WARNING",
            }
        )
        # Rate limits stay on (their cost is part of every request) with budgets no run
        # reaches: one client sends thousands of requests a minute here.
        env.update({f"AUTHSERVER_RATELIMIT__{name}": "100000000/minute" for name in BUDGETS})
        if options.nonce:
            env["AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED"] = "true"
        print(f"database {db_url.rsplit('/', 1)[-1]}, Redis prefix {prefix}")
        run_cli(env, "db", "upgrade")
        run_cli(env, "keys", "list")  # creates the signing keys before the workers start
        yield env


@contextmanager
def gunicorn(
    env: dict[str, str], port: int, options: Options, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn serving the app until the block ends; yields its master process (whose
    children are the workers: ``harness.cpu`` reads their CPU time)."""
    if options.server == "granian":
        command = [
            str(Path(sys.executable).with_name("granian")),
            "--interface",
            "wsgi",
            "--workers",
            str(options.workers),
            "--blocking-threads",
            str(max(1, options.threads)),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--no-ws",
            "wsgi:app",
        ]
    else:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--workers",
            str(options.workers),
        ]
        if options.threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(options.threads)]
        command += ["--bind", f"{LOOPBACK}:{port}", "wsgi:app"]
    print("$ " + " ".join([Path(command[0]).name, *command[1:]]))
    try:
        with serving(command, env, f"http://{LOOPBACK}:{port}", log) as process:
            yield process
    except ServerDidNotStartError as exc:
        raise SystemExit(f"gunicorn did not become healthy:\n{exc}") from None
    print(f"{Path(command[0]).name} stopped (exit {process.returncode})")


def register_client(
    env: dict[str, str],
    workdir: Path,
    redirect_uri: str | None,
    *flags: str,
    client_id: str,
    scope: str | None,
    name: str = "Benchmark TPP",
) -> PrivateKey:
    """Register a BENCH-ONLY client (ES256 key) through the real CLI; returns its private
    key. A resource server passes no redirect URI and no scope, and ``--resource-server``."""
    key, _private = cli_register(
        env, workdir, client_id, "ES256", *flags, redirect_uri=redirect_uri, scope=scope, name=name
    )
    return key


@dataclass(frozen=True)
class Run:
    """What one server benchmark run is known by: its id (the database and Redis prefix),
    the loopback port and issuer its server answers on, its scratch directory and the
    machine's load before it started (for the report)."""

    run_id: str
    port: int
    issuer: str
    workdir: Path
    load_before: list[float]


@contextmanager
def bench_run(workdir_prefix: str) -> Iterator[Run]:
    """The scaffolding every server benchmark's main() shares: SIGTERM (e.g. from
    ``timeout``) unwinds like Ctrl-C so the clean-up still runs, the load is read before
    anything starts, and the scratch directory is removed at the end, also on failure."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = load_average()
    run_id = secrets.token_hex(4)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix=workdir_prefix))
    try:
        yield Run(run_id, port, f"http://{LOOPBACK}:{port}", workdir, load_before)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
