"""Revocation across real resource-server processes sharing PostgreSQL and Redis.

Each ``authserver run`` process keeps its own revocation view fed by Redis pub/sub. A
revocation made through one process (POST /revoke) or the bulk-revocation service must
be refused by every process within a second, by a process started later, and after
Redis lost its keys (rebuilt from SQL). Tokens are signed in-process on the same database and master
key, so they carry a ledger row like the token endpoint's.

Only with AUTHSERVER_TEST_REDIS_URL: the in-process store is per process by design.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from authserver.context import Services
from authserver.db import db
from authserver.revocation.state import DENY_PREFIX
from authserver.revocation.state import READY_KEY
from authserver.revocation.state import USER
from authserver.revocation.state import watermark_key
from authserver.store.redis import _glob_escape
from authserver.tokens.access_token import TokenSubject
from tests.conftest import TEST_REDIS_URL
from tppkit import Tpp
from tppkit.local_server import free_port
from tppkit.local_server import serving

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(
        TEST_REDIS_URL is None,
        reason="needs AUTHSERVER_TEST_REDIS_URL: processes share revocations only through Redis",
    ),
]

PROPAGATION_SECONDS = 1.0
REBUILD_SECONDS = 5.0
FORM = "application/x-www-form-urlencoded"


def run_command(port: int) -> list[str]:
    return [sys.executable, "-m", "authserver", "run", "--port", str(port)]


@contextmanager
def resource_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """One ``authserver run`` process on a free loopback port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(run_command(port), env, base, log):
        yield base


@contextmanager
def resource_servers(env: dict[str, str], logs: list[Path]) -> Iterator[list[str]]:
    """Several processes started side by side (start-up is mostly imports); their URLs."""
    managers = [resource_server(env, log) for log in logs]
    with ExitStack() as running:
        with ThreadPoolExecutor(len(managers)) as pool:
            started = [pool.submit(manager.__enter__) for manager in managers]
        for manager, future in zip(managers, started, strict=True):
            if future.exception() is None:
                running.push(manager.__exit__)
        yield [future.result() for future in started]


def http(request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def userinfo(base: str, token: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    return http(urllib.request.Request(base + "/userinfo", headers=headers))  # noqa: S310


def userinfo_status(base: str, token: str) -> int:
    return userinfo(base, token)[0]


def assert_refused(base: str, token: str) -> None:
    status, headers, body = userinfo(base, token)
    assert status == 401, body
    assert json.loads(body)["error"] == "invalid_token"
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


def revoke(base: str, tpp: Tpp, token: str) -> None:
    form = urllib.parse.urlencode({**tpp.auth_form(), "token": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + "/revoke", data=form, headers={"Content-Type": FORM}, method="POST"
    )
    status, _, body = http(request)
    assert status == 200, body


def refused_everywhere_within(bases: list[str], token: str, seconds: float) -> dict[str, int]:
    """Poll every process until each refuses the token; the last status of each."""
    deadline = time.monotonic() + seconds
    statuses = {base: userinfo_status(base, token) for base in bases}
    while any(status != 401 for status in statuses.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
        statuses = {
            base: status if status == 401 else userinfo_status(base, token)
            for base, status in statuses.items()
        }
    return statuses


def issue(svc: Services, client_id: str, user_id: str) -> str:
    """A committed access token with its ledger row, signed by the servers' shared keys."""
    # Made here, before any server starts, so no two processes race to create them.
    svc.keys.ensure_keys()
    client = svc.clients.get(client_id)
    assert client is not None
    subject = TokenSubject(sub=user_id, scopes=("openid",), user_id=user_id)
    token = str(svc.tokens.issue(client, subject)["access_token"])
    db.session.commit()
    return token


def jti_of(svc: Services, token: str) -> str:
    claims = svc.verifier.read(token)
    assert claims is not None
    return str(claims["jti"])


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    assert TEST_REDIS_URL is not None
    client = redis.Redis.from_url(TEST_REDIS_URL)
    yield client
    client.close()


def flush_prefix(client: redis.Redis, prefix: str) -> None:
    """What a flushed or restarted Redis looks like to this deployment: none of its keys."""
    keys = list(client.scan_iter(match=_glob_escape(prefix) + "*"))
    assert keys, "nothing to flush: Redis was expected to hold the revocations"
    client.delete(*keys)


def wait_for_key(client: redis.Redis, key: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while client.get(key) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def test_revoked_token_is_refused_by_every_process_within_a_second(
    svc: Services, tpp: Tpp, user: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    token = issue(svc, tpp.client_id, user)
    with resource_servers(cli_env, [tmp_path / "a.log", tmp_path / "b.log"]) as bases:
        assert [userinfo_status(base, token) for base in bases] == [200, 200]

        revoke(bases[0], tpp, token)

        statuses = refused_everywhere_within(bases, token, PROPAGATION_SECONDS)
        assert list(statuses.values()) == [401, 401]
        for base in bases:
            assert_refused(base, token)

        with resource_server(cli_env, tmp_path / "late.log") as late:
            assert_refused(late, token)


def test_flushed_redis_is_rebuilt_from_sql_and_the_token_stays_refused(
    svc: Services,
    tpp: Tpp,
    user: str,
    cli_env: dict[str, str],
    tmp_path: Path,
    redis_client: redis.Redis,
) -> None:
    prefix = svc.settings.redis_prefix
    token = issue(svc, tpp.client_id, user)
    deny_key = prefix + DENY_PREFIX + jti_of(svc, token)
    with resource_servers(cli_env, [tmp_path / "a.log", tmp_path / "b.log"]) as bases:
        revoke(bases[1], tpp, token)
        statuses = refused_everywhere_within(bases, token, PROPAGATION_SECONDS)
        assert list(statuses.values()) == [401, 401]

        flush_prefix(redis_client, prefix)

        for base in bases:
            assert_refused(base, token)
        # The running processes notice the missing ready marker and refill Redis from SQL.
        assert wait_for_key(redis_client, prefix + READY_KEY, REBUILD_SECONDS)
        assert redis_client.get(deny_key) is not None
        for base in bases:
            assert_refused(base, token)

    # Nobody left to refill it: a process started now must rebuild from SQL itself.
    flush_prefix(redis_client, prefix)
    with resource_server(cli_env, tmp_path / "fresh.log") as fresh:
        assert_refused(fresh, token)
        assert redis_client.get(deny_key) is not None


def test_bulk_user_revocation_reaches_every_process(
    svc: Services,
    tpp: Tpp,
    user: str,
    cli_env: dict[str, str],
    tmp_path: Path,
    redis_client: redis.Redis,
) -> None:
    tokens = [issue(svc, tpp.client_id, user) for _ in range(2)]
    with resource_servers(cli_env, [tmp_path / "a.log", tmp_path / "b.log"]) as bases:
        assert [userinfo_status(base, token) for base in bases for token in tokens] == [200] * 4

        # The operator path (`authserver revoke --user`) minus the CLI's own start-up.
        result = svc.revocations.revoke_user(user, actor="test", reason="account takeover")

        for token in tokens:
            statuses = refused_everywhere_within(bases, token, PROPAGATION_SECONDS)
            assert list(statuses.values()) == [401, 401]
        assert_refused(bases[0], tokens[0])
    stored = redis_client.get(svc.settings.redis_prefix + watermark_key(USER, user))
    assert stored == str(result.revoked_before).encode()
