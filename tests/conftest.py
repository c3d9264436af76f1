"""Shared fixtures: real SQL (SQLite or PostgreSQL) and a real store (in-process or Redis).

Backends come from the environment, so the same suite runs twice in CI:
- embedded default: nothing set (SQLite file per test, in-process store);
- AUTHSERVER_TEST_DATABASE_URL=postgresql+psycopg://... and
  AUTHSERVER_TEST_REDIS_URL=redis://... for the real services.
Each xdist worker gets its own PostgreSQL database and Redis key prefix; a
configured service that cannot be reached stops the run (never a silent skip).
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from authserver import create_app
from authserver import migrate
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.keys import service as key_service
from authserver.sca import passwords
from authserver.settings import Settings
from authserver.settings import load_settings

pytest_plugins = ["tests.flow_fixtures", "tests.store_backends"]

RATE_LIMITS = ("starter", "growth", "enterprise", "par", "token", "consents", "payments")
UNREACHED_LIMIT = "1000000/minute"
TEST_DATABASE_URL = os.environ.get("AUTHSERVER_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("AUTHSERVER_TEST_REDIS_URL") or None
# TEST-ONLY master key: never use outside this suite.
TEST_MASTER_KEY = base64.urlsafe_b64encode(b"test-only-master-key-32-bytes!!!").decode()
RUN_ID = uuid.uuid4().hex[:8]


def pytest_sessionstart(session: pytest.Session) -> None:
    if TEST_DATABASE_URL:
        try:
            engine = sa.create_engine(TEST_DATABASE_URL, poolclass=NullPool)
            with engine.connect():
                pass
        except sa.exc.OperationalError as exc:
            pytest.exit(f"PostgreSQL at AUTHSERVER_TEST_DATABASE_URL is unreachable: {exc}", 1)
    if TEST_REDIS_URL:
        try:
            redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.exit(f"Redis at AUTHSERVER_TEST_REDIS_URL is unreachable: {exc}", 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for ``cli_env`` runs the real ``authserver`` as a subprocess: mark it
    ``subprocess`` so ``-m "not subprocess and not browser"`` leaves the in-process suite."""
    for item in items:
        if "cli_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Real argon2id, at test-only cost: RFC 9106's recommended parameters (64 MiB, three
    passes) cost about a second per hash on a loaded two-core machine, and most flow tests
    hash and verify a password. The hash format carries its parameters, so hashes made by a
    CLI subprocess (full cost) still verify here. Raises if the hasher moves."""
    with pytest.MonkeyPatch.context() as patch:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        patch.setattr(passwords, "_hasher", cheap, raising=True)
        yield


_SIGNING_KEY_POOL: dict[tuple[str, int, int], Any] = {}
_SIGNING_KEYS_HANDED: dict[tuple[str, int], int] = {}


@pytest.fixture(scope="session", autouse=True)
def reused_signing_keys() -> Iterator[None]:
    """Real signing keys, generated once per worker: every test app makes an RS256, a
    PS256 and an ES256 key at start, and two RSA-2048 generations cost about a quarter of
    a second (a third of the suite's CPU). Tests have their own databases, so the same
    key material in two tests never meets; within one test each further key of an
    algorithm (a rotation) is a new key, so kids stay unique. Subprocesses (CLI, servers)
    still generate their own. Raises if the generator moves."""
    original = key_service._generate

    def generate(alg: str, rsa_bits: int) -> Any:
        slot = (alg, rsa_bits)
        index = _SIGNING_KEYS_HANDED.get(slot, 0)
        _SIGNING_KEYS_HANDED[slot] = index + 1
        key = (alg, rsa_bits, index)
        if key not in _SIGNING_KEY_POOL:
            _SIGNING_KEY_POOL[key] = original(alg, rsa_bits)
        return _SIGNING_KEY_POOL[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(key_service, "_generate", generate, raising=True)
        yield


@pytest.fixture(autouse=True)
def fresh_signing_key_counts() -> None:
    """Each test starts handing out the pool from its first key again."""
    _SIGNING_KEYS_HANDED.clear()


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    workerinput: dict[str, Any] = getattr(request.config, "workerinput", {})
    return str(workerinput.get("workerid", "main"))


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory, worker_name: str) -> Iterator[str]:
    """Per worker: a PostgreSQL database, or a SQLite template file, migrated once."""
    if TEST_DATABASE_URL:
        name = f"authserver_test_{RUN_ID}_{worker_name}"
        admin = sa.create_engine(
            TEST_DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # A throw-away test database needs no crash durability: commits stay atomic
            # and visible at once, only the wait for the WAL flush goes (PostgreSQL docs,
            # "Asynchronous Commit"). Production keeps the server's default.
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
        engine = _RESET_ENGINES.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"


# One round trip empties every table. DELETE is far cheaper than TRUNCATE for the few rows
# a test leaves (TRUNCATE swaps every table's files; an empty table's DELETE costs little).
# Replica mode skips the foreign-key and append-only audit triggers. Only sequences a test
# used are set back to 1 (ids, e.g. audit events, start at 1 in every test, as on SQLite).
_RESET_SQL = """
DO $$
DECLARE
    item record;
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    FOR item IN
        SELECT tablename FROM pg_tables
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
    LOOP
        EXECUTE format('DELETE FROM public.%I', item.tablename);
    END LOOP;
    FOR item IN
        SELECT sequencename FROM pg_sequences
        WHERE schemaname = 'public' AND last_value IS NOT NULL
    LOOP
        PERFORM setval(format('public.%I', item.sequencename), 1, false);
    END LOOP;
END
$$;
"""
_RESET_ENGINES: dict[str, sa.Engine] = {}


def reset_postgres(url: str) -> None:
    """Empty every table a test may have written, over one pooled connection."""
    engine = _RESET_ENGINES.get(url)
    if engine is None:
        # pre-ping: tests/test_db.py terminates every other connection, this one included.
        engine = _RESET_ENGINES[url] = sa.create_engine(
            url, pool_size=1, max_overflow=0, pool_pre_ping=True
        )
    with engine.begin() as connection:
        connection.execute(sa.text(_RESET_SQL))


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        reset_postgres(migrated_database)
        return migrated_database
    target = tmp_path / "authserver.db"
    shutil.copyfile(migrated_database.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


@pytest.fixture
def redis_prefix(worker_name: str) -> Iterator[str]:
    prefix = f"test:{RUN_ID}:{worker_name}:{uuid.uuid4().hex[:6]}:"
    yield prefix
    if TEST_REDIS_URL:
        client = redis.Redis.from_url(TEST_REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str, redis_prefix: str) -> Any:
    def _make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "issuer": "https://as.example.test",
            "instance_path": tmp_path / "instance",
            "database_url": database_url,
            "redis_url": TEST_REDIS_URL,
            "redis_prefix": redis_prefix,
            "master_key": TEST_MASTER_KEY,
            "log_level": "WARNING",
            # In-process apps chain only when a test asks (svc.audit.chain()): no thread
            # linking rows behind a test's back. Subprocess servers keep the default.
            "audit": {"chain_seconds": 0},
            # Budgets no ordinary test reaches; tests/ratelimit sets small ones.
            "ratelimit": dict.fromkeys(RATE_LIMITS, UNREACHED_LIMIT),
        }
        values.update(overrides)
        return load_settings(**values)

    return _make


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    result: Settings = make_settings()
    return result


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[Flask]:
    application = create_app(settings, clock=clock)
    yield application
    services(application).revocation_view.close()
    services(application).client_cache.close()
    with application.app_context():
        from authserver.db import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def svc(app: Flask, services_: Services) -> Iterator[Services]:
    """``services_`` (tests/flow_fixtures.py) inside an app context, for service-level tests."""
    with app.app_context():
        yield services_


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for running the real `authserver` command against the test backends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSERVER_")}
    env.update(
        {
            "AUTHSERVER_ENV": "test",
            "AUTHSERVER_ISSUER": settings.issuer,
            "AUTHSERVER_INSTANCE_PATH": str(settings.instance_path),
            "AUTHSERVER_DATABASE_URL": settings.database_url,
            "AUTHSERVER_MASTER_KEY": TEST_MASTER_KEY,
            "AUTHSERVER_REDIS_PREFIX": settings.redis_prefix,
            "AUTHSERVER_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"AUTHSERVER_RATELIMIT__{name.upper()}": UNREACHED_LIMIT for name in RATE_LIMITS})
    if settings.redis_url:
        env["AUTHSERVER_REDIS_URL"] = settings.redis_url
    return env
