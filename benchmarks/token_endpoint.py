"""Token-endpoint benchmark: client_credentials + private_key_jwt, gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database (``authserver_bench_<run>``) and migrates it with
   ``authserver db upgrade``; picks a unique Redis key prefix;
2. registers one TPP (ES256 key) through the CLI and creates the signing keys;
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app`` from the repository root;
4. signs every client assertion up front (each with its own jti), so the timed part
   measures the server, not the driver's signing;
5. this process is the driver: a few threads, each with its own keep-alive
   ``http.client`` connection, warm up and then send the timed requests;
6. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and stops gunicorn, drops the database and deletes the
   Redis keys whatever happened.

Run from the repository root: ``.venv/bin/python -m benchmarks.token_endpoint``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from conformance.local_server import ServerDidNotStartError
from conformance.local_server import cli
from conformance.local_server import free_port
from conformance.local_server import serving
from conformance.tpp import ASSERTION_TYPE
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from conformance.tpp import public_jwks

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
LOOPBACK = "127.0.0.1"
CLIENT_ID = "bench-tpp"
SCOPE = "accounts:read"
# Assertions are signed before the clock starts; the server accepts lifetimes up to
# AUTHSERVER_OAUTH__ASSERTION_MAX_LIFETIME (300 s), so the run must end well within that.
ASSERTION_LIFETIME = 290
WARMUP_SECONDS = 30
MAX_RUN_SECONDS = 240  # + WARMUP_SECONDS stays inside ASSERTION_LIFETIME


@dataclass
class Options:
    requests: int
    warmup: int
    concurrency: int
    max_seconds: float
    workers: int
    threads: int
    admin_database_url: str
    redis_url: str


@dataclass
class Outcome:
    latencies: list[float]
    statuses: Counter[str]
    connections: int
    wall_seconds: float


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests (2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (200)")
    parser.add_argument("--concurrency", type=int, default=8, help="driver threads (8)")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="stop the timed part after this (120)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="gunicorn threads per worker; above 1 uses the gthread worker, which keeps "
        "connections alive (the default sync worker closes each one)",
    )
    parser.add_argument(
        "--admin-database-url",
        default=os.environ.get(
            "AUTHSERVER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL URL used to create and drop the benchmark database",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("AUTHSERVER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    args = parser.parse_args(argv)
    options = Options(
        requests=args.requests,
        warmup=args.warmup,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
        workers=args.workers,
        threads=args.threads,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
    )
    if not 1 <= options.concurrency <= 64 or options.requests < 1 or options.warmup < 0:
        parser.error("need 1..64 threads, at least one request and a non-negative warm-up")
    if not 0 < options.max_seconds <= MAX_RUN_SECONDS:
        parser.error(f"--max-seconds must be in (0, {MAX_RUN_SECONDS}]: assertions expire")
    for name, url in (("database", options.admin_database_url), ("redis", options.redis_url)):
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"the {name} must be on loopback, not {host!r}")
    return options


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


def run_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    result: dict[str, Any] = cli(env, *args)
    return result


@contextmanager
def gunicorn(env: dict[str, str], port: int, options: Options, log: Path) -> Iterator[None]:
    binary = Path(sys.executable).with_name("gunicorn")
    command = [str(binary), "--workers", str(options.workers)]
    if options.threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(options.threads)]
    command += ["--bind", f"{LOOPBACK}:{port}", "wsgi:app"]
    print("$ " + " ".join([Path(command[0]).name, *command[1:]]))
    try:
        with serving(command, env, f"http://{LOOPBACK}:{port}", log) as process:
            yield
    except ServerDidNotStartError as exc:
        raise SystemExit(f"gunicorn did not become healthy:\n{exc}") from None
    print(f"gunicorn stopped (exit {process.returncode})")


# --- the driver ---------------------------------------------------------------------------


def request_bodies(tpp: Tpp, count: int) -> list[bytes]:
    """Form bodies with one fresh assertion each (unique jti), signed before timing."""
    now = int(time.time())
    bodies = []
    for _ in range(count):
        assertion = tpp.assertion(iat=now, exp=now + ASSERTION_LIFETIME)
        form = {
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        bodies.append(urllib.parse.urlencode(form).encode())
    return bodies


def drive(port: int, bodies: list[bytes], concurrency: int, max_seconds: float) -> Outcome:
    """Send every body once over ``concurrency`` keep-alive connections; stop at the deadline."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    connections = [0]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    start = time.perf_counter()
    deadline = start + max_seconds

    def worker() -> None:
        connection: http.client.HTTPConnection | None = None
        mine: list[float] = []
        seen: Counter[str] = Counter()
        opened = 0
        while time.perf_counter() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            connection = connection or http.client.HTTPConnection(LOOPBACK, port, timeout=10)
            began = time.perf_counter()
            try:
                if connection.sock is None:
                    connection.connect()
                    opened += 1
                connection.request("POST", "/token", body=bodies[index], headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                seen[type(exc).__name__] += 1
                connection.close()
                continue
            mine.append(time.perf_counter() - began)
            ok = response.status == 200 and b'"access_token"' in payload
            seen[str(response.status) if ok or response.status != 200 else "200-no-token"] += 1
            if response.will_close:
                connection.close()
        if connection is not None:
            connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            connections[0] += opened

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Outcome(latencies, statuses, connections[0], time.perf_counter() - start)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarise(outcome: Outcome) -> dict[str, Any]:
    ordered = sorted(outcome.latencies)
    ok = outcome.statuses.get("200", 0)
    sent = sum(outcome.statuses.values())
    return {
        "requests": sent,
        "ok": ok,
        "errors": sent - ok,
        "statuses": dict(outcome.statuses),
        "connections_opened": outcome.connections,
        "wall_seconds": round(outcome.wall_seconds, 3),
        "throughput_rps": round(ok / outcome.wall_seconds, 1) if outcome.wall_seconds else 0.0,
        "latency_ms": {
            name: round(percentile(ordered, fraction) * 1000, 2)
            for name, fraction in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0))
        },
    }


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the clean-up still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Other work on the same cores moves the numbers; keep the load beside them.
    load_before = round(os.getloadavg()[0], 2)
    run_id = secrets.token_hex(4)
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="authserver-bench-"))
    try:
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
                    "AUTHSERVER_MASTER_KEY": base64.urlsafe_b64encode(
                        secrets.token_bytes(32)
                    ).decode(),
                    "AUTHSERVER_LOG_LEVEL": "WARNING",
                }
            )
            print(f"database {db_url.rsplit('/', 1)[-1]}, Redis prefix {prefix}")
            run_cli(env, "db", "upgrade")
            run_cli(env, "keys", "list")  # creates the signing keys before the workers start
            key = generate_key("ES256")
            jwks_file = workdir / "bench-jwks.json"
            jwks_file.write_text(json.dumps(public_jwks(key)))
            run_cli(
                env,
                "clients",
                "create",
                "--name",
                "Benchmark TPP",
                "--client-id",
                CLIENT_ID,
                "--redirect-uri",
                f"http://{LOOPBACK}/cb",
                "--scope",
                SCOPE,
                "--jwks-file",
                str(jwks_file),
            )
            tpp = Tpp(CLIENT_ID, key, "ES256", issuer, f"http://{LOOPBACK}/cb", scope=SCOPE)

            with gunicorn(env, port, options, workdir / "gunicorn.log"):
                # Signed once the server is up, so no assertion ages during its start-up.
                signing_started = time.perf_counter()
                warmup_bodies = request_bodies(tpp, options.warmup)
                timed_bodies = request_bodies(tpp, options.requests)
                signing_seconds = time.perf_counter() - signing_started
                print(
                    f"signed {len(warmup_bodies) + len(timed_bodies)} assertions "
                    f"in {signing_seconds:.2f} s (before timing)"
                )
                if warmup_bodies:
                    warm = drive(port, warmup_bodies, options.concurrency, WARMUP_SECONDS)
                    if warm.statuses.get("200", 0) == 0:
                        log = (workdir / "gunicorn.log").read_text()[-4000:]
                        raise SystemExit(f"warm-up failed {dict(warm.statuses)}:\n{log}")
                    print(f"warm-up: {dict(warm.statuses)}")
                outcome = drive(port, timed_bodies, options.concurrency, options.max_seconds)
        summary = summarise(outcome)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "benchmark": "token_endpoint.client_credentials.private_key_jwt",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_before": load_before,
        },
        "config": {
            **{k: v for k, v in asdict(options).items() if not k.endswith("_url")},
            "server": "gunicorn" + (" gthread" if options.threads > 1 else " sync"),
            "backends": "PostgreSQL + Redis",
            "client_key": "ES256",
            "access_token_alg": "RS256 (default)",
        },
        "result": summary,
    }
    latency = summary["latency_ms"]
    print(
        f"load average before the run {load_before} on {os.cpu_count()} cpus\n"
        f"requests {summary['requests']}  errors {summary['errors']}  "
        f"connections {summary['connections_opened']}  wall {summary['wall_seconds']} s\n"
        f"throughput {summary['throughput_rps']} req/s\n"
        f"latency ms  p50 {latency['p50']}  p90 {latency['p90']}  "
        f"p99 {latency['p99']}  max {latency['max']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"token_endpoint-{stamp}-{run_id}.json"
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0 if summary["errors"] == 0 and summary["requests"] == options.requests else 1


if __name__ == "__main__":
    raise SystemExit(main())
