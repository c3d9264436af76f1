"""Issue 15, Done-when: the audit chain verifies after 2,000 tokens issued concurrently by
two worker processes, with no 5xx (on SQLite: no unique-constraint failure on the id).

Two separate single-worker gunicorn processes serve one database (on SQLite one file,
each process with its own instance folder and in-process store, which is fine here as
every assertion carries its own jti). Their background chainers link the events while
the load runs; afterwards the real ``authserver audit verify`` must find every event
chained, in one intact chain.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tppkit import ASSERTION_TYPE
from tppkit import Tpp
from tppkit.local_server import cli
from tppkit.local_server import run_cli
from tppkit.local_server import single_worker_servers
from tppkit.registration import cli_register

pytestmark = pytest.mark.subprocess

TOKENS = 2000
DRIVERS_PER_WORKER = 4
CLIENT_ID = "audit-load-tpp"
SCOPE = "accounts:read"
DEADLINE_SECONDS = 240.0


@pytest.fixture
def two_workers(
    cli_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[dict[str, str], list[int]]]:
    # Both processes share the database and the master key, which is all the chain needs,
    # and every assertion here carries its own jti.
    with single_worker_servers(cli_env, tmp_path) as (env, ports):
        yield env, ports


def token_form(tpp: Tpp) -> bytes:
    now = int(time.time())
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": tpp.assertion(iat=now, exp=now + 300),
    }
    return urllib.parse.urlencode(form).encode()


def send_all(bodies: list[bytes], ports: list[int]) -> Counter[str]:
    """Each body once, by a few threads per worker, over keep-alive connections when offered."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def driver(port: int) -> None:
        seen: Counter[str] = Counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            try:
                connection.request("POST", "/token", body=bodies[index], headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                seen[type(exc).__name__] += 1
                connection.close()
                continue
            ok = response.status == 200 and b'"access_token"' in payload
            seen["200" if ok else f"{response.status} {payload[:120]!r}"] += 1
            if response.will_close:
                connection.close()
        connection.close()
        with lock:
            statuses.update(seen)

    threads = [
        threading.Thread(target=driver, args=(port,))
        for port in ports
        for _ in range(DRIVERS_PER_WORKER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_the_chain_verifies_after_2000_tokens_from_two_workers(
    two_workers: tuple[dict[str, str], list[int]], tmp_path: Path
) -> None:
    env, ports = two_workers
    key, _ = cli_register(
        env, tmp_path, CLIENT_ID, "ES256", redirect_uri="https://tpp.example/cb", scope=SCOPE
    )
    tpp = Tpp(CLIENT_ID, key, "ES256", env["AUTHSERVER_ISSUER"], "https://tpp.example/cb", SCOPE)
    bodies = [token_form(tpp) for _ in range(TOKENS)]  # signed before the load starts

    statuses = send_all(bodies, ports)

    assert statuses == Counter({"200": TOKENS})
    # The workers' chainers link the last events within about a second: poll, don't sleep.
    deadline = time.monotonic() + 60
    report = cli(env, "audit", "verify")
    while report["unchained"] and time.monotonic() < deadline:
        time.sleep(0.2)
        report = cli(env, "audit", "verify")
    assert report["ok"] is True, report
    assert report["unchained"] == 0
    # Every token's event plus the registration's (client.created): none lost.
    assert report["checked"] == TOKENS + 1
    exported = cli_export_types(env)
    assert exported["token.issued"] == TOKENS


def cli_export_types(env: dict[str, str]) -> Counter[str]:
    """Event types of the real ``authserver audit export`` (JSON lines)."""
    done = run_cli(env, "audit", "export")
    assert done.returncode == 0, done.stderr
    return Counter(json.loads(line)["event_type"] for line in done.stdout.splitlines())
