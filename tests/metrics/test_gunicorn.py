"""``/metrics`` under gunicorn with ``-c python:authserver.web.gunicorn_conf``: the
multiprocess mode adds every worker's counts, whichever worker answers the scrape.

Two workers need Redis (the in-process store refuses a second process), so the embedded
run uses one worker: it still proves the configuration file sets up the shared folder.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_REDIS_URL
from tppkit.local_server import cli
from tppkit.local_server import free_port
from tppkit.local_server import serving

pytestmark = pytest.mark.subprocess

OPERATOR_TOKEN = "test-operator-token-gunicorn"
REQUESTS = 30


def jwks_count(base: str) -> float:
    request = urllib.request.Request(  # noqa: S310 (loopback URL built here)
        f"{base}/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "authserver_http_requests_total"
                and sample.labels.get("endpoint") == "keys.jwks"
            ):
                total += sample.value
    return total


def test_metrics_add_up_across_gunicorn_workers(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **cli_env,
        "AUTHSERVER_ISSUER": base,
        "AUTHSERVER_METRICS__TOKEN": OPERATOR_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    cli(env, "keys", "list")  # keys exist before the workers start
    workers = "2" if TEST_REDIS_URL else "1"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", "python:authserver.web.gunicorn_conf", "--workers", workers,
               "--bind", f"127.0.0.1:{port}", "wsgi:app"]  # fmt: skip
    with serving(command, env, base, tmp_path / "gunicorn.log"):
        for _ in range(REQUESTS):
            with urllib.request.urlopen(f"{base}/jwks", timeout=30) as response:  # noqa: S310
                assert response.status == 200
        # Every scrape, by whichever worker, sees all the requests.
        assert jwks_count(base) == REQUESTS
        assert jwks_count(base) == REQUESTS
    assert any((tmp_path / "prometheus").glob("*.db"))
