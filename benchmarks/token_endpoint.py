"""Token-endpoint benchmark: client_credentials + private_key_jwt, gunicorn on PostgreSQL + Redis.

What it does, all on loopback and bounded in count and time:

1. creates a fresh PostgreSQL database (``authserver_bench_<run>``) and migrates it with
   ``authserver db upgrade``; picks a unique Redis key prefix;
2. registers one TPP (ES256 key) through the CLI and creates the signing keys; with
   ``--dpop`` the client is registered with ``--dpop-bound-access-tokens``, and with
   ``--nonce`` the server requires DPoP nonces (``AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED``);
3. starts ``gunicorn --workers 2 --bind 127.0.0.1:P wsgi:app`` from the repository root;
4. signs every client assertion (and with ``--dpop`` every DPoP proof, ES256, each with
   its own jti) up front, so the timed part measures the server, not the driver's
   signing; with ``--nonce`` the nonce is fetched first and put in every proof;
5. this process is the driver: a few threads, each with its own keep-alive
   ``http.client`` connection, warm up and then send the timed requests;
6. prints requests, errors, req/s and p50/p90/p99/max latency, writes JSON to
   ``benchmarks/results/``, and stops gunicorn, drops the database and deletes the
   Redis keys whatever happened.

Pre-signed proofs age: without a nonce a proof's ``iat`` must be at most 60 s old
(``oauth.dpop_past_window``); with one, the nonce is good for its 60 s step and the next
(``oauth.dpop_nonce_step``), so at least 60 s after it was fetched. DPoP runs are
therefore capped at ``--max-seconds`` 45, and a batch that would not stay valid for the
whole run is signed again (with a nonce from the next step) before the clock starts.

The helpers (database, Redis prefix, gunicorn, driver, report) are shared with
``benchmarks.resource_server``.

Run from the repository root: ``.venv/bin/python -m benchmarks.token_endpoint``.
"""

from __future__ import annotations

import argparse
import base64
import functools
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
from collections import Counter
from collections.abc import Callable
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
from conformance.tpp import PrivateKey
from conformance.tpp import Tpp
from conformance.tpp import dpop_proof
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
# The server's defaults (not set here): a proof's iat may be 60 s old without a nonce
# (oauth.dpop_past_window); a nonce is accepted in its 60 s step and the next one
# (oauth.dpop_nonce_step), so for at least 60 s after it was handed out.
DPOP_PAST_WINDOW = 60
DPOP_NONCE_STEP = 60
DPOP_MAX_RUN_SECONDS = 45  # + signing + SAFETY_MARGIN stays inside both windows
SAFETY_MARGIN = 3.0


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
    dpop: bool = False
    nonce: bool = False


@dataclass(frozen=True)
class Prepared:
    """One request, signed before the clock starts."""

    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


@dataclass
class Batch:
    requests: list[Prepared]
    valid_until: float
    """Wall-clock time (time.time()) up to which every assertion and proof is accepted."""
    signing_seconds: float


