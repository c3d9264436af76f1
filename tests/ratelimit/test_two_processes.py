"""One window shared by two server processes on Redis (issue 14 Done-when).

Two separate gunicorn processes (one worker each, their own instance folders) serve one
database and one Redis. A Growth client's budget of 6 an hour is spent alternately at
both: together they let exactly 6 through, and the remaining count each reports follows
the other's spending. The client is registered as Growth through the CLI.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_REDIS_URL
from tppkit import ASSERTION_TYPE
from tppkit import Tpp
from tppkit.local_server import single_worker_servers
from tppkit.registration import cli_register

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.skipif(not TEST_REDIS_URL, reason="processes share a window only through Redis"),
]
CLIENT_ID = "tpp-two-processes"
SCOPE = "accounts:read"
BUDGET = 6


@pytest.fixture
def two_servers(
    cli_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[dict[str, str], list[str]]]:
    budget = {**cli_env, "AUTHSERVER_RATELIMIT__GROWTH": f"{BUDGET}/hour"}
    with single_worker_servers(budget, tmp_path) as (env, ports):
        yield env, [f"http://127.0.0.1:{port}" for port in ports]


def token_request(tpp: Tpp, base: str) -> tuple[int, dict[str, str]]:
    now = int(time.time())
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": tpp.assertion(iat=now, exp=now + 300),
    }
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{base}/token", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers)


def test_two_processes_share_one_window(
    two_servers: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, bases = two_servers
    key, _ = cli_register(env, tmp_path, CLIENT_ID, "ES256", "--rate-limit-tier", "growth",
                          redirect_uri="https://tpp.example/cb", scope=SCOPE)  # fmt: skip
    tpp = Tpp(CLIENT_ID, key, "ES256", env["AUTHSERVER_ISSUER"], "https://tpp.example/cb", SCOPE)

    answers = [token_request(tpp, bases[n % 2]) for n in range(BUDGET + 2)]

    assert [status for status, _ in answers] == [200] * BUDGET + [429, 429]
    remaining = [int(headers["X-RateLimit-Remaining"]) for _, headers in answers]
    assert remaining == [5, 4, 3, 2, 1, 0, 0, 0]
    assert all(headers["X-RateLimit-Limit"] == str(BUDGET) for _, headers in answers)
    assert all(int(headers["Retry-After"]) >= 1 for _, headers in answers[BUDGET:])