@dataclass
class Outcome:
    latencies: list[float]
    statuses: Counter[str]
    connections: int
    wall_seconds: float


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the throw-away PostgreSQL database and the Redis prefix live."""
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


def server_arguments(description: str, *, dpop_flag: bool) -> argparse.ArgumentParser:
    """The options every server benchmark takes (shared with benchmarks.resource_server)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests (2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first (200)")
    parser.add_argument("--concurrency", type=int, default=8, help="driver threads (8)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help=f"stop the timed part after this (120; {DPOP_MAX_RUN_SECONDS} with DPoP)",
    )
    if dpop_flag:
        parser.add_argument(
            "--dpop",
            action="store_true",
            help="register the client with --dpop-bound-access-tokens; every request "
            "carries a DPoP proof (ES256)",
        )
    parser.add_argument(
        "--nonce",
        action="store_true",
        help="the server requires DPoP nonces (AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED=true)"
        + ("; needs --dpop" if dpop_flag else ""),
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="gunicorn threads per worker; above 1 uses the gthread worker, which keeps "
        "connections alive (the default sync worker closes each one)",
    )
    add_backend_arguments(parser)
    return parser


def checked_options(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, dpop: bool
) -> Options:
    """Options from parsed arguments; ``dpop`` says whether every request carries a proof."""
    if args.nonce and not dpop:
        parser.error("--nonce needs --dpop")
    limit = DPOP_MAX_RUN_SECONDS if dpop else MAX_RUN_SECONDS
    options = Options(
        requests=args.requests,
        warmup=args.warmup,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds if args.max_seconds is not None else min(120.0, limit),
        workers=args.workers,
        threads=args.threads,
        admin_database_url=args.admin_database_url,
        redis_url=args.redis_url,
        dpop=dpop,
        nonce=args.nonce,
    )
    if not 1 <= options.concurrency <= 64 or options.requests < 1 or options.warmup < 0:
        parser.error("need 1..64 threads, at least one request and a non-negative warm-up")
    if not 0 < options.max_seconds <= limit:
        parser.error(f"--max-seconds must be in (0, {limit}]: signed requests expire")
    for name, url in (("database", options.admin_database_url), ("redis", options.redis_url)):
        host = urllib.parse.urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"the {name} must be on loopback, not {host!r}")
    return options


def parse_args(argv: list[str] | None) -> Options:
    parser = server_arguments(__doc__.split("\n\n")[0], dpop_flag=True)
    args = parser.parse_args(argv)
    return checked_options(parser, args, dpop=args.dpop)


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
        if options.nonce:
            env["AUTHSERVER_OAUTH__DPOP_NONCE_REQUIRED"] = "true"
        print(f"database {db_url.rsplit('/', 1)[-1]}, Redis prefix {prefix}")
        run_cli(env, "db", "upgrade")
        run_cli(env, "keys", "list")  # creates the signing keys before the workers start
        yield env


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


def token_request(tpp: Tpp, dpop_key: PrivateKey | None, nonce: str | None) -> Prepared:
    """client_credentials with a fresh assertion (unique jti) and, with a key, a fresh proof."""
    now = int(time.time())
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": tpp.assertion(iat=now, exp=now + ASSERTION_LIFETIME),
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if dpop_key is not None:
        headers["DPoP"] = dpop_proof(dpop_key, "POST", tpp.url("/token"), nonce=nonce)
    return Prepared("POST", "/token", urllib.parse.urlencode(form).encode(), headers)


def fetch_nonce(port: int, request: Prepared) -> str:
    """Send one request whose proof has no nonce; the DPoP-Nonce of its use_dpop_nonce answer."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        payload = response.read()
        nonce = response.getheader("DPoP-Nonce")
    finally:
        connection.close()
    if not nonce or b"use_dpop_nonce" not in payload:
        raise SystemExit(f"no nonce from {request.path}: {response.status} {payload[:300]!r}")
    return nonce


def nonce_valid_until(asked_at: float) -> float:
    """A nonce handed out after ``asked_at`` is accepted until its step and the next are over."""
    return (asked_at // DPOP_NONCE_STEP + 2) * DPOP_NONCE_STEP


def sign_batch(
    make: Callable[[str | None], Prepared],
    count: int,
    run_seconds: float,
    *,
    options: Options,
    nonce_from: Callable[[], str] | None,
    lifetime: int | None,
) -> Batch:
    """``count`` requests signed now that all stay valid for ``run_seconds`` after signing.

    ``lifetime`` bounds what ``make`` signs itself (client assertions); proofs are bounded
    by the iat window, or by the nonce's step when ``nonce_from`` fetches one. A batch that
    would expire too soon is signed again, after the next nonce step has begun.
    """
    for _ in range(3):
        began = time.time()
        nonce = nonce_from() if nonce_from is not None else None
        limits: list[float] = [int(began) + lifetime] if lifetime is not None else []
        if nonce is not None:
            limits.append(nonce_valid_until(began))
        elif options.dpop:
            limits.append(int(began) + DPOP_PAST_WINDOW)
        valid_until = min(limits) if limits else float("inf")
        requests = [make(nonce) for _ in range(count)]
        signed = time.time()
        if signed + run_seconds + SAFETY_MARGIN <= valid_until:
            return Batch(requests, valid_until, signed - began)
        if nonce_from is None:
            break
        # The nonce's step ends too soon: a nonce of the next step lives for two more.
        wait = (signed // DPOP_NONCE_STEP + 1) * DPOP_NONCE_STEP - time.time() + 0.5
        print(f"the nonce would expire during the run; signing again in {wait:.0f} s")
        time.sleep(max(0.0, wait))
    raise SystemExit(
        f"{count} requests cannot be signed and sent within their validity; "
        "lower --requests or --max-seconds"
    )


def token_issued(payload: bytes, *, dpop: bool) -> bool:
    return b'"access_token"' in payload and (not dpop or b'"DPoP"' in payload)


def _label(status: int, payload: bytes, ok: bool) -> str:
    if ok:
        return "200"
    if status == 200:
        return "200-unexpected-body"
    try:
        error = json.loads(payload).get("error")
    except (ValueError, AttributeError):
        error = None
    return f"{status} {error}" if isinstance(error, str) else str(status)


def drive(
    port: int,
    requests: list[Prepared],
    concurrency: int,
    max_seconds: float,
    succeeded: Callable[[bytes], bool],
) -> Outcome:
    """Send every request once over ``concurrency`` keep-alive connections; stop at the deadline.

    A 200 counts as "200" only when ``succeeded(body)``; anything else is labelled with its
    status and OAuth error code (e.g. "400 use_dpop_nonce").
    """
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    connections = [0]
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
            prepared = requests[index]
            connection = connection or http.client.HTTPConnection(LOOPBACK, port, timeout=10)
            began = time.perf_counter()
            try:
                if connection.sock is None:
                    connection.connect()
                    opened += 1
                connection.request(
                    prepared.method, prepared.path, body=prepared.body, headers=prepared.headers
                )
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                seen[type(exc).__name__] += 1
                connection.close()
                continue
            mine.append(time.perf_counter() - began)
            ok = response.status == 200 and succeeded(payload)
            seen[_label(response.status, payload, ok)] += 1
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


def warm_up_and_run(
    port: int,
    options: Options,
    make: Callable[[str | None], Prepared],
    succeeded: Callable[[bytes], bool],
    *,
    nonce_from: Callable[[], str] | None,
    lifetime: int | None,
    log: Path,
) -> Outcome:
    """Untimed warm-up, then the timed run; every request is signed before its part starts."""
    sign = functools.partial(sign_batch, make, options=options, nonce_from=nonce_from)
    if options.warmup:
        warm_batch = sign(options.warmup, WARMUP_SECONDS, lifetime=lifetime)
        warm = drive(port, warm_batch.requests, options.concurrency, WARMUP_SECONDS, succeeded)
        if warm.statuses.get("200", 0) == 0:
            raise SystemExit(f"warm-up failed {dict(warm.statuses)}:\n{log.read_text()[-4000:]}")
        print(f"warm-up: {dict(warm.statuses)}")
    # Signed (and the nonce fetched again) right before the clock starts.
    batch = sign(options.requests, options.max_seconds, lifetime=lifetime)
    left = batch.valid_until - time.time()
    print(
        f"signed {len(batch.requests)} requests in {batch.signing_seconds:.2f} s "
        f"(before timing); "
        + (f"valid for {left:.0f} s more" if left != float("inf") else "no expiry")
    )
    return drive(port, batch.requests, options.concurrency, options.max_seconds, succeeded)


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


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: other work on the same cores moves the numbers."""
    return [round(value, 2) for value in os.getloadavg()]


def machine(load_before: list[float]) -> dict[str, Any]:
    """Where a result was measured: CPUs, Python, and the load before and after."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_before": load_before[0],
        "load_average_1_5_15m_before": load_before,
        "load_average_1_5_15m_after": load_average(),
    }


def report(
    *,
    benchmark: str,
    stem: str,
    run_id: str,
    options: Options,
    config: dict[str, Any],
    outcome: Outcome,
    load_before: list[float],
) -> int:
    """Print the result, write its JSON to benchmarks/results/; the exit status of the run."""
    summary = summarise(outcome)
    result = {
        "benchmark": benchmark,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(load_before),
        "config": {
            **{k: v for k, v in asdict(options).items() if not k.endswith("_url")},
            "server": "gunicorn" + (" gthread" if options.threads > 1 else " sync"),
            "backends": "PostgreSQL + Redis",
            **config,
        },
        "result": summary,
    }
    latency = summary["latency_ms"]
    print(
        f"load average (1/5/15 min) before {load_before}, after "
        f"{result['machine']['load_average_1_5_15m_after']} "
        f"on {os.cpu_count()} cpus\n"
        f"requests {summary['requests']}  errors {summary['errors']}  "
        f"connections {summary['connections_opened']}  wall {summary['wall_seconds']} s\n"
        + (f"statuses {summary['statuses']}\n" if summary["errors"] else "")
        + f"throughput {summary['throughput_rps']} req/s\n"
        f"latency ms  p50 {latency['p50']}  p90 {latency['p90']}  "
        f"p99 {latency['p99']}  max {latency['max']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = RESULTS / f"{stem}-{stamp}-{run_id}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0 if summary["errors"] == 0 and summary["requests"] == options.requests else 1


# --- main ---------------------------------------------------------------------------------


def register_client(
    env: dict[str, str],
    workdir: Path,
    redirect_uri: str | None,
    *flags: str,
    client_id: str = CLIENT_ID,
    scope: str | None = SCOPE,
    name: str = "Benchmark TPP",
) -> Any:
    """Register a BENCH-ONLY client (ES256 key) through the real CLI; returns its private
    key. A resource server passes no redirect URI and no scope, and ``--resource-server``."""
    key = generate_key("ES256")
    jwks_file = workdir / f"{client_id}-jwks.json"
    jwks_file.write_text(json.dumps(public_jwks(key)))
    arguments = ["--name", name, "--client-id", client_id, "--jwks-file", str(jwks_file)]
    if redirect_uri is not None:
        arguments += ["--redirect-uri", redirect_uri]
    if scope is not None:
        arguments += ["--scope", scope]
    run_cli(env, "clients", "create", *arguments, *flags)
    return key


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the clean-up still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = load_average()
    run_id = secrets.token_hex(4)
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="authserver-bench-"))
    try:
        with backends(options, run_id, issuer, workdir) as env:
            flags = ["--dpop-bound-access-tokens"] if options.dpop else []
            key = register_client(env, workdir, f"http://{LOOPBACK}/cb", *flags)
            tpp = Tpp(CLIENT_ID, key, "ES256", issuer, f"http://{LOOPBACK}/cb", scope=SCOPE)
            # The DPoP key is the TPP's own, apart from its client-authentication key.
            dpop_key = generate_key("ES256") if options.dpop else None

            def make(nonce: str | None) -> Prepared:
                return token_request(tpp, dpop_key, nonce)

            def nonce_from() -> str:
                return fetch_nonce(port, make(None))

            log = workdir / "gunicorn.log"
            with gunicorn(env, port, options, log):
                outcome = warm_up_and_run(
                    port,
                    options,
                    make,
                    functools.partial(token_issued, dpop=options.dpop),
                    nonce_from=nonce_from if options.nonce else None,
                    lifetime=ASSERTION_LIFETIME,
                    log=log,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    variant = (".dpop" if options.dpop else "") + (".nonce" if options.nonce else "")
    return report(
        benchmark="token_endpoint.client_credentials.private_key_jwt" + variant,
        stem="token_endpoint" + variant.replace(".", "-"),
        run_id=run_id,
        options=options,
        config={
            "client_key": "ES256",
            "dpop_proof_alg": "ES256" if options.dpop else None,
            "access_token_alg": "RS256 (default)",
        },
        outcome=outcome,
        load_before=load_before,
    )


if __name__ == "__main__":
    raise SystemExit(main())
